"""Working days on the Chinese calendar, with make-up working days, and unannounced years."""

from __future__ import annotations

from datetime import date, datetime

from socialcredit.clock import DEFAULT_TZ
from socialcredit.policy.durations import Duration, WorkingCalendar, add_duration


def test_national_day_week_and_its_make_up_saturday() -> None:
    cal = WorkingCalendar()
    assert not cal.is_working_day(date(2026, 10, 1))  # National Day
    assert not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday worked in exchange
    assert not cal.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # 8 Oct (Thu), 9 Oct (Fri), 10 Oct (the make-up Saturday)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_spring_festival_2026_counts_the_make_up_days() -> None:
    cal = WorkingCalendar()
    # 5 working days after Friday 13 Feb 2026: 14 Feb (make-up Saturday), then after the
    # holiday 24, 25, 26, 27 Feb (holidays package: Spring Festival 15-23 Feb)
    assert cal.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)


def test_deadline_says_when_its_year_is_not_announced() -> None:
    cal = WorkingCalendar()
    start = datetime(2026, 12, 28, 10, 0, tzinfo=DEFAULT_TZ)
    d = add_duration(start, Duration.parse("15wd"), cal, DEFAULT_TZ)
    assert d.at.year == 2027 and d.calendar_announced is False
    inside = add_duration(
        datetime(2026, 3, 2, tzinfo=DEFAULT_TZ), Duration.parse("15wd"), cal, DEFAULT_TZ
    )
    assert inside.calendar_announced is True


def test_a_pack_can_add_an_announced_year() -> None:
    announced = WorkingCalendar(
        announced_years=frozenset({2027}),
        extra_workdays=frozenset({date(2027, 1, 2)}),  # a Saturday declared a working day
        extra_holidays=frozenset({date(2027, 1, 4)}),
    )
    assert announced.is_working_day(date(2027, 1, 2))
    assert not announced.is_working_day(date(2027, 1, 4))
    start = datetime(2026, 12, 28, 10, 0, tzinfo=DEFAULT_TZ)
    assert add_duration(start, Duration.parse("15wd"), announced, DEFAULT_TZ).calendar_announced


def test_durations_parse_and_refuse() -> None:
    assert Duration.parse("3wd") == Duration(3, "wd")
    assert str(Duration.parse("2y")) == "2y"
    for bad in ("3 days", "wd", "-1d", "1w"):
        try:
            Duration.parse(bad)
        except ValueError as exc:
            assert "not a duration" in str(exc)
        else:
            raise AssertionError(bad)
