"""Write many rows with one statement, without per-row work in SQLAlchemy.

``conn.execute(stmt, rows)`` builds each row's parameters through the compiler (defaults,
literal values, type processing) in Python: at ingest volume that costs more than the
database's own work. Here each statement is compiled once per dialect and set of keys, the
rows are turned into the driver's parameters with only the type processors the dialect
needs (SQLite's dates and times as text), and the driver runs them in one call. On PostgreSQL
a plain INSERT of many rows goes through ``COPY ... FROM STDIN``.

The result is the same rows as ``conn.execute(stmt, rows)`` writes; a test holds the two
to it on both databases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, Executable, any_, bindparam
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert

#: From how many rows a plain INSERT on PostgreSQL is sent as COPY.
COPY_FROM = 64

_NAMED = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the driver's parameters, in order
    defaults: dict[str, Any]  # values the statement itself carries (literals)
    procs: tuple[Callable[[Any], Any] | None, ...]  # per name, or None
    positional: bool
    copy: str | None  # COPY statement, PostgreSQL plain inserts only
    many_values: bool  # PostgreSQL inserts that COPY cannot send (ON CONFLICT)


_plans: dict[tuple[int, str, tuple[str, ...]], _Plan] = {}


def _plan(conn: Connection, stmt: Executable, keys: tuple[str, ...]) -> _Plan:
    dialect = conn.dialect
    cache_key = (id(stmt), dialect.name, keys)
    plan = _plans.get(cache_key)
    if plan is not None:
        return plan
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    defaults = {name: b.effective_value for b, name in compiled.bind_names.items()}
    if compiled.positiontup is not None:
        names = tuple(compiled.positiontup)
        positional = True
    else:
        names = tuple(dict.fromkeys(_NAMED.findall(compiled.string)))
        positional = False
    procs_by_name = compiled._bind_processors
    procs = tuple(procs_by_name.get(n) for n in names)
    copy = None
    ins = stmt if dialect.name == "postgresql" and isinstance(stmt, Insert) else None
    pg_insert = ins is not None
    if ins is not None and ins._post_values_clause is None and set(names) == set(keys):
        table = ins.table.name
        cols = ", ".join(f'"{n}"' for n in names)
        copy = f'COPY "{table}" ({cols}) FROM STDIN'
    plan = _Plan(
        compiled.string, names, defaults, procs, positional, copy, pg_insert and copy is None
    )
    _plans[cache_key] = plan
    return plan


def write_many(conn: Connection, stmt: Executable, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``stmt`` once per row of ``rows`` (dicts with the same keys), in the caller's
    transaction."""
    if not rows:
        return
    first = rows[0].keys()
    if any(r.keys() != first for r in rows):
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i].keys() != rows[start].keys():
                write_many(conn, stmt, rows[start:i])
                start = i
        return
    plan = _plan(conn, stmt, tuple(first))
    if plan.many_values:
        # PostgreSQL upserts: SQLAlchemy sends them as multi-row VALUES (insertmanyvalues),
        # a thousand rows a statement, where the driver would send one statement a row
        conn.execute(stmt, list(rows))
        return
    names, procs = plan.names, plan.procs
    missing = {n: plan.defaults[n] for n in names if n not in first}
    if missing:
        rows = [{**missing, **r} for r in rows]
    get = itemgetter(*names)
    values: list[Any]
    values = [(get(r),) for r in rows] if len(names) == 1 else [get(r) for r in rows]
    processed: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (i, p, {}) for i, p in enumerate(procs) if p is not None
    ]
    if processed:
        # a batch repeats its values (every event of a unit has the same moment): each
        # distinct value is processed once (SQLite's date and time processors format text)
        lists = [list(v) for v in values]
        for v in lists:
            for i, p, seen in processed:
                x = v[i]
                key = (x.__class__, x)  # 1 and True are equal keys, but not of one class
                try:
                    y = seen[key]
                except KeyError:
                    y = seen[key] = p(x)
                except TypeError:  # unhashable
                    y = p(x)
                v[i] = y
        values = lists
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cur = raw.cursor()
    try:
        _send(cur, plan, values)
    except dbapi_error as exc:
        # raised as SQLAlchemy raises it (IntegrityError, ...), so callers catch one kind
        raise DBAPIError.instance(plan.sql, None, exc, dbapi_error, dialect=conn.dialect) from exc
    finally:
        cur.close()


def _send(cur: Any, plan: _Plan, values: list[Any]) -> None:
    if plan.copy is not None and len(values) >= COPY_FROM:
        with cur.copy(plan.copy) as copy:
            for v in values:
                copy.write_row(v)
    elif plan.positional:
        cur.executemany(plan.sql, values)
    else:
        cur.executemany(plan.sql, [dict(zip(plan.names, v, strict=True)) for v in values])


def among(column: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL ``column = ANY(array)``, the condition PostgreSQL
    itself makes of an IN list, sent as one parameter: one query text for any number of values,
    where an IN list is rendered anew by SQLAlchemy and parsed anew by psycopg on every call."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
