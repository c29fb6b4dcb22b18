"""Transfers between the shop's bins: replenishing a pick face from reserve, putting
damaged goods aside. Only free (unpromised) pieces move; a transfer is two movements
under one key, out of one level and into the other, made in the fixed lock order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.locations import ALLOCATABLE_KINDS
from urakata.tenants.catalog.models import Product
from urakata.tenants.stock.errors import DuplicateSubmission, StockInvalid
from urakata.tenants.stock.ledger import (
    Movement,
    key_used,
    lock_key,
    put_in,
    request_backorder_retry,
    shop_today,
    take_out,
    write_movements,
)
from urakata.tenants.stock.models import StockLevel
from urakata.tenants.stock.receipts import check_lot, no_bin, own_bins
from urakata.tenants.stock.schemas import TransferIn, load


@dataclass(frozen=True)
class Transfer:
    key: str
    sku: str
    lot_no: str
    from_location: str
    to_location: str
    quantity: int


def _source(session: UrakataSession, product: Product, location_id: int, lot_no: str):
    return session.scalar(
        select(StockLevel).where(
            StockLevel.product_id == product.id,
            StockLevel.location_id == location_id,
            StockLevel.lot_no == lot_no,
        )
    )


def _checked(session: UrakataSession, values: dict, now: datetime):
    errors: dict[str, list] = {}
    product = session.scalar(select(Product).where(Product.sku == values["sku"]))
    if product is None:
        errors["sku"] = [N_("The SKU %(sku)s is not in the shop's catalog.", sku=values["sku"])]
    bins = own_bins(session, {values["from_location"], values["to_location"]})
    for field in ("from_location", "to_location"):
        if values[field] not in bins:
            errors[field] = [no_bin(values[field])]
    if values["from_location"] == values["to_location"]:
        errors["to_location"] = [N_("Choose another bin than the one the goods come from.")]
    if product is not None:
        check_lot(errors, "", product, values["lot_no"], None)
    if errors:
        raise StockInvalid(errors)
    source, target = bins[values["from_location"]], bins[values["to_location"]]
    level = _source(session, product, source.id, values["lot_no"])
    if level is None or level.on_hand == 0:
        lot = values["lot_no"]
        message = (
            N_(
                "No %(sku)s of lot %(lot)s in bin %(code)s.",
                sku=product.sku,
                lot=lot,
                code=source.code,
            )
            if lot
            else N_("No %(sku)s in bin %(code)s.", sku=product.sku, code=source.code)
        )
        raise StockInvalid({"from_location": [message]})
    if level.available < values["quantity"]:
        raise StockInvalid(
            {
                "quantity": [
                    N_(
                        "Only %(available)s of %(sku)s are free to move in bin %(code)s.",
                        available=level.available,
                        sku=product.sku,
                        code=source.code,
                    )
                ]
            }
        )
    today = shop_today(session, now)
    if level.best_before and level.best_before < today and target.kind in ALLOCATABLE_KINDS:
        raise StockInvalid(
            {
                "lot_no": [
                    N_(
                        "Lot %(lot)s is past its best-before date (%(date)s): move it to a"
                        " bin for damaged goods, not to %(code)s.",
                        lot=values["lot_no"],
                        date=level.best_before.isoformat(),
                        code=target.code,
                    )
                ]
            }
        )
    return product, source, target, level


def transfer(
    session: UrakataSession, *, actor: Actor, data: Any, now: datetime | None = None
) -> Transfer:
    """Move free pieces of a SKU (one lot) from one of the shop's bins to another.

    Raises :class:`StockInvalid` naming the field at fault (a bin not the shop's, more
    than is free, an expired lot into a bin orders are taken from) and
    :class:`DuplicateSubmission` for a key used before; nothing is written then.
    """
    values = load(TransferIn(), data)
    now = now or utcnow()
    product, source, target, level = _checked(session, values, now)
    if key_used(session, values["key"]):
        raise DuplicateSubmission("key", N_("This transfer was recorded already."))
    quantity, lot_no = values["quantity"], values["lot_no"]
    steps = [
        (lock_key(product.id, source.id, lot_no), "out"),
        (lock_key(product.id, target.id, lot_no), "in"),
    ]
    savepoint = session.begin_nested()
    for _key, step in sorted(steps):
        if step == "in":
            put_in(
                session,
                product_id=product.id,
                location_id=target.id,
                lot_no=lot_no,
                best_before=level.best_before,
                quantity=quantity,
                now=now,
            )
        elif not take_out(
            session,
            product_id=product.id,
            location_id=source.id,
            lot_no=lot_no,
            quantity=quantity,
            now=now,
        ):
            savepoint.rollback()  # promised or moved meanwhile
            raise StockInvalid(
                {
                    "quantity": [
                        N_(
                            "Fewer than %(quantity)s of %(sku)s are free in bin %(code)s now.",
                            quantity=quantity,
                            sku=product.sku,
                            code=source.code,
                        )
                    ]
                }
            )
    savepoint.commit()
    movements = [
        Movement("transfer", product.id, source.id, lot_no, on_hand_delta=-quantity),
        Movement("transfer", product.id, target.id, lot_no, on_hand_delta=quantity),
    ]
    write_movements(
        session,
        actor,
        key=values["key"],
        reference_type="transfer",
        reference_id=values["key"][:64],
        movements=movements,
        reason=values["reason"],
        now=now,
    )
    audit.record(
        session,
        actor,
        "stock.transferred",
        object_type="product",
        object_id=product.id,
        data={
            "key": values["key"],
            "sku": product.sku,
            "lot_no": lot_no,
            "from": source.code,
            "to": target.code,
            "quantity": quantity,
            "reason": values["reason"],
        },
    )
    if target.kind in ALLOCATABLE_KINDS and source.kind not in ALLOCATABLE_KINDS:
        request_backorder_retry(session)
    return Transfer(values["key"], product.sku, lot_no, source.code, target.code, quantity)
