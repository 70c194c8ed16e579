"""Grading methods read from the pack: points from indicators, levels from thresholds and
overrides, and the explanation of every grade. Pure: records and listings in, a grade out.

Every factor names the record (or listing) that moved the grade, the points, the rule and its
legal basis; ``to_improve`` says the smallest change in time that would raise the level: when a
penalty leaves its window, when a listing ends, when an override stops applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from ..policy.durations import Duration, WorkingCalendar, add_duration
from ..policy.model import GradingMethod, Indicator, ListingMatch, Override, Pack, RecordMatch


@dataclass(frozen=True)
class GradeRecord:
    record: str  # SOURCE/SOURCE_RECORD_ID
    record_type: str
    status: str
    decided_on: date
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GradeListing:
    listing_id: str
    list_id: str
    until: datetime | None  # when it ends at the latest (aware)


@dataclass
class _Hit:
    source: str
    points: float
    ends: datetime | None


def _matches(m: RecordMatch, r: GradeRecord) -> bool:
    return (
        r.record_type == m.type
        and (not m.status or r.status in m.status)
        and all(r.fields.get(f) in vs for f, vs in m.where.items())
    )


class Grader:
    def __init__(
        self, pack: Pack, method: GradingMethod, calendar: WorkingCalendar, tz: tzinfo
    ) -> None:
        self.pack, self.method, self.calendar, self.tz = pack, method, calendar, tz
        self._ends: dict[tuple[date, str], datetime] = {}
        self._starts: dict[date, datetime] = {}

    def _window_end(self, decided_on: date, window: str) -> datetime:
        end = self._ends.get((decided_on, window))
        if end is None:
            start = datetime.combine(decided_on, time(0, 0), tzinfo=self.tz)
            end = add_duration(start, Duration.parse(window), self.calendar, self.tz).at
            self._ends[(decided_on, window)] = end
        return end

    def _hits(
        self,
        item: Indicator | Override,
        records: list[GradeRecord],
        listings: list[GradeListing],
        at: datetime,
        points: float,
    ) -> list[_Hit]:
        out: list[_Hit] = []
        m = item.record
        if m is not None:
            for r in records:
                if r.record_type != m.type or not _matches(m, r):
                    continue
                if item.window is None:
                    out.append(_Hit(r.record, points, None))
                    continue
                start = self._starts.get(r.decided_on)
                if start is None:
                    start = datetime.combine(r.decided_on, time(0, 0), tzinfo=self.tz)
                    self._starts[r.decided_on] = start
                ends = self._window_end(r.decided_on, item.window)
                if not (start <= at < ends):
                    continue
                weight = 1.0
                if isinstance(item, Indicator) and item.decay == "linear":
                    weight = (ends - at) / (ends - start)
                out.append(_Hit(r.record, points * weight, ends))
        else:
            lm: ListingMatch | None = item.listing
            assert lm is not None
            out.extend(
                _Hit(f"listing {x.listing_id}", points, x.until)
                for x in listings
                if x.list_id == lm.list
            )
        return out

    def score(
        self,
        records: list[GradeRecord],
        listings: list[GradeListing],
        at: datetime,
        explain: bool = True,
    ) -> tuple[float, list[dict[str, Any]]]:
        """Points and the factors behind them (none without ``explain``: the same points)."""
        total = self.method.start
        factors: list[dict[str, Any]] = []
        listed = {x.list_id for x in listings}
        for ind in self.method.indicators:
            if ind.unless_listed and listed.intersection(ind.unless_listed):
                continue  # the subject is on a list that bars this indicator
            hits = self._hits(ind, records, listings, at, ind.points)
            if not hits:
                continue
            raw = sum(h.points for h in hits)
            capped = raw
            if ind.cap is not None:
                capped = max(raw, ind.cap) if ind.cap < 0 else min(raw, ind.cap)
            total += capped
            if not explain:
                continue
            scale = capped / raw if raw else 0.0
            shares = [round(h.points * scale, 2) for h in hits]
            shares[-1] = round(round(capped, 2) - sum(shares[:-1]), 2)  # factors add up exactly
            for h, share in zip(hits, shares, strict=True):
                factors.append(
                    {
                        "record": h.source,
                        "points": share,
                        "rule": ind.id,
                        "rule_name": ind.name.model_dump(),
                        "legal_basis": self.pack.cite(ind.legal_basis),
                        "counts_until": h.ends.isoformat(timespec="seconds") if h.ends else None,
                        **({"note": f"capped at {ind.cap:g} for this rule"} if scale != 1 else {}),
                    }
                )
        return round(total, 2), factors

    def level_for(self, points: float) -> str:
        for lv in self.method.levels:
            if lv.min is None or points >= lv.min:
                return lv.level
        return self.method.levels[-1].level

    def evaluate(
        self,
        records: list[GradeRecord],
        listings: list[GradeListing],
        at: datetime,
        explain: bool = True,
    ) -> tuple[float, list[dict[str, Any]], str, list[dict[str, Any]], dict[str, datetime | None]]:
        """Points, factors, level, the overrides that applied, and when each stops applying.

        Without ``explain`` the factors and overrides are left empty (points, level and ends
        are the same): what a regrade needs, at ingest volume."""
        live = [x for x in listings if x.until is None or x.until > at]
        points, factors = self.score(records, live, at, explain)
        level = self.level_for(points)
        order = [lv.level for lv in self.method.levels]
        applied: list[dict[str, Any]] = []
        ends_of: dict[str, datetime | None] = {}
        set_level: str | None = None
        for o in self.method.overrides:
            hits = self._hits(o, records, live, at, 0.0)
            if not hits or any(u in ends_of for u in o.unless):
                continue
            if o.min_points is not None and points < o.min_points:
                continue
            ends = [h.ends for h in hits]
            ends_of[o.id] = None if any(e is None for e in ends) else max(e for e in ends if e)
            if explain:
                applied.append(
                    {
                        "rule": o.id,
                        "rule_name": o.name.model_dump(),
                        "records": [h.source for h in hits],
                        "level": o.level,
                        "at_most": o.at_most,
                        "legal_basis": self.pack.cite(o.legal_basis),
                    }
                )
            if o.level is not None and set_level is None:
                set_level = o.level
            if (
                o.at_most is not None
                and level in order
                and o.at_most in order
                and order.index(level) < order.index(o.at_most)
            ):
                level = o.at_most
        return points, factors, set_level or level, applied, ends_of

    def grade(
        self, records: list[GradeRecord], listings: list[GradeListing], at: datetime
    ) -> dict[str, Any]:
        points, factors, level, applied, ends_of = self.evaluate(records, listings, at)
        return {
            "method": self.method.id,
            "method_name": self.method.name.model_dump(),
            "as_of": at.isoformat(timespec="seconds"),
            "level": level,
            "points": points,
            "start": self.method.start,
            "factors": factors,
            "overrides": applied,
            "to_improve": self._to_improve(records, listings, at, level, ends_of),
            "legal_basis": self.pack.cite(self.method.legal_basis),
        }

    def _to_improve(
        self,
        records: list[GradeRecord],
        listings: list[GradeListing],
        at: datetime,
        level: str,
        ends_of: dict[str, datetime | None],
    ) -> dict[str, Any] | None:
        """The earliest moment, with nothing new recorded, at which the level rises."""
        order = [lv.level for lv in self.method.levels]
        if level in order and order.index(level) == 0:
            return None
        candidates = sorted(
            {e for e in ends_of.values() if e}
            | {
                datetime.fromisoformat(f["counts_until"])
                for f in self.score(records, listings, at)[1]
                if f["counts_until"] and f["points"] < 0
            }
        )
        candidates = [c for c in candidates if c > at]

        def better(d: datetime) -> str | None:
            g = self.evaluate(records, listings, d)[2]
            if g in order and (level not in order or order.index(g) < order.index(level)):
                return g
            return None

        prev = at
        for c in candidates:
            up = better(c)
            if up is None:
                prev = c
                continue
            lo, hi = prev.date(), c.date()  # linear decay may cross before the window ends
            while (hi - lo).days > 1:
                mid = lo + (hi - lo) / 2
                moment = datetime.combine(mid, time(0, 0), tzinfo=self.tz)
                if better(moment):
                    hi = mid
                else:
                    lo = mid
            when = datetime.combine(hi, time(0, 0), tzinfo=self.tz) if hi < c.date() else c
            because, changes = self._reason(records, listings, at, when)
            return {
                "level": better(when) or up,
                "on": when.isoformat(timespec="seconds"),
                "because": because,
                "changes": changes,
            }
        return {
            "level": None,
            "on": None,
            "because": "nothing on file leaves its window; the level rises only with new "
            "conduct (e.g. commendations) or when a listing ends",
            "changes": [],
        }

    def _changes(
        self, records: list[GradeRecord], listings: list[GradeListing], at: datetime, when: datetime
    ) -> list[dict[str, Any]]:
        """What changes between ``at`` and ``when``: factors that leave their window, factors
        that fade, overrides that stop setting the level (each with its rule's name)."""
        _p, f_at, _l, o_at, _e = self.evaluate(records, listings, at)
        _p, f_when, _l, o_when, _e = self.evaluate(records, listings, when)
        before = {(f["record"], f["rule"]): f for f in f_at}
        after = {(f["record"], f["rule"]): f for f in f_when}
        out: list[dict[str, Any]] = []
        for k, f in before.items():
            base = {"record": f["record"], "rule": f["rule"], "rule_name": f["rule_name"]}
            if k not in after:
                out.append({"change": "leaves", **base, "points": f["points"]})
            elif after[k]["points"] != f["points"]:
                out.append(
                    {
                        "change": "fades",
                        **base,
                        "points": f["points"],
                        "points_after": after[k]["points"],
                    }
                )
        still = {o["rule"] for o in o_when}
        out += [
            {
                "change": "stops",
                "record": ", ".join(o["records"]),
                "rule": o["rule"],
                "rule_name": o["rule_name"],
            }
            for o in o_at
            if o["rule"] not in still
        ]
        return out

    def _reason(
        self, records: list[GradeRecord], listings: list[GradeListing], at: datetime, when: datetime
    ) -> tuple[str, list[dict[str, Any]]]:
        """Why the level rises at ``when``: the changes, and the same in one English sentence
        (the API's ``because``; pages word each change in the reader's language)."""
        changes = self._changes(records, listings, at, when)
        parts = []
        for c in changes:
            if c["change"] == "leaves":
                parts.append(
                    f"{c['record']} ({c['rule']}, {c['points']:g} points) leaves its window"
                )
            elif c["change"] == "fades":
                parts.append(
                    f"{c['record']} ({c['rule']}) counts {c['points_after']:g} points instead of "
                    f"{c['points']:g}: it fades over its window"
                )
            else:
                parts.append(f"{c['rule']} ({c['record']}) no longer sets the level")
        return "; ".join(parts) or "the factors on file at that moment give this level", changes
