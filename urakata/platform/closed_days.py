"""The agency's own closed days (its warehouse shuts for every shop), a platform table.

A shop's closed days live in its settings; :func:`shop_calendar` merges both with the
Japanese public holidays into the calendar the ship-by clock and turnarounds count on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, select
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.calendar import BusinessCalendar, calendar_for
from urakata.platform.db import Base, UrakataSession, utcnow


class AgencyClosedDay(Base):
    __tablename__ = "agency_closed_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def agency_closed_days(session: UrakataSession) -> list[date]:
    return list(session.scalars(select(AgencyClosedDay.day).order_by(AgencyClosedDay.day)))


def shop_calendar(session: UrakataSession, shop_closed_days) -> BusinessCalendar:
    return calendar_for(shop_closed_days or (), agency_closed_days(session))
