"""Posting a shipped parcel back to the shop's Shopify store as a fulfilment.

For a Shopify order of a shop that enabled it, the job (one per shipment, asked for at
handover) calls the store's Admin REST API with the shop's access token: it finds the
order by its name (#1001), takes its open fulfilment orders and creates a fulfilment
with the carrier, tracking number and tracking link (Shopify does not mail the customer:
our shipped mail does). A store that answers 4xx (bad token, unknown order, refused
input) will answer the same again: the post is marked failed at once, with the answer,
for a person to look at. Network trouble and 5xx/429 raise, and the job retries. An
order whose fulfilment orders are all closed already was fulfilled (by an earlier try
whose answer was lost, or by hand): nothing is posted twice.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping.carrier_files import tracking_url
from urakata.tenants.shipping.models import ShipmentTracking, ShopifyFulfilment
from urakata.tenants.shipping.settings import ShippingOptions, get_options

API_VERSION = "2024-07"
TIMEOUT = 15
# Shopify's names of the carriers (its tracking_company list).
COMPANIES = {"yamato": "Yamato (JA)", "sagawa": "Sagawa (JA)", "japan_post": "Japan Post (JA)"}


class ShopifyRefused(RuntimeError):
    """The store answered 4xx: trying again will not help."""


class ShopifyUnavailable(RuntimeError):
    """No answer, or 5xx/429: the job tries again later."""


@dataclass(frozen=True)
class Response:
    status: int
    body: dict


# (method, url, headers, body or None) -> Response
Http = Callable[[str, str, dict, bytes | None], Response]


def urllib_http(method: str, url: str, headers: dict, body: bytes | None) -> Response:
    if not url.startswith(("https://", "http://")):
        raise ShopifyRefused(f"not a store URL: {url[:80]}")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - https/test
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ShopifyUnavailable(f"{type(exc).__name__}: {exc}") from exc
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {"raw": raw[:300].decode("utf-8", "replace")}
    return Response(status, data if isinstance(data, dict) else {"data": data})


def base_url(domain: str, *, allow_plain_http: bool) -> str:
    """https://<store>; plain http only for a local stub outside production."""
    local = domain.split(":")[0] in ("127.0.0.1", "localhost")
    return f"{'http' if local and allow_plain_http else 'https'}://{domain}"


class _Client:
    def __init__(self, options: ShippingOptions, http: Http, allow_plain_http: bool):
        self.base = base_url(options.shopify_shop_domain, allow_plain_http=allow_plain_http)
        self.token = options.shopify_access_token
        self.http = http

    def call(self, method: str, path: str, payload: dict | None = None) -> dict:
        headers = {"X-Shopify-Access-Token": self.token, "Accept": "application/json"}
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode()
        answer = self.http(method, f"{self.base}/admin/api/{API_VERSION}/{path}", headers, body)
        if answer.status == 429 or answer.status >= 500:
            raise ShopifyUnavailable(f"HTTP {answer.status}")
        if answer.status >= 400:
            detail = json.dumps(answer.body.get("errors", answer.body), ensure_ascii=False)
            raise ShopifyRefused(f"HTTP {answer.status}: {detail[:500]}")
        return answer.body


def _row(session: UrakataSession, shipment_id: int) -> ShopifyFulfilment:
    session.execute(
        insert(ShopifyFulfilment.__table__)
        .values(tenant_id=session.tenant_id, shipment_id=shipment_id, status="queued",
                attempts=0, remote_id="", updated_at=utcnow())
        .on_conflict_do_nothing()
    )  # fmt: skip
    return session.scalars(
        select(ShopifyFulfilment)
        .where(ShopifyFulfilment.shipment_id == shipment_id)
        .with_for_update()
    ).one()


def post_fulfilment(
    session: UrakataSession,
    *,
    actor: Actor,
    shipment_id: int,
    http: Http = urllib_http,
    allow_plain_http: bool = False,
) -> str:
    """Create the shipment's fulfilment in Shopify; what happened, in a word."""
    row = _row(session, shipment_id)
    if row.status in ("posted", "skipped"):
        return f"already {row.status}"
    shipment = fulfilment.get_shipment(session, shipment_id)
    order = session.scalars(select(Order).where(Order.id == shipment.order_id)).one()
    options = get_options(session)
    tracking = session.get(ShipmentTracking, (session.tenant_id, shipment_id))
    if order.channel != "shopify" or not options.shopify_ready or shipment.status != "shipped":
        row.status, row.updated_at = "skipped", utcnow()
        audit.record(session, actor, "shipment.shopify_skipped", object_type="shipment",
                     object_id=shipment_id, data={"channel": order.channel,
                                                  "enabled": options.shopify_ready})  # fmt: skip
        return "skipped"
    client = _Client(options, http, allow_plain_http)
    row.attempts += 1
    row.updated_at = utcnow()
    try:
        remote = _post(client, order, shipment, tracking)
    except ShopifyRefused as exc:
        row.status, row.last_error = "failed", str(exc)[:2000]
        audit.record(session, actor, "shipment.shopify_failed", object_type="shipment",
                     object_id=shipment_id,
                     data={"error": str(exc)[:300], "final": True})  # fmt: skip
        return "refused"
    row.status, row.remote_id, row.posted_at, row.last_error = "posted", remote, utcnow(), None
    audit.record(session, actor, "shipment.shopify_posted", object_type="shipment",
                 object_id=shipment_id, data={"fulfillment_id": remote, "order": order.external_id,
                                              "attempt": row.attempts})  # fmt: skip
    return "posted"


def _post(client: _Client, order: Order, shipment, tracking: ShipmentTracking | None) -> str:
    name = urllib.parse.quote(order.external_id, safe="")
    found = client.call("GET", f"orders.json?name={name}&status=any&fields=id,name")
    orders = found.get("orders") or []
    if not orders:
        raise ShopifyRefused(f"no Shopify order named {order.external_id}")
    order_id = orders[0]["id"]
    fos = client.call("GET", f"orders/{order_id}/fulfillment_orders.json")
    open_ids = [fo["id"] for fo in fos.get("fulfillment_orders", [])
                if fo.get("status") in ("open", "in_progress")]  # fmt: skip
    if not open_ids:
        return "already-fulfilled"
    number = tracking.tracking_no if tracking else ""
    payload = {
        "fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": i} for i in open_ids],
            "tracking_info": {
                "company": COMPANIES.get(shipment.carrier, shipment.carrier),
                "number": number,
                "url": tracking_url(shipment.carrier, number),
            },
            "notify_customer": False,
        }
    }
    created = client.call("POST", "fulfillments.json", payload)
    return str((created.get("fulfillment") or {}).get("id", ""))


def record_failure(session: UrakataSession, *, actor: Actor, shipment_id: int, exc, final: bool):
    row = _row(session, shipment_id)
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    row.updated_at = utcnow()
    if final:
        row.status = "failed"
    audit.record(session, actor, "shipment.shopify_failed", object_type="shipment",
                 object_id=shipment_id,
                 data={"error": row.last_error[:300], "final": final})  # fmt: skip


def state_of(session: UrakataSession, shipment_id: int) -> ShopifyFulfilment | None:
    return session.get(ShopifyFulfilment, (session.tenant_id, shipment_id))
