"""Warehouse bins: made by range on the agency's chain, changed on the version seen,
assigned to one shop at a time (on that shop's chain), released only when empty; the
database refuses stock in a bin of another shop and any change to a movement."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.tenants.stock.conftest import (
    ADMIN,
    B_PICK,
    DAMAGED,
    PICK_1,
    actions,
    line,
    put_away,
)
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.locations import (
    Location,
    LocationFilter,
    LocationInvalid,
    StaleLocation,
    create_locations,
    find_location,
    list_locations,
    update_location,
)
from urakata.platform.tenancy import NotFound
from urakata.tenants.stock.bins import assign_bins, get_shop_bin, release_bin, shop_bins
from urakata.tenants.stock.errors import StockInvalid


def test_a_range_of_bins_is_made_in_pick_path_order(db):
    with db.platform_session() as s:
        made = create_locations(
            s,
            actor=ADMIN,
            data={
                "zone": "ｃ",
                "aisle": "01-02",
                "shelf": "1",
                "bin": "1-3",
                "kind": "reserve",
                "first_sequence": "1000",
            },
        )
        assert [m.code for m in made] == [
            "C-01-1-1",
            "C-01-1-2",
            "C-01-1-3",
            "C-02-1-1",
            "C-02-1-2",
            "C-02-1-3",
        ]
        assert [m.pick_sequence for m in made] == [1000, 1010, 1020, 1030, 1040, 1050]
        assert all(m.shop_id is None and m.kind == "reserve" for m in made)
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "location.created")).one()
        assert event.payload["data"] == {
            "codes": 6,
            "first": "C-01-1-1",
            "last": "C-02-1-3",
            "kind": "reserve",
        }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"zone": "A-B"}, "zone"),
        ({"aisle": "12-01"}, "aisle"),
        ({"shelf": "1-10"}, "shelf"),
        ({"bin": "x?"}, "bin"),
        ({"kind": "freezer"}, "kind"),
        ({"aisle": "0001-0100", "shelf": "01-50"}, "bin"),  # 5,000 bins at once
        ({"first_sequence": "-5"}, "first_sequence"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_range_names_its_field(db, changes, field):
    data = {"zone": "E", "aisle": "01", "shelf": "1", "bin": "1", "kind": "pick_face", **changes}
    with pytest.raises(LocationInvalid) as refused, db.platform_session() as s:
        create_locations(s, actor=ADMIN, data=data)
    assert field in refused.value.errors
    with db.platform_session() as s:
        assert s.scalars(select(Location).where(Location.zone == "E")).all() == []


def test_existing_bins_are_not_made_twice(db, shops):
    with pytest.raises(LocationInvalid) as refused, db.platform_session() as s:
        create_locations(
            s,
            actor=ADMIN,
            data={"zone": "A", "aisle": "01", "shelf": "01", "bin": "1-3", "kind": "pick_face"},
        )
    assert "A-01-01-1, A-01-01-2" in str(refused.value.errors["bin"][0])
    with db.platform_session() as s:
        assert find_location(s, "A-01-01-3") is None


def test_changing_a_shops_bin_goes_into_its_chain_and_needs_the_version_seen(db, shop_a):
    with db.platform_session() as s:
        location = find_location(s, PICK_1)
        version = location.version
    with db.session() as s, s.begin():
        changed = update_location(
            s, actor=ADMIN, location_id=location.id, data={"version": version, "kind": "reserve"}
        )
        assert (changed.kind, changed.version) == ("reserve", version + 1)
    assert actions(db, shop_a)[-1] == "location.changed"
    with pytest.raises(StaleLocation), db.session() as s, s.begin():
        update_location(
            s, actor=ADMIN, location_id=location.id, data={"version": version, "pick_sequence": 5}
        )


def test_bins_are_assigned_to_one_shop_at_a_time(db, shop_a, shop_b):
    with db.platform_session() as s:
        create_locations(
            s,
            actor=ADMIN,
            data={"zone": "F", "aisle": "01", "shelf": "1", "bin": "1-2", "kind": "pick_face"},
        )
    with db.tenant_session(shop_b.id) as s:
        assign_bins(s, actor=ADMIN, codes=["f-01-1-1"])  # typed in lower case
    with pytest.raises(StockInvalid) as refused, db.tenant_session(shop_a.id) as s:
        assign_bins(s, actor=ADMIN, codes=["F-01-1-1", "F-01-1-2", "F-09-9-9", "??"])
    assert [str(m) for m in refused.value.errors["codes"]] == [
        "?? is not a bin code such as A-01-03-2.",
        "Bin F-01-1-1 is assigned to another shop.",
        "There is no bin F-09-9-9.",
    ]
    with db.tenant_session(shop_a.id) as s:
        assert "F-01-1-2" not in [b.code for b in shop_bins(s)]  # all or none
    assert actions(db, shop_b)[-1] == "stock.bins_assigned"


def test_a_bin_is_released_only_when_the_shops_stock_has_left_it(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 2, DAMAGED))
    with db.platform_session() as s:
        damaged = find_location(s, DAMAGED)
        empty = find_location(s, "R-01-01-2")
    with pytest.raises(StockInvalid) as refused, db.tenant_session(shop_a.id) as s:
        release_bin(s, actor=ADMIN, location_id=damaged.id, version=damaged.version)
    assert "2 pieces" in str(refused.value.errors["location"][0])
    with db.tenant_session(shop_a.id) as s:
        release_bin(s, actor=ADMIN, location_id=empty.id, version=empty.version)
    with db.platform_session() as s:
        assert find_location(s, "R-01-01-2").shop_id is None
        free = list_locations(s, LocationFilter(free_only=True)).items
        assert "R-01-01-2" in [b.code for b in free]
    assert actions(db, shop_a)[-1] == "stock.bin_released"


def test_another_shops_bin_cannot_be_released_or_read_as_this_shops(db, shop_a, shop_b):
    with db.platform_session() as s:
        theirs = find_location(s, B_PICK)
    with pytest.raises(NotFound), db.tenant_session(shop_a.id) as s:
        release_bin(s, actor=ADMIN, location_id=theirs.id, version=theirs.version)
    with pytest.raises(NotFound), db.tenant_session(shop_a.id) as s:
        get_shop_bin(s, theirs.id)
    with db.platform_session() as s:
        assert find_location(s, B_PICK).shop_id == shop_b.id


def test_the_database_refuses_stock_in_another_shops_bin(db, shop_a, shop_b):
    with db.platform_session() as s:
        theirs = find_location(s, B_PICK)
    refused = pytest.raises(DBAPIError, match="not assigned to this shop")
    with refused, db.tenant_session(shop_a.id) as s:
        s.execute(
            text(
                "INSERT INTO stock_level (tenant_id, product_id, location_id, lot_no,"
                " on_hand, allocated, updated_at) VALUES (:t, :p, :l, '', 5, 0, now())"
            ),
            {"t": shop_a.id, "p": shop_a.products["CUP-1"], "l": theirs.id},
        )


def test_movements_cannot_be_changed_or_removed(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1))
    for statement in (
        "UPDATE stock_movement SET on_hand_delta = 200",
        "DELETE FROM stock_movement",
    ):
        refused = pytest.raises(DBAPIError, match="permission denied")
        with refused, db.tenant_session(shop_a.id) as s:
            s.execute(text(statement))
