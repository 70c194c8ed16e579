"""The injected clock. Domain code never reads the system time; it is handed a Clock.

All instants are timezone-aware. ``--as-of`` values are read in the policy pack's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from .errors import InvalidInput

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put: for --as-of, tests and replays."""

    def __init__(self, at: datetime) -> None:
        self.at = ensure_aware(at)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = ensure_aware(at)


def ensure_aware(at: datetime, tz: tzinfo = DEFAULT_TZ) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def parse_moment(text: str, tz: tzinfo = DEFAULT_TZ) -> datetime:
    """Read ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` (optionally with an offset).

    A bare date means the end of that day would surprise a clerk asking "as of 1 March";
    it means the start of the day (00:00) in the pack's time zone, as a calendar would.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            at = datetime.combine(date.fromisoformat(raw), time(0, 0), tzinfo=tz)
        else:
            at = ensure_aware(datetime.fromisoformat(raw), tz)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a moment: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (e.g. 2026-03-01T09:30)"
        ) from None
    # 0001-01-01 or 9999-12-31T23:59-05:00 cannot be moved to UTC (the years 0 and 10000 do not
    # exist): the registry's moments lie well inside these bounds
    if not (MIN_YEAR <= at.year <= MAX_YEAR):
        raise InvalidInput(f"{text!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return at


#: The moments a question may be about (no record or listing lies outside them).
MIN_YEAR, MAX_YEAR = 1900, 9998


def to_utc_naive(at: datetime) -> datetime:
    """The form instants take in the database: naive UTC (portable across SQLite/PostgreSQL)."""
    return ensure_aware(at).astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(at: datetime | None, tz: tzinfo) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC).astimezone(tz)


def iso(at: datetime | None, tz: tzinfo) -> str | None:
    """Instants shown to people and machines: local time with its offset, to the second."""
    if at is None:
        return None
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return aware.astimezone(tz).isoformat(timespec="seconds")


def moment_text(at: datetime, tz: tzinfo, lang: str) -> str:
    """An instant as a sentence written for a person says it, in ``lang`` (Babel's long date):
    ``2026年3月1日 09:01（UTC+08:00）``, ``March 1, 2026, 09:01 (UTC+08:00)``."""
    from babel.dates import format_date

    local = (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(tz)
    offset = local.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    day = format_date(local.date(), format="long", locale="zh_CN" if lang == "zh" else "en")
    if lang == "zh":
        return f"{day} {local:%H:%M}（{zone}）"
    return f"{day}, {local:%H:%M} ({zone})"
