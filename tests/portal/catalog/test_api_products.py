"""/api/v1/products with per-shop keys: list with keyset pages and filters, read, create,
change with versions; 409, 422 keyed by field, unknown fields; another shop's ids 404."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.portal.api.conftest import issue_key
from urakata.platform.audit import AuditEvent, user_actor
from urakata.platform.codes import gtin_check_digit
from urakata.tenants.catalog.services import create_product, update_product


def jan(n: int) -> str:
    body = f"4569951{n:05d}"
    return body + str(gtin_check_digit(body))


@pytest.fixture
def key_a(db, world):
    return issue_key(db, world.shop_a, "基幹システム")


@pytest.fixture
def key_b(db, world):
    return issue_key(db, world.shop_b)


def add(db, world, shop=None, **data):
    values = {"sku": "TEA-1", "name": "深蒸し煎茶", "price_yen": 1200, **data}
    with db.tenant_session((shop or world.shop_a).id) as s:
        return create_product(s, actor=user_actor(world.agency_admin), data=values)


NEW = {
    "sku": "GY-50",
    "jan": jan(5),
    "name": "玉露 50g",
    "price_yen": 2400,
    "tax_rate": 8,
    "sale_starts_at": "2026-12-01T10:00:00",
    "temperature_zone": "chilled",
    "length_mm": 120,
    "width_mm": 80,
    "height_mm": 30,
    "weight_g": 60,
    "barcodes": ["GY50"],
}


def test_a_key_creates_reads_and_changes_a_product(client, db, world, key_a):
    created = client.post("/api/v1/products", json=NEW, headers=key_a.headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["sku"], body["version"], body["size_class"]) == ("GY-50", 1, 60)
    assert body["sale_starts_at"].startswith("2026-12-01T01:00:00")  # Tokyo → UTC
    assert body["barcodes"] == ["GY50"] and "tenant_id" not in body
    product_id = body["id"]

    read = client.get(f"/api/v1/products/{product_id}", headers=key_a.headers)
    assert read.status_code == 200 and read.get_json() == body

    changed = client.patch(
        f"/api/v1/products/{product_id}",
        json={"version": 1, "price_yen": 2600, "status": "active"},
        headers=key_a.headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["price_yen"], changed.get_json()["version"]) == (2600, 2)
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "product.updated"
    assert event.actor_type == "api_key" and event.actor_id == str(key_a.id)
    assert event.payload["actor"]["label"] == "基幹システム"
    assert event.payload["request_id"]


def test_a_stale_version_is_a_409(client, db, world, key_a):
    product = add(db, world)
    with db.tenant_session(world.shop_a.id) as s:
        update_product(
            s,
            actor=user_actor(world.agency_admin),
            product_id=product.id,
            data={"version": 1, "price_yen": 1300},
        )
    response = client.patch(
        f"/api/v1/products/{product.id}", json={"version": 1, "price_yen": 1}, headers=key_a.headers
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == 409 and "read it again" in response.get_json()["message"]


def test_errors_are_422s_keyed_by_field(client, db, world, key_a):
    add(db, world, jan=jan(1))
    bad = {**NEW, "jan": jan(2)[:-1] + "0", "price_yen": -1, "tax_rate": 5}
    response = client.post("/api/v1/products", json=bad, headers=key_a.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"jan", "price_yen", "tax_rate"}
    assert "check digit" in errors["jan"][0]
    taken = client.post(
        "/api/v1/products", json={**NEW, "sku": "TEA-1", "jan": jan(1)}, headers=key_a.headers
    )
    assert taken.status_code == 422
    assert set(taken.get_json()["errors"]["json"]) == {"sku", "jan"}


def test_unknown_fields_and_a_missing_version_are_refused(client, db, world, key_a):
    product = add(db, world)
    for body in ({**NEW, "tenant_id": str(world.shop_b.id)}, {**NEW, "colour": "green"}):
        response = client.post("/api/v1/products", json=body, headers=key_a.headers)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]["json"]) & {"tenant_id", "colour"}
    no_version = client.patch(
        f"/api/v1/products/{product.id}", json={"price_yen": 1}, headers=key_a.headers
    )
    assert no_version.status_code == 422
    assert "version" in no_version.get_json()["errors"]["json"]
    filters = client.get("/api/v1/products?colour=green", headers=key_a.headers)
    assert filters.status_code == 422


def test_another_shops_key_gets_404_and_never_sees_shop_as_products(
    client, db, world, key_a, key_b
):
    product = add(db, world, jan=jan(1))
    add(db, world, shop=world.shop_b, sku="B-1", name="みどりの茶")
    assert client.get(f"/api/v1/products/{product.id}", headers=key_b.headers).status_code == 404
    patched = client.patch(
        f"/api/v1/products/{product.id}", json={"version": 1, "price_yen": 1}, headers=key_b.headers
    )
    assert patched.status_code == 404
    listing = client.get("/api/v1/products?limit=200", headers=key_b.headers).get_json()
    assert [p["sku"] for p in listing["items"]] == ["B-1"]
    assert client.get(f"/api/v1/products?q={jan(1)}", headers=key_b.headers).get_json() == {
        "items": [],
        "next_after": None,
    }
    with db.tenant_session(world.shop_a.id) as s:
        assert s.get(type(product), (world.shop_a.id, product.id)).price_yen == 1200


def test_the_list_pages_by_keyset_and_filters(client, db, world, key_a):
    for n in range(5):
        add(db, world, sku=f"CUP-{n}", name=f"湯呑み {n}", status="active" if n % 2 else "draft")
    first = client.get("/api/v1/products?limit=2", headers=key_a.headers).get_json()
    assert [p["sku"] for p in first["items"]] == ["CUP-0", "CUP-1"]
    second = client.get(
        f"/api/v1/products?limit=2&after={first['next_after']}", headers=key_a.headers
    ).get_json()
    third = client.get(
        f"/api/v1/products?limit=2&after={second['next_after']}", headers=key_a.headers
    ).get_json()
    assert [p["sku"] for p in second["items"] + third["items"]] == ["CUP-2", "CUP-3", "CUP-4"]
    assert third["next_after"] is None
    active = client.get("/api/v1/products?status=active", headers=key_a.headers).get_json()
    assert [p["sku"] for p in active["items"]] == ["CUP-1", "CUP-3"]
    since = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = client.get(
        "/api/v1/products", query_string={"updated_since": since}, headers=key_a.headers
    )
    assert later.get_json()["items"] == []
    assert client.get("/api/v1/products?limit=500", headers=key_a.headers).status_code == 422
    assert client.get("/api/v1/products?status=sold", headers=key_a.headers).status_code == 422


def test_no_key_no_products(client, db, world):
    add(db, world)
    assert client.get("/api/v1/products").status_code == 401
    assert client.post("/api/v1/products", json=NEW).status_code == 401


def test_the_spec_names_the_schemas_per_direction(client):
    spec = json.loads(client.get("/api/v1/openapi.json").get_data(as_text=True))
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/products"])
    assert {"get", "patch"} <= set(paths["/api/v1/products/{product_id}"])
    schemas = spec["components"]["schemas"]
    assert {"ProductIn", "ProductPatch", "ProductOut", "ProductPage"} <= set(schemas)
    assert schemas["ProductPatch"]["required"] == ["version"]
    assert schemas["ProductIn"]["properties"]["tax_rate"] == {"type": "integer", "enum": [10, 8]}
    post = paths["/api/v1/products"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProductIn"
    }
    assert (
        "201" in post["responses"]
        and "409" in paths["/api/v1/products/{product_id}"]["patch"]["responses"]
    )
    assert "tenant_id" not in json.dumps(spec)
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    for name in ("ProductIn", "ProductPatch", "ProductOut"):
        assert f'id="schema-{name}"' in docs
    assert "PATCH /api/v1/products/{product_id}" in docs
