"""Products: validated codes, sizes, versions, duplicates within a shop, and isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from urakata.platform.audit import AuditEvent, user_actor
from urakata.platform.codes import gtin_check_digit, is_valid_gtin, itf14_for
from urakata.platform.tenancy import NotFound
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import (
    ProductInvalid,
    StaleProduct,
    create_product,
    find_by_code,
    get_product,
    list_products,
    size_class,
    update_product,
)

JAN = "4569951116179"  # domain/japan.md: 456995111617 → check digit 9
TEA = {
    "sku": "TEA-001",
    "jan": JAN,
    "name": "静岡 深蒸し煎茶 100g",
    "price_yen": "１，２００",
    "tax_rate": "8",
    "status": "active",
    "length_mm": 150,
    "width_mm": 100,
    "height_mm": 30,
    "weight_g": 120,
    "temperature_zone": "ambient",
    "case_quantity": 40,
    "case_itf14": "14569951116176",
    "barcodes": "TEA1, SHOP-7788",
}


def _create(db, world, data=TEA, shop=None):
    shop = shop or world.shop_a
    with db.tenant_session(shop.id) as s:
        return create_product(s, actor=user_actor(world.agency_admin), data=dict(data))


def test_codes_follow_the_gs1_rules():
    assert gtin_check_digit("456995111617") == 9
    assert is_valid_gtin(JAN) and not is_valid_gtin("4569951116178")
    assert itf14_for(JAN, 1) == "14569951116176"
    assert is_valid_gtin("49123456")  # GTIN-8


@pytest.mark.parametrize(
    ("sides", "weight", "expected"),
    [
        ((200, 200, 200), 1_000, 60),
        ((300, 300, 200), 1_000, 80),
        ((200, 200, 100), 9_000, 100),
        ((600, 600, 400), 20_000, 160),
        ((700, 600, 400), 1_000, None),
        ((None, 1, 1), 1, None),
    ],
)
def test_size_class_takes_the_larger_of_size_and_weight(sides, weight, expected):
    assert size_class(*sides, weight) == expected


def test_a_product_is_normalised_and_recorded(db, world):
    product = _create(db, world)
    assert (product.price_yen, product.tax_rate, product.size_class) == (1200, 8, 60)
    codes = sorted((b.kind, b.code) for b in product.barcodes)
    assert codes == [
        ("itf14", "14569951116176"),
        ("jan", JAN),
        ("shop", "SHOP-7788"),
        ("shop", "TEA1"),
    ]
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id) == ("product.created", str(product.id))
    assert event.payload["changes"]["sku"] == [None, "TEA-001"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("jan", "4569951116178", "check digit should be 9"),
        ("jan", "45699512", "check digit should be 1"),
        ("price_yen", "-1", "whole number"),
        ("tax_rate", "5", "Choose one of: 10, 8"),
        ("status", "sold", "Choose one of"),
        ("case_itf14", "14569951116175", "check digit"),
        ("sku", "TEA 001", "letters, digits"),
        ("name", "", "cannot be empty"),
        ("weight_g", "0", "whole number"),
        ("sale_starts_at", "tomorrow", "date and time"),
    ],
)
def test_bad_input_names_the_field(db, world, field, value, message):
    with pytest.raises(ProductInvalid) as caught:
        _create(db, world, {**TEA, field: value})
    assert list(caught.value.errors) == [field]
    assert message in str(caught.value.errors[field][0])


def test_unknown_fields_and_tenant_id_are_refused(db, world):
    with pytest.raises(ProductInvalid) as caught:
        _create(db, world, {**TEA, "tenant_id": str(world.shop_b.id)})
    assert "tenant_id" in caught.value.errors


def test_duplicate_sku_and_codes_within_a_shop_are_refused(db, world):
    _create(db, world)
    with pytest.raises(ProductInvalid) as caught:
        _create(db, world, {**TEA, "barcodes": ""})
    assert set(caught.value.errors) >= {"sku", "jan", "case_itf14"}
    with pytest.raises(ProductInvalid) as caught:
        _create(db, world, {"sku": "TEA-002", "name": "x", "price_yen": 1, "barcodes": "TEA1"})
    assert "already belongs to TEA-001" in str(caught.value.errors["barcodes"][0])


def test_the_same_sku_and_jan_in_two_shops_is_fine(db, world):
    a = _create(db, world)
    b = _create(db, world, shop=world.shop_b)
    assert a.sku == b.sku and a.tenant_id != b.tenant_id


def test_updates_need_the_current_version_and_are_recorded(db, world):
    product = _create(db, world)
    actor = user_actor(world.shop_admin_a)
    with db.tenant_session(world.shop_a.id) as s:
        changed = update_product(
            s, actor=actor, product_id=product.id, data={"version": 1, "price_yen": 1300}
        )
        assert changed.version == 2
    with pytest.raises(StaleProduct), db.tenant_session(world.shop_a.id) as s:
        update_product(s, actor=actor, product_id=product.id, data={"version": 1, "name": "x"})
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event.payload["changes"] == {"price_yen": [1200, 1300]}
        assert get_product(s, product.id).name == TEA["name"]


def test_changing_dimensions_recomputes_the_size_class(db, world):
    product = _create(db, world)
    with db.tenant_session(world.shop_a.id) as s:
        changed = update_product(
            s,
            actor=user_actor(world.agency_admin),
            product_id=product.id,
            data={"version": 1, "length_mm": 500, "width_mm": 300, "height_mm": 300},
        )
        assert changed.size_class == 120


def test_another_shop_cannot_see_find_or_change_the_product(db, world):
    product = _create(db, world)
    with db.tenant_session(world.shop_b.id) as s:
        with pytest.raises(NotFound):
            get_product(s, product.id)
        assert find_by_code(s, JAN) is None
        assert list_products(s, query="TEA").items == []
        with pytest.raises(NotFound):
            update_product(
                s,
                actor=user_actor(world.shop_admin_b),
                product_id=product.id,
                data={"version": 1, "price_yen": 1},
            )
    with db.tenant_session(world.shop_a.id) as s:
        assert get_product(s, product.id).price_yen == 1200


def test_search_finds_by_sku_jan_barcode_and_name_with_keyset_pages(db, world):
    _create(db, world)
    for n in range(3):
        _create(db, world, {"sku": f"CUP-{n}", "name": f"湯呑み {n}", "price_yen": 800})
    with db.tenant_session(world.shop_a.id) as s:
        assert [p.sku for p in list_products(s, query=JAN).items] == ["TEA-001"]
        assert [p.sku for p in list_products(s, query="SHOP-7788").items] == ["TEA-001"]
        assert [p.sku for p in list_products(s, query="深蒸し").items] == ["TEA-001"]
        first = list_products(s, query="CUP", limit=2)
        rest = list_products(s, query="CUP", limit=2, after_id=first.next_after)
        assert [p.sku for p in first.items + rest.items] == ["CUP-0", "CUP-1", "CUP-2"]
        assert rest.next_after is None
        assert s.scalar(select(Product).where(Product.sku == "CUP-0")).status == "draft"
