"""The agency's own closed days (its warehouse shuts for every shop), a platform table.

A shop's closed days live in its settings; :func:`shop_calendar` merges both with the
Japanese public holidays into the calendar the ship-by clock and turnarounds count on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, select
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import audit
from urakata.platform.calendar import BusinessCalendar, calendar_for
from urakata.platform.db import Base, UrakataSession, utcnow
from urakata.platform.fields import N_, Message


class AgencyClosedDay(Base):
    __tablename__ = "agency_closed_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def agency_closed_days(session: UrakataSession) -> list[date]:
    return list(session.scalars(select(AgencyClosedDay.day).order_by(AgencyClosedDay.day)))


def shop_calendar(session: UrakataSession, shop_closed_days) -> BusinessCalendar:
    return calendar_for(shop_closed_days or (), agency_closed_days(session))


class ClosedDayRefused(ValueError):
    """A closed day that cannot be added or removed; ``field`` names the form field."""

    def __init__(self, field: str, message: Message):
        super().__init__(str(message))
        self.field, self.message = field, message


def list_agency_closed_days(session: UrakataSession) -> list[AgencyClosedDay]:
    return list(session.scalars(select(AgencyClosedDay).order_by(AgencyClosedDay.day)))


def add_agency_closed_day(
    session: UrakataSession, *, actor: audit.Actor, day: date, note: str, today: date
) -> AgencyClosedDay:
    """Close the warehouse on ``day`` for every shop (on the agency's ledger).

    Only today or later: an order's ship-by is fixed when it becomes shippable, so a day
    closed in the past would change no clock and only make the calendar lie about it.
    """
    if day < today:
        raise ClosedDayRefused("day", N_("A closed day must be today or later."))
    if session.get(AgencyClosedDay, day) is not None:
        raise ClosedDayRefused("day", N_("%(day)s is a closed day already.", day=day.isoformat()))
    row = AgencyClosedDay(day=day, note=" ".join(note.split())[:200])
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "agency.closed_day_added",
        object_type="closed_day",
        object_id=day.isoformat(),
        data={"note": row.note},
        chain_id=audit.AGENCY_CHAIN_ID,
    )
    return row


def remove_agency_closed_day(session: UrakataSession, *, actor: audit.Actor, day: date) -> None:
    """Open ``day`` again; orders already given a ship-by keep theirs."""
    row = session.get(AgencyClosedDay, day)
    if row is None:
        raise ClosedDayRefused("day", N_("%(day)s is not a closed day.", day=day.isoformat()))
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "agency.closed_day_removed",
        object_type="closed_day",
        object_id=day.isoformat(),
        data={"note": row.note},
        chain_id=audit.AGENCY_CHAIN_ID,
    )
