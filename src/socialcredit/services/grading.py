"""Grades: a subject's level under a grading method of the pack, with its explanation.

A grade is computed from the subject's file as it stood at the moment asked (its events
replayed up to then), so "what was this company's class on 2026-05-01" has one answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from ..bulk import among
from ..clock import to_utc_naive
from ..db import grades, listings, records
from ..errors import InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..identifiers.protect import PERSON_PREFIX
from ..rules.grading import GradeListing, Grader, GradeRecord
from ..rules.lists import status_at
from .subjects import subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..policy.model import OfficialRating


def grade(reg: Registry, code: str, method: str, at: datetime | None = None) -> dict[str, Any]:
    gm = reg.pack.grading.get(method)
    if gm is None:
        known = ", ".join(sorted(reg.pack.grading))
        raise UnknownEntity(f"unknown grading method {method!r} (known: {known})")
    moment = at or reg.now()
    file = subject_file(reg, code, moment)
    if file["kind"] not in gm.subject_kinds:
        raise InvalidInput(f"{gm.name.en} grades {', '.join(gm.subject_kinds)}s only")
    return grade_file(reg, file, method, moment)


def grade_file(
    reg: Registry, file: dict[str, Any], method: str, moment: datetime
) -> dict[str, Any]:
    gm = reg.pack.grading[method]
    records = [
        GradeRecord(
            r["record"],
            r["record_type"],
            r["status"],
            date.fromisoformat(r["decided_on"]),
            dict(r["fields"]),
        )
        for r in file["records"]
        if not r.get("retracted")
    ]
    listings = [
        GradeListing(x["id"], x["list"], datetime.fromisoformat(x["until"]) if x["until"] else None)
        for x in file["listings"]
        if x["status"] == "active"
    ]
    result = Grader(reg.pack, gm, reg.calendar, reg.tz).grade(
        records, listings, moment.astimezone(reg.tz)
    )
    out = {
        "subject": file["subject"],
        **result,
        "official": None,
        "rules": reg.pack.rules_on(moment.astimezone(reg.tz).date()),
    }
    if gm.official is not None:
        out["official"] = _official(reg, gm.official, file)
        if out["official"] is not None:
            o = out["official"]
            out["note"] = (
                f"{o['authority']}'s own rating is on file ({o['record']}: {o['level']}"
                + (f", {o['points']:g} points" if o["points"] is not None else "")
                + "): it is the subject's rating. level and points here are the registry's "
                "supervision estimate by its own method, a different thing, not a rating."
            )
    return out


def _official(reg: Registry, rule: OfficialRating, file: dict[str, Any]) -> dict[str, Any] | None:
    """The authority's latest rating on file (not retracted), or None."""
    on_file = [
        r
        for r in file["records"]
        if r["record_type"] == rule.record_type
        and r["status"] in rule.status
        and not r.get("retracted")
        and r["fields"].get(rule.level_field)
    ]
    if not on_file:
        return None
    r = max(on_file, key=lambda x: (x["decided_on"], x["source_record_id"]))
    raw = r["fields"].get(rule.points_field) if rule.points_field else None
    return {
        "level": r["fields"][rule.level_field],
        "points": float(raw) if raw not in (None, "") else None,
        "record": r["record"],
        "authority": r["authority"],
        "decided_on": r["decided_on"],
        "legal_basis": reg.pack.cite(rule.legal_basis),
    }


def with_grades(
    reg: Registry, file: dict[str, Any], moment: datetime | None = None
) -> dict[str, Any]:
    """The file with the subject's grade under every method that grades its kind."""
    at = moment or reg.now()
    file["grades"] = [
        grade_file(reg, file, mid, at)
        for mid, gm in reg.pack.grading.items()
        if file["kind"] in gm.subject_kinds
    ]
    return file


def public_grades(reg: Registry, code: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """The grades the law publishes (e.g. A and D taxpayers): level, rules and basis only.

    A method without a ``publication`` rule is a supervision tool and never appears; a level the
    rule does not name (B, C, M for tax credit) does not either. The records behind a factor are
    not named, since they need not be public themselves.
    """
    moment = at or reg.now()
    methods = [(mid, gm) for mid, gm in reg.pack.grading.items() if gm.publication is not None]
    if not methods:
        return []
    file = subject_file(reg, code, moment)
    shown = []
    for mid, gm in methods:
        assert gm.publication is not None
        if file["kind"] not in gm.subject_kinds:
            continue
        g = grade_file(reg, file, mid, moment)
        if g["level"] not in gm.publication.levels:
            continue
        shown.append(
            {
                "method": mid,
                "method_name": g["method_name"],
                "level": g["level"],
                "as_of": g["as_of"],
                "factors": [
                    {k: f[k] for k in ("rule", "rule_name", "points", "legal_basis")}
                    for f in g["factors"]
                ],
                "overrides": [
                    {k: o[k] for k in ("rule", "rule_name", "level", "legal_basis")}
                    for o in g["overrides"]
                ],
                "legal_basis": g["legal_basis"],
                "published_under": reg.pack.cite(gm.publication.legal_basis),
                "rules": g["rules"],
            }
        )
    return shown


def regrade(
    reg: Registry, conn: Any, subject_ids: Iterable[str], at_naive: datetime
) -> list[NewEvent]:
    """Grade events for subjects whose grade changed, read from the projections inside the
    caller's transaction (so the batch's own records count). Event-driven: called wherever
    records, listings or decisions change."""
    methods = [gm for gm in reg.pack.grading.values() if "organisation" in gm.subject_kinds]
    ids = sorted({s for s in subject_ids if not s.startswith(PERSON_PREFIX)})
    if not ids or not methods:
        return []
    at = at_naive.replace(tzinfo=UTC).astimezone(reg.tz)
    recs: dict[str, list[GradeRecord]] = {s: [] for s in ids}
    lsts: dict[str, list[GradeListing]] = {s: [] for s in ids}
    current: dict[tuple[str, str], tuple[str, float]] = {}
    dialect = conn.dialect.name
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(
            select(
                records.c.subject_id,
                records.c.source,
                records.c.source_record_id,
                records.c.record_type,
                records.c.status,
                records.c.decided_on,
                records.c.fields,
            )
            .where(among(records.c.subject_id, chunk, dialect))
            .where(records.c.retracted_at.is_(None))
        ):
            recs[r.subject_id].append(
                GradeRecord(
                    f"{r.source}/{r.source_record_id}",
                    r.record_type,
                    r.status,
                    r.decided_on,
                    orjson.loads(r.fields),
                )
            )
        for x in conn.execute(
            select(
                listings.c.subject_id,
                listings.c.listing_id,
                listings.c.list_id,
                listings.c.proposed_at,
                listings.c.notified_at,
                listings.c.activates_at,
                listings.c.until,
                listings.c.ended_at,
            ).where(among(listings.c.subject_id, chunk, dialect))
        ):
            if (
                status_at(
                    at_naive, x.proposed_at, x.notified_at, x.activates_at, x.until, x.ended_at
                )
                == "active"
            ):
                lsts[x.subject_id].append(
                    GradeListing(
                        x.listing_id, x.list_id, x.until.replace(tzinfo=UTC) if x.until else None
                    )
                )
        for g in conn.execute(
            select(grades.c.subject_id, grades.c.method, grades.c.level, grades.c.points).where(
                among(grades.c.subject_id, chunk, dialect)
            )
        ):
            current[(g.subject_id, g.method)] = (g.level, g.points)
    out: list[NewEvent] = []
    for gm in methods:
        grader = Grader(reg.pack, gm, reg.calendar, reg.tz)
        for sid in ids:
            points, _factors, level, _applied, _ends = grader.evaluate(
                recs[sid], lsts[sid], at, explain=False
            )
            before = current.get((sid, gm.id))
            if before is not None and before == (level, points):
                continue
            out.append(
                NewEvent(
                    T.GRADE_ASSIGNED,
                    {
                        "subject_id": sid,
                        "method": gm.id,
                        "level": level,
                        "points": points,
                        "previous_level": before[0] if before else None,
                    },
                    subject_id=sid,
                )
            )
    return out


def recompute(reg: Registry, *, actor: str, engine: str = "duckdb") -> dict[str, dict[str, int]]:
    """Recompute every organisation's grades as SQL over a snapshot of the store, and record a
    grade event for each that changed (e.g. a penalty that left its window overnight)."""
    if engine not in ("duckdb", "spark"):
        raise InvalidInput(f"engine must be duckdb or spark, not {engine!r}")
    from ..analytics.grades import compute

    methods = [gm for gm in reg.pack.grading.values() if "organisation" in gm.subject_kinds]
    now = reg.now()
    t_local = now.astimezone(reg.tz).replace(tzinfo=None)
    t_utc = to_utc_naive(now)
    with reg.uow(actor) as uow:
        results = compute(uow.conn, methods, t_local, t_utc, engine=engine)
        current = {
            (g.subject_id, g.method): (g.level, g.points) for g in uow.execute(select(grades))
        }
        evs = []
        counts: dict[str, dict[str, int]] = {}
        for method, rows in results.items():
            per = counts.setdefault(method, {})
            for sid, points, level in rows:
                per[level] = per.get(level, 0) + 1
                before = current.get((sid, method))
                if before == (level, points):
                    continue
                evs.append(
                    NewEvent(
                        T.GRADE_ASSIGNED,
                        {
                            "subject_id": sid,
                            "method": method,
                            "level": level,
                            "points": points,
                            "previous_level": before[0] if before else None,
                        },
                        subject_id=sid,
                    )
                )
        uow.emit_many(evs)
        uow.commit()
    return counts
