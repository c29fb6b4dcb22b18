"""Shipping instructions (出荷指示): an allocated order becomes shipments.

The allocation's movements say which pieces of each order line lie promised in which bin
(and lot); every piece promised and not yet on a live, unpicked shipment goes on a new
one. The shop's split policy decides whether an order whose lines need different cool
types (frozen, chilled, ambient) ships as one parcel (the coldest wins) or one parcel per
cool type. Carrier and service come from the order's own choice, else the shop's default;
a cool parcel always travels by the carrier's standard service (the only one that can be
cool). COD orders collect their total on their first parcel.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, text

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.tenants.catalog.models import Product
from urakata.tenants.fulfilment.errors import FulfilmentInvalid, IllegalShipmentMove
from urakata.tenants.fulfilment.models import (
    CARRIERS,
    COOL_OF_ZONE,
    COOL_TYPES,
    DELIVERY_SLOTS,
    SERVICES,
    UNPICKED,
    OrderShippingChoice,
    Shipment,
    ShipmentLine,
)
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.shop.models import ShopSettings

COD_MAX_YEN = 300_000  # the carriers' limit for 代引
GIFT_MESSAGE_MAX = 200

# Pieces promised to the order per (line, bin, lot), with the bin's place on the pick path.
_PROMISED = text(
    """
    SELECT m.reference_line AS order_line_id, m.product_id, m.location_id, m.lot_no,
           sum(m.allocated_delta) AS quantity, min(loc.code) AS bin_code,
           min(loc.pick_sequence) AS pick_sequence, min(l.best_before) AS best_before
      FROM stock_movement m
      JOIN location loc ON loc.id = m.location_id
      LEFT JOIN stock_level l ON l.tenant_id = m.tenant_id AND l.product_id = m.product_id
           AND l.location_id = m.location_id AND l.lot_no = m.lot_no
     WHERE m.tenant_id = :tenant AND m.reference_type = 'order' AND m.reference_id = :order
     GROUP BY m.reference_line, m.product_id, m.location_id, m.lot_no
    HAVING sum(m.allocated_delta) > 0
    """
)


def orders_to_instruct(session: UrakataSession, *, limit: int = 200) -> list[int]:
    """Ids of the shop's allocated orders, the soonest ship-by first."""
    stmt = (
        select(Order.id)
        .where(Order.status == "allocated")
        .order_by(Order.ship_by_at.is_(None), Order.ship_by_at, Order.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _on_live_shipments(session: UrakataSession, order_id: int) -> dict[tuple, int]:
    rows = session.execute(
        select(
            ShipmentLine.order_line_id,
            ShipmentLine.location_id,
            ShipmentLine.lot_no,
            func.sum(ShipmentLine.quantity),
        )
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id, Shipment.status.in_(UNPICKED))
        .group_by(ShipmentLine.order_line_id, ShipmentLine.location_id, ShipmentLine.lot_no)
    ).all()
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def _unshipped(session: UrakataSession, order: Order) -> list:
    """What the allocation promised the order and no live shipment carries yet."""
    rows = session.execute(_PROMISED, {"tenant": session.tenant_id, "order": str(order.id)}).all()
    taken = _on_live_shipments(session, order.id)
    left = []
    for row in rows:
        quantity = int(row.quantity) - taken.get(
            (row.order_line_id, row.location_id, row.lot_no), 0
        )
        if quantity > 0:
            left.append((row, quantity))
    return left


def _carrier_of(session: UrakataSession, order: Order) -> tuple[str, str, str]:
    choice = session.scalar(
        select(OrderShippingChoice).where(OrderShippingChoice.order_id == order.id)
    )
    if choice is not None:
        return choice.carrier, choice.service, choice.gift_message
    carrier, service = session.execute(
        select(ShopSettings.default_carrier, ShopSettings.default_carrier_service)
    ).one()
    return carrier, service, ""


def _coldest(cool_types) -> str:
    return max(cool_types, key=COOL_TYPES.index)


def _groups(takes: list, products: dict[int, Product], split: bool) -> list[tuple[str, list]]:
    """One parcel, or (when the shop allows splitting) one per cool type needed."""
    by_cool: dict[str, list] = defaultdict(list)
    for row, quantity in takes:
        by_cool[COOL_OF_ZONE[products[row.product_id].temperature_zone]].append((row, quantity))
    if split or len(by_cool) == 1:
        return sorted(by_cool.items(), key=lambda kv: COOL_TYPES.index(kv[0]), reverse=True)
    return [(_coldest(by_cool), [t for group in by_cool.values() for t in group])]


def instruct_order(
    session: UrakataSession, *, actor: Actor, order_id: int, now: datetime | None = None
) -> list[Shipment]:
    """Make the shipments of an allocated order and move it to *instructed*."""
    order = orders.get_order(session, order_id)
    if order.status != "allocated":
        raise IllegalShipmentMove(
            N_(
                "Only an allocated order gets shipping instructions (this one is %(state)s).",
                state=order.status,
            )
        )
    takes = _unshipped(session, order)
    if not takes:
        raise IllegalShipmentMove(N_("Nothing of this order is waiting for a shipment."))
    now = now or utcnow()
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({row.product_id for row, _ in takes}))
        )
    }
    lines_by_id = {line.id: line for line in order.lines}
    carrier, service, gift_message = _carrier_of(session, order)
    split = session.scalar(select(ShopSettings.split_policy)) != "ship_complete"
    part = session.scalar(
        select(func.coalesce(func.max(Shipment.part), 0)).where(Shipment.order_id == order.id)
    )
    cod_open = order.payment_method == "cod" and part == 0
    if cod_open and order.total_yen > COD_MAX_YEN:
        raise FulfilmentInvalid(
            {
                "cod_yen": [
                    N_(
                        "Cash on delivery is limited to %(limit)s yen; this order asks for"
                        " %(amount)s yen.",
                        limit=f"{COD_MAX_YEN:,}",
                        amount=f"{order.total_yen:,}",
                    )
                ]
            }
        )
    made = []
    for cool_type, group in _groups(takes, products, split):
        part += 1
        shipment = _shipment(order, part, carrier, service, cool_type, gift_message, now)
        if cod_open:
            shipment.cod_yen, cod_open = order.total_yen, False
        for row, quantity in sorted(group, key=lambda t: (t[0].pick_sequence, t[0].bin_code)):
            line = lines_by_id[row.order_line_id]
            shipment.lines.append(
                ShipmentLine(
                    tenant_id=session.tenant_id,
                    order_line_id=line.id,
                    product_id=row.product_id,
                    sku=line.sku,
                    name=line.name,
                    location_id=row.location_id,
                    bin_code=row.bin_code,
                    pick_sequence=row.pick_sequence,
                    lot_no=row.lot_no,
                    best_before=row.best_before,
                    quantity=quantity,
                )
            )
        _measure(shipment, group, products)
        session.add(shipment)
        made.append(shipment)
    session.flush()
    orders.record_fulfilment(
        session, actor=actor, order=order, status="instructed",
        data={"shipments": [s.id for s in made]},
    )  # fmt: skip
    for shipment in made:
        audit.record(
            session,
            actor,
            "shipment.instructed",
            object_type="shipment",
            object_id=shipment.id,
            data=_instruction_data(shipment),
        )
    return made


def _shipment(order: Order, part, carrier, service, cool_type, gift_message, now) -> Shipment:
    if cool_type != "none":
        service = SERVICES[carrier][0]  # only the standard parcel travels cool
    return Shipment(
        tenant_id=order.tenant_id,
        order_id=order.id,
        part=part,
        status="instructed",
        carrier=carrier,
        service=service,
        cool_type=cool_type,
        cod_yen=0,
        delivery_date=order.delivery_date,
        delivery_slot=order.delivery_slot if order.delivery_slot in DELIVERY_SLOTS else None,
        gift_wrap=order.gift_wrap,
        noshi=order.noshi,
        gift_message=gift_message,
        ship_name=order.ship_name,
        ship_postal_code=order.ship_postal_code,
        ship_prefecture=order.ship_prefecture,
        ship_city=order.ship_city,
        ship_street=order.ship_street,
        ship_building=order.ship_building,
        ship_phone=order.ship_phone,
        ship_by_at=order.ship_by_at,
        ship_by_date=order.ship_by_date,
        scanned_count=0,
        instructed_at=now,
        updated_at=now,
        end_reason="",
    )


def _measure(shipment: Shipment, group: list, products: dict[int, Product]) -> None:
    shipment.line_count = len(shipment.lines)
    shipment.unit_count = sum(q for _, q in group)
    sizes = [products[row.product_id].size_class for row, _ in group]
    shipment.size_class = max((s for s in sizes if s), default=None)
    weights = [(products[row.product_id].weight_g, q) for row, q in group]
    known = [w * q for w, q in weights if w]
    shipment.weight_g = sum(known) if known else None


def _instruction_data(shipment: Shipment) -> dict:
    return {
        "order_id": shipment.order_id,
        "part": shipment.part,
        "carrier": shipment.carrier,
        "service": shipment.service,
        "cool_type": shipment.cool_type,
        "cod_yen": shipment.cod_yen,
        "delivery_date": shipment.delivery_date.isoformat() if shipment.delivery_date else None,
        "delivery_slot": shipment.delivery_slot,
        "units": shipment.unit_count,
        "lines": [
            {
                "sku": line.sku,
                "bin": line.bin_code,
                "lot_no": line.lot_no,
                "quantity": line.quantity,
            }
            for line in shipment.lines
        ],
    }


def set_shipping_choice(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    carrier: str,
    service: str,
    gift_message: str = "",
) -> OrderShippingChoice:
    """The order's own carrier and service (over the shop's default), before it ships;
    shipments not yet picked follow the choice at once."""
    order = orders.get_order(session, order_id)
    errors: dict[str, list] = {}
    if carrier not in CARRIERS:
        errors["carrier"] = [N_("Choose one of: %(choices)s.", choices=", ".join(CARRIERS))]
    elif service not in SERVICES[carrier]:
        errors["service"] = [
            N_("Choose one of: %(choices)s.", choices=", ".join(SERVICES[carrier]))
        ]
    gift_message = " ".join(gift_message.split())
    if len(gift_message) > GIFT_MESSAGE_MAX:
        errors["gift_message"] = [
            N_("At most %(limit)s characters, please.", limit=GIFT_MESSAGE_MAX)
        ]
    if order.status in ("cancelled", "shipped", "packed"):
        errors["order"] = [
            N_("An order in state %(state)s cannot change carrier.", state=order.status)
        ]
    if errors:
        raise FulfilmentInvalid(errors)
    choice = session.scalar(
        select(OrderShippingChoice).where(OrderShippingChoice.order_id == order.id)
    )
    before = (choice.carrier, choice.service) if choice else (None, None)
    if choice is None:
        choice = OrderShippingChoice(tenant_id=session.tenant_id, order_id=order.id)
        session.add(choice)
    choice.carrier, choice.service, choice.gift_message = carrier, service, gift_message
    choice.set_by, choice.set_at = actor.label[:200], utcnow()
    for shipment in session.scalars(
        select(Shipment).where(Shipment.order_id == order.id, Shipment.status.in_(UNPICKED))
    ):
        shipment.carrier, shipment.gift_message = carrier, gift_message
        shipment.service = SERVICES[carrier][0] if shipment.cool_type != "none" else service
        shipment.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "order.carrier_chosen",
        object_type="order",
        object_id=order.id,
        changes={"carrier": (before[0], carrier), "service": (before[1], service)},
    )
    return choice
