"""The bulk writer leaves the same rows as SQLAlchemy's own executemany, on both databases:
dates and times as each database keeps them, literal values of an UPDATE, upserts, COPY on
PostgreSQL for long runs, and the same exception class for a violated constraint."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from socialcredit.bootstrap import Registry
from socialcredit.bulk import COPY_FROM, write_many
from socialcredit.db import grades, listings
from socialcredit.projections.projector import (
    END_LISTING,
    INSERT_LISTING,
    NOTIFY_LISTING,
    UPSERT_GRADE,
    _resolve,
)


def _listing(i: int) -> dict[str, object]:
    return dict(
        listing_id=f"L{i:031d}",
        subject_id=f"S{i % 7}",
        list_id="dishonest_judgment_debtors",
        record_key=f"R{i:031d}",
        ground=None if i % 2 else "ground",
        decision_ref=None,
        status="proposed",
        pending_reason="awaiting decision" if i % 3 else None,
        proposed_at=datetime(2026, 1, 2, 3, 4, 5, i % 1000),
        notified_at=None,
        activates_at=None,
        until=None,
        duration=None,
        activated_at=None,
        ended_at=None,
        end_reason=None,
        exit_due_by=None,
    )


def _rows(conn: Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(select(listings).order_by(listings.c.listing_id))]


def _write(conn: Connection, n: int, fast: bool) -> None:
    run = write_many if fast else (lambda c, s, rows: c.execute(s, rows))
    run(conn, INSERT_LISTING, [_listing(i) for i in range(n)])
    run(
        conn,
        NOTIFY_LISTING.stmt,
        [
            dict(
                k=f"L{i:031d}",
                decision_ref=f"(2026)京01执{i}号",
                notified_at=datetime(2026, 1, 3),
                activates_at=datetime(2026, 1, 10, 16),
                until=datetime(2029, 1, 10, 16),
                duration="3y",
            )
            for i in range(0, n, 2)
        ],
    )
    run(
        conn,
        END_LISTING.stmt,
        [
            dict(k=f"L{i:031d}", ended_at=datetime(2026, 2, 1), end_reason="performed")
            | {"exit_due_by": None}
            for i in range(0, n, 4)
        ],
    )


@pytest.mark.parametrize("n", [3, COPY_FROM * 2])
def test_same_rows_as_sqlalchemy(reg: Registry, n: int) -> None:
    with reg.engine.begin() as conn:
        _write(conn, n, fast=False)
        slow = _rows(conn)
        conn.execute(listings.delete())
        _write(conn, n, fast=True)
        fast = _rows(conn)
    assert fast == slow
    assert len(fast) == n
    notified = [r for r in fast if r[listings.c.keys().index("status")] == "notified"]
    assert len(notified) == len(range(0, n, 2)) - len(range(0, n, 4))  # every 4th then ended
    # dates read back as dates whichever way they were written
    assert isinstance(fast[0][listings.c.keys().index("proposed_at")], datetime)


def test_upsert_replaces_by_key(reg: Registry) -> None:
    stmt = _resolve(UPSERT_GRADE, reg.engine.dialect.name)
    row = dict(subject_id="S1", method="samr_risk", level="B", points=80.0)
    with reg.engine.begin() as conn:
        write_many(conn, stmt, [row | {"assigned_at": datetime(2026, 1, 1)}])
        write_many(
            conn,
            stmt,
            [
                row | {"level": "C", "points": 60.5, "assigned_at": datetime(2026, 1, 2)},
                dict(row, subject_id="S2") | {"assigned_at": datetime(2026, 1, 2)},
            ],
        )
        got = conn.execute(select(grades).order_by(grades.c.subject_id)).all()
    assert [(g.subject_id, g.level, g.points) for g in got] == [
        ("S1", "C", 60.5),
        ("S2", "B", 80.0),
    ]
    assert got[0].assigned_at == datetime(2026, 1, 2)


def test_rows_with_different_keys_are_written_apart(reg: Registry) -> None:
    rows = [_listing(1), {k: v for k, v in _listing(2).items() if k != "ground"}]
    with reg.engine.begin() as conn:
        write_many(conn, INSERT_LISTING, rows)
        got = conn.execute(select(listings.c.listing_id, listings.c.ground)).all()
    assert sorted(got) == [("L" + "0" * 30 + "1", None), ("L" + "0" * 30 + "2", None)]


@pytest.mark.parametrize("n", [2, COPY_FROM + 1])
def test_a_violated_key_raises_sqlalchemys_integrity_error(reg: Registry, n: int) -> None:
    rows = [_listing(i) for i in range(n - 1)] + [_listing(0)]
    with reg.engine.connect() as conn, pytest.raises(IntegrityError), conn.begin():
        write_many(conn, INSERT_LISTING, rows)
    with reg.engine.connect() as conn:
        assert conn.execute(select(listings)).first() is None  # nothing half-written


def test_dates_without_time_round_trip(reg: Registry) -> None:
    from socialcredit.projections.projector import INSERT_RECORD

    row = dict(
        record_key="K1",
        source="court",
        source_record_id="1",
        record_type="court_judgment",
        subject_id="S1",
        subject_name="某公司",
        authority="法院",
        decision_ref="(2026)京01执1号",
        decided_on=date(2026, 1, 5),
        legal_basis="x",
        status="unperformed",
        fields="{}",
        publicity_until=date(2029, 1, 5),
        content_hash="h",
        first_seen_at=datetime(2026, 1, 6, 0, 0, 0),
        updated_at=datetime(2026, 1, 6, 0, 0, 0),
        version=1,
    )
    from socialcredit.db import records

    with reg.engine.begin() as conn:
        write_many(conn, INSERT_RECORD, [row])
        got = conn.execute(select(records)).one()
        ok = conn.execute(
            select(records.c.record_key).where(records.c.decided_on >= date(2026, 1, 5))
        ).all()
    assert got.decided_on == date(2026, 1, 5)
    assert got.first_seen_at == datetime(2026, 1, 6)
    assert ok == [("K1",)]
