"""Backup and restore: a restored registry holds the same log, verifies, and rebuilds to the
same projections; a damaged backup restores nothing; a backup taken while ingest runs is a
consistent prefix of the log."""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.db import blobs, events
from socialcredit.errors import InvalidInput
from socialcredit.services import audit, ingest, objections, subjects
from socialcredit.services.backup import backup, restore
from socialcredit.services.stats import stats
from tests.conftest import PG_URL, _pg_schema_url
from tests.fixtures.rows import ORG2, PERSON, judgment, numbered, tax_rating


@pytest.fixture
def target(db_url: str, env: dict[str, str], tmp_path: Path) -> Iterator[Registry]:
    """A second, empty registry on the same kind of database."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored.db'}"
        drop = None
    else:
        assert PG_URL
        schema = f"r_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = _pg_schema_url(schema)
        drop = (admin, schema)
    r = Registry(
        Settings.from_env({**env, "SOCIALCREDIT_DATABASE_URL": url}),
        clock=FixedClock(parse_moment("2026-03-10")),
    )
    yield r
    r.close()
    if drop:
        admin, schema = drop
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _fill(reg: Registry, clock: FixedClock) -> None:
    rows = [judgment("BJ-1"), judgment("BJ-2", PERSON, conduct="evades_enforcement")]
    ingest.ingest(reg, numbered(rows), "court", actor="court")
    ingest.ingest(reg, numbered([tax_rating("T-1", ORG2, level="A")]), "tax", actor="tax")
    clock.set(parse_moment("2026-03-05"))
    listing = subjects.subject_file(reg, PERSON)["listings"][0]["id"]
    objections.file_objection(
        reg,
        PERSON,
        listing_id=listing,
        grounds="已履行",
        actor="subject",
        files=[("receipt.pdf", b"%PDF-1.4 receipt of payment")],
    )


def test_restore_reproduces_the_registry(
    reg: Registry, clock: FixedClock, target: Registry, tmp_path: Path
) -> None:
    _fill(reg, clock)
    path = tmp_path / "registry.scbak"
    b = backup(reg, path)
    assert b.events == audit.event_count(reg) and b.blobs == 1
    assert path.exists() and not list(tmp_path.glob(".*.partial"))

    r = restore(target, path)
    assert (r.events, r.blobs, r.projected, r.chain_ok) == (b.events, 1, b.events, True)
    assert audit.verify_chain(target).ok
    assert audit.fingerprint(target) == audit.fingerprint(reg)
    with reg.engine.connect() as a, target.engine.connect() as b2:
        q = select(events).order_by(events.c.seq)
        assert [tuple(x) for x in a.execute(q)] == [tuple(x) for x in b2.execute(q)]
        assert a.execute(select(blobs)).all() == b2.execute(select(blobs)).all()
    at = parse_moment("2026-03-10")
    assert stats(target, at) == stats(reg, at)
    # and the restored registry rebuilds to the same projections again
    audit.rebuild(target)
    assert audit.fingerprint(target) == audit.fingerprint(reg)


def test_restore_refuses_a_database_with_events(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    _fill(reg, clock)
    path = tmp_path / "b.scbak"
    backup(reg, path)
    with pytest.raises(InvalidInput, match="already holds events"):
        restore(reg, path)


Edit = Callable[[list[str]], list[str]]


def _rewrite(src: Path, dst: Path, edit: Edit) -> None:
    with gzip.open(src, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    with gzip.open(dst, "wt", encoding="utf-8") as f:
        f.writelines(edit(lines))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines[:-1], "truncated"),
        (lambda lines: lines[: len(lines) // 2], "truncated"),
        (
            lambda lines: [
                ln.replace("北京市朝阳区人民法院", "北京市海淀区人民法院", 1) for ln in lines
            ],
            "altered or damaged",
        ),
        (lambda lines: lines[:2] + lines[3:], "missing"),
        (lambda lines: ["{not json\n", *lines[1:]], "not JSON"),
    ],
)
def test_a_damaged_backup_restores_nothing(
    reg: Registry,
    clock: FixedClock,
    target: Registry,
    tmp_path: Path,
    damage: Edit,
    message: str,
) -> None:
    _fill(reg, clock)
    good = tmp_path / "good.scbak"
    backup(reg, good)
    bad = tmp_path / "bad.scbak"
    _rewrite(good, bad, damage)
    with pytest.raises(InvalidInput, match=message):
        restore(target, bad)
    with target.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0
    restore(target, good)  # the same target takes the good one afterwards
    assert audit.fingerprint(target) == audit.fingerprint(reg)


def test_an_altered_event_with_a_recomputed_digest_fails_the_chain(
    reg: Registry, clock: FixedClock, target: Registry, tmp_path: Path
) -> None:
    import hashlib
    import json

    _fill(reg, clock)
    good = tmp_path / "good.scbak"
    backup(reg, good)

    def forge(lines: list[str]) -> list[str]:
        out = [ln.replace("250000", "2500", 1) if '"kind":"event"' in ln else ln for ln in lines]
        body = out[:-1]
        end = json.loads(out[-1])
        end["sha256"] = hashlib.sha256("".join(body).encode()).hexdigest()
        return [*body, json.dumps(end) + "\n"]

    bad = tmp_path / "forged.scbak"
    _rewrite(good, bad, forge)
    with pytest.raises(InvalidInput, match="does not verify"):
        restore(target, bad)
    with target.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0


def test_a_backup_taken_during_ingest_is_a_consistent_prefix(
    reg: Registry, clock: FixedClock, target: Registry, tmp_path: Path
) -> None:
    ingest.ingest(reg, numbered([judgment("BJ-0")]), "court", actor="court")
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set() and i < 200:
                i += 1
                ingest.ingest(
                    reg,
                    numbered([tax_rating(f"T-{i}", ORG2, level="AB"[i % 2])]),
                    "tax",
                    actor="tax",
                )
        except BaseException as exc:
            failures.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        paths = []
        for k in range(3):
            p = tmp_path / f"live-{k}.scbak"
            backup(reg, p)
            paths.append(p)
    finally:
        stop.set()
        t.join()
    assert not failures
    last = paths[-1]
    r = restore(target, last)
    assert r.chain_ok and r.events == r.head_seq
    # the restored log is exactly the live log's first r.events events
    with reg.engine.connect() as a, target.engine.connect() as b:
        q = select(events.c.seq, events.c.hash).order_by(events.c.seq)
        live = a.execute(q.where(events.c.seq <= r.events)).all()
        assert b.execute(q).all() == live
