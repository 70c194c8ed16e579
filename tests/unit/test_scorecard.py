"""The lending scorecard: reproducible, blind to protected attributes, and explained.

Everything but the last two tests runs on the saved model and the German Credit rows alone,
in pure Python: no pandas, scikit-learn or optbinning. ``test_training_reproduces_the_saved_
model`` retrains with optbinning (a few seconds) and must give the saved file byte for byte.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from socialcredit.analytics import scorecard as sc
from socialcredit.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "docs" / "model-card.md"


@pytest.fixture(scope="module")
def model() -> sc.Model:
    return sc.load_model()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return sc.load_german_credit()


@pytest.fixture(scope="module")
def scored(model: sc.Model, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [model.score(r) for r in rows]


@pytest.fixture(scope="module")
def test_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    _, test = sc.split(rows, sc.SEED)
    return [rows[i] for i in test]


def test_the_data_and_split_are_the_documented_ones(
    model: sc.Model, rows: list[dict[str, Any]]
) -> None:
    data = model.provenance["data"]
    assert sc.data_sha256() == data["sha256"]
    assert (len(rows), sum(sc.is_bad(rows))) == (1000, 300)
    train, test = sc.split(rows, sc.SEED)
    assert (len(train), len(test)) == (700, 300)
    assert not set(train) & set(test)
    assert sum(sc.is_bad([rows[i] for i in test])) == 90  # stratified: 30% of the 300 bads
    digest = hashlib.sha256(",".join(map(str, test)).encode()).hexdigest()
    assert digest == model.provenance["split"]["test_index_sha256"]


def test_saved_model_reproduces_its_documented_auc_on_the_test_split(
    model: sc.Model, test_rows: list[dict[str, Any]]
) -> None:
    scores = [model.score(r)["score"] for r in test_rows]
    bad = sc.is_bad(test_rows)
    assert sc.auc(bad, scores) == pytest.approx(model.metrics["test_auc"], abs=0.001)
    assert sc.ks(bad, scores) == pytest.approx(model.metrics["test_ks"], abs=0.001)
    approved = sum(s >= model.cutoff for s in scores) / len(scores)
    assert approved == pytest.approx(model.metrics["test_approval_rate"], abs=0.001)


def test_model_card_states_the_saved_figures(model: sc.Model) -> None:
    card = CARD.read_text(encoding="utf-8")
    assert f"{model.metrics['test_auc']:.3f}" in card
    assert f"{model.metrics['test_ks']:.3f}" in card
    assert re.search(rf"cut-off[^.\n]*\b{model.cutoff}\b", card, re.IGNORECASE)
    for name in model.inputs:
        assert f"`{name}`" in card


def test_protected_attributes_are_never_inputs(model: sc.Model) -> None:
    assert not set(model.inputs) & set(sc.PROTECTED)
    assert set(model.inputs) <= set(sc.CANDIDATES)
    assert not set(sc.CANDIDATES) & set(sc.PROTECTED)
    saved = json.loads(sc.model_path().read_text(encoding="utf-8"))
    assert not {f["name"] for f in saved["features"]} & set(sc.PROTECTED)


def test_a_model_with_a_protected_or_prohibited_input_does_not_load(model: sc.Model) -> None:
    for name in ("age_in_years", "ethnicity", "religion"):
        d = model.to_dict()
        d["features"][0]["name"] = name
        with pytest.raises(ValueError, match=name):
            sc.Model.from_json(json.dumps(d))


def test_changing_protected_attributes_changes_no_score(
    model: sc.Model, rows: list[dict[str, Any]], scored: list[dict[str, Any]]
) -> None:
    alternatives = {
        "personal_status_and_sex": [
            *sorted({r["personal_status_and_sex"] for r in rows}),
            "female : single",
        ],
        "age_in_years": [18, 24, 25, 40, 41, 75],
        "foreign_worker": ["yes", "no"],
    }
    for row, expected in list(zip(rows, scored, strict=True))[::10]:
        without = {k: v for k, v in row.items() if k not in sc.PROTECTED}
        assert model.score(without) == expected
        for attribute, values in alternatives.items():
            for value in values:
                assert model.score({**row, attribute: value}) == expected


def test_points_add_up_to_the_score(model: sc.Model, scored: list[dict[str, Any]]) -> None:
    for result in scored:
        assert set(result["points_by_feature"]) == set(model.inputs)
        assert sum(result["points_by_feature"].values()) == result["score"]
        assert result["approved"] == (result["score"] >= model.cutoff)


def test_reasons_are_ordered_and_name_only_inputs(
    model: sc.Model, scored: list[dict[str, Any]]
) -> None:
    best = {f.name: f.best_points for f in model.features}
    for result in scored:
        reasons = result["reasons"]
        assert len(reasons) <= sc.N_REASONS
        lost = [r["points_lost"] for r in reasons]
        assert lost == sorted(lost, reverse=True) and all(x > 0 for x in lost)
        for r in reasons:
            assert r["feature"] in model.inputs
            assert r["points"] == result["points_by_feature"][r["feature"]]
            assert r["points_lost"] == best[r["feature"]] - r["points"]
            assert r["text"].startswith(sc.LABELS[r["feature"]][0])
            for protected in sc.PROTECTED:
                assert protected not in json.dumps(r)
        # No input left out of the reasons lost more than the last one given.
        others = [
            best[n] - p
            for n, p in result["points_by_feature"].items()
            if n not in {r["feature"] for r in reasons}
        ]
        if len(reasons) == sc.N_REASONS:
            assert max(others, default=0) <= lost[-1]
        else:
            assert max(others, default=0) == 0


def _apply(row: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {**row, **{c["feature"]: c["set_to"] for c in changes}}


def test_the_next_step_really_raises_the_score(model: sc.Model, rows: list[dict[str, Any]]) -> None:
    seen = 0
    for row in rows:
        result = model.score(row)
        step = result["to_improve"]["next_step"]
        if step is None:
            continue
        seen += 1
        assert step["feature"] in sc.ACTIONABLE
        after = model.score(_apply(row, [step]))
        assert after["score"] == step["new_score"] == result["score"] + step["points_gained"]
        assert step["points_gained"] > 0
        assert after["approved"] == step["approved_after"]
    assert seen > 900


def test_the_way_to_approval_reaches_the_cut_off(
    model: sc.Model, rows: list[dict[str, Any]], scored: list[dict[str, Any]]
) -> None:
    declined = 0
    for row, result in zip(rows, scored, strict=True):
        plan = result["to_improve"]["to_approval"]
        if result["approved"]:
            assert plan == [] and result["to_improve"]["points_needed"] == 0
            continue
        declined += 1
        assert plan, "every declined applicant of the data can reach the cut-off"
        after = model.score(_apply(row, plan))
        assert after["approved"]
        assert after["score"] == result["score"] + sum(c["points_gained"] for c in plan)
        for c in plan:
            assert c["feature"] in sc.ACTIONABLE
            assert c["set_to"] not in sc.ACTIONABLE[c["feature"]]  # never "close your account"
    assert declined > 300


def test_the_way_to_approval_takes_the_fewest_steps(
    model: sc.Model, rows: list[dict[str, Any]]
) -> None:
    """Against brute force over every combination of steps, for 25 declined applicants."""
    declined = [r for r in rows if not model.score(r)["approved"]][::20]
    for row in declined:
        bins = model._bins(row)
        ladders = [(f, i, model._ladder(f, i)) for f, i in zip(model.features, bins, strict=True)]
        ladders = [t for t in ladders if t[2]]
        needed = model.cutoff - model.score(row)["score"]
        fewest = min(
            (
                sum(how)
                for how in itertools.product(*(range(len(lad) + 1) for _, _, lad in ladders))
                if sum(
                    f.bins[lad[j - 1]].points - f.bins[i].points
                    for (f, i, lad), j in zip(ladders, how, strict=True)
                    if j
                )
                >= needed
            ),
            default=None,
        )
        plan = model.score(row)["to_improve"]["to_approval"]
        assert sum(c["steps"] for c in plan) == fewest


def test_numeric_inputs_have_a_monotone_trend(model: sc.Model) -> None:
    numeric = [f for f in model.features if f.kind == "numeric"]
    assert numeric
    for f in numeric:
        points = [b.points for b in f.bins]
        rates = [b.bad_rate for b in f.bins]
        assert [b.upper for b in f.bins[:-1]] == [b.lower for b in f.bins[1:]]
        assert f.bins[0].lower is None and f.bins[-1].upper is None
        if f.trend == "descending":
            assert points == sorted(points, reverse=True), f.name
            assert rates == sorted(rates), f.name
        else:
            assert f.trend == "ascending", f.name
            assert points == sorted(points), f.name
            assert rates == sorted(rates, reverse=True), f.name


def test_more_points_never_go_with_more_bads(model: sc.Model) -> None:
    for f in model.features:
        for a, b in itertools.combinations(f.bins, 2):
            if a.bad_rate < b.bad_rate:
                assert a.points >= b.points, f.name


def test_json_round_trip_is_exact(model: sc.Model) -> None:
    text = sc.model_path().read_text(encoding="utf-8")
    assert model.to_json() == text
    assert sc.Model.from_json(text) == model
    d = json.loads(text)
    d["schema_version"] = 2
    with pytest.raises(ValueError, match="schema version"):
        sc.Model.from_json(json.dumps(d))


def test_bad_input_is_refused_with_a_clear_error(
    model: sc.Model, rows: list[dict[str, Any]]
) -> None:
    row = rows[0]
    with pytest.raises(InvalidInput, match="lacks duration_in_month"):
        model.score({k: v for k, v in row.items() if k != "duration_in_month"})
    with pytest.raises(InvalidInput, match="not one of the model's categories"):
        model.score({**row, "purpose": "vacation"})
    with pytest.raises(InvalidInput, match="must be a number"):
        model.score({**row, "credit_amount": "1000"})


def test_prohibited_data_sent_with_an_applicant_is_refused(
    model: sc.Model, rows: list[dict[str, Any]]
) -> None:
    for key in ("ethnicity", "religion", "fingerprint", "weibo_posts"):
        with pytest.raises(InvalidInput, match="prohibited data"):
            model.score({**rows[0], key: "anything"})


def test_auc_and_ks_on_known_cases() -> None:
    assert sc.auc([1, 1, 0, 0], [1, 2, 3, 4]) == 1.0
    assert sc.auc([0, 0, 1, 1], [1, 2, 3, 4]) == 0.0
    assert sc.auc([1, 0, 1, 0], [5, 5, 5, 5]) == 0.5
    assert sc.auc([1, 0, 1, 0], [1, 2, 3, 4]) == 0.75
    assert sc.ks([1, 1, 0, 0], [1, 2, 3, 4]) == 1.0
    assert sc.ks([1, 0, 1, 0], [5, 5, 5, 5]) == 0.0


def test_fairness_audit_reports_every_group_and_the_largest_gaps(
    model: sc.Model, test_rows: list[dict[str, Any]]
) -> None:
    pytest.importorskip("fairlearn")
    approved = [model.score(r)["approved"] for r in test_rows]
    audit = sc.fairness_audit(test_rows, approved)
    assert set(audit) == {"sex", "personal_status_and_sex", "age", "foreign_worker"}
    assert set(audit["age"]["groups"]) == {"<25", "25-40", ">40"}
    for attribute, result in audit.items():
        groups = result["groups"].values()
        assert sum(g["n"] for g in groups) == len(test_rows), attribute
        rates = [g["approval_rate"] for g in groups]
        assert result["largest_gap"]["approval_rate"] == pytest.approx(
            max(rates) - min(rates), abs=1e-4
        )


def test_training_reproduces_the_saved_model(model: sc.Model, rows: list[dict[str, Any]]) -> None:
    pytest.importorskip("optbinning")
    assert sc.train(rows, sc.SEED).to_json() == sc.model_path().read_text(encoding="utf-8")
