"""A grade is public only where the pack's method has a publication rule, and then only at the
levels it names; the factors are shown by rule, without the records behind them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.policy.load import default_pack_path
from socialcredit.services import grading, ingest, reports
from tests.fixtures.rows import ORG, ORG2, numbered, tax_indicator

PUBLICATION = """
publication:
  levels: [A, D]
  legal_basis: [{cite: tax_credit_measures, article: "Art. 29, Art. 32"}]
"""


@pytest.fixture
def published(env: dict[str, str], clock: FixedClock, tmp_path: Path) -> Registry:
    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    method = pack / "grading" / "tax_credit.yaml"
    method.write_text(method.read_text(encoding="utf-8") + PUBLICATION, encoding="utf-8")
    return Registry(Settings.from_env({**env, "SOCIALCREDIT_PACK": str(pack)}), clock=clock)


def test_only_published_levels_are_shown(published: Registry, clock: FixedClock) -> None:
    reg = published
    clock.set(parse_moment("2026-03-02T10:00"))
    rows = [tax_indicator(f"T{i}", "missing_records", ORG2) for i in range(3)]  # 100-33 = 67: C
    summary = ingest.ingest(
        reg, numbered([tax_indicator("T9", "late_filing"), *rows]), "tax", actor="tax"
    )
    assert summary.accepted == 4

    (shown,) = grading.public_grades(reg, ORG)  # 95 points: A, published
    assert (shown["method"], shown["level"]) == ("tax_credit", "A")
    assert [f["rule"] for f in shown["factors"]] == ["late_filing"]
    assert "record" not in shown["factors"][0]  # the records behind a factor are not named
    assert shown["published_under"] and "Art. 29" in shown["published_under"][0]
    assert grading.grade(reg, ORG2, "tax_credit")["level"] == "C"
    assert grading.public_grades(reg, ORG2) == []  # C is not published
    assert reports.credit_report(reg, ORG)["grades"] == [shown]


def test_default_pack_publishes_no_computed_grade(reg: Registry, clock: FixedClock) -> None:
    clock.set(parse_moment("2026-03-02T10:00"))
    ingest.ingest(reg, numbered([tax_indicator("T1", "late_filing")]), "tax", actor="tax")
    assert grading.grade(reg, ORG, "samr_risk")["level"]
    assert grading.public_grades(reg, ORG) == []
