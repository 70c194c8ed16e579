"""Full recompute of a grading method as SQL on DuckDB, over a snapshot of the store.

The SQL is generated from the method's data (indicators, windows, decay, caps, levels,
overrides), so a new method in YAML needs no new code here either. The result must equal the
Python engine's (``rules.grading``) for every subject: a test holds them to it.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ..db import listings, records, subjects
from ..policy.durations import Duration
from ..policy.model import GradingMethod, Indicator, ListingMatch, Override, RecordMatch

_UNITS = {"d": "DAY", "m": "MONTH", "y": "YEAR"}


class Dialect:
    """SQL that differs between engines lives here and nowhere else (as in Splink)."""

    name = "duckdb"

    def param(self, name: str) -> str:
        return f"${name}"

    def json_field(self, column: str, field: str) -> str:
        return f"json_extract_string({column}, '$.{field}')"

    def timestamp(self, expr: str) -> str:
        return f"CAST({expr} AS TIMESTAMP)"

    def micros_between(self, start: str, end: str) -> str:
        return f"CAST(date_diff('microsecond', {start}, {end}) AS DOUBLE)"


class SparkDialect(Dialect):
    name = "spark"

    def param(self, name: str) -> str:
        return f":{name}"

    def json_field(self, column: str, field: str) -> str:
        return f"get_json_object({column}, '$.{field}')"

    def micros_between(self, start: str, end: str) -> str:
        return f"CAST(unix_micros({end}) - unix_micros({start}) AS DOUBLE)"


DUCKDB = Dialect()
SPARK = SparkDialect()


def _q(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _interval(text: str) -> str:
    d = Duration.parse(text)
    if d.unit not in _UNITS:
        raise ValueError(f"windows in working days cannot be computed in SQL: {text}")
    return f"INTERVAL {d.amount} {_UNITS[d.unit]}"


def _record_where(m: RecordMatch, d: Dialect) -> str:
    parts = [f"record_type = {_q(m.type)}"]
    if m.status:
        parts.append(f"status IN ({', '.join(map(_q, m.status))})")
    for f, values in m.where.items():
        parts.append(f"{d.json_field('fields', f)} IN ({', '.join(map(_q, values))})")
    return " AND ".join(parts)


def _window(window: str | None, d: Dialect) -> tuple[str, str]:
    """(condition, window end) for records counted from their decision date."""
    if window is None:
        return "TRUE", "NULL"
    start, t = d.timestamp("decided_on"), d.param("t_local")
    end = f"({start} + {_interval(window)})"
    return f"{start} <= {t} AND {t} < {end}", end


def _hits(name: str, item: Indicator | Override, points: float | None, d: Dialect) -> str:
    if item.record is not None:
        cond, end = _window(item.window, d)
        weight = "1.0"
        if isinstance(item, Indicator) and item.decay == "linear" and item.window:
            weight = (
                f"{d.micros_between(d.param('t_local'), end)} / "
                f"{d.micros_between(d.timestamp('decided_on'), end)}"
            )
        value = f"SUM({points!r} * {weight})" if points is not None else "COUNT(*)"
        barred = ""
        if isinstance(item, Indicator) and item.unless_listed:
            lists = ", ".join(_q(x) for x in item.unless_listed)
            barred = (
                f" AND subject_id NOT IN (SELECT subject_id FROM active WHERE list_id IN ({lists}))"
            )
        return (
            f"{name} AS (SELECT subject_id, {value} AS v FROM recs "
            f"WHERE {_record_where(item.record, d)} AND {cond}{barred} GROUP BY subject_id)"
        )
    lm: ListingMatch | None = item.listing
    assert lm is not None
    value = f"COUNT(*) * {points!r}" if points is not None else "COUNT(*)"
    return (
        f"{name} AS (SELECT subject_id, {value} AS v FROM active "
        f"WHERE list_id = {_q(lm.list)} GROUP BY subject_id)"
    )


def method_sql(gm: GradingMethod, d: Dialect = DUCKDB) -> str:
    u = d.param("t_utc")
    ctes = [
        f"""active AS (SELECT subject_id, listing_id, list_id FROM lst
        WHERE proposed_at <= {u} AND activates_at IS NOT NULL AND activates_at <= {u}
          AND NOT (ended_at IS NOT NULL AND ended_at <= {u})
          AND NOT (until IS NOT NULL AND until <= {u}))"""
    ]
    terms, joins = [], []
    for n, ind in enumerate(gm.indicators):
        ctes.append(_hits(f"i{n}", ind, ind.points, d))
        raw = f"COALESCE(i{n}.v, 0)"  # before the cap: DuckDB's LEAST/GREATEST skip NULLs
        if ind.cap is not None:
            raw = f"GREATEST({raw}, {ind.cap!r})" if ind.cap < 0 else f"LEAST({raw}, {ind.cap!r})"
        terms.append(raw)
        joins.append(f"LEFT JOIN i{n} ON i{n}.subject_id = s.subject_id")
    for n, o in enumerate(gm.overrides):
        ctes.append(_hits(f"o{n}", o, None, d))
        joins.append(f"LEFT JOIN o{n} ON o{n}.subject_id = s.subject_id")
    points = f"ROUND({gm.start!r} + " + " + ".join(terms or ["0"]) + ", 2)"
    ctes.append(
        f"scored AS (SELECT s.subject_id, {points} AS points, "
        + ", ".join(
            [f"o{n}.v IS NOT NULL AS hit{n}" for n in range(len(gm.overrides))] or ["TRUE AS _none"]
        )
        + f" FROM subj s {' '.join(joins)})"
    )
    fired: dict[str, str] = {}
    fired_cols = []
    for n, o in enumerate(gm.overrides):
        cond = f"hit{n}"
        for u in o.unless:
            if u in fired:
                cond += f" AND NOT ({fired[u]})"
        if o.min_points is not None:
            cond += f" AND points >= {o.min_points!r}"
        fired[o.id] = cond
        fired_cols.append((o, cond))
    order = [lv.level for lv in gm.levels]
    threshold = (
        "CASE "
        + " ".join(
            f"WHEN points >= {lv.min!r} THEN {i}"
            for i, lv in enumerate(gm.levels)
            if lv.min is not None
        )
        + f" ELSE {len(order) - 1} END"
    )
    rank = threshold
    for o, cond in fired_cols:
        if o.at_most is not None and o.at_most in order:
            rank = (
                f"CASE WHEN {cond} THEN GREATEST({rank}, {order.index(o.at_most)}) ELSE {rank} END"
            )
    names = "CASE " + " ".join(f"WHEN r = {i} THEN {_q(lv)}" for i, lv in enumerate(order)) + " END"
    level = (
        "CASE "
        + " ".join(
            f"WHEN {cond} THEN {_q(o.level)}" for o, cond in fired_cols if o.level is not None
        )
        + f" ELSE {names} END"
        if any(o.level for o, _ in fired_cols)
        else names
    )
    ctes.append(f"ranked AS (SELECT *, {rank} AS r FROM scored)")
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT subject_id, points, {level} AS level FROM ranked ORDER BY subject_id"
    )


def _rows(conn: Connection) -> Iterator[tuple[str, Any]]:
    yield (
        "subj",
        conn.execute(select(subjects.c.subject_id).where(subjects.c.kind == "organisation")),
    )
    yield (
        "recs",
        conn.execute(
            select(
                records.c.subject_id,
                records.c.source,
                records.c.source_record_id,
                records.c.record_type,
                records.c.status,
                records.c.decided_on,
                records.c.fields,
            ).where(records.c.retracted_at.is_(None))
        ),
    )
    yield (
        "lst",
        conn.execute(
            select(
                listings.c.subject_id,
                listings.c.listing_id,
                listings.c.list_id,
                listings.c.proposed_at,
                listings.c.activates_at,
                listings.c.until,
                listings.c.ended_at,
            )
        ),
    )


def snapshot(conn: Connection, folder: Path) -> dict[str, Path]:
    """The store's tables as CSV files, read in one transaction (a consistent snapshot)."""
    out = {}
    for name, result in _rows(conn):
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(result.keys())
            for row in result:
                w.writerow(
                    [
                        ""
                        if v is None
                        else (v.isoformat(sep=" ") if isinstance(v, datetime) else v)
                        for v in row
                    ]
                )
        out[name] = path
    return out


_SCHEMA = {
    "subj": "subject_id VARCHAR",
    "recs": (
        "subject_id VARCHAR, source VARCHAR, source_record_id VARCHAR, record_type VARCHAR, "
        "status VARCHAR, decided_on DATE, fields VARCHAR"
    ),
    "lst": (
        "subject_id VARCHAR, listing_id VARCHAR, list_id VARCHAR, proposed_at TIMESTAMP, "
        "activates_at TIMESTAMP, until TIMESTAMP, ended_at TIMESTAMP"
    ),
}


def compute(
    conn: Connection,
    methods: list[GradingMethod],
    t_local: datetime,
    t_utc: datetime,
    engine: str = "duckdb",
) -> dict[str, list[tuple[str, float, str]]]:
    """Grades of every organisation under each method at a moment (naive local and UTC)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = snapshot(conn, Path(tmp))
        run = _on_spark if engine == "spark" else _on_duckdb
        return run(files, methods, {"t_local": t_local, "t_utc": t_utc})


def _on_duckdb(
    files: dict[str, Path], methods: list[GradingMethod], params: dict[str, datetime]
) -> dict[str, list[tuple[str, float, str]]]:
    import duckdb

    db = duckdb.connect()
    try:
        for name, path in files.items():
            cols = ", ".join(
                f"'{c.split()[0]}': '{c.split()[1]}'" for c in _SCHEMA[name].split(", ")
            )
            db.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_csv({_q(str(path))}, "
                f"header = true, columns = {{{cols}}}, nullstr = '')"
            )
        return {
            gm.id: [
                (r[0], float(r[1]), r[2])
                for r in db.execute(method_sql(gm, DUCKDB), params).fetchall()
            ]
            for gm in methods
        }
    finally:
        db.close()


def spark_session() -> Any:
    """The process's local Spark session (``socialcredit.spark``, shared with resolution);
    at scale, point it at a cluster."""
    from .. import spark

    return spark.session()


def _on_spark(
    files: dict[str, Path], methods: list[GradingMethod], params: dict[str, datetime]
) -> dict[str, list[tuple[str, float, str]]]:
    spark = spark_session()
    for name, path in files.items():
        spark.read.csv(
            str(path),
            header=True,
            schema=_SCHEMA[name].replace(" VARCHAR", " STRING"),
            escape='"',
            timestampFormat="yyyy-MM-dd HH:mm:ss[.SSSSSS]",
            encoding="UTF-8",
        ).createOrReplaceTempView(name)
    return {
        gm.id: [
            (r[0], float(r[1]), r[2])
            for r in spark.sql(method_sql(gm, SPARK), args=params).collect()
        ]
        for gm in methods
    }
