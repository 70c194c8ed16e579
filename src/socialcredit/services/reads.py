"""The record of reads: every check and every read of a subject's file, for its self-view.

File reads are recorded at once. Checks come at point-of-service volume, so they are gathered
and recorded in batches (at most ``max_items`` or ``max_age`` seconds old); a crash can lose at
most that last unrecorded batch, a trade-off stated here rather than hidden.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..events import types as T
from ..events.types import NewEvent

if TYPE_CHECKING:
    from ..bootstrap import Registry


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

    def add(self, subject_id: str, reader: str, at: datetime, detail: dict[str, Any]) -> None:
        with self._lock:
            if not self._buf:
                self._first = time.monotonic()
            self._buf.append(read_entry(subject_id, reader, "check", at, detail))
            due = len(self._buf) >= self.max_items or time.monotonic() - self._first > self.max_age
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._buf = self._buf, []
        record(self.reg, batch, "system:reads")


def record_read(
    reg: Registry, subject_id: str, reader: str, kind: str, detail: dict[str, Any]
) -> None:
    """Record one read of a subject's data at once (a file, an export)."""
    record(reg, [read_entry(subject_id, reader, kind, reg.now(), detail)], reader)
