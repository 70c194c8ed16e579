"""The unit of work: one transaction in which events are appended and projected together.

Leaving the ``with`` block without ``commit()`` rolls everything back: log, head and projections.

Between ``open_batch()`` and ``seal(event)`` what is emitted are the facts of a batch: numbered,
projected at once, and written with the chained event that commits to their Merkle root
(``events/store.py``). A unit of work holds at most one open batch, and no chained event is
emitted while it is open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, select

from .clock import iso
from .db import events
from .errors import InvalidInput, StorageFull, is_storage_full
from .events.chain import canonical
from .events.store import OpenBatch, StoredEvent, append, lock_head, seal, stage
from .events.types import NewEvent
from .projections import projector


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        at: datetime,
        actor: str,
        on_commit: Callable[[list[StoredEvent]], None] | None = None,
        clamp: bool = False,
        live: Callable[[], datetime] | None = None,
        tz: tzinfo = UTC,
    ) -> None:
        self._clamp = clamp
        self._tz = tz  # the pack's zone, for moments in messages
        self._live = live
        self.engine = engine
        self.at = at  # naive UTC: the moment every event of this unit is recorded at
        self.actor = actor
        self._on_commit = on_commit
        self.new_events: list[StoredEvent] = []
        self._conn: Connection | None = None
        self._batch: OpenBatch | None = None

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "use the unit of work in a with block"
        return self._conn

    def __enter__(self) -> UnitOfWork:
        self._conn = self.engine.connect().execution_options(registry_write=True)
        self._tx = self._conn.begin()
        self._head = lock_head(self._conn)
        if self._live is not None:
            # on the system clock the moment is read once the log is locked: another process
            # that wrote between this unit's creation and its lock cannot be "in the future"
            self.at = max(self.at, self._live())
        if self._head[0]:
            last = self._conn.execute(select(events.c.at).where(events.c.seq == self._head[0]))
            last_at = last.scalar_one_or_none()
            if last_at is not None and last_at > self.at and self._clamp:
                self.at = last_at
            elif last_at is not None and last_at > self.at:
                self._tx.rollback()
                self._conn.close()
                raise InvalidInput(
                    f"the log already holds events up to {iso(last_at, self._tz)}; a write as "
                    f"of {iso(self.at, self._tz)} would make its time run backwards (use a later --as-of)"
                )
        return self

    def emit(self, *evs: NewEvent) -> list[StoredEvent]:
        return self.emit_many(evs)

    def emit_many(self, evs: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append events to the log (or, in an open batch, stage them as its facts) and project
        them at once, in this transaction."""
        batch = [(ev, canonical(ev.payload)) for ev in evs]
        if self._batch is not None:
            stored, last = stage(self._batch, self._head[0], batch, self.at, self.actor)
            self._head = (last, self._head[1])
        else:
            stored, self._head = append(self.conn, self._head, batch, self.at, self.actor)
        projector.apply(self.conn, stored)
        self.new_events.extend(stored)
        return stored

    def open_batch(self) -> None:
        """What is emitted from now until ``seal`` is facts of one batch."""
        if self._batch is not None:
            raise RuntimeError("a batch is already open in this unit of work")
        self._batch = OpenBatch(self._head[0] + 1, [], [])

    def seal(self, ev: NewEvent) -> StoredEvent:
        """Write the open batch's facts and append ``ev``, the chained event that commits to
        them; project it."""
        if self._batch is None:
            raise RuntimeError("no batch is open in this unit of work")
        stored, self._head = seal(self.conn, self._head, self._batch, ev, self.at, self.actor)
        self._batch = None
        projector.apply(self.conn, [stored])
        self.new_events.append(stored)
        return stored

    def commit(self) -> None:
        if self._batch is not None:
            raise RuntimeError("a batch was opened and not sealed: seal it before committing")
        self._tx.commit()
        self._committed = True
        if self._on_commit and self.new_events:
            self._on_commit(self.new_events)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tx.is_active:
            self._tx.rollback()
        self.conn.close()
        self._conn = None
        if exc is not None and not isinstance(exc, StorageFull) and is_storage_full(exc):
            raise StorageFull(
                "the store is out of space: this write was rolled back whole and nothing of it "
                "was kept (what was committed before stays). Free space, or give the database "
                "more, and send it again"
            ) from exc

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self.conn.execute(*args, **kwargs)
