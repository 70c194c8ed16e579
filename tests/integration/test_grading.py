"""Grading methods as data: the tax credit arithmetic, the SAMR risk classes, explanations."""

from __future__ import annotations

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import UnknownEntity
from socialcredit.services import grading, ingest
from tests.fixtures.rows import ORG, ORG2, abnormal, numbered, penalty, tax_indicator, tax_rating


def tax(reg: Registry, *indicators: str, decided_on: str = "2026-03-01") -> None:
    rows = [tax_indicator(f"T{i}", ind, decided_on=decided_on) for i, ind in enumerate(indicators)]
    # last year's published rating registers the company; the method does not count it
    ingest.ingest(
        reg,
        numbered([tax_rating("R-2024", year=2024, decided_on="2025-04-20"), *rows]),
        "tax",
        actor="tax",
    )


@pytest.fixture
def later(clock: FixedClock) -> FixedClock:
    clock.set(parse_moment("2026-04-01"))
    return clock


@pytest.mark.parametrize(
    ("indicators", "points", "level"),
    [
        ((), 100, "A"),
        (("late_filing", "late_filing"), 90, "A"),  # 90 is A: the boundary is inclusive
        (("late_filing", "late_filing", "invoice_irregularity"), 87, "B"),
        (("missing_records",) * 2 + ("late_filing",) * 2, 68, "C"),
        (("missing_records",) * 5 + ("late_filing",) * 1, 40, "C"),
        (("missing_records",) * 5 + ("late_filing",) * 1 + ("invoice_irregularity",), 37, "D"),
        (("tax_evasion",), 100, "D"),  # Art. 20: directly D whatever the points
        (("newly_established",), 100, "M"),
        (("newly_established", "false_vat_invoices"), 100, "D"),  # D takes precedence over M
        (("no_revenue", "late_filing"), 95, "M"),
        (("no_revenue",) + ("missing_records",) * 3, 67, "C"),  # M needs at least 70 points
    ],
)
def test_tax_credit_arithmetic(
    reg: Registry, later: FixedClock, indicators: tuple[str, ...], points: int, level: str
) -> None:
    tax(reg, *indicators)
    g = grading.grade(reg, ORG, "tax_credit")
    assert (g["points"], g["level"]) == (points, level)
    assert sum(f["points"] for f in g["factors"]) == points - 100
    for f in g["factors"]:
        assert f["record"].startswith("tax/") and f["rule"] and f["legal_basis"]


def test_indicators_leave_their_window_and_the_explanation_says_when(
    reg: Registry, later: FixedClock
) -> None:
    tax(reg, "late_filing", "late_filing", "late_payment")
    g = grading.grade(reg, ORG, "tax_credit")
    assert (g["points"], g["level"]) == (85, "B")
    assert g["to_improve"]["level"] == "A"
    assert g["to_improve"]["on"] == "2027-03-01T00:00:00+08:00"
    assert "leaves its window" in g["to_improve"]["because"]
    assert grading.grade(reg, ORG, "tax_credit", parse_moment("2027-02-28T23:59"))["level"] == "B"
    assert grading.grade(reg, ORG, "tax_credit", parse_moment("2027-03-01"))["level"] == "A"
    # before the indicators were recorded the registry knew the company without them
    with pytest.raises(UnknownEntity, match="as of 2026-03-31"):
        grading.grade(reg, ORG, "tax_credit", parse_moment("2026-03-31"))


def test_the_explanation_names_what_actually_changes(reg: Registry, later: FixedClock) -> None:
    """An override ending was explained as "penalties fade over their window (linear decay)",
    though the tax method decays nothing: every explanation comes from the factors applied."""
    tax(reg, "tax_evasion")
    g = grading.grade(reg, ORG, "tax_credit")
    assert (g["points"], g["level"]) == (100, "D")
    up = g["to_improve"]
    assert up["level"] == "A" and up["on"] == "2027-03-01T00:00:00+08:00"
    assert "direct_d (tax/T0) no longer sets the level" in up["because"]
    assert "decay" not in up["because"] and "fades" not in up["because"]


def test_the_authoritys_own_rating_is_the_rating(reg: Registry, later: FixedClock) -> None:
    """A subject saw a tax credit grade "A 100" computed by the registry right above the tax
    bureau's own record saying level B, score 71: where the authority's rating is on file it is
    the rating, and the registry's result is labelled as its own estimate."""
    from socialcredit.services import subjects

    ingest.ingest(
        reg,
        numbered([{**tax_rating("R-2025", level="B", decided_on="2026-03-20"), "score": "71"}]),
        "tax",
        actor="tax",
    )
    g = grading.grade(reg, ORG, "tax_credit")
    assert (g["level"], g["points"]) == ("A", 100)  # the registry's method, from no indicator
    assert g["official"] == {
        "level": "B",
        "points": 71.0,
        "record": "tax/R-2025",
        "authority": "国家税务总局北京市税务局",
        "decided_on": "2026-03-20",
        "legal_basis": g["official"]["legal_basis"],
    }
    assert "own rating is on file" in g["note"] and "not a rating" in g["note"]
    (shown,) = [
        x
        for x in grading.with_grades(reg, subjects.subject_file(reg, ORG))["grades"]
        if x["method"] == "tax_credit"
    ]
    assert shown["official"]["level"] == "B"
    assert grading.grade(reg, ORG, "samr_risk")["official"] is None  # no authority rates it


def test_a_commendation_under_no_honours_is_neither_published_nor_counted(
    reg: Registry, clock: FixedClock
) -> None:
    """A subject on the serious-illegal-dishonest list (measure no_honours) received a
    commendation; it was published and raised the subject's grade."""
    from socialcredit.services import listings, views

    def commendation(rid: str, subject: str) -> dict[str, str]:
        return {
            "source_record_id": rid,
            "record_type": "commendation",
            "subject_id": subject,
            "subject_name": "某公司",
            "authority": "北京市市场监督管理局",
            "decision_ref": "京市监表〔2026〕3号",
            "decided_on": "2026-03-05",
            "legal_basis": "《国务院关于建立完善守信联合激励和失信联合惩戒制度》",
            "status": "conferred",
            "title": "守合同重信用企业",
        }

    clock.set(parse_moment("2026-02-01"))
    ingest.ingest(reg, numbered([penalty("P-1", decided_on="2026-01-20")]), "samr", actor="s")
    clock.set(parse_moment("2026-03-01"))
    listings.advance(reg, "sweep")
    assert checks_outcome(reg) == "restricted"  # under no_honours
    clock.set(parse_moment("2026-03-06"))
    rows = [commendation("C-1", ORG), commendation("C-2", ORG2)]
    ingest.ingest(reg, numbered(rows), "samr", actor="s")
    listed = grading.grade(reg, ORG, "samr_risk")
    assert not [f for f in listed["factors"] if f["rule"] == "commendation"]
    free = grading.grade(reg, ORG2, "samr_risk")
    assert [f["points"] for f in free["factors"] if f["rule"] == "commendation"] == [5.0]
    kinds = [r["record_type"] for r in views.public_profile(reg, ORG)["records"]]
    assert "commendation" not in kinds and "administrative_penalty" in kinds
    assert [r["record_type"] for r in views.public_profile(reg, ORG2)["records"]] == [
        "commendation"
    ]
    # the batch recompute in SQL applies the same bar
    from sqlalchemy import select

    from socialcredit.db import grades

    grading.recompute(reg, actor="test:batch")
    with reg.engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(grades.c.subject_id, grades.c.points).where(grades.c.method == "samr_risk")
            ).all()
        )
    assert (stored[ORG], stored[ORG2]) == (listed["points"], free["points"])


def checks_outcome(reg: Registry) -> str:
    from socialcredit.services import checks

    return str(checks.answer(reg, ORG, "no_honours")["outcome"])


def test_samr_risk_decay_listings_caps_and_overrides(reg: Registry, clock: FixedClock) -> None:
    clock.set(parse_moment("2026-01-10"))
    ingest.ingest(reg, numbered([penalty("P-1", field="environment")]), "samr", actor="samr")
    g = grading.grade(reg, ORG, "samr_risk", parse_moment("2026-01-10"))
    assert (g["points"], g["level"]) == (70, "C")  # -30 on the day of the decision
    # a serious penalty fades linearly over three years: back to B at -15 points
    up = g["to_improve"]
    assert up["level"] == "B"
    day = parse_moment(up["on"][:10])
    assert grading.grade(reg, ORG, "samr_risk", day)["level"] == "B"
    from datetime import timedelta

    assert grading.grade(reg, ORG, "samr_risk", day - timedelta(days=1))["level"] == "C"
    assert "2027-07-0" in up["on"] or "2027-07-1" in up["on"]
    assert "samr/P-1 (serious_penalty) counts" in up["because"] and "fades" in up["because"]
    # the serious list (food penalty) sets D directly; the explanation names it
    clock.set(parse_moment("2026-02-01T09:00"))
    ingest.ingest(
        reg, numbered([penalty("P-2", field="food", decided_on="2026-01-20")]), "samr", actor="samr"
    )
    g = grading.grade(reg, ORG, "samr_risk", parse_moment("2026-03-01"))
    assert g["level"] == "D" and g["overrides"][0]["rule"] == "serious_list"
    assert g["to_improve"]["level"] is not None


def test_samr_risk_licence_cap_and_abnormal_listing(reg: Registry, clock: FixedClock) -> None:
    rows = [
        {
            **penalty(f"L-{i}"),
            "record_type": "administrative_licence",
            "status": "valid",
            "licence_kind": "食品经营许可证",
            "licence_no": f"JY{i}",
        }
        for i in range(3)
    ]
    for r in rows:
        for k in ("severity", "penalty_kind", "fine_yuan", "field_of_law"):
            r.pop(k)
    ingest.ingest(reg, numbered([*rows, abnormal("AB-1")]), "samr", actor="samr")
    g = grading.grade(reg, ORG, "samr_risk", parse_moment("2026-02-02"))
    licence = [f for f in g["factors"] if f["rule"] == "valid_licence"]
    assert len(licence) == 3 and round(sum(f["points"] for f in licence), 2) == 4
    assert all("capped" in f.get("note", "") for f in licence)
    abnormal_f = [f for f in g["factors"] if f["rule"] == "abnormal_operation"]
    assert abnormal_f and abnormal_f[0]["points"] == -20
    assert (g["points"], g["level"]) == (84, "C")


def test_unknown_method_is_a_clear_error(reg: Registry) -> None:
    ingest.ingest(reg, numbered([abnormal("AB-1")]), "samr", actor="samr")
    with pytest.raises(UnknownEntity, match="known: samr_risk, tax_credit"):
        grading.grade(reg, ORG, "social_score")


def test_grades_follow_records_at_once_and_rebuild(reg: Registry, clock: FixedClock) -> None:
    from sqlalchemy import select

    from socialcredit.db import grades
    from socialcredit.services import audit, objections

    clock.set(parse_moment("2026-01-10"))
    ingest.ingest(reg, numbered([penalty("P-1", field="environment")]), "samr", actor="samr")
    with reg.engine.connect() as conn:
        rows = {r.method: (r.level, r.points) for r in conn.execute(select(grades))}
    assert rows == {"samr_risk": ("C", 70.0), "tax_credit": ("A", 100.0)}
    # an objection found the penalty wrong: the grade follows in the same transaction
    clock.set(parse_moment("2026-01-20"))
    o = objections.file_objection(reg, ORG, record="samr/P-1", grounds="not us", actor="s")
    objections.decide_objection(reg, o["id"], outcome="corrected", reason="wrong firm", actor="r")
    with reg.engine.connect() as conn:
        level = conn.execute(select(grades.c.level).where(grades.c.method == "samr_risk")).scalar()
    assert level == "A"
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    trail = [e for e in audit.export_subject(reg, ORG) if e["type"] == "grade-assigned"]
    assert [(e["payload"]["method"], e["payload"]["level"]) for e in trail] == [
        ("samr_risk", "C"),
        ("tax_credit", "A"),
        ("samr_risk", "A"),
    ]
