"""The batch recompute in SQL on DuckDB gives the Python engine's grades, subject by subject."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import grades, subjects
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import grading, ingest


def test_duckdb_recompute_equals_the_python_engine(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    generate(400, tmp_path / "data", seed=11)
    clock.set(parse_moment("2026-10-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(tmp_path / "data" / name), source, actor="test")
    with reg.engine.connect() as conn:
        orgs = [
            r[0]
            for r in conn.execute(
                select(subjects.c.subject_id).where(subjects.c.kind == "organisation")
            )
        ]
    assert len(orgs) > 200
    for moment in ("2026-10-01", "2027-08-15T10:30", "2029-06-01"):
        clock.set(parse_moment(moment))
        counts = grading.recompute(reg, actor="test:batch")
        assert sum(counts["samr_risk"].values()) == len(orgs)
        with reg.engine.connect() as conn:
            stored = {
                (g.subject_id, g.method): (g.level, g.points) for g in conn.execute(select(grades))
            }
        levels_seen = set()
        for sid in orgs:
            file = grading.subject_file(reg, sid, clock.now())
            for method in ("samr_risk", "tax_credit"):
                py = grading.grade_file(reg, file, method, clock.now())
                level, points = stored[(sid, method)]
                assert level == py["level"], (moment, sid, method, points, py["points"])
                assert abs(points - py["points"]) < 0.011, (moment, sid, method)
                levels_seen.add((method, level))
        # the data exercise more than one level of each method
        assert len({lv for m, lv in levels_seen if m == "samr_risk"}) >= 2


@pytest.mark.spark
def test_spark_gives_the_same_grades_as_duckdb(
    reg: Registry, clock: FixedClock, tmp_path: Path, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("one store is enough: the engines read the same snapshot")
    from datetime import UTC

    from socialcredit.analytics.grades import compute

    generate(300, tmp_path / "data", seed=12)
    clock.set(parse_moment("2026-10-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(tmp_path / "data" / name), source, actor="test")
    methods = list(reg.pack.grading.values())
    for moment in ("2026-10-01", "2027-08-15T10:30"):
        at = parse_moment(moment)
        t_local, t_utc = at.replace(tzinfo=None), at.astimezone(UTC).replace(tzinfo=None)
        with reg.engine.connect() as conn:
            duck = compute(conn, methods, t_local, t_utc, engine="duckdb")
            spark = compute(conn, methods, t_local, t_utc, engine="spark")
        for method in duck:
            assert len(duck[method]) > 200
            for (s1, p1, l1), (s2, p2, l2) in zip(duck[method], spark[method], strict=True):
                assert (s1, l1) == (s2, l2) and abs(p1 - p2) < 0.011, (method, s1)
