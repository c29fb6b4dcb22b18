"""/api/v1/sasage with per-shop keys: request, list, read with the material, download a
photo; 422 naming the SKU at fault; another shop's request and photo ids answer 404."""

from __future__ import annotations

import json

from tests.portal.api.conftest import issue_key
from tests.tenants.sasage.helpers import (
    finish_all,
    photo,
    render,
    request,
    upload,
)


def test_a_key_requests_sasage_and_reads_its_progress(client, db, world, shops):
    key = issue_key(db, world.shop_a)
    created = client.post(
        "/api/v1/sasage", json={"skus": ["TEE-001", "CUP-001"], "note": "正面・背面"},
        headers=key.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    items = created.get_json()["items"]
    assert [(i["sku"], i["complete"]) for i in items] == [("TEE-001", False), ("CUP-001", False)]
    assert {t["kind"]: t["state"] for t in items[0]["tasks"]} == {
        "photo": "todo", "measure": "todo", "copy": "todo",
    }  # fmt: skip
    listed = client.get("/api/v1/sasage?limit=1", headers=key.headers).get_json()
    assert [i["sku"] for i in listed["items"]] == ["CUP-001"] and listed["next_after"]
    rest = client.get(f"/api/v1/sasage?after={listed['next_after']}", headers=key.headers)
    assert [i["sku"] for i in rest.get_json()["items"]] == ["TEE-001"]


def test_bad_requests_name_the_sku_and_keep_nothing(client, db, world, shops):
    key = issue_key(db, world.shop_a)
    refused = client.post(
        "/api/v1/sasage", json={"skus": ["TEE-001", "NOPE", "TEE-001"]}, headers=key.headers
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]["json"]) == {"skus[1]", "skus[2]"}
    unknown = client.post("/api/v1/sasage", json={"skus": ["TEE-001"], "shop": "x"},
                          headers=key.headers)  # fmt: skip
    assert unknown.status_code == 422 and "shop" in json.dumps(unknown.get_json())
    assert client.post("/api/v1/sasage", json={"skus": []}, headers=key.headers).status_code == 422
    assert client.get("/api/v1/sasage?state=bogus", headers=key.headers).status_code == 422
    assert client.get("/api/v1/sasage", headers=key.headers).get_json()["items"] == []


def test_a_complete_request_carries_its_photos_measurement_and_copy(
    client, db, world, shops, store
):
    request_id = request(db, world.shop_a)
    finish_all(db, world.shop_a, request_id, store)
    key = issue_key(db, world.shop_a)
    body = client.get(f"/api/v1/sasage/{request_id}", headers=key.headers).get_json()
    assert body["complete"] is True and body["sku"] == "TEE-001"
    assert {t["state"] for t in body["tasks"]} == {"approved"}
    assert body["measurement"]["weight_g"] == 180
    assert body["measurement"]["sizes"][1] == {
        "size": "M",
        "values": [["着丈", 680], ["身幅", 510]],
    }
    assert body["copy"]["number"] == 1 and body["copy"]["title"].startswith("オーガニック")
    [first] = body["photos"]
    assert first["main"] is True and set(first["renditions"]) == {"web", "thumb"}
    downloaded = client.get(first["renditions"]["web"], headers=key.headers)
    assert downloaded.status_code == 200 and downloaded.mimetype == "image/jpeg"
    assert downloaded.data[:3] == b"\xff\xd8\xff"


def test_another_shops_request_and_photos_answer_404(client, db, world, shops, store):
    request_id = request(db, world.shop_a)
    upload(db, world.shop_a, request_id, store, photo())
    render(db, world.shop_a, request_id, store)
    key_a = issue_key(db, world.shop_a)
    image_url = client.get(f"/api/v1/sasage/{request_id}", headers=key_a.headers).get_json()[
        "photos"
    ][0]["renditions"]["thumb"]
    key_b = issue_key(db, world.shop_b)
    assert client.get(f"/api/v1/sasage/{request_id}", headers=key_b.headers).status_code == 404
    response = client.get(image_url, headers=key_b.headers)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert client.get(image_url).status_code == 401
    assert (
        client.get(image_url.replace("/thumb", "/original"), headers=key_a.headers).status_code
        == 404
    )


def test_the_api_documents_sasage(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/sasage", "/api/v1/sasage/{request_id}"} <= set(spec["paths"])
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "POST /api/v1/sasage" in html and 'id="schema-SasageDetailOut"' in html
