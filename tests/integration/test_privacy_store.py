"""No natural person's ID number can be rebuilt from what the store keeps, with or without a key.

The attack this holds against: a person's division (characters 1-6 of the number) and birth
date (7-14) stored in clear beside the mask's last four characters rebuilt the whole number
for every person of the demo, from the subjects table, from every ``subject-registered`` event,
from backups and from audit exports. Here every table of the database (SQLite and PostgreSQL),
every event payload, a backup and an audit export are searched for each person's birth date,
in any format, together with the division.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select, text

from socialcredit.bootstrap import Registry, alembic_config
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import events, records, subjects
from socialcredit.errors import UnknownEntity
from socialcredit.events import store
from socialcredit.events.chain import canonical
from socialcredit.events.types import SUBJECT_REGISTERED, NewEvent
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import audit, backup, ingest
from tests.fixtures.old_log import chained_as_before_batches
from tests.fixtures.privacy import rebuildable
from tests.fixtures.rows import MINOR, PERSON, judgment, numbered


def dump_tables(reg: Registry) -> dict[str, list[str]]:
    """Every row of every table of the database, as text."""
    out: dict[str, list[str]] = {}
    with reg.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            out[table] = [str(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return out


@pytest.fixture
def filled(reg: Registry, clock: FixedClock, tmp_path: Path) -> list[str]:
    data = tmp_path / "data"
    generate(400, data, seed=7)
    clock.set(parse_moment("2026-08-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(data / name), source, actor=source)
    people = [json.loads(x) for x in (data / "subjects.jsonl").read_text("utf-8").splitlines()]
    numbers = [p["subject_id"] for p in people if p["kind"] == "person"]
    with reg.engine.connect() as conn:
        stored = conn.execute(
            select(subjects.c.subject_id).where(subjects.c.kind == "person")
        ).all()
    assert len(stored) >= 10, "the generated data must hold persons"
    return numbers


def test_no_table_event_backup_or_export_rebuilds_an_id(
    reg: Registry, filled: list[str], tmp_path: Path
) -> None:
    numbers = filled
    tables = dump_tables(reg)
    problems = [
        f"{table}: {n[:6]}+birth date"
        for table, rows in tables.items()
        for row in rows
        for n in numbers
        if rebuildable(n, row)
    ]
    assert not problems, problems[:10]
    # no column anywhere is named for a birth date, and no person has a division
    with reg.engine.connect() as conn:
        cols = {
            c["name"] for t in inspect(conn).get_table_names() for c in inspect(conn).get_columns(t)
        }
        assert not {c for c in cols if "birth" in c}
        persons = conn.execute(
            select(subjects.c.division, subjects.c.id_masked, subjects.c.province).where(
                subjects.c.kind == "person"
            )
        ).all()
    assert persons and all(p.division is None for p in persons)
    assert all(p.id_masked.startswith("*" * 14) for p in persons)  # the last four at most
    assert all(p.province and len(p.province) == 2 for p in persons)

    path = tmp_path / "backup.jsonl.gz"
    backup.backup(reg, path)
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) > 100
    assert not [n for line in lines for n in numbers if rebuildable(n, line)]

    for n in numbers[:10]:
        try:
            exported = json.dumps(audit.export_subject(reg, n, reader="test"), ensure_ascii=False)
        except UnknownEntity:  # a person the generated data has but the registry does not
            continue
        assert not rebuildable(n, exported)


def test_the_minor_bar_holds_without_a_birth_date(reg: Registry) -> None:
    """The bar on listing minors is decided at ingest from the number, kept on the record."""
    s = ingest.ingest(
        reg,
        numbered(
            [
                judgment("BJ-7", PERSON, conduct="evades_enforcement"),
                judgment("BJ-9", MINOR, conduct="evades_enforcement"),
            ]
        ),
        "court",
        actor="test",
    )
    assert s.barred == 1 and s.listings_proposed == 1
    with reg.engine.connect() as conn:
        flags = dict(
            conn.execute(select(records.c.source_record_id, records.c.minor_at_decision)).all()
        )
    assert flags == {"BJ-7": False, "BJ-9": True}


def _old_store(reg: Registry, clock: FixedClock) -> tuple[str, str]:
    """A store as revision 0013 wrote it: a person's division, birth date and the first four
    characters of the number, in the subjects table and in the subject-registered event."""
    from alembic import command

    ingest.ingest(
        reg,
        numbered([judgment("BJ-9", MINOR, conduct="evades_enforcement")]),
        "court",
        actor="test",
    )
    with reg.engine.begin() as conn:
        chained_as_before_batches(conn)
        command.downgrade(alembic_config(conn), "0013")
    sid = reg.protector.subject_key(PERSON)
    old = {
        "subject_id": sid,
        "kind": "person",
        "name": "张三",
        "division": PERSON[:6],
        "id_cipher": reg.protector.encrypt(PERSON),
        "id_masked": PERSON[:4] + "*" * 10 + PERSON[-4:],
        "birth_date": "1949-12-31",
        "known_from": "court",
    }
    with reg.engine.begin() as conn:
        at = conn.execute(select(events.c.at).order_by(events.c.seq.desc())).scalars().first()
        store.append(
            conn,
            store.lock_head(conn),
            [(NewEvent(SUBJECT_REGISTERED, old, subject_id=sid), canonical(old))],
            at,
            "test",
        )
        old_subjects = sa.table(
            "subjects",
            *(sa.column(c) for c in ("subject_id", "kind", "name", "division", "id_cipher")),
            *(sa.column(c) for c in ("id_masked", "known_from")),
            sa.column("birth_date", sa.Date),
            sa.column("registered_at", sa.DateTime),
        )
        conn.execute(
            sa.insert(old_subjects).values(
                subject_id=sid,
                kind="person",
                name="张三",
                division=PERSON[:6],
                id_cipher=old["id_cipher"],
                id_masked=old["id_masked"],
                birth_date=date(1949, 12, 31),
                known_from="court",
                registered_at=at,
            )
        )
        minor = reg.protector.subject_key(MINOR)
        conn.execute(
            text("UPDATE subjects SET division = :d, birth_date = :b WHERE subject_id = :s"),
            {"d": MINOR[:6], "b": date(2010, 1, 1), "s": minor},
        )
    return sid, minor


def test_an_old_store_is_migrated_and_its_log_redacted(reg: Registry, clock: FixedClock) -> None:
    from socialcredit.bootstrap import upgrade_schema

    sid, minor = _old_store(reg, clock)
    assert rebuildable(PERSON, " ".join(r for rows in dump_tables(reg).values() for r in rows))

    assert upgrade_schema(reg.engine)
    tables = dump_tables(reg)
    for number in (PERSON, MINOR):
        assert not [t for t, rows in tables.items() for r in rows if rebuildable(number, r)]
    with reg.engine.connect() as conn:
        row = conn.execute(select(subjects).where(subjects.c.subject_id == sid)).one()
        assert (row.division, row.province, row.id_masked) == (None, "11", "**************002X")
        assert conn.execute(
            select(records.c.minor_at_decision).where(records.c.subject_id == minor)
        ).scalar_one()
        report = store.verify(conn)
    assert report.ok, report.problem
    before = dump_tables(reg)
    audit.rebuild(reg)
    after = dump_tables(reg)
    for table in ("subjects", "records"):
        assert sorted(after[table]) == sorted(before[table]), table
    # the old store's per-row events stay valid history; new writes are batches of facts
    ingest.ingest(reg, numbered([judgment("BJ-10", PERSON)]), "court", actor="test")
    with reg.engine.connect() as conn:
        assert conn.execute(
            select(sa.func.count()).select_from(events).where(events.c.batch_seq.is_not(None))
        ).scalar_one()
        report = store.verify(conn)
    assert report.ok, report.problem
    before = dump_tables(reg)
    audit.rebuild(reg)
    assert dump_tables(reg) == before
