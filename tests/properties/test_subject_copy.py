"""A copy of everything held (PIPL Art. 45) holds every item of the subject's file and nothing
about anyone else, over generated registries: records, listings, notices, objections and
statements of three subjects (two organisations and a person), the copy asked for by one."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import icalendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.services import ingest, objections, statements, subject_copy, subjects
from tests.conftest import TEST_KEYS
from tests.fixtures.rows import ORG, ORG2, PERSON, judgment, numbered, penalty

NAMES = {ORG: "甲乙丙科技有限公司", ORG2: "丁戊己贸易有限公司", PERSON: "王小明"}
PREFIX = {ORG: "AAA", ORG2: "BBB", PERSON: "PPP"}


def _row(subject: str, n: int, kind: str) -> dict[str, Any]:
    rid = f"{PREFIX[subject]}-{n}"
    if kind == "judgment":
        row = judgment(rid, subject, conduct="evades_enforcement")
    elif kind == "judgment_no_ruling":
        row = judgment(rid, subject, conduct="evades_enforcement", listing_ref=None)
    else:
        row = penalty(rid, subject, severity=kind)
    return {**row, "subject_name": NAMES[subject]}


kinds = st.sampled_from(["judgment", "judgment_no_ruling", "serious", "general"])
plans = st.fixed_dictionaries(
    {s: st.lists(kinds, min_size=0 if s != ORG else 1, max_size=3) for s in NAMES}
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=plans, act=st.booleans())
def test_the_copy_holds_the_subjects_file_and_nothing_of_anyone_else(
    plan: dict[str, list[str]], act: bool
) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        env = {
            **TEST_KEYS,
            "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{Path(tmp) / 'r.db'}",
            "SOCIALCREDIT_KEY_FILE": str(Path(tmp) / "keys.json"),
        }
        clock = FixedClock(parse_moment("2026-02-01T09:00"))
        reg = Registry(Settings.from_env(env), clock=clock)
        try:
            by_source: dict[str, list[dict[str, Any]]] = {"court": [], "samr": []}
            for subject, ks in plan.items():
                for n, k in enumerate(ks):
                    row = _row(subject, n, k)
                    by_source["court" if k.startswith("judgment") else "samr"].append(row)
            for source, rows in by_source.items():
                if rows:
                    ingest.ingest(reg, numbered(rows), source, actor=source)
            clock.set(parse_moment("2026-03-05T09:00"))
            if act:  # every subject objects to and comments on its first live entry
                for subject in NAMES:
                    f = subjects.subject_file(reg, subject) if plan[subject] else None
                    live = [x for x in (f or {}).get("listings", []) if x["status"] != "ended"]
                    if live:
                        objections.file_objection(
                            reg, subject, listing_id=live[0]["id"], grounds=f"{PREFIX[subject]} grounds", actor="s"
                        )  # fmt: skip
                        statements.file_statement(
                            reg, subject, listing_id=live[0]["id"], text=f"{PREFIX[subject]} says", actor="s"
                        )  # fmt: skip
            clock.set(parse_moment("2026-03-06T09:00"))
            data, manifest = subject_copy.archive(reg, ORG, reader="subject:ORG")
            file = subjects.subject_file(reg, ORG)
        finally:
            reg.close()

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    assert set(parts) == {"manifest.json", "file.json", "log.json", "calendar.ics"}
    held = json.loads(parts["file.json"])
    # every item of the subject's file is in the copy
    for key in ("records", "listings", "objections", "statements", "repairs", "consents"):
        assert [x.get("id") or x.get("record") for x in held[key]] == [
            x.get("id") or x.get("record") for x in file[key]
        ], key
    assert {n["notice_id"] for n in file["notices"]} <= {n["notice_id"] for n in held["notices"]}
    assert len(held["records"]) == len(plan[ORG])
    assert json.loads(parts["manifest.json"])["contents"]["records"] == len(plan[ORG])
    cal = icalendar.Calendar.from_ical(parts["calendar.ics"])
    assert len(list(cal.walk("VEVENT"))) == len(held["calendar"])
    # and nothing about anyone else
    everything = b"\n".join(parts.values()).decode("utf-8")
    assert NAMES[ORG] in everything and f"{PREFIX[ORG]}-0" in everything  # what it must hold
    for other in (ORG2, PERSON):
        for trace in (other, NAMES[other], f"{PREFIX[other]}-", f"{PREFIX[other]} says"):
            assert trace not in everything, trace
    assert PERSON[-4:] not in everything.replace(ORG, "")  # not even the person's masked number
    assert manifest["sha256"]
