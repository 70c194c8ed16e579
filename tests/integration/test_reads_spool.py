"""Check reads through the spool: a worker's batches become files, the recorder records each
file once and removes it; a file recorded before a crash (still on disk) is not recorded twice;
a batch that could not be written stays queued."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from sqlalchemy import func, select

from socialcredit.bootstrap import Registry
from socialcredit.db import reads
from socialcredit.services.reads import CheckLog, drain_spool, read_entry


def count(reg: Registry) -> int:
    with reg.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reads)).scalar_one())


def test_spooled_reads_are_recorded_once(reg: Registry, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    log = CheckLog(reg, max_items=3, spool=spool)
    for i in range(7):
        log.add(f"9111000060003734{i}L", "agency:CAAC", reg.now(), {"measure": "m", "i": i})
    log.flush()
    files = sorted(spool.glob("*.json"))
    assert len(files) == 3  # 3 + 3 + 1: one file per transaction
    assert count(reg) == 0  # nothing in the store until the recorder runs
    kept = tmp_path / "kept.json"
    shutil.copy(files[0], kept)
    assert drain_spool(reg, spool) == 7
    assert count(reg) == 7 and list(spool.glob("*.json")) == []
    # the recorder died after committing the first file and before removing it
    shutil.copy(kept, spool / kept.name)
    assert drain_spool(reg, spool) == 0
    assert count(reg) == 7 and list(spool.glob("*.json")) == []


def test_a_batch_that_cannot_be_spooled_stays_queued(reg: Registry, tmp_path: Path) -> None:
    log = CheckLog(reg, spool=tmp_path / "missing")
    log.add("91110000600037341L", "agency:CAAC", reg.now(), {"measure": "m"})
    try:
        log.flush()
    except OSError:
        pass
    else:
        raise AssertionError("writing to a missing directory should fail")
    (tmp_path / "missing").mkdir()
    log.flush()
    assert len(list((tmp_path / "missing").glob("*.json"))) == 1


def test_two_live_writers_never_refuse_each_other(env: dict[str, str]) -> None:
    """The recorder and an ingest write on the system clock from two processes: a unit created
    before the other's write still commits after it (its moment is read once the log is locked)."""
    from socialcredit.clock import SystemClock
    from socialcredit.config import Settings
    from socialcredit.events import types as T
    from socialcredit.events.types import NewEvent

    a = Registry(Settings.from_env(env), clock=SystemClock())
    b = Registry(Settings.from_env(env), clock=SystemClock(), migrate=False)
    try:
        unit = a.uow("test:a")  # its moment is taken now...
        time.sleep(0.01)
        log = CheckLog(b)
        log.add("91110000600037341L", "agency:CAAC", b.now(), {"measure": "m"})
        log.flush()  # ...and another writer commits a later event before it starts
        with unit as uow:
            entry = read_entry("91110000600037341L", "agency:CAAC", "check", a.now(), {})
            uow.emit(NewEvent(T.READS_RECORDED, {"reads": [entry]}))
            uow.commit()
        assert count(a) == 2
    finally:
        a.close()
        b.close()


def test_two_recorders_of_one_spool_share_it(
    reg: Registry, tmp_path: Path, monkeypatch: object
) -> None:
    """serve and serve-checks on one registry share the spool: a file the other recorder took
    between this one's listing and its reading is skipped (it crashed `serve` at start-up), and
    no read is recorded twice or lost."""
    import pytest

    from socialcredit.services import reads as reads_service

    spool = tmp_path / "spool"
    spool.mkdir()
    log = CheckLog(reg, max_items=3, spool=spool)
    for i in range(9):
        log.add(f"9111000060003734{i}L", "agency:CAAC", reg.now(), {"measure": "m", "i": i})
    log.flush()
    files = sorted(spool.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    assert len(files) == 3
    taken = tmp_path / "taken.json"
    real = reads_service.record

    def other_recorder_takes_the_next_file(*args: object, **kw: object) -> None:
        real(*args, **kw)  # type: ignore[arg-type]
        if files[1].exists():  # the other recorder takes the next file
            files[1].rename(taken)

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(reads_service, "record", other_recorder_takes_the_next_file)
    assert drain_spool(reg, spool) == 6  # the first and the third file
    monkeypatch.setattr(reads_service, "record", real)
    shutil.move(taken, spool / files[1].name)  # ...which the other recorder records
    assert drain_spool(reg, spool) == 3
    assert count(reg) == 9 and list(spool.glob("*.json")) == []
