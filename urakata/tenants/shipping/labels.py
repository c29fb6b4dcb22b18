"""Carrier files of a wave: each shipment's label data, and the file in the carrier's format.

:func:`label_data` prepares what a label needs of one shipment (ship-to as carriers
print it, the shop's ご依頼主 from its settings, COD, delivery date and slot, cool type,
請求先顧客コード / 運賃管理番号); :func:`wave_carrier_file` writes the file of one carrier
for a wave's inspected and packed shipments, or raises ``CarrierFileBlocked`` naming
each shipment and field that does not fit. The download is on the shop's ledger chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from urakata.platform import audit, jpaddress
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import Tenant
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping import column_maps
from urakata.tenants.shipping.carrier_files import (
    FORMAT_OF_CARRIER,
    LabelData,
    carrier_file,
    width,
)
from urakata.tenants.shipping.errors import NotReady
from urakata.tenants.shipping.settings import get_options
from urakata.tenants.shop.models import ShopSettings

LABELLED = ("inspected", "packed")  # shipments whose labels are printed before handover
SENDER_LINE_UNITS = 32  # e飛伝 and ゆうパックプリントR print the sender's address in lines


@dataclass(frozen=True)
class Sender:
    name: str
    postal_code: str
    address: str
    phone: str
    b2_customer_code: str
    b2_freight_code: str
    ehiden_customer_code: str
    item_name: str


def sender_of(session: UrakataSession) -> Sender:
    row = session.execute(
        select(
            ShopSettings.sender_name,
            ShopSettings.sender_postal_code,
            ShopSettings.sender_address,
            ShopSettings.sender_phone,
            ShopSettings.b2_customer_code,
            ShopSettings.b2_freight_code,
            ShopSettings.ehiden_customer_code,
        )
    ).one()
    tenant = session.get(Tenant, session.tenant_id)
    phone = jpaddress.normalise_phone(row.sender_phone or "") or ""
    return Sender(
        name=jpaddress.normalise_text(row.sender_name or tenant.name),
        postal_code=jpaddress.normalise_postal_code(row.sender_postal_code or "") or "",
        address=jpaddress.normalise_text(row.sender_address),
        phone=jpaddress.format_phone(phone) if phone else "",
        b2_customer_code=row.b2_customer_code,
        b2_freight_code=row.b2_freight_code,
        ehiden_customer_code=row.ehiden_customer_code,
        item_name=get_options(session).label_item_name,
    )


def split_lines(text: str, units: int) -> tuple[str, str]:
    """The text in two lines of at most ``units`` each, broken at a space when one is
    near, else between characters (never cut: what does not fit stays in the second)."""
    if width(text) <= units:
        return text, ""
    cut, used = 0, 0
    for n, ch in enumerate(text):
        used += width(ch)
        if used > units:
            break
        cut = n + 1
    space = text.rfind(" ", 0, cut)
    if space > cut // 2:
        cut = space
    return text[:cut].strip(), text[cut:].strip()


def _prefecture(value: str) -> str:
    code = jpaddress.prefecture_code(value or "")
    return jpaddress.PREFECTURES.get(code or "", jpaddress.normalise_text(value))


def _item_names(shipment: Shipment, sender: Sender) -> tuple[str, str]:
    if sender.item_name:
        return sender.item_name, ""
    names = list(dict.fromkeys(jpaddress.normalise_text(line.name) for line in shipment.lines))
    first = names[0] if names else ""
    return (f"{first} 他" if len(names) > 1 else first), ""


def label_data(
    shipment: Shipment, order: Order, sender: Sender, ship_date: date, reference: str = ""
) -> LabelData:
    """What a label needs of one shipment (plain values; nothing read lazily)."""
    prefecture = _prefecture(shipment.ship_prefecture)
    city = jpaddress.normalise_text(shipment.ship_city)
    street = jpaddress.normalise_text(shipment.ship_street)
    if city.startswith(prefecture):
        prefecture = ""
    phone = jpaddress.normalise_phone(shipment.ship_phone or "") or ""
    sender_1, sender_2 = split_lines(sender.address, SENDER_LINE_UNITS)
    item_1, item_2 = _item_names(shipment, sender)
    cod = shipment.cod_yen or 0
    return LabelData(
        reference=reference or shipment.label,
        ship_date=ship_date,
        to_postal_code=jpaddress.normalise_postal_code(shipment.ship_postal_code or "") or "",
        to_address=f"{prefecture}{city}{street}",
        to_address_1=f"{prefecture}{city}",
        to_address_2=street,
        to_building=jpaddress.normalise_text(shipment.ship_building),
        to_name=jpaddress.normalise_text(shipment.ship_name),
        to_phone=jpaddress.format_phone(phone) if phone else "",
        sender_postal_code=sender.postal_code,
        sender_address=sender.address,
        sender_address_1=sender_1,
        sender_address_2=sender_2,
        sender_name=sender.name,
        sender_phone=sender.phone,
        invoice_kind=f"{shipment.service}_cod" if cod else shipment.service,
        cool=shipment.cool_type,
        delivery_date=shipment.delivery_date,
        delivery_slot=shipment.delivery_slot or "",
        item_name_1=item_1,
        item_name_2=item_2,
        cod_amount_yen=cod or None,
        cod_tax_yen=(order.tax_8_yen + order.tax_10_yen) if cod else None,
        pieces=1,
        billing_customer_code=sender.b2_customer_code,
        freight_code=sender.b2_freight_code,
        ehiden_customer_code=sender.ehiden_customer_code,
    )


def shop_today(session: UrakataSession) -> date:
    tenant = session.get(Tenant, session.tenant_id)
    return utcnow().astimezone(tenant.zone).date()


def labels_for(session: UrakataSession, shipments: list[Shipment], ship_date: date) -> list:
    sender = sender_of(session)
    order_ids = {s.order_id for s in shipments}
    orders = {
        o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))
    } if order_ids else {}  # fmt: skip
    return [label_data(s, orders[s.order_id], sender, ship_date) for s in shipments]


@dataclass(frozen=True)
class CarrierFile:
    filename: str
    data: bytes
    shipments: int
    format: str


def wave_carrier_file(
    session: UrakataSession, *, actor: Actor, wave_id: int, carrier: str
) -> CarrierFile:
    """The carrier's import file for the wave's labelled shipments of that carrier."""
    wave = fulfilment.get_wave(session, wave_id)
    if carrier not in FORMAT_OF_CARRIER:
        raise NotReady(N_("Choose a carrier."))
    shipments = [
        s for s in fulfilment.shipments_of_wave(session, wave_id, statuses=LABELLED)
        if s.carrier == carrier
    ]  # fmt: skip
    if not shipments:
        raise NotReady(N_("The wave has no inspected or packed shipments for this carrier."))
    fmt = FORMAT_OF_CARRIER[carrier]
    column_map = column_maps.map_for(session, fmt)
    data = carrier_file(column_map, labels_for(session, shipments, shop_today(session)))
    stamp = utcnow().astimezone(session.get(Tenant, session.tenant_id).zone)
    filename = f"{fmt}-{wave.label}-{stamp:%Y%m%d-%H%M}.csv"
    audit.record(session, actor, "shipping.carrier_file", object_type="wave", object_id=wave.id,
                 data={"carrier": carrier, "format": fmt, "shipments": len(shipments),
                       "filename": filename, "bytes": len(data)})  # fmt: skip
    return CarrierFile(filename, data, len(shipments), fmt)
