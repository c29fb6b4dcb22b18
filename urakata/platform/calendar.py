"""The business calendar and the ship-by deadline it gives an order.

A business day is a weekday that is neither a Japanese public holiday (振替休日 and
国民の休日 included, from the ``holidays`` package) nor one of the shop's or the agency's
closed days. An order that becomes shippable before the shop's same-day cutoff on a
business day ships that day, otherwise on the next business day; both are read in the
shop's time zone, and the deadline is stored as aware UTC (DESIGN §7).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

_SATURDAY = 5
_HOLIDAYS_LOCK = threading.Lock()  # the package adds a year to ``years`` before filling it


@cache
def _jp_holidays() -> holidays.HolidayBase:
    """One instance per process; it fills in each year on first lookup.

    ``language`` is explicit because without it the names follow the process locale
    (English under C.UTF-8); an unsupported language would fall back to English names.
    """
    return holidays.country_holidays("JP", language="ja")


def _jp_holiday(day: date) -> str | None:
    with _HOLIDAYS_LOCK:
        return _jp_holidays().get(day)


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekends, JP public holidays and ``closed_days`` (the shop's and agency's, merged)."""

    closed_days: frozenset[date] = frozenset()

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= _SATURDAY or day in self.closed_days:
            return False
        return _jp_holiday(day) is None

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's Japanese name (e.g. 振替休日), or None."""
        return _jp_holiday(day)

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        return self.business_day_on_or_after(day + timedelta(days=1))

    def business_day_on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, n: int) -> date:
        """``n`` business days after ``day``, which is not counted ("arrival day not counted")."""
        if n < 0:
            raise ValueError("the number of business days to add cannot be negative")
        if n == 0:
            return self.business_day_on_or_after(day)
        for _ in range(n):
            day = self.next_business_day(day)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]: ``start`` is not counted, ``end`` is."""
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            count += self.is_business_day(day)
            day += timedelta(days=1)
        return count


def calendar_for(
    closed_days: Iterable[date] = (), agency_closed_days: Iterable[date] = ()
) -> BusinessCalendar:
    """The calendar of one shop: its own closed days plus the agency's."""
    return BusinessCalendar(closed_days=frozenset(closed_days) | frozenset(agency_closed_days))


@dataclass(frozen=True)
class ShipBy:
    ship_date: date  # the local business day the order must ship on
    deadline: datetime  # aware UTC: the end of ship_date in the shop's zone; ship before it
    same_day: bool  # ships on the day it became shippable


def ship_by(
    shippable_at: datetime, *, cutoff: time, zone: ZoneInfo, calendar: BusinessCalendar
) -> ShipBy:
    """When an order that became shippable at ``shippable_at`` must ship.

    ``cutoff`` is a wall-clock time in ``zone``; an instant exactly at the cutoff is late.
    """
    if shippable_at.tzinfo is None or shippable_at.utcoffset() is None:
        raise ValueError("shippable_at must be timezone-aware (store and pass UTC)")
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff is a wall-clock time in the shop's zone, without a tzinfo")
    local = shippable_at.astimezone(zone)
    same_day = calendar.is_business_day(local.date()) and local.time() < cutoff
    ship_date = local.date() if same_day else calendar.next_business_day(local.date())
    return ShipBy(ship_date=ship_date, deadline=_end_of_day(ship_date, zone), same_day=same_day)


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the next local day starts (fold=0: a midnight in a DST gap resolves
    to the first instant of that day)."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return next_midnight.astimezone(UTC)
