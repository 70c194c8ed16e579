"""Splink on Spark for ``probabilistic`` (``engine="spark"``): the same models, the same scores
as on DuckDB.

The comparisons and blocking rules are written for DuckDB, and three things differ on Spark:

- **The SQL dialect.** In DuckDB ``"name_l"`` is a column; in Spark SQL it is a string, so
  ``"name_l" = "name_r"`` would quietly never hold. Every comparison level declares its
  dialect (``base_dialect_str``) and every blocking rule its ``sql_dialect``, and Splink
  translates them with sqlglot (``"x"`` becomes `` `x` ``, ``substr`` ``SUBSTRING``).
- **The string functions.** DuckDB's ``jaro_winkler_similarity``, ``jaccard`` and
  ``damerau_levenshtein`` work on UTF-8 bytes; the functions of Splink's Spark jar work on
  UTF-16 characters, so on Chinese names and addresses they give other values
  (``damerau_levenshtein('华', '华东')``: 3 in DuckDB, 1 in the jar), and the jar's Jaro-Winkler (Apache commons-text) is another algorithm even on ASCII: on
  3,000 pairs of random short strings it differed from DuckDB's on 108, by up to 0.071. A
  model's m and u probabilities are estimates for DuckDB's values. So on Spark the three are
  DuckDB's own functions, run by DuckDB in the Python workers on each Arrow batch (pandas
  UDFs named ``duckdb_<function>``): the same values by construction, bit for bit. Spark
  computes them for every candidate pair, not only for pairs that reach their level: fine,
  as DuckDB's only failure (``jaccard`` of an empty string) cannot occur, preparation turns
  empty values into NULL. The jar stays on the session (``socialcredit.spark``) for Splink's
  own library; our comparisons do not use it.
- **The tables.** Inputs become Spark DataFrames with an explicit schema (``unique_id``
  bigint, every other column a string: a column empty throughout has no type to infer).
  Each linker gets a session of its own (``newSession()``: its own temporary views and
  functions, the same Spark context), so that jobs run side by side do not overwrite each
  other's ``records_left``. Splink writes its intermediate tables as parquet files to the context's
  checkpoint directory (``break_lineage_method="parquet"``, Splink's default outside
  Databricks; a temporary directory unless one is set) and reads them back, which cuts each
  query's lineage: with ``"persist"`` every query plan carried all the steps before it, and
  planning them grew slower step by step until the driver ran out of heap on a dedupe of
  1,000 records. They are deleted once the linker is garbage collected: Splink never drops
  them on Spark.

A model trained on Spark is stored in DuckDB's dialect like any other (:func:`as_duckdb`), so
a model file does not depend on the engine that estimated it.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import re
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: DuckDB's string functions that comparisons may use; on Spark ``duckdb_<name>``.
FUNCTIONS = ("jaro_winkler_similarity", "jaccard", "damerau_levenshtein")
_CALL = re.compile(r"\b(" + "|".join(FUNCTIONS) + r")\s*\(", re.IGNORECASE)
DIALECT = "duckdb"


def _duckdb(function: str, a: pd.Series, b: pd.Series) -> pd.Series:
    """``function(a, b)`` computed by DuckDB for one batch; NULL where either is NULL."""
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("pairs", pd.DataFrame({"a": a, "b": b}))
        sql = f"SELECT CAST({function}(a::VARCHAR, b::VARCHAR) AS DOUBLE) AS v FROM pairs"
        return con.execute(sql).df()["v"]
    finally:
        con.close()


def duckdb_jaro_winkler_similarity(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb("jaro_winkler_similarity", a, b)


def duckdb_jaccard(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb("jaccard", a, b)


def duckdb_damerau_levenshtein(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb("damerau_levenshtein", a, b)


_UDFS = {
    "duckdb_jaro_winkler_similarity": duckdb_jaro_winkler_similarity,
    "duckdb_jaccard": duckdb_jaccard,
    "duckdb_damerau_levenshtein": duckdb_damerau_levenshtein,
}


def db_api() -> Any:
    """A Splink ``SparkAPI`` on a new session of the process's Spark (``socialcredit.spark``),
    with DuckDB's string functions registered in it."""
    from pyspark.sql.pandas.functions import pandas_udf
    from splink.backends.spark import SparkAPI

    from .. import spark

    session = spark.session().newSession()
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    for name, fn in _UDFS.items():
        session.udf.register(name, pandas_udf(fn, "double"))  # type: ignore[call-overload]
    _checkpoint_dir(session)
    return SparkAPI(  # type: ignore[no-untyped-call]
        spark_session=session, break_lineage_method="parquet"
    )


def _checkpoint_dir(session: Any) -> str:
    """The Spark context's checkpoint directory, where Splink writes its intermediate tables;
    a temporary directory, removed at exit, unless one was set."""
    sc = session.sparkContext
    current = sc._jsc.sc().getCheckpointDir()
    if current.isEmpty():
        folder = tempfile.mkdtemp(prefix="socialcredit-spark-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        sc.setCheckpointDir(folder)
        current = sc._jsc.sc().getCheckpointDir()
    return str(current.get())


def dataframe(session: Any, table: pd.DataFrame) -> Any:
    """A prepared table as a Spark DataFrame: ``unique_id`` bigint, the rest strings."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField(c, LongType() if c == "unique_id" else StringType(), nullable=True)
            for c in table.columns
        ]
    )
    return session.createDataFrame(table, schema=schema)


def _condition(sql: str) -> str:
    return _CALL.sub(lambda m: f"duckdb_{m[1].lower()}(", sql)


def _rule(rule: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(rule, str):
        return {"blocking_rule": rule, "sql_dialect": DIALECT}
    return {"sql_dialect": DIALECT, **rule}


def settings(duckdb_settings: Mapping[str, Any]) -> dict[str, Any]:
    """Splink settings written for DuckDB, for Splink's Spark backend: each level and
    blocking rule declares DuckDB as its dialect, DuckDB's string functions are called by
    their Spark names."""
    out = copy.deepcopy(dict(duckdb_settings))
    for comp in out["comparisons"]:
        for level in comp["comparison_levels"]:
            if level["sql_condition"].strip().upper() == "ELSE":
                continue
            level["sql_condition"] = _condition(level["sql_condition"])
            level["base_dialect_str"] = DIALECT
    out["blocking_rules_to_generate_predictions"] = [
        _rule(r) for r in out.get("blocking_rules_to_generate_predictions", [])
    ]
    out.pop("sql_dialect", None)
    return out


def rules(duckdb_rules: Sequence[str]) -> list[Any]:
    """Training rules (DuckDB SQL) as Splink rules that declare their dialect."""
    from splink.blocking_rule_library import CustomRule

    return [CustomRule(r, sql_dialect=DIALECT) for r in duckdb_rules]


def as_duckdb(trained: Mapping[str, Any], duckdb_settings: Mapping[str, Any]) -> dict[str, Any]:
    """A model Splink saved on Spark (its SQL in Spark's dialect), with the SQL it was given in
    DuckDB's dialect put back: the parameters are the Spark run's, the file is like any other."""
    out = copy.deepcopy(dict(trained))
    given = duckdb_settings["comparisons"]
    if [c["output_column_name"] for c in out["comparisons"]] != [
        c["output_column_name"] for c in given
    ]:
        raise ValueError("the trained comparisons are not the ones given")
    for comp, orig in zip(out["comparisons"], given, strict=True):
        for level, sql in zip(
            comp["comparison_levels"],
            [lvl["sql_condition"] for lvl in orig["comparison_levels"]],
            strict=True,
        ):
            level["sql_condition"] = sql
    out["blocking_rules_to_generate_predictions"] = [
        _rule(r) for r in duckdb_settings.get("blocking_rules_to_generate_predictions", [])
    ]
    out["sql_dialect"] = DIALECT
    return out


def _drop(session: Any, folder: str, cache: Any) -> None:
    with contextlib.suppress(Exception):  # the session may be gone already
        jvm = session.sparkContext._jvm
        fs_path = jvm.org.apache.hadoop.fs.Path(folder)
        fs = fs_path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
        for table in list(cache.executed_queries):
            session.catalog.dropTempView(table.physical_name)
            fs.delete(jvm.org.apache.hadoop.fs.Path(folder, table.physical_name), True)


def release_when_collected(linker: Any, api: Any) -> None:
    """Delete the linker's intermediate tables (views and parquet files) once it is garbage
    collected: Splink leaves them on Spark."""
    folder = _checkpoint_dir(api.spark)
    done = weakref.finalize(linker, _drop, api.spark, folder, api._intermediate_table_cache)
    done.atexit = False
