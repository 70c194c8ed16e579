"""A store that runs out of space: one clear error, the write rolled back whole, what was
committed before kept, the chain still verifying; a backfill whose work directory fills stops
before merging. SQLite's size is capped with ``PRAGMA max_page_count`` (what a full disk gives
it: SQLITE_FULL); PostgreSQL's disk_full is recognised by its SQLSTATE (53100), not simulated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock
from socialcredit.config import Settings
from socialcredit.errors import StorageFull, is_storage_full
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import audit
from socialcredit.services.ingest import ingest
from tests.conftest import TEST_KEYS


def _capped(reg: Registry, spare_pages: int) -> None:
    with reg.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())

    @event.listens_for(reg.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    reg.engine.dispose()


def test_a_full_store_refuses_the_write_whole(clock: FixedClock, tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **TEST_KEYS,
            "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'small.db'}",
            "SOCIALCREDIT_KEY_FILE": str(tmp_path / "keys.json"),
        }
    )
    data = tmp_path / "data"
    generate(300, data, seed=1)
    reg = Registry(settings, clock=clock)
    try:
        first = ingest(reg, read_rows(data / "tax.csv"), "tax", actor="tax")
        assert first.accepted > 0
        before = audit.fingerprint(reg)
        _capped(reg, spare_pages=30)
        with pytest.raises(StorageFull, match="rolled back whole"):
            ingest(reg, read_rows(data / "samr.csv"), "samr", actor="samr", batch_size=100_000)
    finally:
        reg.close()
    again = Registry(settings, clock=clock)  # uncapped
    try:
        assert audit.fingerprint(again) == before
        assert audit.verify_chain(again).ok
        s = ingest(again, read_rows(data / "samr.csv"), "samr", actor="samr")
        assert s.accepted > 0 and audit.verify_chain(again).ok
    finally:
        again.close()


def test_storage_full_is_recognised_from_each_driver() -> None:
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA max_page_count = 2")
    con.execute("CREATE TABLE t (x TEXT)")
    with pytest.raises(sqlite3.OperationalError) as caught:
        con.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    wrapped = OperationalError("INSERT", None, caught.value)
    assert is_storage_full(caught.value) and is_storage_full(wrapped)
    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))

    class DiskFull(Exception):  # psycopg's errors carry the SQLSTATE as ``sqlstate``
        sqlstate = "53100"

    assert is_storage_full(OperationalError("INSERT", None, DiskFull("could not extend file")))
    assert not is_storage_full(OperationalError("INSERT", None, sqlite3.OperationalError("locked")))
