"""Receiving (入庫): goods that arrived are counted into the shop's bins.

A receipt is one submission of one or more lines; it is checked whole before anything is
written (every problem named by its line and field), then each line adds to its level
and writes a ``receipt`` movement, all under the submission's idempotency key. Orders
waiting for stock are tried again once the receipt commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

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
    write_movements,
)
from urakata.tenants.stock.models import StockLot
from urakata.tenants.stock.schemas import QUANTITY_MAX, ReceiptIn, load


@dataclass(frozen=True)
class Bin:
    id: int
    code: str
    kind: str


@dataclass(frozen=True)
class ReceivedLine:
    sku: str
    product_id: int
    location: str
    lot_no: str
    best_before: date | None
    quantity: int


@dataclass(frozen=True)
class Receipt:
    key: str
    reference: str
    lines: list[ReceivedLine]

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


def own_bins(session: UrakataSession, codes: set[str]) -> dict[str, Bin]:
    """The bins among ``codes`` assigned to the bound shop, locked against being taken
    from it until this transaction ends. Another shop's bin is simply not there."""
    if not codes:
        return {}
    rows = session.execute(
        text(
            "SELECT id, code, kind FROM location WHERE code = ANY(:codes) AND shop_id = :shop"
            " ORDER BY id FOR SHARE"
        ),
        {"codes": sorted(codes), "shop": session.tenant_id},
    )
    return {r.code: Bin(r.id, r.code, r.kind) for r in rows}


def no_bin(code: str):
    return N_("No bin %(code)s is assigned to this shop.", code=code)


def check_lot(errors: dict, where: str, product: Product, lot_no: str, best_before) -> None:
    """Lot rules of the catalog: a lot-tracked SKU needs its lot, any other has none.
    ``where`` prefixes the field names (``lines[2]``), or is blank."""

    def at(field: str) -> str:
        return f"{where}.{field}" if where else field

    if product.lot_tracked and not lot_no:
        errors.setdefault(at("lot_no"), []).append(
            N_("%(sku)s is tracked by lot: enter the lot number.", sku=product.sku)
        )
    if not product.lot_tracked and lot_no:
        errors.setdefault(at("lot_no"), []).append(
            N_("%(sku)s is not tracked by lot: leave the lot blank.", sku=product.sku)
        )
    if not product.lot_tracked and best_before is not None:
        errors.setdefault(at("best_before"), []).append(
            N_("%(sku)s is not tracked by lot: leave the best-before date blank.", sku=product.sku)
        )


def _pieces(errors: dict, where: str, product: Product, line: dict) -> int:
    pieces = line["quantity"]
    if line["cases"]:
        if not product.case_quantity:
            errors.setdefault(f"{where}.cases", []).append(
                N_("%(sku)s has no case quantity in the catalog: count pieces.", sku=product.sku)
            )
            return 0
        pieces += line["cases"] * product.case_quantity
    if pieces == 0:
        errors.setdefault(f"{where}.quantity", []).append(
            N_("Enter how many pieces (or cases) arrived.")
        )
    elif pieces > QUANTITY_MAX:
        errors.setdefault(f"{where}.quantity", []).append(
            N_("At most %(limit)s pieces a line.", limit=format(QUANTITY_MAX, ","))
        )
    return pieces


def _known_lots(session: UrakataSession, lines: list[dict], products) -> dict:
    wanted = {(products[li["sku"]].id, li["lot_no"]) for li in lines if li["lot_no"]}
    if not wanted:
        return {}
    rows = session.execute(
        select(StockLot.product_id, StockLot.lot_no, StockLot.best_before).where(
            StockLot.product_id.in_({p for p, _lot in wanted}),
            StockLot.lot_no.in_({lot for _p, lot in wanted}),
        )
    )
    return {(r.product_id, r.lot_no): r.best_before for r in rows}


def _check_lots(errors: dict, lines: list[dict], products, known: dict) -> None:
    """A lot keeps the best-before of its first receipt, also within this receipt."""
    seen = dict(known)
    for n, line in enumerate(lines):
        if not line["lot_no"] or line["sku"] not in products:
            continue
        product = products[line["sku"]]
        key = (product.id, line["lot_no"])
        if key in seen and seen[key] != line["best_before"]:
            first = seen[key]
            errors.setdefault(f"lines[{n}].best_before", []).append(
                N_(
                    "Lot %(lot)s of %(sku)s has the best-before date %(date)s.",
                    lot=line["lot_no"],
                    sku=product.sku,
                    date=first.isoformat() if first else "—",
                )
            )
        seen.setdefault(key, line["best_before"])


def _checked(session: UrakataSession, values: dict, now: datetime):
    lines = values["lines"]
    products = {
        p.sku: p
        for p in session.scalars(
            select(Product).where(Product.sku.in_({li["sku"] for li in lines}))
        )
    }
    bins = own_bins(session, {li["location"] for li in lines})
    today = shop_today(session, now)
    errors: dict[str, list] = {}
    pieces = []
    for n, line in enumerate(lines):
        where = f"lines[{n}]"
        product = products.get(line["sku"])
        if product is None:
            errors.setdefault(f"{where}.sku", []).append(
                N_("The SKU %(sku)s is not in the shop's catalog.", sku=line["sku"])
            )
        if line["location"] not in bins:
            errors.setdefault(f"{where}.location", []).append(no_bin(line["location"]))
        if line["best_before"] is not None and line["best_before"] < today:
            errors.setdefault(f"{where}.best_before", []).append(
                N_(
                    "This lot is past its best-before date (%(date)s): it cannot be received.",
                    date=line["best_before"].isoformat(),
                )
            )
        if product is None:
            pieces.append(0)
            continue
        check_lot(errors, where, product, line["lot_no"], line["best_before"])
        pieces.append(_pieces(errors, where, product, line))
    if not errors:
        _check_lots(errors, lines, products, _known_lots(session, lines, products))
    if errors:
        raise StockInvalid(errors)
    return products, bins, pieces


def _record_lots(session: UrakataSession, lines: list[dict], products) -> None:
    """New lots with their best-before; a lot someone else recorded meanwhile with
    another date refuses the receipt (nothing of it is written yet)."""
    rows = {
        (products[li["sku"]].id, li["lot_no"]): li["best_before"] for li in lines if li["lot_no"]
    }
    if not rows:
        return
    table = StockLot.__table__
    session.execute(
        pg_insert(table).on_conflict_do_nothing(
            index_elements=["tenant_id", "product_id", "lot_no"]
        ),
        [
            {
                "tenant_id": session.tenant_id,
                "product_id": p,
                "lot_no": lot,
                "best_before": bb,
                "created_at": utcnow(),
            }
            for (p, lot), bb in sorted(rows.items())
        ],
    )
    known = _known_lots(session, lines, products)
    errors: dict[str, list] = {}
    _check_lots(errors, lines, products, known)
    if errors:
        raise StockInvalid(errors)


def receive(
    session: UrakataSession, *, actor: Actor, data: Any, now: datetime | None = None
) -> Receipt:
    """Count received goods into the shop's bins (see the module's docstring).

    Raises :class:`StockInvalid` naming each line's field at fault, and
    :class:`DuplicateSubmission` for a key used before; nothing is written then.
    """
    values = load(ReceiptIn(), data)
    now = now or utcnow()
    products, bins, pieces = _checked(session, values, now)
    if key_used(session, values["key"]):
        raise DuplicateSubmission("key", N_("This receipt was recorded already."))
    lines = values["lines"]
    _record_lots(session, lines, products)
    received = [
        ReceivedLine(
            line["sku"],
            products[line["sku"]].id,
            line["location"],
            line["lot_no"],
            line["best_before"],
            quantity,
        )
        for line, quantity in zip(lines, pieces, strict=True)
    ]
    ordered = sorted(received, key=lambda r: lock_key(r.product_id, bins[r.location].id, r.lot_no))
    for line in ordered:
        put_in(
            session,
            product_id=line.product_id,
            location_id=bins[line.location].id,
            lot_no=line.lot_no,
            best_before=line.best_before,
            quantity=line.quantity,
            now=now,
        )
    movements = [
        Movement("receipt", r.product_id, bins[r.location].id, r.lot_no, on_hand_delta=r.quantity)
        for r in received
    ]
    reference = values["reference"] or values["key"]
    write_movements(
        session,
        actor,
        key=values["key"],
        reference_type="receipt",
        reference_id=reference[:64],
        movements=movements,
        reason=values["note"],
        now=now,
    )
    audit.record(
        session,
        actor,
        "stock.received",
        object_type="stock_receipt",
        object_id=reference[:64],
        data={
            "key": values["key"],
            "reference": values["reference"],
            "note": values["note"],
            "lines": [
                {
                    "sku": r.sku,
                    "bin": r.location,
                    "lot_no": r.lot_no,
                    "best_before": r.best_before,
                    "quantity": r.quantity,
                }
                for r in received
            ],
        },
    )
    if any(bins[r.location].kind in ALLOCATABLE_KINDS for r in received):
        request_backorder_retry(session)
    return Receipt(values["key"], values["reference"], received)
