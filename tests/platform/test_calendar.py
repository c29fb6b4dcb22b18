"""The business calendar and ship-by deadlines: JP holidays, closed days, cutoff, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from urakata.platform.calendar import BusinessCalendar, ShipBy, calendar_for, ship_by

TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TWO_PM = time(14, 0)
PLAIN = BusinessCalendar()


def _tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _ship_by_in_tokyo(at: datetime, calendar: BusinessCalendar = PLAIN) -> ShipBy:
    return ship_by(at, cutoff=TWO_PM, zone=TOKYO, calendar=calendar)


# --- business days -------------------------------------------------------------------------


def test_weekends_are_not_business_days():
    assert PLAIN.is_business_day(date(2026, 3, 6))  # Friday
    assert not PLAIN.is_business_day(date(2026, 3, 7))  # Saturday
    assert not PLAIN.is_business_day(date(2026, 3, 8))  # Sunday
    assert PLAIN.is_business_day(date(2026, 3, 9))  # Monday


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # 元日
        date(2026, 5, 6),  # 振替休日 for 5/3 (Sunday)
        date(2026, 9, 21),  # 敬老の日
        date(2026, 9, 22),  # 国民の休日, between two holidays
        date(2026, 9, 23),  # 秋分の日
    ],
)
def test_public_holidays_on_weekdays_are_not_business_days(day):
    assert day.weekday() < 5
    assert not PLAIN.is_business_day(day)


def test_days_around_holidays_stay_business_days():
    assert PLAIN.is_business_day(date(2026, 1, 2))  # not a public holiday; shops close it
    assert PLAIN.is_business_day(date(2026, 5, 7))
    assert PLAIN.is_business_day(date(2026, 9, 24))


def test_holiday_names_are_japanese():
    assert PLAIN.holiday_name(date(2026, 5, 6)) == "振替休日"
    assert PLAIN.holiday_name(date(2026, 9, 22)) == "国民の休日"
    assert PLAIN.holiday_name(date(2026, 1, 1)) == "元日"
    assert PLAIN.holiday_name(date(2026, 5, 7)) is None
    assert PLAIN.holiday_name(date(2026, 3, 7)) is None  # a plain Saturday


def test_closed_days_of_shop_and_agency_are_merged():
    calendar = calendar_for(
        closed_days=[date(2026, 12, 29), date(2026, 12, 30)],
        agency_closed_days={date(2026, 12, 30), date(2026, 12, 31)},
    )
    assert calendar.closed_days == frozenset(
        {date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)}
    )
    assert calendar.is_business_day(date(2026, 12, 28))
    assert not calendar.is_business_day(date(2026, 12, 29))
    assert not calendar.is_business_day(date(2026, 12, 31))
    assert calendar.holiday_name(date(2026, 12, 29)) is None  # closed, but not a holiday


def test_next_business_day_and_on_or_after():
    assert PLAIN.next_business_day(date(2026, 5, 7)) == date(2026, 5, 8)
    assert PLAIN.next_business_day(date(2026, 5, 1)) == date(2026, 5, 7)  # over 5/2–5/6
    assert PLAIN.business_day_on_or_after(date(2026, 5, 7)) == date(2026, 5, 7)
    assert PLAIN.business_day_on_or_after(date(2026, 9, 19)) == date(2026, 9, 24)


def test_add_business_days_skips_holidays_and_does_not_count_the_start():
    assert PLAIN.add_business_days(date(2026, 4, 30), 1) == date(2026, 5, 1)
    assert PLAIN.add_business_days(date(2026, 4, 30), 2) == date(2026, 5, 7)
    # Sasage: five business days from Friday 9/18 (9/19–9/23 are weekend and holidays).
    assert PLAIN.add_business_days(date(2026, 9, 18), 5) == date(2026, 9, 30)
    # Arriving on a holiday: the first day counted is the next business day.
    assert PLAIN.add_business_days(date(2026, 5, 5), 1) == date(2026, 5, 7)


def test_add_zero_business_days_is_the_day_itself_or_the_next_business_day():
    assert PLAIN.add_business_days(date(2026, 5, 7), 0) == date(2026, 5, 7)
    assert PLAIN.add_business_days(date(2026, 5, 3), 0) == date(2026, 5, 7)


def test_add_negative_business_days_is_refused():
    with pytest.raises(ValueError):
        PLAIN.add_business_days(date(2026, 5, 7), -1)


def test_add_business_days_honours_closed_days():
    calendar = calendar_for(agency_closed_days=[date(2026, 12, 29), date(2026, 12, 30)])
    assert calendar.add_business_days(date(2026, 12, 28), 1) == date(2026, 12, 31)
    assert calendar.add_business_days(date(2026, 12, 28), 2) == date(2027, 1, 4)  # 1/1 元日


def test_business_days_between_counts_the_end_but_not_the_start():
    assert PLAIN.business_days_between(date(2026, 4, 30), date(2026, 5, 7)) == 2  # 5/1, 5/7
    assert PLAIN.business_days_between(date(2026, 9, 18), date(2026, 9, 30)) == 5
    assert PLAIN.business_days_between(date(2026, 5, 1), date(2026, 5, 6)) == 0
    assert PLAIN.business_days_between(date(2026, 5, 7), date(2026, 5, 7)) == 0
    assert PLAIN.business_days_between(date(2026, 5, 8), date(2026, 5, 7)) == 0


def test_business_days_between_undoes_add_business_days():
    start = date(2026, 4, 24)
    for n in range(1, 15):
        assert PLAIN.business_days_between(start, PLAIN.add_business_days(start, n)) == n


# --- ship by -------------------------------------------------------------------------------


def test_before_the_cutoff_ships_the_same_day():
    result = _ship_by_in_tokyo(_tokyo(2026, 3, 4, 13, 59, 59))
    assert result == ShipBy(
        ship_date=date(2026, 3, 4), deadline=_utc(2026, 3, 4, 15, 0), same_day=True
    )


def test_the_last_microsecond_before_the_cutoff_is_still_the_same_day():
    result = _ship_by_in_tokyo(_tokyo(2026, 3, 4, 13, 59, 59, 999_999))
    assert result.ship_date == date(2026, 3, 4)
    assert result.same_day


def test_exactly_at_the_cutoff_ships_the_next_business_day():
    result = _ship_by_in_tokyo(_tokyo(2026, 3, 4, 14, 0, 0))
    assert result == ShipBy(
        ship_date=date(2026, 3, 5), deadline=_utc(2026, 3, 5, 15, 0), same_day=False
    )


def test_a_utc_instant_is_read_as_the_local_day_in_tokyo():
    # 15:30 UTC on Tuesday 3/3 is 00:30 on Wednesday 3/4 in Tokyo: well before the cutoff.
    result = _ship_by_in_tokyo(_utc(2026, 3, 3, 15, 30))
    assert result == ShipBy(
        ship_date=date(2026, 3, 4), deadline=_utc(2026, 3, 4, 15, 0), same_day=True
    )
    # 04:59 UTC is 13:59 in Tokyo, 05:00 UTC is the cutoff.
    assert _ship_by_in_tokyo(_utc(2026, 3, 4, 4, 59)).ship_date == date(2026, 3, 4)
    assert _ship_by_in_tokyo(_utc(2026, 3, 4, 5, 0)).ship_date == date(2026, 3, 5)


def test_friday_after_the_cutoff_ships_on_monday():
    result = _ship_by_in_tokyo(_tokyo(2026, 3, 6, 16, 0))
    assert result == ShipBy(
        ship_date=date(2026, 3, 9), deadline=_utc(2026, 3, 9, 15, 0), same_day=False
    )


def test_golden_week_pushes_friday_after_the_cutoff_to_thursday():
    result = _ship_by_in_tokyo(_tokyo(2026, 5, 1, 14, 30))
    assert result == ShipBy(
        ship_date=date(2026, 5, 7), deadline=_utc(2026, 5, 7, 15, 0), same_day=False
    )


def test_shippable_on_a_holiday_morning_ships_the_next_business_day():
    result = _ship_by_in_tokyo(_tokyo(2026, 9, 22, 9, 0))  # 国民の休日
    assert result == ShipBy(
        ship_date=date(2026, 9, 24), deadline=_utc(2026, 9, 24, 15, 0), same_day=False
    )


def test_shop_closed_days_push_the_ship_date():
    calendar = calendar_for(
        closed_days=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    )
    late_monday = _ship_by_in_tokyo(_tokyo(2026, 12, 28, 15, 0), calendar)
    assert late_monday.ship_date == date(2027, 1, 4)  # 1/1 元日, 1/2–1/3 weekend
    assert late_monday.deadline == _utc(2027, 1, 4, 15, 0)
    closed_morning = _ship_by_in_tokyo(_tokyo(2026, 12, 30, 9, 0), calendar)
    assert closed_morning.ship_date == date(2027, 1, 4)
    assert not closed_morning.same_day
    # Without the closed days the same order ships on the 29th.
    assert _ship_by_in_tokyo(_tokyo(2026, 12, 28, 15, 0)).ship_date == date(2026, 12, 29)


def test_agency_closed_days_push_the_ship_date_too():
    calendar = calendar_for(
        closed_days=[date(2026, 12, 29)], agency_closed_days=[date(2026, 12, 30)]
    )
    result = _ship_by_in_tokyo(_tokyo(2026, 12, 28, 15, 0), calendar)
    assert result.ship_date == date(2026, 12, 31)
    assert result.deadline == _utc(2026, 12, 31, 15, 0)


def test_los_angeles_deadlines_follow_the_spring_dst_change():
    # US DST starts Sunday 2026-03-08: PST (UTC-8) before, PDT (UTC-7) after.
    def at(*args: int) -> ShipBy:
        return ship_by(
            datetime(*args, tzinfo=LOS_ANGELES), cutoff=TWO_PM, zone=LOS_ANGELES, calendar=PLAIN
        )

    friday_morning = at(2026, 3, 6, 10, 0)
    assert friday_morning == ShipBy(
        ship_date=date(2026, 3, 6), deadline=_utc(2026, 3, 7, 8, 0), same_day=True
    )
    friday_evening = at(2026, 3, 6, 15, 0)
    assert friday_evening == ShipBy(
        ship_date=date(2026, 3, 9), deadline=_utc(2026, 3, 10, 7, 0), same_day=False
    )


def test_los_angeles_cutoff_and_deadline_in_autumn_after_dst_ends():
    # US DST ends Sunday 2026-11-01; 21:30 UTC on Friday 10/30 is 14:30 PDT (after cutoff).
    result = ship_by(_utc(2026, 10, 30, 21, 30), cutoff=TWO_PM, zone=LOS_ANGELES, calendar=PLAIN)
    assert result == ShipBy(
        ship_date=date(2026, 11, 2), deadline=_utc(2026, 11, 3, 8, 0), same_day=False
    )
    # 20:59 UTC is 13:59 PDT: the same Friday, ending at midnight PDT (07:00 UTC).
    early = ship_by(_utc(2026, 10, 30, 20, 59), cutoff=TWO_PM, zone=LOS_ANGELES, calendar=PLAIN)
    assert early.ship_date == date(2026, 10, 30)
    assert early.deadline == _utc(2026, 10, 31, 7, 0)


def test_the_calendar_is_japanese_even_for_a_shop_abroad():
    # 2026-05-06 (振替休日) is a Wednesday; an LA shop shipping through a Japanese agency waits.
    result = ship_by(
        datetime(2026, 5, 6, 9, 0, tzinfo=LOS_ANGELES),
        cutoff=TWO_PM,
        zone=LOS_ANGELES,
        calendar=PLAIN,
    )
    assert result.ship_date == date(2026, 5, 7)
    assert result.deadline == _utc(2026, 5, 8, 7, 0)


def test_deadline_is_utc():
    result = _ship_by_in_tokyo(_tokyo(2026, 3, 4, 9, 0))
    assert result.deadline.tzinfo is UTC


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        _ship_by_in_tokyo(datetime(2026, 3, 4, 9, 0))


def test_an_aware_cutoff_is_refused():
    with pytest.raises(ValueError, match="wall-clock"):
        ship_by(_tokyo(2026, 3, 4, 9, 0), cutoff=time(14, tzinfo=UTC), zone=TOKYO, calendar=PLAIN)
