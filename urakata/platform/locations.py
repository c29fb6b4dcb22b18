"""Warehouse locations (bins): platform data, assigned to one shop at a time (DESIGN §4).

A bin's code is zone–aisle–shelf–bin (``A-01-03-2``); its ``pick_sequence`` orders a
picker's walk, and its ``kind`` says what it holds: a pick face, reserve (overstock),
returns waiting for inspection, or damaged goods. Only pick faces and reserve are
allocated from. ``shop_id`` is the shop whose stock may live there (NULL: free).

This is a platform table (no row-level security): agency admins create and arrange bins
here. Assigning a bin to a shop and releasing it again are the shop's business (its
chain records them, and releasing needs the shop's stock to be gone): see
``urakata.tenants.stock.bins``. Changes about a bin of a shop go into that shop's chain;
changes of a free bin into the agency's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validates_schema
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import (
    audit,
    tenancy,  # noqa: F401 - registers "tenant", target of shop_id
)
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor
from urakata.platform.db import Base, UrakataSession, utcnow
from urakata.platform.fields import N_, BaseField, WholeNumber, normalise_code
from urakata.platform.tenancy import NotFound

LOCATION_KINDS = ("pick_face", "reserve", "returns", "damaged")
ALLOCATABLE_KINDS = ("pick_face", "reserve")
PART_RE = re.compile(r"^[A-Z0-9]{1,4}$")
CODE_RE = r"^[A-Z0-9]{1,4}-[A-Z0-9]{1,4}-[A-Z0-9]{1,4}-[A-Z0-9]{1,4}$"
RANGE_MAX = 2_000  # bins made by one request
SEQUENCE_MAX = 9_999_999
SEQUENCE_STEP = 10  # room to slot a bin in between later


class Location(Base):
    """One bin of the warehouse."""

    __tablename__ = "location"
    __table_args__ = (
        Index("ix_location_shop_id_pick_sequence", "shop_id", "pick_sequence"),
        CheckConstraint("kind IN ('pick_face', 'reserve', 'returns', 'damaged')", name="kind"),
        CheckConstraint(f"code ~ '{CODE_RE}'", name="code"),
        CheckConstraint(f"pick_sequence BETWEEN 0 AND {SEQUENCE_MAX}", name="pick_sequence"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(19), unique=True)
    zone: Mapped[str] = mapped_column(String(4))
    aisle: Mapped[str] = mapped_column(String(4))
    shelf: Mapped[str] = mapped_column(String(4))
    bin: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(16))
    pick_sequence: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenant.id"))
    assigned_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    @property
    def allocatable(self) -> bool:
        return self.kind in ALLOCATABLE_KINDS


class LocationInvalid(ValueError):
    """Input the agency admin must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class StaleLocation(RuntimeError):
    """Someone changed the bin since the given version (409)."""


# -- input --------------------------------------------------------------------------------


class Part(BaseField):
    """One part of a bin code, or a range of them (``01-04``): letters and digits."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        text = normalise_code(self._text(value)).upper().replace(" ", "")
        if not text:
            raise ValidationError(N_("This field cannot be empty."))
        first, dash, last = text.partition("-")
        if not dash:
            last = first
        if not (PART_RE.match(first) and PART_RE.match(last)):
            raise ValidationError(N_("Use 1 to 4 letters or digits, or a range such as 01-04."))
        if first == last:
            return [first]
        if not (first.isdigit() and last.isdigit() and len(first) == len(last)):
            raise ValidationError(N_("A range needs two numbers of the same width, such as 01-12."))
        if int(first) > int(last):
            raise ValidationError(N_("The range must run upwards, such as 01-12."))
        return [f"{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)]


class KindField(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._text(value).strip()
        if text not in LOCATION_KINDS:
            raise ValidationError(
                N_("Choose one of: %(choices)s.", choices=", ".join(LOCATION_KINDS))
            )
        return text


class LocationRangeIn(Schema):
    """Bins to make: a zone and an aisle, shelf and bin each given as a value or a range."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": N_("Unknown field.")}

    zone = Part(required=True)
    aisle = Part(required=True)
    shelf = Part(required=True)
    bin = Part(required=True)
    kind = KindField(required=True)
    first_sequence = WholeNumber(minimum=0, maximum=SEQUENCE_MAX, load_default=None)

    @validates_schema
    def _size(self, data, **kwargs):
        if len(data.get("zone", [])) > 1:
            raise ValidationError({"zone": [N_("Give one zone at a time.")]})
        count = 1
        for name in ("aisle", "shelf", "bin"):
            count *= len(data.get(name, []))
        if count > RANGE_MAX:
            shown, limit = format(count, ","), format(RANGE_MAX, ",")
            raise ValidationError(
                {
                    "bin": [
                        N_(
                            "That makes %(count)s bins; make at most %(limit)s at a time.",
                            count=shown,
                            limit=limit,
                        )
                    ]
                }
            )


class LocationPatch(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": N_("Unknown field.")}

    version = WholeNumber(minimum=1, maximum=2**31 - 1, required=True)
    kind = KindField()
    pick_sequence = WholeNumber(minimum=0, maximum=SEQUENCE_MAX)


def _load(schema: Schema, data: Any) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise LocationInvalid(
            {k: v if isinstance(v, list) else [v] for k, v in messages.items()}
        ) from exc


def parse_code(text: str) -> str | None:
    """A typed bin code in its stored form (NFKC, upper case), or None if it is none."""
    code = normalise_code(text or "").upper().replace(" ", "")
    return code if re.match(CODE_RE, code) else None


# -- reading ------------------------------------------------------------------------------


def get_location(session: UrakataSession, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"no location {location_id}")
    return location


def find_location(session: UrakataSession, code: str) -> Location | None:
    parsed = parse_code(code)
    if parsed is None:
        return None
    return session.scalar(select(Location).where(Location.code == parsed))


@dataclass(frozen=True)
class LocationFilter:
    zone: str = ""
    kind: str | None = None
    shop_id: uuid.UUID | None = None
    free_only: bool = False


@dataclass(frozen=True)
class LocationPage:
    items: list[Location]
    next_after: str | None


def list_locations(
    session: UrakataSession,
    filters: LocationFilter = LocationFilter(),
    *,
    after_code: str | None = None,
    limit: int = 100,
) -> LocationPage:
    """Bins by code (keyset), filtered by zone, kind and the shop they serve."""
    stmt = select(Location).order_by(Location.code).limit(limit + 1)
    if filters.zone:
        stmt = stmt.where(Location.zone == filters.zone.upper())
    if filters.kind:
        stmt = stmt.where(Location.kind == filters.kind)
    if filters.free_only:
        stmt = stmt.where(Location.shop_id.is_(None))
    elif filters.shop_id:
        stmt = stmt.where(Location.shop_id == filters.shop_id)
    if after_code:
        stmt = stmt.where(Location.code > after_code)
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    return LocationPage(items, items[-1].code if len(rows) > limit else None)


def zones(session: UrakataSession) -> list[str]:
    return list(session.scalars(select(Location.zone).distinct().order_by(Location.zone)))


# -- changing -----------------------------------------------------------------------------


def create_locations(session: UrakataSession, *, actor: Actor, data: Any) -> list[Location]:
    """Make every bin of the range (refused whole if one exists); recorded on the agency
    chain. Pick sequences follow the codes' order, ``SEQUENCE_STEP`` apart, from
    ``first_sequence`` (default: after the last bin of the warehouse)."""
    values = _load(LocationRangeIn(), data)
    zone = values["zone"][0]
    parts = [
        (aisle, shelf, bin_)
        for aisle in values["aisle"]
        for shelf in values["shelf"]
        for bin_ in values["bin"]
    ]
    codes = [f"{zone}-{a}-{s}-{b}" for a, s, b in parts]
    taken = list(session.scalars(select(Location.code).where(Location.code.in_(codes))))
    if taken:
        shown = ", ".join(taken[:10]) + (" …" if len(taken) > 10 else "")
        raise LocationInvalid({"bin": [N_("These bins exist already: %(codes)s.", codes=shown)]})
    sequence = values["first_sequence"]
    if sequence is None:
        last = session.scalar(
            select(Location.pick_sequence).order_by(Location.pick_sequence.desc()).limit(1)
        )
        sequence = 0 if last is None else last + SEQUENCE_STEP
    now = utcnow()
    made = []
    for n, ((aisle, shelf, bin_), code) in enumerate(zip(parts, codes, strict=True)):
        position = min(sequence + n * SEQUENCE_STEP, SEQUENCE_MAX)
        made.append(
            Location(
                code=code,
                zone=zone,
                aisle=aisle,
                shelf=shelf,
                bin=bin_,
                kind=values["kind"],
                pick_sequence=position,
                created_at=now,
                updated_at=now,
            )
        )
    session.add_all(made)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # made by someone else meanwhile
        raise LocationInvalid({"bin": [N_("Some of these bins exist already.")]}) from exc
    audit.record(
        session,
        actor,
        "location.created",
        object_type="location",
        object_id=made[0].id,
        data={"codes": len(codes), "first": codes[0], "last": codes[-1], "kind": values["kind"]},
        chain_id=AGENCY_CHAIN_ID,
    )
    return made


def update_location(
    session: UrakataSession, *, actor: Actor, location_id: int, data: Any
) -> Location:
    """Change a bin's kind or place on the pick path, at the version the admin saw.

    A bin of a shop is the shop's business: the change goes into its chain."""
    values = _load(LocationPatch(), data)
    location = get_location(session, location_id)
    if location.version != values.pop("version"):
        raise StaleLocation(f"location {location.code} is at version {location.version}")
    changes = audit.diff(
        {"kind": location.kind, "pick_sequence": location.pick_sequence},
        {"kind": location.kind, "pick_sequence": location.pick_sequence, **values},
    )
    if not changes:
        return location
    for name, (_before, after) in changes.items():
        setattr(location, name, after)
    location.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleLocation(f"location {location.code} was changed meanwhile") from exc
    audit.record(
        session,
        actor,
        "location.changed",
        object_type="location",
        object_id=location.id,
        changes=changes,
        data={"code": location.code, "version": location.version},
        chain_id=location.shop_id or AGENCY_CHAIN_ID,
    )
    return location
