"""The Shopify post-back against a local stub store that checks each request; and the
other shop: every read answers as if nothing were there, every write is refused."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, text

from tests.tenants.fulfilment.conftest import order_body, waved
from tests.tenants.shipping.conftest import (
    JAN,
    OPERATOR,
    PACKER,
    labelled,
    number,
    packed,
)
from tests.tenants.shipping.conftest import scan_code as scan
from urakata.platform.tenancy import NotFound
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders import services as orders
from urakata.tenants.shipping import documents, handover, labels, packing, settings, tracking
from urakata.tenants.shipping.errors import ShippingInvalid
from urakata.tenants.shipping.models import (
    Handover,
    ShipmentPackage,
    ShipmentTracking,
    ShopifyFulfilment,
)
from urakata.tenants.stock.allocation import allocate_order

TOKEN = "shpat_test_token_123"


class StubStore:
    """A Shopify store on a spare port: answers the three calls, keeps what it got."""

    def __init__(self, fail_post: int | None = None):
        self.requests: list[dict] = []
        self.fail_post = fail_post
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802
                token = self.headers.get("X-Shopify-Access-Token")
                stub.requests.append({"method": "GET", "path": self.path, "token": token})
                if self.headers.get("X-Shopify-Access-Token") != TOKEN:
                    return self._answer(401, {"errors": "Invalid API key or access token"})
                if self.path.startswith("/admin/api/2024-07/orders.json?name=%231001"):
                    return self._answer(200, {"orders": [{"id": 450789469, "name": "#1001"}]})
                if self.path == "/admin/api/2024-07/orders/450789469/fulfillment_orders.json":
                    return self._answer(200, {"fulfillment_orders": [
                        {"id": 1046000778, "status": "open"},
                        {"id": 1046000779, "status": "closed"}]})  # fmt: skip
                return self._answer(404, {"errors": "Not Found"})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"method": "POST", "path": self.path, "body": body,
                                      "token": self.headers.get("X-Shopify-Access-Token"),
                                      "type": self.headers.get("Content-Type")})  # fmt: skip
                if stub.fail_post:
                    return self._answer(stub.fail_post, {"errors": "unavailable"})
                return self._answer(201, {"fulfillment": {"id": 255858046, "status": "success"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.domain = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def shopify_shipment(db, shop, *, n: int) -> int:
    """A Shopify order (#1001) packed with its tracking number."""
    with db.tenant_session(shop.id) as s:
        order = orders.intake(s, actor=OPERATOR, data=order_body(("CUP-1", 1), number="#1001"),
                              channel="shopify")  # fmt: skip
        order_id = order.id
    with db.tenant_session(shop.id) as s:
        assert allocate_order(s, actor=OPERATOR, order_id=order_id).complete
    with db.tenant_session(shop.id) as s:
        [shipment] = fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        shipment_id = shipment.id
    waved(db, shop, [shipment_id])
    assert scan(db, shop, shipment_id, JAN["CUP-1"])[0] == "ok"
    with db.tenant_session(shop.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key=uuid.uuid4().hex)
        tracking.set_tracking(s, actor=PACKER, shipment_id=shipment_id, number=number(n))
    return shipment_id


def enable_shopify(db, shop, domain: str, token: str = TOKEN) -> None:
    with db.tenant_session(shop.id) as s:
        current = settings.get_options(s)
        settings.update_options(s, actor=PACKER, version=current.version, data={
            "shopify_shop_domain": domain, "shopify_access_token": token,
            "shopify_fulfilment_enabled": "on"})  # fmt: skip


def posted(db, shop, shipment_id):
    with db.tenant_session(shop.id) as s:
        row = s.get(ShopifyFulfilment, (shop.id, shipment_id))
        s.expunge_all()
        return row


def test_the_fulfilment_is_posted_to_the_store_with_carrier_and_tracking(db, stocked, spine):
    shop_a, _ = stocked
    with StubStore() as store:
        enable_shopify(db, shop_a, store.domain)
        shipment_id = shopify_shipment(db, shop_a, n=11)
        with db.tenant_session(shop_a.id) as s:
            handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-shopify")
        spine.run()
        spine.run()  # delivered again: nothing posted twice
    row = posted(db, shop_a, shipment_id)
    assert (row.status, row.remote_id, row.attempts) == ("posted", "255858046", 1)
    assert all(r["token"] == TOKEN for r in store.requests)
    [post] = [r for r in store.requests if r["method"] == "POST"]
    assert post["path"] == "/admin/api/2024-07/fulfillments.json"
    assert post["type"] == "application/json"
    body = post["body"]["fulfillment"]
    assert body["line_items_by_fulfillment_order"] == [{"fulfillment_order_id": 1046000778}]
    assert body["tracking_info"] == {
        "company": "Yamato (JA)",
        "number": number(11),
        "url": f"https://jizen.kuronekoyamato.co.jp/jizen/servlet/crjz.b.NQ0010?id={number(11)}",
    }
    assert body["notify_customer"] is False


def test_a_refusing_store_marks_it_failed_and_a_shop_without_it_posts_nothing(db, stocked, spine):
    shop_a, _ = stocked
    with StubStore() as store:
        enable_shopify(db, shop_a, store.domain, token="wrong-token")
        shipment_id = shopify_shipment(db, shop_a, n=12)
        with db.tenant_session(shop_a.id) as s:
            handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-refused")
        spine.run()
    row = posted(db, shop_a, shipment_id)
    assert row.status == "failed" and "401" in row.last_error
    assert not [r for r in store.requests if r["method"] == "POST"]


def test_shopify_settings_need_domain_and_token(db, stocked):
    shop_a, _ = stocked
    with pytest.raises(ShippingInvalid) as refused, db.tenant_session(shop_a.id) as s:
        settings.update_options(s, actor=PACKER, version=0,
                                data={"shopify_fulfilment_enabled": True})  # fmt: skip
    assert "shopify_fulfilment_enabled" in refused.value.errors


# -- the other shop ----------------------------------------------------------------------------


def test_another_shop_sees_and_touches_none_of_it(db, stocked):
    shop_a, shop_b = stocked
    theirs, their_number = labelled(db, shop_a, ("CUP-1", 1), n=20)
    unpacked = packed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        wave_id = fulfilment.get_shipment(s, theirs).wave_id
        handed = handover.hand_over(s, actor=PACKER, carrier="yamato", key="a-ho",
                                    shipment_ids=[theirs])  # fmt: skip
        handover_id = handed.id
    with db.tenant_session(shop_b.id) as s:
        for model in (ShipmentPackage, ShipmentTracking, Handover):
            assert s.scalars(select(model)).all() == []
        assert s.execute(text("SELECT count(*) FROM shipment_package")).scalar() == 0
        assert handover.ready_parcels(s, "yamato") == []
        for call in (
            lambda: packing.suggest_box(s, unpacked),
            lambda: handover.get_handover(s, handover_id),
            lambda: documents.manifest_html(s, handover_id),
            lambda: labels.wave_carrier_file(s, actor=PACKER, wave_id=wave_id, carrier="yamato"),
            lambda: packing.pack_shipment(s, actor=PACKER, shipment_id=unpacked, key="x"),
            lambda: tracking.set_tracking(s, actor=PACKER, shipment_id=unpacked,
                                          number=number(21)),
            lambda: packing.cancel_packed(s, actor=PACKER, shipment_id=unpacked, reason="x"),
            lambda: documents.reprint_slip(s, actor=PACKER, shipment_id=theirs),
        ):  # fmt: skip
            with pytest.raises(NotFound):
                call()
        # Shop A's number means nothing here: an import naming A's shipment is refused.
        export = f"お客様管理番号,伝票番号\r\nSH{unpacked:010d},{number(22)}\r\n"
        result = tracking.import_export(s, actor=PACKER, carrier="yamato", filename="x.csv",
                                        data=export.encode("cp932"))  # fmt: skip
        assert [p.code for p in result.problems] == ["unknown"]
    with db.tenant_session(shop_a.id) as s:
        assert s.get(ShipmentTracking, (shop_a.id, theirs)).tracking_no == their_number
        assert s.get(ShipmentPackage, (shop_a.id, unpacked)).status == "packed"


def test_a_store_that_is_down_is_tried_again_later(db, stocked, spine):
    shop_a, _ = stocked
    with StubStore(fail_post=503) as store:
        enable_shopify(db, shop_a, store.domain)
        shipment_id = shopify_shipment(db, shop_a, n=13)
        with db.tenant_session(shop_a.id) as s:
            handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-down")
        spine.run()
    row = posted(db, shop_a, shipment_id)
    assert row.status == "queued" and "503" in row.last_error  # a retry is scheduled
    assert len([r for r in store.requests if r["method"] == "POST"]) == 1
