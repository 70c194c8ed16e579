"""The organisations' scorecard: inputs read from a file, the generating process, the model."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from socialcredit.analytics import scorecard as sc
from socialcredit.analytics import smb

MOMENT = date(2026, 3, 10)


def pay(period: str, paid: str, **extra: Any) -> dict[str, Any]:
    return {
        "record_type": "utility_payment",
        "status": "recorded",
        "decided_on": f"{period}-28",
        "fields": {"period": period, "payment": paid},
        **extra,
    }


def test_inputs_are_counted_over_their_windows() -> None:
    records = [
        pay("2026-03", "late"),  # this month: inside 12 and 24 months
        pay("2025-04", "late"),  # the 12th month back: inside
        pay("2025-03", "late"),  # the 13th: outside 12 months, inside 24
        pay("2024-04", "in_arrears"),  # the 24th month back: inside
        pay("2024-03", "in_arrears"),  # the 25th: outside
        pay("2026-02", "in_arrears", status="withdrawn"),  # withdrawn: never counts
        pay("2026-01", "in_arrears", retracted={"reason": "corrected"}),  # retracted: neither
        pay("2026-04", "late"),  # a future period: not yet
        {
            "record_type": "tax_credit_rating",
            "status": "issued",
            "decided_on": "2024-04-20",
            "fields": {"level": "B"},
        },
        {
            "record_type": "tax_credit_rating",
            "status": "issued",
            "decided_on": "2025-04-20",
            "fields": {"level": "C"},
        },
        {
            "record_type": "administrative_penalty",
            "status": "in_force",
            "decided_on": "2023-03-11",
            "fields": {},
        },
        {
            "record_type": "administrative_penalty",
            "status": "in_force",
            "decided_on": "2023-03-01",
            "fields": {},
        },
        {
            "record_type": "abnormal_operation",
            "status": "in_force",
            "decided_on": "2026-03-11",
            "fields": {},
        },
    ]
    listings = [
        {"list": "serious_illegal_dishonest", "status": "active"},
        {"list": "serious_illegal_dishonest", "status": "ended"},
        {"list": "a_level_taxpayers", "status": "active"},
    ]
    got = smb.features_of(records, listings, ["serious_illegal_dishonest"], MOMENT)
    assert got == {
        "late_payments_12m": 2,
        "arrears_24m": 1,
        "payment_months_24m": 4,  # 2026-03, 2025-04, 2025-03, 2024-04
        "tax_credit_level": "C",  # the latest rating
        "penalties_36m": 1,  # 2023-03-11 is inside 36 months, 2023-03-01 is not
        "abnormal_operations_36m": 0,  # decided after the moment
        "active_black_listings": 1,
    }
    assert smb.features_of([], [], [], MOMENT)["tax_credit_level"] == "none"


def test_generation_is_deterministic_and_its_signals_point_the_right_way() -> None:
    a = smb.rows_of(smb.generate(3000, seed=1))
    assert a == smb.rows_of(smb.generate(3000, seed=1))
    bad = [r for r in a if r[sc.TARGET] == sc.BAD]
    good = [r for r in a if r[sc.TARGET] == sc.GOOD]
    assert 0.06 < len(bad) / len(a) < 0.16
    for key in ("late_payments_12m", "arrears_24m", "penalties_36m"):
        assert sum(r[key] for r in bad) / len(bad) > sum(r[key] for r in good) / len(good), key
    share_d = lambda rs: sum(r["tax_credit_level"] == "D" for r in rs) / len(rs)  # noqa: E731
    assert share_d(bad) > 2 * share_d(good)


@pytest.fixture(scope="module")
def model() -> sc.Model:
    return sc.load_model(smb.MODEL_ID)


def test_saved_model_is_what_training_gives(model: sc.Model) -> None:
    fresh = smb.train()
    assert fresh.to_json() == model.to_json()
    assert model.metrics["test_auc"] > 0.7  # the registry's facts carry the signal


def test_more_trouble_never_scores_higher(model: sc.Model) -> None:
    clean = {
        "late_payments_12m": 0,
        "arrears_24m": 0,
        "payment_months_24m": 24,
        "tax_credit_level": "A",
        "penalties_36m": 0,
        "abnormal_operations_36m": 0,
        "active_black_listings": 0,
    }
    base = model.score(clean)
    assert base["approved"] and base["reasons"] == []
    for key in ("late_payments_12m", "arrears_24m", "penalties_36m", "abnormal_operations_36m"):
        worse = model.score({**clean, key: 5})
        assert worse["score"] <= base["score"], key
    troubled = model.score(
        {**clean, "arrears_24m": 6, "late_payments_12m": 6, "tax_credit_level": "D"}
    )
    assert not troubled["approved"]
    assert {r["feature"] for r in troubled["reasons"]} >= {"arrears_24m", "tax_credit_level"}
    step = troubled["to_improve"]["next_step"]
    assert step is not None and step["points_gained"] > 0
