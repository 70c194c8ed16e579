"""Durations in policy ("3m", "2y", "30d", "3wd") and the working-day calendar they need.

Working days (工作日) follow the Chinese public-holiday calendar with its make-up working days
(调休) from the ``holidays`` package. That package knows make-up days only for years already
announced; a pack may add a year's announced days, and every deadline says whether it fell in a
year whose calendar is not yet announced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache

import holidays
from dateutil.relativedelta import relativedelta

_PATTERN = re.compile(r"^(\d+)(d|wd|m|y)$")
_UNITS = {"d": "days", "wd": "working days", "m": "months", "y": "years"}
_UNITS_ZH = {"d": "天", "wd": "个工作日", "m": "个月", "y": "年"}


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str  # d, wd, m, y

    @classmethod
    def parse(cls, text: str) -> Duration:
        m = _PATTERN.match(str(text).strip())
        if not m:
            raise ValueError(
                f"{text!r} is not a duration: write a number and a unit, d (days), "
                "wd (working days), m (months) or y (years), e.g. 3wd or 2y"
            )
        return cls(int(m.group(1)), m.group(2))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self, lang: str = "en") -> str:
        """The duration in words: ``5 years``; in Chinese ``5年``."""
        if lang == "zh":
            return f"{self.amount}{_UNITS_ZH[self.unit]}"
        return f"{self.amount} {_UNITS[self.unit]}"


@dataclass(frozen=True)
class WorkingCalendar:
    """The official calendar of working days, with a pack's announced additions."""

    country: str = "CN"
    extra_workdays: frozenset[date] = frozenset()
    extra_holidays: frozenset[date] = frozenset()
    announced_years: frozenset[int] = frozenset()

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # Years are filled in as they are asked for (the package expands on lookup).
        return holidays.country_holidays(self.country)

    @cached_property
    def _makeups(self) -> dict[int, frozenset[date]]:
        return {}

    def _makeup(self, year: int) -> frozenset[date]:
        known = self._makeups.get(year)
        if known is None:
            _ = date(year, 1, 1) in self._holidays  # make sure the year is populated
            days: set[date] = getattr(self._holidays, "weekend_workdays", set())
            known = self._makeups[year] = frozenset(
                {d for d in days if d.year == year}
                | {d for d in self.extra_workdays if d.year == year}
            )
        return known

    @cached_property
    def _uses_makeups(self) -> bool:
        """Does this country move working days onto weekends (调休), so that a year's calendar
        is known only once announced? Most do not: their years are known in advance."""
        h = holidays.country_holidays(self.country, years=range(2015, 2026))
        return bool(getattr(h, "weekend_workdays", None)) or bool(self.extra_workdays)

    def is_announced(self, year: int) -> bool:
        """Whether the official make-up working days of a year are known (announced)."""
        return not self._uses_makeups or year in self.announced_years or bool(self._makeup(year))

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_holidays:
            return False
        if d in self._makeup(d.year):
            return True
        return d.weekday() < 5 and d not in self._holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start itself not counted)."""
        d = start
        count = 0
        while count < n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return d


@dataclass(frozen=True, slots=True)
class Deadline:
    at: datetime
    calendar_announced: bool  # False when a working-day count ran into an unannounced year


@lru_cache(maxsize=65536)
def add_duration(
    start: datetime, duration: Duration, calendar: WorkingCalendar, tz: tzinfo
) -> Deadline:
    """The moment a duration after ``start`` ends, counted in the pack's time zone.

    Working days end at the close of the last working day (24:00 local), as a deadline of
    "within 3 working days" is read.
    """
    local = start.astimezone(tz)
    if duration.unit == "wd":
        last = calendar.add_working_days(local.date(), duration.amount)
        end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=tz)
        announced = all(calendar.is_announced(y) for y in range(local.year, last.year + 1))
        return Deadline(end, announced)
    if duration.unit == "d":
        delta = relativedelta(days=duration.amount)
    elif duration.unit == "m":
        delta = relativedelta(months=duration.amount)
    else:
        delta = relativedelta(years=duration.amount)
    return Deadline(local + delta, True)
