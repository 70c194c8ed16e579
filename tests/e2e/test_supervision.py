"""The supervision page: classes per method equal the grades table, the month-end trend ends at
the same figures, small cells are suppressed (their count appears nowhere on the page), and the
latest published plan is shown with its seed, digest and draw per class."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import grades, subjects
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import ingest, inspection, supervision

pytestmark = pytest.mark.e2e


def test_supervision_page(reg: Registry, clock: FixedClock, server: str, tmp_path: Path) -> None:
    generate(300, tmp_path / "data", seed=5)
    clock.set(parse_moment("2026-10-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(tmp_path / "data" / name), source, actor="test")
    clock.set(parse_moment("2026-12-01"))
    plan = inspection.Plan.model_validate(
        {
            "id": "2026-Q4",
            "name": "Q4 random inspections",
            "method": "samr_risk",
            "population": {"division_prefix": "", "entity_types": ["91", "92", "93"]},
            "inspectors": [
                {"id": "I1", "name": "Inspector Wang", "regions": [""]},
                {"id": "I2", "name": "Inspector Zhao", "regions": [""]},
            ],
        }
    )
    drawn = inspection.draw(reg, plan, 7)
    inspection.publish(reg, drawn, "test:regulator")

    stats = supervision.statistics(reg)
    with reg.engine.connect() as conn:
        want = {
            (m, lv): n
            for m, lv, n in conn.execute(
                select(grades.c.method, grades.c.level, func.count())
                .join(subjects, subjects.c.subject_id == grades.c.subject_id)
                .where(subjects.c.kind == "organisation")
                .group_by(grades.c.method, grades.c.level)
            )
        }
    got = {(m, lv): n for m, per in stats["totals"].items() for lv, n in per.items() if n}
    assert got == want and sum(want.values()) > 100
    for m, rows in stats["trend"].items():
        last = rows[-1]
        for lv in stats["methods"][m]["levels"]:
            n = want.get((m, lv), 0)
            assert last[lv] == (n if n >= supervision.MIN_CELL else None), (m, lv)
    # every province cell is its true count, or None when below the threshold
    suppressed = 0
    for per_province in stats["by_province"].values():
        for cell in per_province.values():
            for n in cell.values():
                assert n is None or n >= supervision.MIN_CELL
                suppressed += n is None
    assert suppressed > 0
    assert stats["plan"]["plan_id"] == "2026-Q4" and stats["plan"]["seed"] == 7
    assert sum(stats["plan"]["drawn"].values()) == len(drawn["drawn"]) > 0

    for lang in ("zh", "en"):
        r = httpx.get(f"{server}/supervision", params={"lang": lang}, timeout=60)
        assert r.status_code == 200
        html = r.text
        assert html.count('role="img"') == 2 * len(stats["methods"])
        assert drawn["digest"] in html
        # the figures of the tables are the statistics' figures
        samr = stats["totals"]["samr_risk"]
        for n in samr.values():
            if n:
                assert f"{n:,}" in html or str(n) in html
    assert re.search(r"fewer than 5|少于 ?5", r.text)
