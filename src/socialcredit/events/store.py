"""Append to and read from the event log; verify its chain.

Appends happen inside the caller's transaction, after locking the chain head, so that the log,
its head and the projections commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..bulk import write_many
from ..db import chain_head, events
from .chain import (
    GENESIS,
    at_text,
    chained_content,
    event_hash,
    is_redacted,
    payload_digest,
)
from .types import PERSONAL_DATA_PURGED, QUASI_IDENTIFIERS_REDACTED, NewEvent

INSERT_EVENT = insert(events)

#: The events that may authorise redactions, each naming the events it redacted (``seqs``).
REDACTING_TYPES = frozenset({PERSONAL_DATA_PURGED, QUASI_IDENTIFIERS_REDACTED})


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    event_id: str
    type: str
    at: datetime  # naive UTC
    actor: str
    subject_id: str | None
    payload: str  # canonical JSON


def lock_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1).with_for_update()
    ).first()
    if row is None:
        conn.execute(insert(chain_head).values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(row.seq), str(row.hash)


def _new_ids(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text, as ``str(uuid.uuid4())`` writes them."""
    raw = os.urandom(16 * n)
    out = []
    for i in range(0, 16 * n, 16):
        b = bytearray(raw[i : i + 16])
        b[6] = (b[6] & 0x0F) | 0x40  # version 4
        b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = b.hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def append(
    conn: Connection,
    head: tuple[int, str],
    batch: Sequence[tuple[NewEvent, str]],
    at: datetime,
    actor: str,
) -> tuple[list[StoredEvent], tuple[int, str]]:
    """Append events (each with its canonical payload) after ``head``; return them and the new head."""
    seq, prev = head
    stored: list[StoredEvent] = []
    rows: list[dict[str, Any]] = []
    ids = _new_ids(len(batch))
    # event_hash and payload_digest, inlined: the same text hashed, once per event
    at_s = at_text(at)
    sha256 = hashlib.sha256
    for (ev, payload), event_id in zip(batch, ids, strict=True):
        seq += 1
        digest = sha256(payload.encode("utf-8")).hexdigest()
        h = sha256(
            "\x1e".join(
                (
                    prev,
                    str(seq),
                    event_id,
                    ev.type,
                    at_s,
                    actor,
                    ev.subject_id or "",
                    "sha256:" + digest,
                )
            ).encode("utf-8")
        ).hexdigest()
        rows.append(
            {
                "seq": seq,
                "event_id": event_id,
                "type": ev.type,
                "at": at,
                "actor": actor,
                "subject_id": ev.subject_id,
                "payload": payload,
                "payload_digest": digest,
                "prev_hash": prev,
                "hash": h,
            }
        )
        stored.append(StoredEvent(seq, event_id, ev.type, at, actor, ev.subject_id, payload))
        prev = h
    if rows:
        write_many(conn, INSERT_EVENT, rows)
        conn.execute(update(chain_head).where(chain_head.c.id == 1).values(seq=seq, hash=prev))
    return stored, (seq, prev)


def read(
    conn: Connection,
    *,
    after: int = 0,
    until_at: datetime | None = None,
    subject_id: str | None = None,
    chunk: int = 5000,
) -> Iterator[StoredEvent]:
    """Events in sequence order, optionally for one subject and up to a moment (naive UTC)."""
    last = after
    while True:
        q = select(events).where(events.c.seq > last).order_by(events.c.seq).limit(chunk)
        if subject_id is not None:
            q = q.where(events.c.subject_id == subject_id)
        if until_at is not None:
            q = q.where(events.c.at <= until_at)
        rows = conn.execute(q).all()
        if not rows:
            return
        for r in rows:
            yield StoredEvent(r.seq, r.event_id, r.type, r.at, r.actor, r.subject_id, r.payload)
        last = rows[-1].seq


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events_checked: int
    head_seq: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(conn: Connection, *, after: tuple[int, str] | None = None) -> ChainReport:
    """Walk the whole log; name the first event that was altered, deleted or inserted.

    ``after``: (seq, hash) of an event verified before: walk only the events after it, linking
    the first to that hash (the API's cached, incrementally extended check; ``audit verify``
    walks everything)."""
    head = conn.execute(
        select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
    ).first()
    head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    start_seq, prev = after if after is not None else (0, GENESIS)
    expected_seq, count = start_seq + 1, 0
    redacted: dict[int, str] = {}
    purged: set[int] = set()
    now_digest: dict[int, str] = {}
    became: dict[int, str] = {}
    for ev_row in _raw(conn, after=start_seq):
        if ev_row.seq != expected_seq:
            return ChainReport(
                False,
                count,
                head_seq,
                expected_seq,
                f"event {expected_seq} is missing (deleted); the log jumps to {ev_row.seq}",
            )
        if ev_row.prev_hash != prev:
            return ChainReport(
                False,
                count,
                head_seq,
                ev_row.seq,
                f"event {ev_row.seq} does not link to event {ev_row.seq - 1} "
                "(its prev_hash differs): an event before it was altered or removed",
            )
        h = event_hash(
            prev,
            ev_row.seq,
            ev_row.event_id,
            ev_row.type,
            ev_row.at,
            ev_row.actor,
            ev_row.subject_id,
            chained_content(ev_row.payload, ev_row.payload_digest),
        )
        if h != ev_row.hash:
            return ChainReport(
                False,
                count,
                head_seq,
                ev_row.seq,
                f"event {ev_row.seq} ({ev_row.type}) was altered: its content no "
                "longer matches its hash",
            )
        if ev_row.payload_digest:
            if is_redacted(ev_row.payload):
                redacted.setdefault(ev_row.seq, ev_row.type)
                now_digest[ev_row.seq] = payload_digest(ev_row.payload)
            elif payload_digest(ev_row.payload) != ev_row.payload_digest:
                return ChainReport(
                    False,
                    count,
                    head_seq,
                    ev_row.seq,
                    f"event {ev_row.seq} ({ev_row.type}) was altered: its payload no longer "
                    "matches the digest its hash covers",
                )
        if ev_row.type in REDACTING_TYPES:
            authorising = json.loads(ev_row.payload)
            purged.update(authorising.get("seqs", []))
            # what each payload became (events before these digests name none)
            for k, d in (authorising.get("redacted_digests") or {}).items():
                became[int(k)] = d
        prev, expected_seq, count = h, expected_seq + 1, count + 1
    rewritten = sorted(s for s, d in became.items() if s in now_digest and now_digest[s] != d)
    if rewritten:
        return ChainReport(
            False,
            count,
            head_seq,
            rewritten[0],
            f"event {rewritten[0]} ({redacted[rewritten[0]]}) was rewritten after its "
            "redaction: its payload is not the one the redacting event names",
        )
    unaccounted = sorted(set(redacted) - purged)
    if unaccounted:
        return ChainReport(
            False,
            count,
            head_seq,
            unaccounted[0],
            f"event {unaccounted[0]} ({redacted[unaccounted[0]]}) was redacted without a purge "
            "event that names it",
        )
    if expected_seq - 1 != head_seq or prev != head_hash:
        return ChainReport(
            False,
            count,
            head_seq,
            expected_seq,
            f"the log ends at event {expected_seq - 1} but its head says "
            f"{head_seq}: events {expected_seq}..{head_seq} were deleted",
        )
    return ChainReport(True, count, head_seq)


def _raw(conn: Connection, chunk: int = 5000, *, after: int = 0) -> Iterator[Any]:
    last = after
    while True:
        rows = conn.execute(
            select(events).where(events.c.seq > last).order_by(events.c.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def head_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(chain_head.c.seq), 0))).scalar_one())
