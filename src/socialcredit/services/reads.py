"""The record of reads: every check and every read of a subject's file, for its self-view.

File reads are recorded at once. Checks come at point-of-service volume, so they are gathered
and recorded in batches (at most ``max_items`` or ``max_age`` seconds old); a crash can lose at
most that last unrecorded batch, a trade-off stated here rather than hidden.

The check server's workers go one step further (``CheckLog(spool=DIR)``): each batch is written
as one file to a spool directory (written beside its name, then renamed: a file there is always
whole) and a recorder process (``drain_spool``) records the files in the store and removes them.
Writing a file costs a worker far less than a transaction does, and a batch on disk survives a
crash of the worker: the recorder takes it up when it next runs.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.exc import IntegrityError

from ..clock import to_utc_naive
from ..events import types as T
from ..events.types import NewEvent

if TYPE_CHECKING:
    from ..bootstrap import Registry

log = logging.getLogger(__name__)


def _naive(at: datetime) -> str:
    return to_utc_naive(at).isoformat()


_READ_IDS = itertools.count()
_PREFIX: dict[int, str] = {}  # per process (a forked child draws its own): with the counter,
# unique ids without a random draw for each read


def _prefix() -> str:
    pid = os.getpid()
    p = _PREFIX.get(pid)
    if p is None:
        p = _PREFIX[pid] = uuid.uuid4().hex[:16]
    return p


def read_entry(
    subject_id: str, reader: str, kind: str, at: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "read_id": f"{_prefix()}{next(_READ_IDS):016x}",
        "subject_id": subject_id,
        "at": _naive(at),
        "reader": reader,
        "kind": kind,
        "detail": detail,
    }


def record(reg: Registry, entries: list[dict[str, Any]], actor: str) -> None:
    """The reads as facts of one batch: each provable to its subject on its own."""
    if not entries:
        return
    with reg.uow(actor, clamp=True) as uow:
        uow.open_batch()
        uow.emit_many([NewEvent(T.READ_RECORDED, e) for e in entries])
        uow.seal(NewEvent(T.READS_RECORDED, {"count": len(entries)}))
        uow.commit()


class CheckLog:
    """Buffers check reads and records them in batches."""

    def __init__(
        self,
        reg: Registry,
        max_items: int = 1000,
        max_age: float = 1.0,
        spool: Path | None = None,
    ) -> None:
        self.reg = reg
        self.max_items = max_items
        self.max_age = max_age
        self.spool = spool
        self._spooled = itertools.count()
        self._buf: list[dict[str, Any]] = []
        self._first = 0.0
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._flusher: threading.Thread | None = None
        #: the most reads a server lets wait for the flusher before it holds new answers back
        self.backlog_limit = 20 * max_items

    def add(self, subject_id: str, reader: str, at: datetime, detail: dict[str, Any]) -> None:
        with self._lock:
            if not self._buf:
                self._first = time.monotonic()
            self._buf.append(read_entry(subject_id, reader, "check", at, detail))
            n = len(self._buf)
            due = n >= self.max_items or time.monotonic() - self._first > self.max_age
        if due and self._flusher is None:
            self.flush()  # with a flusher thread, never here (see ``pending``)

    def pending(self) -> int:
        """Reads gathered and not yet written. A server with a flusher thread waits (without
        holding its event loop) while this is above ``backlog_limit``: checks are answered
        only as fast as their reads can be recorded, and none is lost."""
        return len(self._buf)

    @property
    def flushing(self) -> bool:
        """Whether a flusher thread of this log writes its reads."""
        return self._flusher is not None

    def flush(self) -> None:
        with self._lock:
            batch, self._buf = self._buf, []
        if self.spool is not None and batch:
            self._spool(batch)
            return
        for i in range(0, len(batch), self.max_items):
            try:
                record(self.reg, batch[i : i + self.max_items], "system:reads")
            except Exception:
                with self._lock:  # not recorded: back in front of what came since
                    self._buf[:0] = batch[i:]
                raise

    def _spool(self, batch: list[dict[str, Any]]) -> None:
        assert self.spool is not None
        for i in range(0, len(batch), self.max_items):  # one file, one transaction
            name = f"{_prefix()}-{next(self._spooled):012d}.json"
            tmp = self.spool / f".{name}.tmp"
            try:
                tmp.write_bytes(orjson.dumps(batch[i : i + self.max_items]))
                tmp.replace(self.spool / name)
            except OSError:
                with self._lock:
                    self._buf[:0] = batch[i:]
                raise

    def start_flusher(self, every: float = 0.25) -> None:
        """Record gathered reads from a thread of their own, every ``every`` seconds, so that
        the caller of ``add`` never waits for the store (the check server's event loop). Short
        intervals keep each write, and so each pause of the event loop, short."""
        if self._flusher is not None:
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    self.flush()
                except Exception:
                    log.exception("recording check reads failed; they stay queued")

        self._stop = stop
        self._flusher = threading.Thread(target=run, daemon=True, name="check-reads")
        self._flusher.start()

    def stop_flusher(self) -> None:
        if self._stop is not None and self._flusher is not None:
            self._stop.set()
            self._flusher.join(timeout=30)
            self._stop = self._flusher = None
        self.flush()


class PublicReads:
    """Anonymous reads of a listed person's public entry, counted per subject and day.

    Anyone may read a listed person's entry, so appending an event per read let one client add
    ~2,500 events in 20 s and made the person's "who looked" page megabytes long. Identified
    readers (agencies, lenders, staff) are still recorded one by one; the public is counted:
    each flush records one event holding, for every subject read since, this process's total
    for the day, and the self-view shows one line per subject, day and process. The log grows
    with the number of flushes and of subjects read, never with the number of reads.
    """

    #: a flush once this many subjects wait, whatever the timer
    MAX_PENDING = 10_000

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self._totals: dict[tuple[str, str], int] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add(self, subject_id: str, at: datetime) -> None:
        day = at.astimezone(self.reg.tz).date().isoformat()
        key = (subject_id, day)
        with self._lock:
            self._totals[key] = self._totals.get(key, 0) + 1
            self._dirty.add(key)
            full = len(self._dirty) >= self.MAX_PENDING
        if full:
            self.flush()

    def flush(self) -> int:
        """Record the counts that changed since the last flush; how many subjects."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            counts = [(sid, day, self._totals[(sid, day)]) for sid, day in sorted(dirty)]
            today = self.reg.now().astimezone(self.reg.tz).date().isoformat()
            for key in [k for k in self._totals if k[1] < today and k not in dirty]:
                del self._totals[key]  # an earlier day's total is final
        if not counts:
            return 0
        now = _naive(self.reg.read_moment())
        entries = [
            {
                "read_id": f"pc-{_prefix()[:8]}-{day.replace('-', '')}-{sid[-16:]}",
                "subject_id": sid,
                "at": now,
                "day": day,
                "count": n,
            }
            for sid, day, n in counts
        ]
        try:
            with self.reg.uow("system:reads", clamp=True) as uow:
                uow.emit(NewEvent(T.PUBLIC_READS_COUNTED, {"reads": entries}))
                uow.commit()
        except Exception:
            with self._lock:
                self._dirty |= dirty
            raise
        return len(entries)


def public_reads(reg: Registry) -> PublicReads:
    """The registry's counter of anonymous public reads (one per registry and process)."""
    return reg.shared("public_reads", lambda: PublicReads(reg))


def record_read(
    reg: Registry, subject_id: str, reader: str, kind: str, detail: dict[str, Any]
) -> None:
    """Record one read of a subject's data at once (a file, an export)."""
    record(reg, [read_entry(subject_id, reader, kind, reg.read_moment(), detail)], reader)


def drain_spool(reg: Registry, spool: Path) -> int:
    """Record every whole batch file in the spool, oldest first, each in one transaction, and
    remove it; returns how many reads were recorded. A file is removed only after its
    transaction committed. If the recorder dies between the two, the next run finds the batch
    recorded already (the reads table's key refuses its read ids, and the transaction rolls
    back whole) and removes the file: nothing is recorded twice, nothing is lost."""
    done = 0
    for path in _spooled(spool):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # another recorder of the same spool (serve and serve-checks) took it
        batch = orjson.loads(data)
        try:
            record(reg, batch, "system:reads")
            done += len(batch)
        except IntegrityError:
            log.warning("spooled reads %s were recorded before; removing the file", path.name)
        path.unlink(missing_ok=True)
    return done


def _spooled(spool: Path) -> list[Path]:
    """The spool's batch files, oldest first; a file another recorder removes meanwhile is
    left out (two servers of one registry share its spool)."""
    found = []
    for path in spool.glob("*.json"):
        try:
            found.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            continue
    return [p for _t, _n, p in sorted(found)]
