"""Inbound notices and receiving (see the models' docstring for the flow).

Services never commit; each change is recorded on the shop's ledger chain about the
notice. Stock enters the ledger only through :func:`urakata.tenants.stock.receipts.receive`
at putaway, under a key derived from the items, so a form sent twice posts once.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError
from PIL import Image
from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, SingleLine, WholeNumber, normalise_code
from urakata.platform.locations import Location
from urakata.platform.tenancy import NotFound, get_scoped
from urakata.tenants.catalog.models import Product, ProductBarcode
from urakata.tenants.inbound.models import (
    InboundComment,
    InboundItem,
    InboundLine,
    InboundNotice,
)
from urakata.tenants.sasage.models import SasageRequest
from urakata.tenants.sasage.services import request_sasage
from urakata.tenants.shop.services import get_settings
from urakata.tenants.stock.errors import DuplicateSubmission, StockInvalid
from urakata.tenants.stock.models import StockLevel, StockMovement
from urakata.tenants.stock.receipts import check_lot, own_bins, receive
from urakata.tenants.stock.schemas import QUANTITY_MAX, LocalDate, LotNo

OBJECT = "inbound_notice"
LINES_MAX = 500
COMMENT_MAX = 2_000
PHOTO_MAX = 5 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
LIST_STATES = ("open", "receiving", "closed", "cancelled", "discrepancy")


class InboundInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class NoticeClosed(InboundInvalid):
    """The notice is closed or cancelled: nothing more is received against it (409)."""

    def __init__(self, notice: InboundNotice):
        super().__init__(
            {
                "notice": [
                    N_(
                        "Notice %(number)s is closed: nothing more can be received against it.",
                        number=notice.number,
                    )
                ]
            }
        )


class StaleInbound(RuntimeError):
    """Someone changed the notice since the version given (409)."""


def _field(field, value, name: str, errors: dict):
    try:
        return field.deserialize(value)
    except ValidationError as exc:
        errors.setdefault(name, []).extend(exc.messages)
        return None


def _value(line: Any, *names: str, default=None):
    for name in names:
        if isinstance(line, Mapping):
            if name in line and line[name] not in (None, ""):
                return line[name]
        elif getattr(line, name, None) not in (None, ""):
            return getattr(line, name)
    return default


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleInbound("the notice was changed meanwhile") from exc


# --- notices -----------------------------------------------------------------------------------


def _resolve_products(session: UrakataSession, raw: list) -> tuple[dict, dict]:
    skus = {str(_value(li, "sku", default="")).strip() for li in raw} - {""}
    ids = set()
    for li in raw:
        pid = _value(li, "product_id")
        if isinstance(pid, int) and not isinstance(pid, bool):
            ids.add(pid)
    stmt = select(Product).where(or_(Product.sku.in_(skus), Product.id.in_(ids)))
    by_sku, by_id = {}, {}
    for product in session.scalars(stmt):
        by_sku[product.sku] = product
        by_id[product.id] = product
    return by_sku, by_id


def check_lines(session: UrakataSession, lines: Iterable[Any]) -> list[dict]:
    """The expected lines, checked whole: each problem names ``lines[n].<field>``."""
    raw = list(lines or [])
    errors: dict[str, list] = {}
    if not raw:
        raise InboundInvalid({"lines": [N_("Give at least one line.")]})
    if len(raw) > LINES_MAX:
        raise InboundInvalid({"lines": [N_("At most %(limit)d lines.", limit=LINES_MAX)]})
    by_sku, by_id = _resolve_products(session, raw)
    quantity = WholeNumber(minimum=1, maximum=QUANTITY_MAX)
    checked = []
    seen: dict[tuple[int, str], int] = {}
    for n, line in enumerate(raw):
        where = f"lines[{n}]"
        pid, sku = _value(line, "product_id"), _value(line, "sku")
        product = None
        if pid is not None:
            product = by_id.get(pid) if isinstance(pid, int) else None
            if product is None:
                errors.setdefault(f"{where}.product_id", []).append(
                    N_("No product of the shop has the id %(id)s.", id=pid)
                )
        elif sku is not None:
            sku = str(sku).strip()
            product = by_sku.get(sku)
            if product is None:
                errors.setdefault(f"{where}.sku", []).append(
                    N_("The SKU %(sku)s is not in the shop's catalog.", sku=sku)
                )
        else:
            errors.setdefault(f"{where}.sku", []).append(N_("Give the SKU."))
        pieces = _field(quantity, _value(line, "quantity"), f"{where}.quantity", errors)
        lot = _field(LotNo(), _value(line, "lot", "lot_no", default=""), f"{where}.lot", errors)
        best_before = _field(
            LocalDate(allow_none=True),
            _value(line, "best_before", default=""),
            f"{where}.best_before",
            errors,
        )
        if product is not None and not product.lot_tracked:
            if lot:
                errors.setdefault(f"{where}.lot", []).append(
                    N_("%(sku)s is not tracked by lot: leave the lot blank.", sku=product.sku)
                )
            if best_before:
                errors.setdefault(f"{where}.best_before", []).append(
                    N_(
                        "%(sku)s is not tracked by lot: leave the best-before date blank.",
                        sku=product.sku,
                    )
                )
        if product is not None and (product.id, lot or "") in seen:
            errors.setdefault(f"{where}.sku", []).append(
                N_(
                    "%(sku)s is on line %(line)d already: give its pieces once.",
                    sku=product.sku,
                    line=seen[(product.id, lot or "")] + 1,
                )
            )
        elif product is not None:
            seen[(product.id, lot or "")] = n
        checked.append(
            {
                "product": product,
                "quantity": pieces,
                "lot_no": lot or "",
                "best_before": best_before,
            }
        )
    if errors:
        raise InboundInvalid(errors)
    return checked


def _notice_fields(expected_on, carrier, tracking_number, reference, note) -> dict:
    errors: dict[str, list] = {}
    values = {
        "expected_on": _field(LocalDate(allow_none=True), expected_on or "", "expected_on", errors),
        "carrier": _field(SingleLine(max_length=40), carrier or "", "carrier", errors),
        "tracking_number": _field(
            SingleLine(max_length=40), normalise_code(tracking_number or ""), "tracking_number",
            errors,
        ),
        "reference": _field(SingleLine(max_length=64), reference or "", "reference", errors),
        "note": _field(SingleLine(max_length=500), note or "", "note", errors),
    }  # fmt: skip
    if values["expected_on"] is None and "expected_on" not in errors:
        errors["expected_on"] = [N_("Give the day the goods are expected.")]
    tracking = values["tracking_number"] or ""
    if tracking and not all(ch.isdigit() or ch == "-" or ch.isalpha() for ch in tracking):
        errors.setdefault("tracking_number", []).append(N_("Use letters, digits and hyphens only."))
    if errors:
        raise InboundInvalid(errors)
    return values


def create_notice(
    session: UrakataSession,
    actor: Actor,
    *,
    lines: list,
    expected_on: date | str,
    carrier: str | None = None,
    tracking_number: str | None = None,
    reference: str | None = None,
    source: str = "portal",
    note: str | None = None,
    key: str | None = None,
) -> InboundNotice:
    """Register an inbound notice (入荷予定) of the bound shop; all or nothing.

    ``lines``: objects or dicts with ``product_id`` (or ``sku``), ``quantity`` and,
    optionally, ``lot`` (or ``lot_no``) and ``best_before``. Raises
    :class:`InboundInvalid` naming each field at fault (``lines[2].sku``); a ``key`` used
    before raises :class:`DuplicateSubmission` (nothing is written then).
    """
    if source not in ("portal", "csv", "api"):
        raise ValueError(f"unknown source {source!r}")
    errors: dict[str, list] = {}
    try:
        values = _notice_fields(expected_on, carrier, tracking_number, reference, note)
    except InboundInvalid as exc:
        errors.update(exc.errors)
    try:
        checked = check_lines(session, lines)
    except InboundInvalid as exc:
        errors.update(exc.errors)
    if errors:
        raise InboundInvalid(errors)
    if key is not None:
        existing = session.scalar(select(InboundNotice).where(InboundNotice.idempotency_key == key))
        if existing is not None:
            raise DuplicateSubmission("key", N_("This notice was registered already."))
    notice = InboundNotice(
        number=f"IN-TMP-{uuid.uuid4().hex[:12]}",
        source=source,
        idempotency_key=key,
        created_by=actor.label[:200],
        **values,
    )
    notice.lines = [
        InboundLine(
            line_no=n + 1,
            product_id=c["product"].id,
            quantity=c["quantity"],
            lot_no=c["lot_no"],
            best_before=c["best_before"],
        )
        for n, c in enumerate(checked)
    ]
    session.add(notice)
    session.flush()
    notice.number = f"IN-{notice.id:06d}"
    session.flush()
    audit.record(
        session,
        actor,
        "inbound.notice_created",
        object_type=OBJECT,
        object_id=notice.id,
        data={
            "number": notice.number,
            "source": source,
            "expected_on": values["expected_on"],
            "carrier": values["carrier"],
            "tracking_number": values["tracking_number"],
            "reference": values["reference"],
            "lines": [
                {
                    "sku": c["product"].sku,
                    "quantity": c["quantity"],
                    "lot_no": c["lot_no"],
                    "best_before": c["best_before"],
                }
                for c in checked
            ],
        },
    )
    return notice


def get_notice(session: UrakataSession, notice_id: int) -> InboundNotice:
    return get_scoped(session, InboundNotice, notice_id)


def _locked(session: UrakataSession, notice_id: int, version: int | None) -> InboundNotice:
    notice = get_notice(session, notice_id)
    session.refresh(notice, with_for_update=True)
    if version is not None and notice.version != version:
        raise StaleInbound(f"notice {notice.number} is at version {notice.version}")
    return notice


def cancel_notice(
    session: UrakataSession, actor: Actor, notice_id: int, *, version: int
) -> InboundNotice:
    """The shop withdraws a notice nothing was received against yet."""
    notice = _locked(session, notice_id, version)
    if notice.is_closed:
        raise NoticeClosed(notice)
    if items_of(session, notice.id):
        raise InboundInvalid(
            {"notice": [N_("Goods were received against this notice: it can only be closed.")]}
        )
    notice.status, notice.updated_at = "cancelled", utcnow()
    _flush(session)
    audit.record(
        session,
        actor,
        "inbound.notice_cancelled",
        object_type=OBJECT,
        object_id=notice.id,
        changes={"status": ("open", "cancelled")},
    )
    return notice


@dataclass
class NoticePage:
    items: list[InboundNotice]
    next_before: int | None


def list_notices(
    session: UrakataSession,
    *,
    state: str = "",
    query: str = "",
    before_id: int | None = None,
    limit: int = 50,
) -> NoticePage:
    """Newest first, a page at a time (keyset on the id)."""
    stmt = select(InboundNotice).order_by(InboundNotice.id.desc()).limit(limit + 1)
    if state == "discrepancy":
        stmt = stmt.where(InboundNotice.has_discrepancy.is_(True))
    elif state:
        stmt = stmt.where(InboundNotice.status == state)
    if query:
        like = f"%{query.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                InboundNotice.number.ilike(like),
                InboundNotice.reference.ilike(like),
                InboundNotice.tracking_number.ilike(like),
            )
        )
    if before_id is not None:
        stmt = stmt.where(InboundNotice.id < before_id)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(rows, rows[-1].id if more else None)


# --- receiving ---------------------------------------------------------------------------------


def items_of(session: UrakataSession, notice_id: int) -> list[InboundItem]:
    return list(
        session.scalars(
            select(InboundItem).where(InboundItem.notice_id == notice_id).order_by(InboundItem.id)
        )
    )


def find_product_by_code(session: UrakataSession, code: str) -> Product | None:
    """The shop's product with this JAN, case code, own barcode or SKU (another shop's
    code is simply not there)."""
    product_id = session.scalar(
        select(ProductBarcode.product_id).where(ProductBarcode.code == code).limit(1)
    )
    if product_id is not None:
        return session.get(Product, (session.tenant_id, product_id))
    return session.scalar(
        select(Product).where(or_(Product.jan == code, Product.sku == code)).limit(1)
    )


def _matching_line(notice: InboundNotice, product: Product, lot_no: str) -> InboundLine | None:
    candidates = [li for li in notice.lines if li.product_id == product.id]
    exact = [li for li in candidates if li.lot_no == lot_no]
    if exact:
        return exact[0]
    blank = [li for li in candidates if not li.lot_no]
    if blank:
        return blank[0]
    # no lot given: the notice's (first) lot of the SKU, which the scan then takes
    return candidates[0] if candidates and not lot_no else None


_PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _check_photo(photo: bytes | None, errors: dict) -> str | None:
    """The photo's real type (read from its bytes, not from what the browser said)."""
    if photo is None:
        return None
    if len(photo) > PHOTO_MAX:
        errors["photo"] = [N_("A photo may be at most 5 MB.")]
        return None
    try:
        with Image.open(io.BytesIO(photo)) as image:
            image.verify()
            found = _PHOTO_FORMATS.get(image.format or "")
    except (OSError, ValueError, Image.DecompressionBombError):
        found = None
    if found is None:
        errors["photo"] = [N_("Attach a JPEG, PNG or WebP photo.")]
    return found


def receive_item(
    session: UrakataSession,
    actor: Actor,
    notice_id: int,
    *,
    code: str,
    quantity: Any = 1,
    condition: str = "good",
    lot_no: str = "",
    best_before: Any = None,
    note: str = "",
    description: str = "",
    photo: bytes | None = None,
    photo_mime: str | None = None,
    submission_key: str | None = None,
) -> InboundItem:
    """Record pieces received against a notice (scanned or typed code, and a count).

    ``condition`` is good, damaged or unknown. A code the shop's catalog does not know
    is refused (it may be another shop's goods) unless recorded as ``unknown``: those
    pieces are held for the shop, never stocked. Nothing touches the stock ledger here.
    """
    notice = _locked(session, notice_id, None)
    if notice.is_closed:
        raise NoticeClosed(notice)
    if submission_key is not None and session.scalar(
        select(InboundItem.id).where(InboundItem.submission_key == submission_key)
    ):
        raise DuplicateSubmission("key", N_("This scan was recorded already."))
    errors: dict[str, list] = {}
    code = normalise_code(str(code or ""))[:64]
    pieces = _field(WholeNumber(minimum=1, maximum=QUANTITY_MAX), quantity, "quantity", errors)
    if condition not in ("good", "damaged", "unknown"):
        errors["condition"] = [N_("Choose good, damaged or unknown.")]
    lot = _field(LotNo(), lot_no or "", "lot_no", errors) or ""
    bb = _field(LocalDate(allow_none=True), best_before or "", "best_before", errors)
    note = _field(SingleLine(max_length=200), note or "", "note", errors) or ""
    description = _field(SingleLine(max_length=200), description or "", "description", errors)
    photo_mime = _check_photo(photo, errors)
    product = None
    if condition == "unknown":
        if not code and not description:
            errors["code"] = [N_("Give the code on the goods, or describe them.")]
    elif not code:
        errors["code"] = [N_("Scan or type the JAN code.")]
    else:
        product = find_product_by_code(session, code)
        if product is None:
            errors["code"] = [
                N_(
                    "No product of this shop has the code %(code)s. If the goods are not in"
                    " the catalog, record them as an unknown item.",
                    code=code,
                )
            ]
    if product is not None:
        line = _matching_line(notice, product, lot)
        if product.lot_tracked and not lot and line is not None and line.lot_no:
            lot, bb = line.lot_no, bb or line.best_before
        check_lot(errors, "", product, lot, bb)
    if errors:
        raise InboundInvalid(errors)
    now = utcnow()
    item = InboundItem(
        notice_id=notice.id,
        line_id=line.id if product is not None and line is not None else None,
        product_id=product.id if product is not None else None,
        scanned_code=code,
        description=description or "",
        quantity=pieces,
        condition=condition,
        lot_no=lot,
        best_before=bb,
        note=note,
        photo=photo,
        photo_mime=photo_mime if photo is not None else None,
        received_by=actor.label[:200],
        received_at=now,
        submission_key=submission_key,
    )
    session.add(item)
    before = notice.status
    if notice.status == "open":
        notice.status = "receiving"
    if notice.arrived_at is None:
        notice.arrived_at = now
    notice.updated_at = now
    _flush(session)
    audit.record(
        session,
        actor,
        "inbound.item_received",
        object_type=OBJECT,
        object_id=notice.id,
        changes={"status": (before, notice.status)} if before != notice.status else None,
        data={
            "item": item.id,
            "code": code,
            "sku": product.sku if product else None,
            "quantity": pieces,
            "condition": condition,
            "lot_no": lot,
            "on_notice": item.line_id is not None,
            "photo": photo is not None,
        },
    )
    return item


def remove_item(session: UrakataSession, actor: Actor, notice_id: int, item_id: int) -> None:
    """Undo a mistaken scan that was not put away yet."""
    notice = _locked(session, notice_id, None)
    if notice.is_closed:
        raise NoticeClosed(notice)
    item = session.scalar(
        select(InboundItem).where(InboundItem.id == item_id, InboundItem.notice_id == notice.id)
    )
    if item is None:
        raise NotFound(f"no item {item_id} on notice {notice_id}")
    if item.put_away_at is not None:
        raise InboundInvalid({"item": [N_("These pieces are put away already.")]})
    session.delete(item)
    notice.updated_at = utcnow()
    _flush(session)
    audit.record(
        session,
        actor,
        "inbound.item_removed",
        object_type=OBJECT,
        object_id=notice.id,
        data={"item": item_id, "code": item.scanned_code, "quantity": item.quantity},
    )


# --- putaway -----------------------------------------------------------------------------------


def suggest_bin(
    session: UrakataSession, product_id: int, condition: str, exclude: set[str] | None = None
) -> str | None:
    """Where pieces should go: damaged ones into the shop's damaged bin; good ones into
    the SKU's pick face, else an empty bin of the shop (pick faces first)."""
    bins = session.scalars(
        select(Location)
        .where(Location.shop_id == session.tenant_id)
        .order_by(Location.pick_sequence, Location.code)
    ).all()
    if condition == "damaged":
        return next((b.code for b in bins if b.kind == "damaged"), None)
    held = {
        r.location_id: r.on_hand
        for r in session.execute(
            select(StockLevel.location_id, func.sum(StockLevel.on_hand).label("on_hand"))
            .where(StockLevel.product_id == product_id)
            .group_by(StockLevel.location_id)
        )
    }
    faces = [b for b in bins if b.kind == "pick_face" and b.id in held]
    if faces:
        return max(faces, key=lambda b: (held[b.id] > 0, -b.pick_sequence)).code
    occupied = set(
        session.scalars(select(StockLevel.location_id).where(StockLevel.on_hand > 0).distinct())
    )
    exclude = exclude or set()
    for kind in ("pick_face", "reserve"):
        empty = next(
            (b for b in bins if b.kind == kind and b.id not in occupied and b.code not in exclude),
            None,
        )
        if empty is not None:
            return empty.code
    return None


def suggest_placements(session: UrakataSession, items: list[InboundItem]) -> dict[int, str]:
    """A bin for each item (see :func:`suggest_bin`); an empty bin suggested for one SKU
    is not suggested for another SKU of the same putaway."""
    chosen: dict[int, str] = {}
    by_sku: dict[tuple[int, str], str] = {}
    taken: set[str] = set()
    for item in items:
        if item.product_id is None:
            continue
        key = (item.product_id, item.condition)
        if key not in by_sku:
            code = suggest_bin(session, item.product_id, item.condition, exclude=taken)
            if code is None:
                continue
            by_sku[key] = code
            if item.condition == "good":
                taken.add(code)
        chosen[item.id] = by_sku[key]
    return chosen


def waiting_items(session: UrakataSession, notice_id: int) -> list[InboundItem]:
    """Good and damaged pieces received but not put away yet."""
    return [
        i
        for i in items_of(session, notice_id)
        if i.condition != "unknown" and i.put_away_at is None
    ]


def _first_receipts(session: UrakataSession, product_ids: set[int], key: str) -> set[int]:
    """Products with no receipt movement before this putaway's."""
    if not product_ids:
        return set()
    before = set(
        session.scalars(
            select(StockMovement.product_id)
            .where(
                StockMovement.product_id.in_(product_ids),
                StockMovement.kind == "receipt",
                StockMovement.idempotency_key != key,
            )
            .distinct()
        )
    )
    return product_ids - before


def _request_sasage_for_new(
    session: UrakataSession, actor: Actor, notice: InboundNotice, product_ids: set[int]
) -> list[str]:
    if not product_ids or not get_settings(session).sasage_on_first_receipt:
        return []
    requested = set(
        session.scalars(
            select(SasageRequest.product_id).where(SasageRequest.product_id.in_(product_ids))
        )
    )
    skus = sorted(
        session.scalars(select(Product.sku).where(Product.id.in_(product_ids - requested)))
    )
    if skus:
        request_sasage(
            session,
            actor=actor,
            data={
                "skus": skus,
                "note": f"入荷 {notice.number} で初めて入庫されました。",
            },
        )
    return skus


@dataclass
class PutawayResult:
    pieces: int
    items: int
    sasage_requested: list[str]


def put_away(
    session: UrakataSession,
    actor: Actor,
    notice_id: int,
    *,
    placements: Mapping[int, str],
    now: datetime | None = None,
) -> PutawayResult:
    """Put received items into bins (``{item id: bin code}``) and post their receipt
    movements through the stock ledger, all or nothing.

    A SKU received for the first time asks for its sasage when the shop's setting says
    so. Errors are keyed ``items[<id>].location``.
    """
    notice = _locked(session, notice_id, None)
    if notice.is_closed:
        raise NoticeClosed(notice)
    if not placements:
        raise InboundInvalid({"items": [N_("Choose a bin for at least one item.")]})
    waiting = {i.id: i for i in waiting_items(session, notice.id)}
    errors: dict[str, list] = {}
    chosen: list[tuple[InboundItem, str]] = []
    for item_id, raw in sorted(placements.items()):
        item = waiting.get(item_id)
        if item is None:
            errors.setdefault(f"items[{item_id}]", []).append(
                N_("This item is not waiting to be put away (put away already, or removed).")
            )
            continue
        code = normalise_code(str(raw or "")).upper()
        if not code:
            errors.setdefault(f"items[{item_id}].location", []).append(N_("Choose a bin."))
            continue
        chosen.append((item, code))
    bins = own_bins(session, {code for _item, code in chosen})
    for item, code in chosen:
        found = bins.get(code)
        if found is None:
            errors.setdefault(f"items[{item.id}].location", []).append(
                N_("No bin %(code)s is assigned to this shop.", code=code)
            )
        elif item.condition == "damaged" and found.kind != "damaged":
            errors.setdefault(f"items[{item.id}].location", []).append(
                N_("Damaged pieces go into a damaged bin, not %(code)s.", code=code)
            )
        elif item.condition == "good" and found.kind == "damaged":
            errors.setdefault(f"items[{item.id}].location", []).append(
                N_("Good pieces do not go into the damaged bin %(code)s.", code=code)
            )
    if errors:
        raise InboundInvalid(errors)
    now = now or utcnow()
    ids = ",".join(str(i.id) for i, _c in chosen)
    key = f"inbound-{notice.id}-putaway-{hashlib.sha256(ids.encode()).hexdigest()[:40]}"
    data = {
        "key": key,
        "reference": notice.number,
        "note": f"入荷 {notice.number}",
        "lines": [
            {
                "sku": item.product.sku,
                "quantity": item.quantity,
                "location": code,
                "lot_no": item.lot_no,
                "best_before": item.best_before.isoformat() if item.best_before else None,
            }
            for item, code in chosen
        ],
    }
    try:
        receive(session, actor=actor, data=data, now=now)
    except DuplicateSubmission as exc:
        raise InboundInvalid({"items": [N_("These items were put away already.")]}) from exc
    except StockInvalid as exc:
        raise InboundInvalid(_item_errors(exc.errors, chosen)) from exc
    for item, code in chosen:
        item.location_id = bins[code].id
        item.put_away_at = now
        item.put_away_by = actor.label[:200]
    notice.stocked_at = now
    notice.updated_at = now
    _flush(session)
    good = {item.product_id for item, _code in chosen if item.condition == "good"}
    new = _request_sasage_for_new(session, actor, notice, _first_receipts(session, good, key))
    audit.record(
        session,
        actor,
        "inbound.put_away",
        object_type=OBJECT,
        object_id=notice.id,
        data={
            "items": [
                {"item": item.id, "sku": item.product.sku, "quantity": item.quantity, "bin": code}
                for item, code in chosen
            ],
            "sasage_requested": new,
        },
    )
    return PutawayResult(sum(i.quantity for i, _c in chosen), len(chosen), new)


def _item_errors(errors: dict, chosen: list) -> dict:
    """The stock service's ``lines[n].field`` errors renamed to the items they are about."""
    renamed: dict[str, list] = {}
    for name, messages in errors.items():
        if name.startswith("lines["):
            n = int(name[6 : name.index("]")])
            rest = name[name.index("]") + 1 :]
            name = f"items[{chosen[n][0].id}]{rest}"
        renamed.setdefault(name, []).extend(messages)
    return renamed


# --- closing and the discrepancy report --------------------------------------------------------


def _outcome(expected: int, received: int) -> str:
    if received == expected:
        return "exact"
    return "over" if received > expected else "short"


def discrepancy_of(session: UrakataSession, notice: InboundNotice) -> dict:
    """Expected against received, line by line; pieces of SKUs not on the notice; unknown
    goods. Plain JSON (it is kept on the notice at closing)."""
    items = items_of(session, notice.id)
    lines = []
    for line in notice.lines:
        mine = [i for i in items if i.line_id == line.id]
        good = sum(i.quantity for i in mine if i.condition == "good")
        damaged = sum(i.quantity for i in mine if i.condition == "damaged")
        lines.append(
            {
                "line_no": line.line_no,
                "sku": line.product.sku,
                "name": line.product.name,
                "lot_no": line.lot_no,
                "expected": line.quantity,
                "received": good,
                "damaged": damaged,
                "difference": good + damaged - line.quantity,
                "outcome": _outcome(line.quantity, good + damaged),
            }
        )
    extra: dict[tuple, dict] = {}
    for i in items:
        if i.line_id is None and i.condition != "unknown":
            row = extra.setdefault(
                (i.product.sku, i.lot_no),
                {
                    "sku": i.product.sku,
                    "name": i.product.name,
                    "lot_no": i.lot_no,
                    "received": 0,
                    "damaged": 0,
                },
            )
            row["damaged" if i.condition == "damaged" else "received"] += i.quantity
    unknown = [
        {
            "code": i.scanned_code,
            "description": i.description,
            "quantity": i.quantity,
            "note": i.note,
            "photo": i.photo is not None,
            "item": i.id,
        }
        for i in items
        if i.condition == "unknown"
    ]
    damaged = sum(row["damaged"] for row in lines) + sum(r["damaged"] for r in extra.values())
    totals = {
        "expected": sum(r["expected"] for r in lines),
        "received": sum(r["received"] for r in lines) + sum(r["received"] for r in extra.values()),
        "damaged": damaged,
        "short": sum(-r["difference"] for r in lines if r["difference"] < 0),
        "over": sum(r["difference"] for r in lines if r["difference"] > 0)
        + sum(r["received"] + r["damaged"] for r in extra.values()),
        "unknown": sum(u["quantity"] for u in unknown),
    }
    return {
        "lines": lines,
        "not_on_notice": list(extra.values()),
        "unknown": unknown,
        "totals": totals,
    }


def close_notice(
    session: UrakataSession, actor: Actor, notice_id: int, *, version: int
) -> InboundNotice:
    """Close a notice: its discrepancy report is fixed, dock-to-stock recorded.

    Good pieces still waiting for putaway refuse the closing (they would be lost from
    the ledger); damaged ones may stay held.
    """
    notice = _locked(session, notice_id, version)
    if notice.is_closed:
        raise NoticeClosed(notice)
    waiting = [i for i in waiting_items(session, notice.id) if i.condition == "good"]
    if waiting:
        raise InboundInvalid(
            {
                "items": [
                    N_(
                        "%(count)d received items are not put away yet: put them away first.",
                        count=len(waiting),
                    )
                ]
            }
        )
    report = discrepancy_of(session, notice)
    now = utcnow()
    t = report["totals"]
    notice.discrepancy = report
    notice.has_discrepancy = bool(t["short"] or t["over"] or t["damaged"] or t["unknown"])
    if notice.arrived_at is not None and notice.stocked_at is not None:
        notice.dock_to_stock_seconds = max(
            0, int((notice.stocked_at - notice.arrived_at).total_seconds())
        )
    before = notice.status
    notice.status, notice.closed_at, notice.closed_by = "closed", now, actor.label[:200]
    notice.updated_at = now
    _flush(session)
    audit.record(
        session,
        actor,
        "inbound.notice_closed",
        object_type=OBJECT,
        object_id=notice.id,
        changes={"status": (before, "closed")},
        data={
            "totals": t,
            "has_discrepancy": notice.has_discrepancy,
            "dock_to_stock_seconds": notice.dock_to_stock_seconds,
        },
    )
    return notice


# --- comments ----------------------------------------------------------------------------------


def add_comment(
    session: UrakataSession,
    actor: Actor,
    notice_id: int,
    *,
    side: str,
    body: str,
) -> InboundComment:
    """A comment on a notice (the shop's on its discrepancy report, the agency's answer)."""
    notice = get_notice(session, notice_id)
    text_ = (body or "").strip()
    if not text_:
        raise InboundInvalid({"body": [N_("Write a comment.")]})
    if len(text_) > COMMENT_MAX:
        raise InboundInvalid({"body": [N_("At most %(limit)d characters.", limit=COMMENT_MAX)]})
    if side not in ("shop", "agency"):
        raise ValueError(side)
    comment = InboundComment(
        notice_id=notice.id,
        side=side,
        author_id=actor.user_id,
        author_name=actor.label[:200],
        body=text_,
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor,
        "inbound.commented",
        object_type=OBJECT,
        object_id=notice.id,
        data={"comment": comment.id, "side": side, "body": text_},
    )
    return comment


def comments_of(session: UrakataSession, notice_id: int) -> list[InboundComment]:
    return list(
        session.scalars(
            select(InboundComment)
            .where(InboundComment.notice_id == notice_id)
            .order_by(InboundComment.id)
        )
    )


def open_count(session: UrakataSession) -> int:
    return (
        session.scalar(
            select(func.count(InboundNotice.id)).where(
                InboundNotice.status.in_(("open", "receiving"))
            )
        )
        or 0
    )
