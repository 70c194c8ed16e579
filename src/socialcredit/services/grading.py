"""Grades: a subject's level under a grading method of the pack, with its explanation.

A grade is computed from the subject's file as it stood at the moment asked (its events
replayed up to then), so "what was this company's class on 2026-05-01" has one answer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, UnknownEntity
from ..rules.grading import GradeListing, Grader, GradeRecord
from .subjects import subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry


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
    return {"subject": file["subject"], **result}


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
