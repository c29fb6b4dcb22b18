"""The copy task: title, catch copy, description, materials and care notes, in Japanese
(English optional). Every save that changes something is a new version; none is ever
overwritten, so the shop can see what it returned and what changed since."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession
from urakata.tenants.sasage import mall_limits
from urakata.tenants.sasage.models import SasageCopy
from urakata.tenants.sasage.schemas import CopyIn
from urakata.tenants.sasage.services import StaleSasage, load, record_work, task_for_work

FIELDS = (
    "title",
    "catch_copy",
    "description",
    "materials",
    "care",
    "title_en",
    "description_en",
)
VERSIONS_SHOWN = 20


def latest_copy(session: UrakataSession, request_id: int) -> SasageCopy | None:
    return session.scalar(
        select(SasageCopy)
        .where(SasageCopy.request_id == request_id)
        .order_by(SasageCopy.number.desc())
        .limit(1)
    )


def copy_versions(
    session: UrakataSession, request_id: int, limit: int = VERSIONS_SHOWN
) -> list[SasageCopy]:
    """The request's copy versions, newest first."""
    return list(
        session.scalars(
            select(SasageCopy)
            .where(SasageCopy.request_id == request_id)
            .order_by(SasageCopy.number.desc())
            .limit(limit)
        )
    )


def values_of(copy: SasageCopy | None) -> dict[str, str]:
    """The copy's text by field; every field empty when there is no copy yet."""
    return {name: getattr(copy, name) if copy else "" for name in FIELDS}


def save_copy(session: UrakataSession, *, actor: Actor, request_id: int, data: dict) -> SasageCopy:
    """Keep a new version written on top of version ``data["based_on"]`` (0: the first).

    Unchanged text adds no version. A version saved meanwhile by someone else answers
    :class:`StaleSasage` (the writer reloads and merges).
    """
    values = load(CopyIn(), data)
    task = task_for_work(session, request_id, "copy")
    latest = latest_copy(session, request_id)
    number = latest.number if latest else 0
    if values.pop("based_on") != number:
        raise StaleSasage(f"the copy of sasage request {request_id} is at version {number}")
    text = {name: values.get(name, "") for name in FIELDS}
    changes = audit.diff(values_of(latest), text)
    if latest is not None and not changes:
        return latest
    copy = SasageCopy(
        request_id=request_id,
        number=number + 1,
        written_by=actor.user_id,
        written_by_name=actor.label,
        **text,
    )
    try:
        with session.begin_nested():
            session.add(copy)
            session.flush()
    except IntegrityError as exc:  # another writer took this number a moment ago
        raise StaleSasage(f"the copy of sasage request {request_id} changed meanwhile") from exc
    over = [
        f"{count.limit.mall} {count.limit.label}"
        for items in mall_limits.counts(text).values()
        for count in items
        if count.over
    ]
    record_work(
        session, actor, task, "sasage.copy_saved", changes=changes,
        data={"number": copy.number, "over_mall_limits": over},
    )  # fmt: skip
    return copy
