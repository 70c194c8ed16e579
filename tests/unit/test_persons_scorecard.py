"""The persons' scorecard on registry data: inputs read from a file (payments, the loans
lenders reported, court judgments), thin files, the generating process, the saved model."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from socialcredit.analytics import persons
from socialcredit.analytics import scorecard as sc

MOMENT = date(2026, 3, 10)


def loan(period: str, performance: str = "current", dpd: int = 0, loan_id: str = "A") -> dict:  # type: ignore[type-arg]
    return {
        "record_type": "loan_performance",
        "status": "recorded",
        "decided_on": f"{period}-28",
        "fields": {
            "loan_id": loan_id,
            "period": period,
            "performance": performance,
            "days_past_due": dpd,
        },
    }


def pay(period: str, paid: str, **fields: Any) -> dict:  # type: ignore[type-arg]
    return {
        "record_type": "rent_payment",
        "status": "recorded",
        "decided_on": f"{period}-28",
        "fields": {"period": period, "payment": paid, **fields},
    }


def test_inputs_are_read_from_payments_loans_and_judgments() -> None:
    records = [
        pay("2026-01", "late", days_late=40),
        pay("2025-02", "late", days_late=90),  # 14th month back: outside 12, inside 24
        pay("2024-02", "in_arrears"),  # 26th month back: outside
        loan("2026-02", "past_due", 30),
        loan("2025-12"),
        loan("2025-11", "default", 120, loan_id="B"),
        loan("2022-01", "default", 200, loan_id="C"),  # outside every window
        {"record_type": "court_judgment", "status": "unperformed", "decided_on": "2025-06-01"},
        {"record_type": "court_judgment", "status": "performed", "decided_on": "2025-06-01"},
        {**loan("2026-01", "default", 60, loan_id="D"), "retracted": {"reason": "objection"}},
    ]
    listings = [{"list": "dishonest_judgment_debtors", "status": "active"}]
    f = persons.features_of(records, listings, ["dishonest_judgment_debtors"], MOMENT)
    assert f == {
        "late_payments_12m": 1,
        "arrears_24m": 0,
        "payment_months_24m": 2,
        "longest_delay_days_24m": 90,
        "loan_months_24m": 3,
        "loan_max_days_past_due_24m": 120,
        "loans_defaulted_36m": 1,
        "unperformed_judgments_36m": 1,
        "active_black_listings": 1,
    }
    assert not persons.enough_history(f)  # three months: fewer than six


def test_a_thin_file_has_too_little_history_and_six_months_are_enough() -> None:
    five = [loan(f"2025-{m:02d}") for m in range(8, 13)]
    assert persons.history_months(persons.features_of(five, [], [], MOMENT)) == 5
    six = [*five, loan("2026-01")]
    assert persons.enough_history(persons.features_of(six, [], [], MOMENT))


def test_generation_is_deterministic_and_its_signals_point_the_right_way() -> None:
    a = persons.rows_of(persons.generate(3000, seed=1))
    assert a == persons.rows_of(persons.generate(3000, seed=1))
    bad = [r for r in a if r[sc.TARGET] == sc.BAD]
    good = [r for r in a if r[sc.TARGET] == sc.GOOD]
    assert 0.06 < len(bad) / len(a) < 0.2
    for key in ("late_payments_12m", "arrears_24m", "loan_max_days_past_due_24m"):
        mean_bad = sum(r[key] for r in bad) / len(bad)
        mean_good = sum(r[key] for r in good) / len(good)
        assert mean_bad > mean_good, key


@pytest.fixture(scope="module")
def model() -> sc.Model:
    return sc.load_model(persons.MODEL_ID)


def test_saved_model_is_what_training_gives(model: sc.Model) -> None:
    fresh = persons.train()
    assert fresh.to_json() == model.to_json()
    assert model.metrics["test_auc"] > 0.7  # the registry's facts carry the signal


def test_more_trouble_never_scores_higher(model: sc.Model) -> None:
    clean = dict.fromkeys(persons.NUMERIC, 0) | {"payment_months_24m": 24, "loan_months_24m": 24}
    base = model.score(clean)
    for key in ("late_payments_12m", "arrears_24m", "longest_delay_days_24m",
                "loan_max_days_past_due_24m", "unperformed_judgments_36m"):  # fmt: skip
        for value in (1, 5, 30, 90):
            assert model.score({**clean, key: value})["score"] <= base["score"], (key, value)
