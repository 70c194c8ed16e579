"""The record of reads: every check and every read of a subject's file, for its self-view.

File reads are recorded at once. Checks come at point-of-service volume, so they are gathered
and recorded in batches (at most ``max_items`` or ``max_age`` seconds old); a crash can lose at
most that last unrecorded batch, a trade-off stated here rather than hidden.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..events import types as T
from ..events.types import NewEvent

if TYPE_CHECKING:
    from ..bootstrap import Registry

log = logging.getLogger(__name__)


def _naive(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat()


def read_entry(
    subject_id: str, reader: str, kind: str, at: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "read_id": uuid.uuid4().hex,
        "subject_id": subject_id,
        "at": _naive(at),
        "reader": reader,
        "kind": kind,
        "detail": detail,
    }


def record(reg: Registry, entries: list[dict[str, Any]], actor: str) -> None:
    if not entries:
        return
    with reg.uow(actor, clamp=True) as uow:
        uow.emit(NewEvent(T.READS_RECORDED, {"reads": entries}))
        uow.commit()


class CheckLog:
    """Buffers check reads and records them in batches."""

    def __init__(self, reg: Registry, max_items: int = 1000, max_age: float = 1.0) -> None:
        self.reg = reg
        self.max_items = max_items
        self.max_age = max_age
        self._buf: list[dict[str, Any]] = []
        self._first = 0.0
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._flusher: threading.Thread | None = None

    def add(self, subject_id: str, reader: str, at: datetime, detail: dict[str, Any]) -> None:
        with self._lock:
            if not self._buf:
                self._first = time.monotonic()
            self._buf.append(read_entry(subject_id, reader, "check", at, detail))
            n = len(self._buf)
            due = n >= self.max_items or time.monotonic() - self._first > self.max_age
        if due and (self._flusher is None or n >= 100 * self.max_items):
            self.flush()  # with a flusher thread, only when it has fallen far behind

    def flush(self) -> None:
        with self._lock:
            batch, self._buf = self._buf, []
        for i in range(0, len(batch), self.max_items):
            try:
                record(self.reg, batch[i : i + self.max_items], "system:reads")
            except Exception:
                with self._lock:  # not recorded: back in front of what came since
                    self._buf[:0] = batch[i:]
                raise

    def start_flusher(self) -> None:
        """Record gathered reads from a thread of their own, every ``max_age`` seconds, so that
        the caller of ``add`` never waits for the store (the check server's event loop)."""
        if self._flusher is not None:
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(self.max_age):
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


def record_read(
    reg: Registry, subject_id: str, reader: str, kind: str, detail: dict[str, Any]
) -> None:
    """Record one read of a subject's data at once (a file, an export)."""
    record(reg, [read_entry(subject_id, reader, kind, reg.now(), detail)], reader)
