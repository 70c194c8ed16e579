"""The shortcuts that make ingest fast record what the plain forms record (refs #8, part 5).

Not timed: each shortcut is held to the form it replaces, on both databases where a database
is involved: canonical JSON to ``json.dumps``, the event ids to ``str(uuid.uuid4())``'s form,
``among`` to ``IN``, and the grades a regrade records (the grader without its explanations) to
the explained grade of every organisation after a generated load.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.bulk import among
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import grades, records, subjects
from socialcredit.events.chain import _default, canonical
from socialcredit.events.store import _new_ids
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import grading, ingest


def test_canonical_writes_what_json_dumps_writes() -> None:
    values = [
        {"b": 1, "a": [1, None, True, False, "x"], "é": {"z": 1, "Z": 2, "ä": 3, "😀": 4}},
        {"points": 85.5, "small": 1e-05, "big": 1e16, "neg": -0.0, "third": 1 / 3},
        {"at": datetime(2026, 1, 2, 3, 4, 5, 6), "on": date(2026, 1, 2)},
        {"aware": datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=8)))},
        {"amount": Decimal("1234.50"), "huge": 2**70},
        {1: "int key", 2: "keys that are not text"},
        {"text": "某某有限公司（2025）京0105执1234号\n\t\x00\x1f\u2028\ufeff"},
        ["nested", [{"k": ("tuple", 1)}]],
        "a string",
        12,
        None,
    ]
    for v in values:
        want = json.dumps(
            v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
        )
        assert canonical(v) == want


def test_event_ids_are_version_4_uuids_as_text() -> None:
    ids = _new_ids(2000)
    assert len(set(ids)) == 2000
    for i in ids:
        u = uuid.UUID(i)
        assert str(u) == i and u.version == 4 and u.variant == uuid.RFC_4122


def test_among_finds_what_in_finds(reg: Registry, clock: FixedClock, tmp_path: Path) -> None:
    generate(60, tmp_path / "data", seed=5)
    clock.set(parse_moment("2026-10-01"))
    ingest.ingest(reg, read_rows(tmp_path / "data" / "samr.csv"), "samr", actor="test")
    with reg.engine.connect() as conn:
        dialect = conn.dialect.name
        keys = [r.record_key for r in conn.execute(select(records.c.record_key))]
        assert keys
        for wanted in ([], keys[:1], keys + ["no such key"] * 3, keys * 11):
            got = conn.execute(
                select(records.c.record_key).where(among(records.c.record_key, wanted, dialect))
            )
            plain = conn.execute(
                select(records.c.record_key).where(records.c.record_key.in_(wanted))
            )
            assert sorted(r[0] for r in got) == sorted(r[0] for r in plain)


def test_recorded_grades_are_the_explained_grades(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    """Every organisation's recorded grade (the regrade of each batch, which skips the
    explanations) equals its grade as ``socialcredit grade`` explains it, at the same moment."""
    generate(250, tmp_path / "data", seed=7)
    clock.set(parse_moment("2026-10-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(
            reg, read_rows(tmp_path / "data" / name), source, actor="test", batch_size=101
        )
    at = reg.now()
    with reg.engine.connect() as conn:
        recorded = {
            (g.subject_id, g.method): (g.level, g.points) for g in conn.execute(select(grades))
        }
        orgs = [
            s.subject_id
            for s in conn.execute(
                select(subjects.c.subject_id).where(subjects.c.kind == "organisation")
            )
        ]
    assert len(recorded) >= len(orgs) > 100
    levels = set()
    for sid in orgs:
        for method in ("samr_risk", "tax_credit"):
            g = grading.grade(reg, sid, method, at)
            assert recorded[(sid, method)] == (g["level"], g["points"]), (sid, method)
            levels.add(g["level"])
    assert len(levels) >= 3  # the data reaches more than the starting levels
