"""A shop's shipping options: the packing slip's message and prices, the labels' item
name, and posting fulfilments back to its Shopify store. Changes are versioned (409 on a
stale form) and on the shop's ledger chain, the access token masked."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.tenants.shipping.carrier_files import width
from urakata.tenants.shipping.errors import ShippingInvalid, StaleShipping
from urakata.tenants.shipping.models import ShippingSettings

SLIP_MESSAGE_MAX = 500
ITEM_NAME_UNITS = 32  # 16 full-width: within every carrier's 品名 (e飛伝 16 全角)
TOKEN_MAX = 200
MASK = "********"
SECRETS = frozenset({"shopify_access_token"})
FIELDS = (
    "slip_message",
    "slip_hide_prices",
    "label_item_name",
    "shopify_shop_domain",
    "shopify_access_token",
    "shopify_fulfilment_enabled",
)
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")


@dataclass(frozen=True)
class ShippingOptions:
    version: int  # 0: the shop never saved its own
    slip_message: str = ""
    slip_hide_prices: bool = False
    label_item_name: str = ""
    shopify_shop_domain: str = ""
    shopify_access_token: str = ""
    shopify_fulfilment_enabled: bool = False

    @property
    def shopify_ready(self) -> bool:
        return bool(
            self.shopify_fulfilment_enabled
            and self.shopify_shop_domain
            and self.shopify_access_token
        )


def _row(session: UrakataSession) -> ShippingSettings | None:
    return session.scalar(select(ShippingSettings))


def get_options(session: UrakataSession) -> ShippingOptions:
    row = _row(session)
    if row is None:
        return ShippingOptions(version=0)
    return ShippingOptions(row.version, **{f: getattr(row, f) for f in FIELDS})


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes", "y")


def _clean(data: dict, current: ShippingOptions) -> dict:
    errors: dict[str, list] = {}
    unknown = set(data) - set(FIELDS)
    for name in sorted(unknown):
        errors[name] = [N_("Unknown field.")]
    values = {}
    if "slip_message" in data:
        text = unicodedata.normalize("NFKC", str(data["slip_message"] or "")).replace("\r\n", "\n")
        if len(text) > SLIP_MESSAGE_MAX:
            errors["slip_message"] = [N_("Use at most %(limit)d characters (this has %(count)d).",
                                         limit=SLIP_MESSAGE_MAX, count=len(text))]  # fmt: skip
        values["slip_message"] = text.strip()
    if "label_item_name" in data:
        text = " ".join(unicodedata.normalize("NFKC", str(data["label_item_name"] or "")).split())
        if width(text) > ITEM_NAME_UNITS:
            errors["label_item_name"] = [
                N_(
                    "Carriers print at most %(limit)d full-width characters of an item name.",
                    limit=ITEM_NAME_UNITS // 2,
                )  # fmt: skip
            ]
        values["label_item_name"] = text
    if "shopify_shop_domain" in data:
        text = str(data["shopify_shop_domain"] or "").strip().lower()
        text = text.removeprefix("https://").removeprefix("http://").rstrip("/")
        if text and not _DOMAIN.fullmatch(text):
            errors["shopify_shop_domain"] = [
                N_("Enter the store's domain, such as example.myshopify.com.")
            ]
        values["shopify_shop_domain"] = text
    if "shopify_access_token" in data:
        token = str(data["shopify_access_token"] or "").strip()
        if len(token) > TOKEN_MAX:
            errors["shopify_access_token"] = [N_("Use at most %(limit)d characters.",
                                                 limit=TOKEN_MAX)]  # fmt: skip
        if token:  # blank keeps the current token
            values["shopify_access_token"] = token
    for name in ("slip_hide_prices", "shopify_fulfilment_enabled"):
        if name in data:
            values[name] = _bool(data[name])
    merged = {f: values.get(f, getattr(current, f)) for f in FIELDS}
    if merged["shopify_fulfilment_enabled"] and not (
        merged["shopify_shop_domain"] and merged["shopify_access_token"]
    ):
        errors.setdefault("shopify_fulfilment_enabled", []).append(
            N_("Enter the store's domain and an Admin API access token first.")
        )
    if errors:
        raise ShippingInvalid(errors)
    return values


def update_options(
    session: UrakataSession, *, actor: Actor, version: int, data: dict
) -> ShippingOptions:
    """Save the changed options; ``version`` is what the form showed (0: never saved)."""
    current = get_options(session)
    if current.version != version:
        raise StaleShipping(f"shipping settings are at version {current.version}")
    values = _clean(data, current)
    changes = {f: (getattr(current, f), v) for f, v in values.items() if getattr(current, f) != v}
    if not changes:
        return current
    row = _row(session)
    if row is None:
        row = ShippingSettings(version=1, **{f: getattr(current, f) for f in FIELDS})
        session.add(row)
    for name, (_old, new) in changes.items():
        setattr(row, name, new)
    row.updated_at, row.updated_by_name = utcnow(), actor.label[:200]
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleShipping("changed meanwhile") from exc
    shown = {f: (MASK if o else "", MASK) if f in SECRETS else (o, n)
             for f, (o, n) in changes.items()}  # fmt: skip
    audit.record(session, actor, "shipping.settings_changed", object_type="shipping_settings",
                 object_id="", changes=shown, data={"version": row.version})  # fmt: skip
    return get_options(session)
