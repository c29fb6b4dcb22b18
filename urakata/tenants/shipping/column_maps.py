"""A shop's own column layout for a user-defined format (ゆうパックプリントR).

The data file under ``carriers/`` is the starting point; a shop that saves its own
columns gets them in its files from then on. A layout is checked as a whole when saved
(every column's source, format, unit and limit); a bad one is refused, nothing saved.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.tenants.shipping.carrier_files import (
    CARRIER_DIR,
    ColumnMap,
    ColumnMapInvalid,
    load_map,
    map_from_json,
    parse_columns,
)
from urakata.tenants.shipping.errors import ShippingInvalid, StaleShipping
from urakata.tenants.shipping.models import CarrierColumnMap

MAX_COLUMNS = 200


def _raw(fmt: str) -> dict:
    return json.loads((CARRIER_DIR / f"{fmt}.json").read_text(encoding="utf-8"))


def _row(session: UrakataSession, fmt: str) -> CarrierColumnMap | None:
    return session.scalar(select(CarrierColumnMap).where(CarrierColumnMap.format == fmt))


def map_for(session: UrakataSession, fmt: str) -> ColumnMap:
    """The shop's own layout of an editable format, else the data file's."""
    base = load_map(fmt)
    if not base.editable:
        return base
    row = _row(session, fmt)
    return base if row is None else map_from_json(_raw(fmt), columns=row.columns)


def map_version(session: UrakataSession, fmt: str) -> int:
    row = _row(session, fmt)
    return row.version if row is not None else 0


def save_map(
    session: UrakataSession, *, actor: Actor, fmt: str, columns_json: str, version: int
) -> ColumnMap:
    """Save the shop's layout (a JSON list of columns, as the data file writes them)."""
    base = load_map(fmt)
    if not base.editable:
        raise ShippingInvalid({"format": [N_("This carrier's layout is fixed.")]})
    try:
        columns = json.loads(columns_json)
    except ValueError as exc:
        raise ShippingInvalid(
            {"columns": [N_("The layout is not valid JSON: %(problem)s.", problem=str(exc))]}
        ) from None
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise ShippingInvalid({"columns": [N_("The layout is a JSON list of columns.")]})
    if len(columns) > MAX_COLUMNS:
        raise ShippingInvalid({"columns": [N_("Use at most %(limit)d columns.",
                                              limit=MAX_COLUMNS)]})  # fmt: skip
    try:
        parsed = parse_columns(columns)
    except ColumnMapInvalid as exc:
        raise ShippingInvalid({"columns": exc.errors}) from None
    row = _row(session, fmt)
    if (row.version if row else 0) != version:
        raise StaleShipping(f"{fmt} layout is not at version {version}")
    clean = [c for c in map_from_json(_raw(fmt), columns=columns).as_json()["columns"]]
    if row is None:
        row = CarrierColumnMap(format=fmt, columns=clean, version=1)
        session.add(row)
        before = base.as_json()["columns"]
    else:
        before = row.columns
        row.columns = clean
    row.updated_at, row.updated_by_name = utcnow(), actor.label[:200]
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise StaleShipping("changed meanwhile") from exc
    audit.record(session, actor, "shipping.column_map_saved", object_type="carrier_column_map",
                 object_id=fmt, changes={"columns": (before, clean)},
                 data={"version": row.version, "count": len(parsed)})  # fmt: skip
    return map_for(session, fmt)
