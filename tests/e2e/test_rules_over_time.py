"""The law over time: a record is judged by the rules in force on its decision date, unless a
later rule is lighter for the subject (Administrative Penalty Law Art. 37, 从旧兼从轻), which
then applies from its effective date; the answer names the version and its basis. Through the
service, the command line and HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, subjects
from socialcredit.services.access import create_principal
from tests.e2e.test_story_cli import sc
from tests.fixtures.rows import ORG, numbered, penalty

ROWS = [
    # a warning decided under the old rules (1 year for a general penalty); Order 107 no longer
    # publishes warnings from 2025-12-25: the lighter rule applies from that day
    penalty("W-OLD", severity="general", penalty_kind="warning", decided_on="2025-06-01"),
    # a warning decided under the new rules: never published
    penalty("W-NEW", severity="general", penalty_kind="warning", decided_on="2026-01-10"),
    # a fine decided under the old rules: the new ones are not lighter, the old ones govern
    penalty("F-OLD", severity="general", penalty_kind="fine", decided_on="2025-06-01"),
]

EXPECTED = {
    "W-OLD": ("2025-12-25", "2025-12-25", True),
    "W-NEW": ("2026-01-10", "2025-12-25", None),
    "F-OLD": ("2026-06-01", "base", None),
}


def _check(records: list[dict[str, Any]]) -> None:
    got = {
        r["source_record_id"]: (
            r["publicity_until"],
            r["publicity_rule"]["version"],
            r["publicity_rule"].get("lenient"),
        )
        for r in records
    }
    assert got == EXPECTED
    by_id = {r["source_record_id"]: r for r in records}
    lenient = by_id["W-OLD"]["publicity_rule"]["legal_basis"]
    assert any("第107号" in b for b in lenient) and any("Art. 37" in b for b in lenient)
    assert any("第58号" in b for b in by_id["F-OLD"]["publicity_rule"]["legal_basis"])


def test_the_rules_of_the_decision_date_or_the_lighter_later_ones(
    reg: Registry, clock: FixedClock, server: str, env: dict[str, str], tmp_path: Path
) -> None:
    clock.set(parse_moment("2026-02-01"))
    s = ingest.ingest(reg, numbered(ROWS), "samr", actor="samr")
    assert s.accepted == 3, s.rejects
    file = subjects.subject_file(reg, ORG)
    _check(file["records"])
    # every answer names the pack, its release and the rules version in force on its day
    assert file["rules"] == {
        "pack": "cn-national",
        "release": reg.pack.meta.version,
        "version": "2025-12-25",
    }
    from socialcredit.services import checks

    answer = checks.answer(reg, ORG, "restrict_air_travel", parse_moment("2025-12-24"))
    assert answer["rules"]["version"] == "base"
    assert checks.answer_bulk(reg, [ORG], "restrict_air_travel")["rules"]["version"] == "2025-12-25"
    # over HTTP
    token = create_principal(reg, "reviewer", "Reviewer Li", actor="test")["token"]
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}) as http:
        r = http.get(f"/v1/file/{ORG}")
        assert r.status_code == 200
        _check(r.json()["records"])
        assert r.json()["rules"]["version"] == "2025-12-25"
        # the public profile and the grades say it too
        public = http.get(f"/v1/subjects/{ORG}")
        assert public.status_code == 200 and public.json()["rules"]["version"] == "2025-12-25"
    from socialcredit.services import grading

    graded = grading.with_grades(reg, subjects.subject_file(reg, ORG))
    assert graded["grades"] and all(g["rules"]["version"] == "2025-12-25" for g in graded["grades"])
    # on the command line
    ran = sc(env, "subject", "show", ORG, "--as-of", "2026-02-01", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    _check(json.loads(ran.stdout)["records"])


def test_a_repair_application_follows_the_procedure_in_force_on_its_day(
    reg: Registry, clock: FixedClock
) -> None:
    """Order No. 107 has repair applications decided within 7 working days from 2025-12-25;
    one made before that day keeps the 10 working days of the rules of its time."""
    from socialcredit.services import repairs

    done = {"performed_on": "2025-08-01"}
    rows = [
        penalty("R-1", severity="general", decided_on="2025-05-02", **done),
        penalty("R-2", severity="general", decided_on="2025-05-02", **done),
    ]
    clock.set(parse_moment("2025-09-01"))
    ingest.ingest(reg, numbered(rows), "samr", actor="samr")
    clock.set(parse_moment("2025-12-01T09:00"))  # a Monday
    before = repairs.apply_for_repair(reg, ORG, record="samr/R-1", evidence="paid", actor="s")
    clock.set(parse_moment("2026-01-05T09:00"))  # a Monday
    after = repairs.apply_for_repair(reg, ORG, record="samr/R-2", evidence="paid", actor="s")
    assert before["eligible"] and after["eligible"]
    # 10 working days from Mon 1 Dec 2025 end with Mon 15 Dec; 7 from Mon 5 Jan 2026 with Wed 14
    assert before["decision_deadline"].startswith("2025-12-16T00:00")
    assert after["decision_deadline"].startswith("2026-01-15T00:00")
    assert any("107" in b for b in after["legal_basis"])
    assert not any("107" in b for b in before["legal_basis"])
