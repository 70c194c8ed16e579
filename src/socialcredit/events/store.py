"""Append to and read from the event log; verify its chain and the batches it commits to.

Appends happen inside the caller's transaction, after locking the chain head, so that the log,
its head and the projections commit or roll back together.

The log holds two kinds of rows. A **chained event** links to the chained event before it
(``prev_hash``, ``hash``). A **fact** (a row of a batch: a record, a notice, a listing, a
registration, a grade that an ingest batch brought) is not chained on its own: it names the
batch event that commits to it (``batch_seq``), its ``hash`` is its Merkle leaf and its
``prev_hash`` is empty; the batch event right after its facts carries their Merkle root
(``batches.py``). Events written before batches are all chained and stay valid history.
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
from . import batches, merkle
from .chain import (
    GENESIS,
    at_text,
    canonical,
    chained_content,
    event_hash,
    is_redacted,
    payload_digest,
)
from .types import PERSONAL_DATA_PURGED, QUASI_IDENTIFIERS_REDACTED, NewEvent

INSERT_EVENT = insert(events)

#: The events that may authorise redactions, each naming the events it redacted (``seqs``).
REDACTING_TYPES = frozenset({PERSONAL_DATA_PURGED, QUASI_IDENTIFIERS_REDACTED})


#: the ``prev_hash`` of a fact: it is not chained on its own
FACT_PREV = ""


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


def _row(
    seq: int,
    event_id: str,
    ev: NewEvent,
    at: datetime,
    actor: str,
    payload: str,
    digest: str,
    prev_hash: str,
    hash_: str,
) -> dict[str, Any]:
    """A row of ``events``: a chained event (``prev_hash`` and its chain hash) or a fact
    (``FACT_PREV`` and its leaf)."""
    return {
        "seq": seq,
        "event_id": event_id,
        "type": ev.type,
        "at": at,
        "actor": actor,
        "subject_id": ev.subject_id,
        "payload": payload,
        "payload_digest": digest,
        "prev_hash": prev_hash,
        "hash": hash_,
    }


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
        rows.append(_row(seq, event_id, ev, at, actor, payload, digest, prev, h))
        stored.append(StoredEvent(seq, event_id, ev.type, at, actor, ev.subject_id, payload))
        prev = h
    if rows:
        write_many(conn, INSERT_EVENT, rows)
        conn.execute(update(chain_head).where(chain_head.c.id == 1).values(seq=seq, hash=prev))
    return stored, (seq, prev)


@dataclass
class OpenBatch:
    """Facts numbered and hashed in a unit of work, written when the batch is sealed."""

    first: int
    rows: list[dict[str, Any]]
    leaves: list[bytes]


def stage(
    open_batch: OpenBatch,
    seq: int,
    batch: Sequence[tuple[NewEvent, str]],
    at: datetime,
    actor: str,
) -> tuple[list[StoredEvent], int]:
    """Facts (each with its canonical payload) numbered after ``seq``; return them and the last
    number. They are written by ``seal``, with the batch event that commits to them."""
    stored: list[StoredEvent] = []
    ids = _new_ids(len(batch))
    sha256 = hashlib.sha256
    for (ev, payload), event_id in zip(batch, ids, strict=True):
        seq += 1
        digest = sha256(payload.encode("utf-8")).hexdigest()
        leaf = batches.fact_leaf(event_id, ev.type, ev.subject_id, digest)
        open_batch.leaves.append(leaf)
        open_batch.rows.append(
            _row(seq, event_id, ev, at, actor, payload, digest, FACT_PREV, leaf.hex())
        )
        stored.append(StoredEvent(seq, event_id, ev.type, at, actor, ev.subject_id, payload))
    return stored, seq


def seal(
    conn: Connection,
    head: tuple[int, str],
    open_batch: OpenBatch,
    ev: NewEvent,
    at: datetime,
    actor: str,
) -> tuple[StoredEvent, tuple[int, str]]:
    """Write the batch's facts and append the chained event ``ev`` that commits to them (its
    payload gains ``facts``: their first number, count, chunk roots and Merkle root). ``head``
    is the chain's head with the sequence number of the last fact staged."""
    batch_seq = head[0] + 1
    payload = {**ev.payload, "facts": batches.commitment(open_batch.first, open_batch.leaves)}
    if open_batch.rows:
        for r in open_batch.rows:
            r["batch_seq"] = batch_seq
        write_many(conn, INSERT_EVENT, open_batch.rows)
    sealed = NewEvent(ev.type, payload, ev.subject_id)
    stored, head = append(conn, head, [(sealed, canonical(payload))], at, actor)
    return stored[0], head


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
    # the facts read since the last chained event: (first seq, batch seq, leaves, at/actor)
    facts_first, facts_batch = 0, 0
    leaves: list[bytes] = []
    stamps: set[tuple[datetime, str]] = set()
    for ev_row in _raw(conn, after=start_seq):
        if ev_row.seq != expected_seq:
            return ChainReport(
                False,
                count,
                head_seq,
                expected_seq,
                f"event {expected_seq} is missing (deleted); the log jumps to {ev_row.seq}",
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
        if ev_row.batch_seq is not None:
            # a fact: its leaf must be its content's, and its batch the one its neighbours name
            if not leaves:
                facts_first, facts_batch = ev_row.seq, ev_row.batch_seq
            problem = None
            if ev_row.batch_seq != facts_batch:
                problem = (
                    f"names batch event {ev_row.batch_seq}, the facts before it "
                    f"{facts_batch}: the batch was altered"
                )
            elif not ev_row.payload_digest:
                problem = "has no payload digest: it was altered"
            else:
                leaf = batches.fact_leaf(
                    ev_row.event_id, ev_row.type, ev_row.subject_id, ev_row.payload_digest
                )
                if leaf.hex() != ev_row.hash:
                    problem = "was altered: its content no longer matches its leaf hash"
            if problem:
                return ChainReport(
                    False,
                    count,
                    head_seq,
                    ev_row.seq,
                    f"fact {ev_row.seq} ({ev_row.type}) {problem}",
                )
            leaves.append(leaf)
            stamps.add((ev_row.at, ev_row.actor))
            expected_seq, count = expected_seq + 1, count + 1
            continue
        if leaves and ev_row.seq != facts_batch:
            return ChainReport(
                False,
                count,
                head_seq,
                ev_row.seq,
                f"the facts {facts_first}..{ev_row.seq - 1} name batch event {facts_batch}, but "
                f"event {ev_row.seq} follows them: the batch was altered",
            )
        if ev_row.prev_hash != prev:
            return ChainReport(
                False,
                count,
                head_seq,
                ev_row.seq,
                f"event {ev_row.seq} does not link to the chained event before it (its "
                "prev_hash differs): an event before it was altered or removed",
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
        if leaves or '"facts":{' in ev_row.payload:
            commit = json.loads(ev_row.payload).get("facts")
            problem = (
                "commits to no facts"
                if not isinstance(commit, dict)
                else batches.check(commit, facts_first if leaves else ev_row.seq, leaves)
            )
            if problem is None and stamps - {(ev_row.at, ev_row.actor)}:
                problem = "has facts recorded at another moment or by another actor than itself"
            if problem:
                return ChainReport(
                    False,
                    count,
                    head_seq,
                    ev_row.seq,
                    f"batch event {ev_row.seq} ({ev_row.type}) {problem}: its facts were "
                    "altered, removed, added or reordered",
                )
            leaves, stamps = [], set()
        if ev_row.type in REDACTING_TYPES:
            authorising = json.loads(ev_row.payload)
            purged.update(authorising.get("seqs", []))
            # what each payload became (events before these digests name none)
            for k, d in (authorising.get("redacted_digests") or {}).items():
                became[int(k)] = d
        prev, expected_seq, count = h, expected_seq + 1, count + 1
    if leaves:
        return ChainReport(
            False,
            count,
            head_seq,
            facts_first,
            f"the facts {facts_first}..{expected_seq - 1} are committed by no batch event: "
            "the batch event was removed",
        )
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


def verify_sampled(conn: Connection, sample: int, seed: int | None = None) -> ChainReport:
    """The chain of chained events walked whole (each batch event must cover exactly the gap
    of facts before it), and ``sample`` facts drawn at random, each checked against its
    content (payload digest, leaf, batch, moment) and its chunk's stored leaves against the
    root its batch event keeps. A change to a fact not drawn is not seen: ``verify`` walks
    every fact."""
    import random

    head = conn.execute(
        select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
    ).first()
    head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    prev, expected, count = GENESIS, 1, 0
    committed: list[tuple[int, dict[str, Any], datetime, str]] = []
    purged: set[int] = set()
    became: dict[int, str] = {}  # what each redacted payload became, as its purge names it
    redacted: list[int] = []
    last = 0
    while True:
        rows = conn.execute(
            select(events)
            .where((events.c.seq > last) & events.c.batch_seq.is_(None))
            .order_by(events.c.seq)
            .limit(5000)
        ).all()
        if not rows:
            break
        for r in rows:
            commit = json.loads(r.payload).get("facts") if '"facts":{' in r.payload else None
            if r.seq != expected and not (
                isinstance(commit, dict)
                and commit.get("first") == expected
                and commit.get("count") == r.seq - expected
            ):
                return ChainReport(
                    False,
                    count,
                    head_seq,
                    expected,
                    f"event {expected} is missing (deleted); the chain jumps to {r.seq}, "
                    "whose batch does not account for the gap",
                )
            if r.prev_hash != prev or not _chain_ok(r):
                return ChainReport(
                    False,
                    count,
                    head_seq,
                    r.seq,
                    f"event {r.seq} ({r.type}) was altered or does not link to the chained "
                    "event before it",
                )
            if isinstance(commit, dict) and commit.get("count"):
                committed.append((r.seq, commit, r.at, r.actor))
            if r.type in REDACTING_TYPES:
                authorising = json.loads(r.payload)
                purged.update(authorising.get("seqs", []))
                for k, d in (authorising.get("redacted_digests") or {}).items():
                    became[int(k)] = d
            elif is_redacted(r.payload):
                redacted.append(r.seq)
            prev, expected, count = r.hash, r.seq + 1, count + 1
        last = rows[-1].seq
    if expected - 1 != head_seq or prev != head_hash:
        return ChainReport(
            False,
            count,
            head_seq,
            expected,
            f"the log ends at event {expected - 1} but its head says {head_seq}",
        )
    unaccounted = [q for q in redacted if q not in purged]
    if unaccounted:
        return ChainReport(
            False,
            count,
            head_seq,
            unaccounted[0],
            f"event {unaccounted[0]} was redacted without a purge event that names it",
        )
    total = sum(int(c["count"]) for _b, c, _at, _actor in committed)
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(total), min(sample, total))) if total else []
    # the facts drawn, by batch event and chunk: {(batch, chunk): [seq, ...]}
    drawn: dict[tuple[int, int], list[int]] = {}
    i, base = 0, 0
    for b, c, _at, _actor in committed:
        n = int(c["count"])
        while i < len(picks) and picks[i] < base + n:
            index = picks[i] - base
            drawn.setdefault((b, index // int(c["chunk"])), []).append(int(c["first"]) + index)
            i += 1
        base += n
    by_batch = {b: (c, at, actor) for b, c, at, actor in committed}
    for (b, k), seqs in sorted(drawn.items()):
        c, at, actor = by_batch[b]
        size, first = int(c["chunk"]), int(c["first"])
        lo, hi = first + k * size, min(first + (k + 1) * size, first + int(c["count"])) - 1
        # the chunk's leaves as stored: they must hash to the root its batch event keeps
        leaves_of = dict(
            conn.execute(
                select(events.c.seq, events.c.hash).where(
                    (events.c.seq >= lo) & (events.c.seq <= hi)
                )
            ).all()
        )
        missing = sorted(set(range(lo, hi + 1)) - set(leaves_of))
        if missing:
            return ChainReport(
                False,
                count,
                head_seq,
                missing[0],
                f"fact {missing[0]} of batch event {b} is missing (deleted)",
            )
        leaves = [bytes.fromhex(leaves_of[q]) for q in range(lo, hi + 1)]
        bad: int | None = None
        if merkle.root_of_hashes(leaves).hex() != c["chunks"][k]:
            bad = b
        # and each fact drawn must be what its leaf says
        for r in conn.execute(select(events).where(events.c.seq.in_(seqs))).all():
            if not _fact_intact(r, b, at, actor) or (
                is_redacted(r.payload)
                and (
                    r.seq not in purged
                    or (r.seq in became and payload_digest(r.payload) != became[r.seq])
                )
            ):
                bad = r.seq
                break
        if bad is not None:
            return ChainReport(
                False,
                count,
                head_seq,
                bad,
                f"the facts {lo}..{hi} of batch event {b} no longer match the root it keeps "
                f"for them: fact {bad} or its place was altered",
            )
        count += len(seqs)
    return ChainReport(True, count, head_seq)


@dataclass(frozen=True)
class Proven:
    """One row of the log with what proves it: a fact's audit path to its batch event's root,
    and the chain hash of the event that holds it (the fact's batch event, or the event
    itself), recomputed from its content."""

    row: Any  # the events row
    proof: batches.Proof | None  # None for a chained event
    chained: Any  # the chained events row: the batch event of a fact, else ``row`` itself
    content_ok: bool  # the fact's leaf (or the event's payload digest) matches its content
    chain_ok: bool  # the chained event's hash recomputes from its content


def _content_ok(r: Any) -> bool:
    if r.payload_digest and not is_redacted(r.payload):
        return bool(payload_digest(r.payload) == r.payload_digest)
    return True


def _fact_intact(r: Any, batch_seq: int, at: datetime, actor: str) -> bool:
    """A fact row is what its leaf says and belongs to this batch event: of its batch, at its
    moment and by its actor, its payload matching its digest (unless redacted), its leaf its
    content's."""
    return bool(
        r.batch_seq == batch_seq
        and (r.at, r.actor) == (at, actor)
        and r.payload_digest
        and _content_ok(r)
        and batches.fact_leaf(r.event_id, r.type, r.subject_id, r.payload_digest).hex() == r.hash
    )


def _chain_ok(r: Any) -> bool:
    content = chained_content(r.payload, r.payload_digest)
    h = event_hash(r.prev_hash, r.seq, r.event_id, r.type, r.at, r.actor, r.subject_id, content)
    return h == r.hash and _content_ok(r)


def prove(conn: Connection, seq: int, row: Any = None) -> Proven | None:
    """The proof of the log's row ``seq`` (None if there is none): reads the fact's chunk of
    at most ``batches.CHUNK`` leaves and its batch event, whatever the size of the log."""
    if row is None:
        row = conn.execute(select(events).where(events.c.seq == seq)).first()
        if row is None:
            return None
    if row.batch_seq is None:
        return Proven(row, None, row, _content_ok(row), _chain_ok(row))
    batch = conn.execute(select(events).where(events.c.seq == row.batch_seq)).first()
    commit = json.loads(batch.payload).get("facts") if batch is not None else None
    if batch is None or not isinstance(commit, dict):
        return Proven(row, None, batch, False, False)
    size, first = int(commit["chunk"]), int(commit["first"])
    lo = first + (seq - first) // size * size
    hi = min(lo + size, first + int(commit["count"])) - 1
    chunk = conn.execute(
        select(
            events.c.seq,
            events.c.event_id,
            events.c.type,
            events.c.subject_id,
            events.c.payload_digest,
        )
        .where((events.c.seq >= lo) & (events.c.seq <= hi))
        .order_by(events.c.seq)
    ).all()
    leaves = [
        batches.fact_leaf(c.event_id, c.type, c.subject_id, c.payload_digest or "") for c in chunk
    ]
    if [c.seq for c in chunk] != list(range(lo, hi + 1)):
        return Proven(row, None, batch, False, _chain_ok(batch))
    proof = batches.prove(commit, batch.seq, seq, leaves)
    content_ok = _fact_intact(row, batch.seq, batch.at, batch.actor) and proof.holds()
    return Proven(row, proof, batch, content_ok, _chain_ok(batch))


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
