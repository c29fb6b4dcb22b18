"""Shopify's order webhooks (``orders/create``, ``orders/cancelled``) for one shop.

The signature is checked before anything is parsed: ``X-Shopify-Hmac-Sha256`` is the
base64 HMAC-SHA256 of the raw body with the shop's webhook secret, compared in constant
time. The order is then mapped to the order service's body and taken in through
``intake`` like any other order; its number (``name``, "#1001") is the external id, as in
Shopify's CSV export, so a webhook and a file never make the same order twice. Shopify
delivers at least once: a delivery of an order the shop has already answers "known",
not an error, so Shopify stops retrying.

``note_attributes`` carry what Japanese delivery apps add (配送希望日, 配送希望時間帯,
のし); :data:`NOTE_ATTRIBUTES` lists the keys the common apps use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession
from urakata.tenants.orders.imports.formats import SHOPIFY_STATUS, payment_method_from
from urakata.tenants.orders.models import DELIVERY_SLOTS, Order
from urakata.tenants.orders.services import (
    IllegalTransition,
    OrderConflict,
    cancel,
    intake,
)
from urakata.tenants.shop.services import get_settings

# note_attributes keys (NFKC, lower case, no spaces) → order field; the names the common
# Japanese delivery-date apps write.
NOTE_ATTRIBUTES = {
    "配送希望日": "delivery_date",
    "お届け希望日": "delivery_date",
    "配達希望日": "delivery_date",
    "deliverydate": "delivery_date",
    "配送希望時間帯": "delivery_slot",
    "お届け希望時間帯": "delivery_slot",
    "配達希望時間帯": "delivery_slot",
    "deliverytime": "delivery_slot",
    "のし": "noshi",
    "熨斗": "noshi",
    "noshi": "noshi",
}
_SLOT = re.compile(r"(\d{1,2})\D+(\d{1,2})")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the base64 HMAC-SHA256 of ``body`` with ``secret``."""
    # The same work without a secret (an unknown shop): the answer's timing tells nothing.
    key = (secret or "no secret").encode()
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
    matches = hmac.compare_digest(expected, (header or "").strip().encode())
    return matches and bool(secret)


def _key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).lower().split())


def delivery_slot(text: str) -> str | None:
    """ "14時～16時", "14:00-16:00", "午前中" → the carriers' slot codes; else None."""
    text = re.sub(r":00\b", "", unicodedata.normalize("NFKC", text))  # 14:00 → 14
    if "午前" in text:
        return "am"
    match = _SLOT.search(text)
    if match:
        slot = f"{int(match.group(1))}-{int(match.group(2))}"
        return slot if slot in DELIVERY_SLOTS else None
    return None


def _person(address: dict) -> str:
    name = address.get("name") or " ".join(
        part for part in (address.get("last_name"), address.get("first_name")) if part
    )
    return (name or "").strip()


def _money(value) -> int | str:
    text = str(value if value is not None else "0")
    whole, _dot, cents = text.partition(".")
    return int(whole) if whole.lstrip("-").isdigit() and set(cents) <= {"0"} else text


# The shop settings naming the shop's own note_attributes, by the field they fill.
SHOP_NOTE_KEYS = {
    "shopify_date_keys": "delivery_date",
    "shopify_slot_keys": "delivery_slot",
    "shopify_noshi_keys": "noshi",
}


def note_attribute_names(settings) -> dict[str, str]:
    """The shop's own note_attributes names (from its settings) over the common ones."""
    names = dict(NOTE_ATTRIBUTES)
    for setting, field in SHOP_NOTE_KEYS.items():
        for name in (getattr(settings, setting, "") or "").split(","):
            if name.strip():
                names[_key(name)] = field
    return names


def order_body(payload: dict, note_names: dict[str, str] | None = None) -> dict:
    """The order service's body for a Shopify order (prices include tax in Japan).

    ``note_names`` maps note_attributes names to the fields they fill
    (:func:`note_attribute_names`); by default the common apps' names.
    """
    note_names = NOTE_ATTRIBUTES if note_names is None else note_names
    ship = payload.get("shipping_address") or payload.get("billing_address") or {}
    billing = payload.get("billing_address") or ship
    customer = payload.get("customer") or {}
    gateways = " ".join(payload.get("payment_gateway_names") or [])
    body: dict = {
        "external_id": str(payload.get("name") or payload.get("id") or ""),
        "ordered_at": payload.get("created_at"),
        "customer": {
            "name": _person(billing) or _person(customer) or _person(ship),
            "email": payload.get("email") or customer.get("email") or "",
            "phone": payload.get("phone") or billing.get("phone") or "",
        },
        "ship_to": {
            "name": _person(ship),
            "postal_code": ship.get("zip") or "",
            "prefecture": ship.get("province_code") or ship.get("province") or "",
            "city": ship.get("city") or "",
            "street": ship.get("address1") or "",
            "building": ship.get("address2") or "",
            "phone": ship.get("phone") or billing.get("phone") or "",
        },
        "lines": [
            {
                "sku": item.get("sku") or "",
                "name": item.get("name") or item.get("title") or "",
                "quantity": item.get("quantity"),
                "unit_price_yen": _money(item.get("price")),
            }
            for item in payload.get("line_items") or []
        ],
        "payment_method": payment_method_from(gateways),
        "payment_status": SHOPIFY_STATUS.get(str(payload.get("financial_status")), "unpaid"),
        "shipping_fee_yen": sum(
            v
            for v in (_money(s.get("price")) for s in payload.get("shipping_lines") or [])
            if isinstance(v, int)
        ),  # fmt: skip
        "discount_yen": _money(payload.get("total_discounts")),
        "notes": (payload.get("note") or "")[:2000],
    }
    if payload.get("total_price") is not None:
        body["total_yen"] = _money(payload["total_price"])
    for attribute in payload.get("note_attributes") or []:
        field = note_names.get(_key(str(attribute.get("name", ""))))
        value = str(attribute.get("value") or "").strip()
        if field == "delivery_slot":
            value = delivery_slot(value)
        elif field == "delivery_date":
            value = unicodedata.normalize("NFKC", value).replace("/", "-")
        if field and value:
            body[field] = value
    return body


@dataclass(frozen=True)
class Delivered:
    """What a delivery did: ``created``, ``known`` (delivered before), ``cancelled``,
    ``unknown`` (a cancellation of an order the shop never got) or ``already``."""

    outcome: str
    order: Order | None = None


def take_order(session: UrakataSession, *, actor: Actor, payload: dict) -> Delivered:
    """``orders/create``: the order taken in (or found, when Shopify delivers it again).
    Raises ``OrderInvalid`` when the order itself is malformed."""
    names = note_attribute_names(get_settings(session))
    try:
        order = intake(session, actor=actor, data=order_body(payload, names), channel="shopify")
    except OrderConflict as exc:
        return Delivered("known", exc.order)
    return Delivered("created", order)


def cancel_order(session: UrakataSession, *, actor: Actor, payload: dict) -> Delivered:
    """``orders/cancelled``: cancel the shop's order of that number, if it has one."""
    from sqlalchemy import select

    number = str(payload.get("name") or payload.get("id") or "")
    order = session.scalar(
        select(Order).where(Order.channel == "shopify", Order.external_id == number)
    )
    if order is None:
        return Delivered("unknown")
    if order.status == "cancelled":
        return Delivered("already", order)
    reason = str(payload.get("cancel_reason") or "shopify")
    try:
        cancel(session, actor=actor, order_id=order.id, version=None,
               reason=f"Shopify: {reason}")  # fmt: skip
    except IllegalTransition:
        return Delivered("already", order)
    return Delivered("cancelled", order)
