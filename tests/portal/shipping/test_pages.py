"""The shipping pages: an operator packs, exports the B2 file, imports tracking numbers
(one bad check digit reported by row), hands over; the shop sees its parcels with the
tracking link, and its API too. Shop B's people get 404 for all of it; shop people get
403 for the agency's work."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from tests.portal.stock.helpers import hidden
from tests.tenants.shipping.conftest import inspected, number, packed, shipment
from tests.tenants.shipping.test_flow import b2_export
from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import user_actor
from urakata.tenants.shipping.models import ShipmentPackage, ShipmentTracking


def _value(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_pack_export_import_and_hand_over_in_the_portal(db, world, portal, stocked):
    shop_a, _ = stocked
    first = inspected(db, shop_a, ("CUP-1", 1))
    second = inspected(db, shop_a, ("CUP-1", 2))
    portal.login(world.operator_a)
    queue = portal.get("/s/shop-a/packing").get_data(as_text=True)
    assert f"SH{first:010d}" in queue and f"SH{second:010d}" in queue

    page = portal.get(f"/s/shop-a/packing/{first}").get_data(as_text=True)
    assert 'data-testid="suggestion"' in page
    form = {"key": hidden(page, "key"), "version": hidden(page, "version"), "box_size": "70"}
    bad = portal.post_form(f"/s/shop-a/packing/{first}", form)
    assert bad.status_code == 422 and 'data-testid="pack-errors"' in bad.get_data(as_text=True)
    for shipment_id in (first, second):
        page = portal.get(f"/s/shop-a/packing/{shipment_id}").get_data(as_text=True)
        done = portal.post_form(f"/s/shop-a/packing/{shipment_id}", {
            "key": hidden(page, "key"), "version": hidden(page, "version"), "box_size": "",
            "weight_g": "", "material_bubble_wrap": "1"})  # fmt: skip
        assert done.status_code == 303, done.get_data(as_text=True)[:500]
    again = portal.post_form(f"/s/shop-a/packing/{first}", {
        "key": hidden(page, "key"), "version": hidden(page, "version")},
        form_url=f"/s/shop-a/packing/{second}")  # fmt: skip
    assert again.status_code in (303, 409)
    with db.tenant_session(shop_a.id) as s:
        assert len(s.scalars(select(ShipmentPackage)).all()) == 2

    wave_id = shipment(db, shop_a, first).wave_id
    csv_file = portal.get(f"/s/shop-a/packing/waves/{wave_id}/carrier-file?carrier=yamato")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    assert csv_file.data.decode("cp932").startswith("お客様管理番号,送り状種類")

    wrong = number(2)[:-1] + str((int(number(2)[-1]) + 3) % 10)
    export = b2_export((f"SH{first:010d}", number(1)), (f"SH{second:010d}", wrong))
    answer = portal.post_form("/s/shop-a/handover/tracking-import", {
        "carrier": "yamato", "file": (io.BytesIO(export), "b2.csv")},
        form_url="/s/shop-a/handover", content_type="multipart/form-data")  # fmt: skip
    assert answer.status_code == 303
    report = portal.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="import-refused"' in report
    assert 'data-code="check_digit" data-row="3"' in report and wrong in report
    with db.tenant_session(shop_a.id) as s:
        assert s.scalars(select(ShipmentTracking)).all() == []
    fixed = b2_export((f"SH{first:010d}", number(1)), (f"SH{second:010d}", number(2)))
    answer = portal.post_form("/s/shop-a/handover/tracking-import", {
        "carrier": "yamato", "file": (io.BytesIO(fixed), "b2.csv")},
        form_url="/s/shop-a/handover", content_type="multipart/form-data")  # fmt: skip
    assert 'data-testid="import-applied"' in portal.get(answer.headers["Location"]).get_data(
        as_text=True)  # fmt: skip

    page = portal.get("/s/shop-a/handover").get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    done = portal.post_form("/s/shop-a/handover", {"carrier": "yamato", "key": key})
    assert done.status_code == 303
    detail = portal.get(done.headers["Location"]).get_data(as_text=True)
    assert "HO-000001" in detail and number(1) in detail
    twice = portal.post_form("/s/shop-a/handover", {"carrier": "yamato", "key": key},
                             form_url="/s/shop-a/handover")  # fmt: skip
    assert twice.status_code == 303 and twice.headers["Location"] == done.headers["Location"]
    manifest = portal.get(done.headers["Location"] + "/manifest.pdf")
    assert manifest.status_code == 200 and manifest.data.startswith(b"%PDF")
    assert shipment(db, shop_a, first).status == "shipped"

    portal.logout()
    portal.login(world.shop_admin_a)
    parcels = portal.get("/s/shop-a/parcels").get_data(as_text=True)
    assert f"id={number(1)}" in parcels and 'data-testid="tracking-link"' in parcels
    assert portal.get("/s/shop-a/packing").status_code == 403  # the agency's work


def test_shop_b_gets_404_and_the_api_answers_for_the_keys_shop(db, world, portal, client, stocked):
    shop_a, shop_b = stocked
    mine = packed(db, shop_a, ("CUP-1", 1))
    wave_id = shipment(db, shop_a, mine).wave_id
    portal.login(world.operator_b)
    for url in (
        "/s/shop-a/packing",
        f"/s/shop-a/packing/{mine}",
        "/s/shop-a/handover",
        "/s/shop-a/parcels",
        f"/s/shop-b/packing/{mine}",
        f"/s/shop-b/packing/{mine}/slip.pdf",
        f"/s/shop-b/packing/waves/{wave_id}",
        f"/s/shop-b/packing/waves/{wave_id}/carrier-file?carrier=yamato",
    ):
        assert portal.get(url).status_code == 404, url
    answer = portal.post_form(f"/s/shop-b/packing/{mine}/cancel", {"reason": "x"},
                              form_url="/s/shop-b/handover")  # fmt: skip
    assert answer.status_code == 404
    with db.platform_session() as s:
        _k, token_a = create_api_key(s, shop_a.id, "a", actor=user_actor(world.shop_admin_a))
    with db.platform_session() as s:
        _k, token_b = create_api_key(s, shop_b.id, "b", actor=user_actor(world.shop_admin_b))
    ours = client.get("/api/v1/tracking", headers={"Authorization": f"Bearer {token_a}"})
    assert [i["label"] for i in ours.json["items"]] == [f"SH{mine:010d}"]
    assert ours.json["items"][0]["box_size"] == 60
    theirs = client.get(f"/api/v1/tracking/{mine}", headers={"Authorization": f"Bearer {token_b}"})
    assert theirs.status_code == 404
    assert client.get("/api/v1/tracking", headers={
        "Authorization": f"Bearer {token_b}"}).json["items"] == []  # fmt: skip


def test_shipping_options_page(db, world, portal, stocked):
    portal.login(world.shop_admin_a)
    page = portal.get("/s/shop-a/shipping/options").get_data(as_text=True)
    answer = portal.post_form("/s/shop-a/shipping/options", {
        "version": _value(page, "version"), "slip_message": "ありがとうございました",
        "slip_hide_prices": "on"})  # fmt: skip
    assert answer.status_code == 303
    page = portal.get("/s/shop-a/shipping/options").get_data(as_text=True)
    assert "ありがとうございました" in page and 'data-testid="slip-hide-prices" checked' in page
    refused = portal.post_form("/s/shop-a/shipping/options", {
        "version": _value(page, "version"), "shopify_fulfilment_enabled": "on"})  # fmt: skip
    assert refused.status_code == 422


def test_the_operators_board_shows_only_their_shops(db, world, portal, stocked):
    shop_a, _ = stocked
    packed(db, shop_a, ("CUP-1", 1))
    inspected(db, shop_a, ("CUP-1", 1))
    portal.login(world.operator_a)
    page = portal.get("/agency/shipping").get_data(as_text=True)
    assert 'data-shop="shop-a" data-to-pack="1"' in page and "shop-b" not in page
    assert 'data-testid="nav-shipping"' in page
    portal.logout()
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/shipping").status_code == 403


def test_a_scanned_label_opens_its_packing_page_in_this_shop_only(db, world, portal, stocked):
    shop_a, shop_b = stocked
    mine = inspected(db, shop_a, ("CUP-1", 1))
    theirs = inspected(db, shop_b, ("CUP-1", 1))
    portal.login(world.operator_a)
    found = portal.get(f"/s/shop-a/packing/find?label=sh{mine:010d}")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/packing/{mine}")
    other = portal.get(f"/s/shop-a/packing/find?label=SH{theirs:010d}")
    assert other.headers["Location"].endswith("/s/shop-a/packing")


def test_the_imports_list_is_filtered_and_paged(db, world, portal, stocked):
    shop_a, _ = stocked
    shipment_id = packed(db, shop_a, ("CUP-1", 1))
    portal.login(world.operator_a)
    for data in (b2_export(("SH9", number(1))), b2_export((f"SH{shipment_id:010d}", number(1)))):
        portal.post_form("/s/shop-a/handover/tracking-import", {
            "carrier": "yamato", "file": (io.BytesIO(data), "b2.csv")},
            form_url="/s/shop-a/handover", content_type="multipart/form-data")  # fmt: skip
    everything = portal.get("/s/shop-a/handover/imports").get_data(as_text=True)
    assert everything.count('data-testid="import-row"') == 2
    refused = portal.get("/s/shop-a/handover/imports?status=refused").get_data(as_text=True)
    assert refused.count('data-testid="import-row"') == 1 and 'data-status="refused"' in refused


def test_a_blocked_carrier_file_names_the_shipment_and_field_on_the_page(db, world, portal,
                                                                         stocked):  # fmt: skip
    from sqlalchemy import update

    from urakata.tenants.fulfilment.models import Shipment

    shop_a, _ = stocked
    shipment_id = packed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        s.execute(update(Shipment).where(Shipment.id == shipment_id)
                  .values(ship_building="グランドメゾン千代田" * 2))  # fmt: skip
    wave_id = shipment(db, shop_a, shipment_id).wave_id
    portal.login(world.operator_a)
    answer = portal.get(f"/s/shop-a/packing/waves/{wave_id}/carrier-file?carrier=yamato")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'data-testid="carrier-file-error"' in page
    assert f"SH{shipment_id:010d}" in page and "お届け先アパートマンション名" in page
