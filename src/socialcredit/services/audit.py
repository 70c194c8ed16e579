"""Audit: verify the hash chain, rebuild every projection from the log, fingerprint the tables."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..clock import iso
from ..db import PROJECTIONS, chain_head, events
from ..errors import ConfigurationError, UnknownEntity
from ..events import store, treehead
from ..events import types as T
from ..events.chain import GENESIS, canonical
from ..events.store import ChainReport, Proven, lock_head, read, verify
from ..projections import projector

if TYPE_CHECKING:
    from ..bootstrap import Registry


def verify_chain(reg: Registry, sample: int | None = None) -> ChainReport:
    """Walk the whole log; with ``sample``, the chain and that many facts drawn at random
    (each checked with its chunk of the batch tree)."""
    with reg.engine.connect() as conn:
        if sample is not None:
            return store.verify_sampled(conn, sample)
        return verify(conn)


class _ChainProgress:
    """How far the public chain check has walked the log in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.walked: tuple[int, str, int] | None = None  # (seq, its hash, events checked)


def chain_status(reg: Registry) -> ChainReport:
    """The chain's state for the public route: the whole log is walked once per process, then
    only the events appended since (re-hashing 22k events took 2 s on every call). Events
    altered inside the part walked before are found by ``audit verify``, which walks it all,
    and by ``audit verify --against`` a published head."""
    progress = reg.shared("chain_progress", _ChainProgress)
    with progress.lock:
        done = progress.walked
        with reg.engine.connect() as conn:
            if done is None:
                report = verify(conn)
                base = 0
            else:
                seq, digest, base = done
                report = verify(conn, after=(seq, digest))
            if report.ok and report.head_seq:
                head = conn.execute(select(events.c.hash).where(events.c.seq == report.head_seq))
                progress.walked = (
                    report.head_seq,
                    str(head.scalar_one()),
                    base + report.events_checked,
                )
    if done is not None and report.ok:
        return ChainReport(True, done[2] + report.events_checked, report.head_seq)
    return report


def rebuild(reg: Registry, progress: Callable[[int], None] | None = None) -> int:
    """Drop every projection and fold the whole log again, in one transaction."""
    count = 0
    with reg.engine.connect().execution_options(registry_write=True) as conn, conn.begin():
        lock_head(conn)
        projector.clear(conn)
        batch = []
        for ev in read(conn):
            batch.append(ev)
            if len(batch) >= 2000:
                projector.apply(conn, batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        projector.apply(conn, batch)
        count += len(batch)
        if progress and batch:
            progress(len(batch))
    if reg._check_index is not None:
        reg._check_index.invalidate()
    return count


def signed_head(reg: Registry) -> dict[str, Any]:
    """The log's tree head now (its size and head hash), signed with the registry's log
    signing key, for publication outside the database (``events/treehead.py``)."""
    key = reg.settings.log_signing_key
    if not key:
        raise ConfigurationError(
            "no SOCIALCREDIT_LOG_SIGNING_KEY: the log's head cannot be signed (make a key with "
            "`socialcredit keys new`)"
        )
    with reg.engine.connect() as conn:
        head = conn.execute(
            select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
        ).first()
    size, digest = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    return treehead.sign(
        key,
        log=f"{reg.pack.meta.id}:{reg.settings.public_url}",
        size=size,
        head=digest,
        at=iso(reg.now(), reg.tz) or "",
    )


def verify_against(reg: Registry, head: dict[str, Any]) -> ChainReport:
    """Does the log extend ``head`` (a tree head published before)? The head's signature must
    verify under this registry's key, the log must hold at least ``size`` events, and the
    event at ``size`` must have the head's hash; then the whole chain is walked as
    ``verify_chain`` does. A truncated log, or history rewritten with recomputed hashes, fails."""
    trusted = (
        treehead.public_key_of(reg.settings.log_signing_key)
        if reg.settings.log_signing_key
        else None
    )
    problem = treehead.check_signature(head, trusted)
    with reg.engine.connect() as conn:
        report = verify(conn)
        if problem is not None:
            return ChainReport(False, report.events_checked, report.head_seq, None, problem)
        size = int(head["size"])
        if size == 0:
            return report
        at_size = conn.execute(select(events.c.hash).where(events.c.seq == size)).scalar()
    if at_size is None or report.head_seq < size:
        return ChainReport(
            False,
            report.events_checked,
            report.head_seq,
            report.head_seq + 1,
            f"the log holds {report.head_seq} events, fewer than the {size} of the head "
            f"published at {head['at']}: it was truncated",
        )
    if at_size != head["head"]:
        return ChainReport(
            False,
            report.events_checked,
            report.head_seq,
            size,
            f"event {size} has another hash than the head published at {head['at']}: the "
            "history up to it was rewritten",
        )
    return report


def event_count(reg: Registry) -> int:
    with reg.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def fingerprint(reg: Registry) -> dict[str, Any]:
    """A digest per projection table over its rows in key order: equal digests, equal tables."""
    out: dict[str, Any] = {}
    with reg.engine.connect() as conn:
        for table in PROJECTIONS:
            h = hashlib.sha256()
            pk = list(table.primary_key.columns)
            n = 0
            for row in conn.execute(select(table).order_by(*pk)):
                h.update(canonical([_plain(v) for v in row]).encode())
                h.update(b"\n")
                n += 1
            out[table.name] = {"rows": n, "sha256": h.hexdigest()}
    return out


def _plain(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _proven(reg: Registry, p: Proven) -> dict[str, Any]:
    """A row of the log with its proof, as the trail and ``audit prove`` show it."""
    r, c = p.row, p.chained
    out: dict[str, Any] = {
        "seq": r.seq,
        "event_id": r.event_id,
        "type": r.type,
        "at": iso(r.at, reg.tz),
        "actor": r.actor,
        "payload": json.loads(r.payload),
    }
    if p.proof is None and r.batch_seq is None:
        out |= {"prev_hash": r.prev_hash, "hash": r.hash}
    else:
        out["fact"] = {
            "leaf": r.hash,
            "proof": p.proof.as_dict() if p.proof else None,
            "batch": None
            if c is None
            else {"seq": c.seq, "type": c.type, "prev_hash": c.prev_hash, "hash": c.hash},
        }
    out["hash_verified"] = p.content_ok and p.chain_ok
    return out


def prove(reg: Registry, seq: int) -> dict[str, Any]:
    """One fact of the log (or one chained event) with its proof: the fact, its leaf hash, its
    audit path to its batch event's Merkle root, and that event's place in the chain."""
    with reg.engine.connect() as conn:
        p = store.prove(conn, seq)
        head = conn.execute(
            select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
        ).first()
    if p is None:
        raise UnknownEntity(f"the log has no event {seq}")
    return {**_proven(reg, p), "head": {"seq": head.seq, "hash": head.hash} if head else None}


def fact_subject(reg: Registry, seq: int) -> str | None:
    """The subject a row of the log is about (None: no such row, or about no subject); a
    read names its subject in its payload only."""
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(events.c.subject_id, events.c.type, events.c.payload).where(events.c.seq == seq)
        ).first()
    if row is None:
        return None
    if row.type == T.READ_RECORDED:
        subject = json.loads(row.payload).get("subject_id")
        return str(subject) if subject else None
    return str(row.subject_id) if row.subject_id else None


def in_file_of(reg: Registry, seq: int, subject_id: str) -> bool:
    """Is the log's row ``seq`` part of this subject's file: about it, or about a subject a
    reviewer merged into it (whose history its file reads)?"""
    from .subjects import _merged_into

    about = fact_subject(reg, seq)
    if about is None:
        return False
    if about == subject_id:
        return True
    with reg.engine.connect() as conn:
        return about in _merged_into(conn, subject_id, datetime.max)


def export_subject(reg: Registry, code: str, reader: str | None = None) -> list[dict[str, Any]]:
    """The subject's trail: every event and fact about it, each with what ties it into the
    log, recomputed from its content: a chained event's hash, or a fact's leaf and its audit
    path to the root its batch event commits to (and that event's hash).

    The trail can be checked on its own; ``audit verify`` checks the whole log."""
    from .subjects import resolve_code

    ref = resolve_code(reg, code)
    if reader is not None:
        from .reads import record_read

        record_read(reg, ref.subject_id, reader, "export", {"purpose": "export the audit trail"})
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(events).where(events.c.subject_id == ref.subject_id).order_by(events.c.seq)
        ).all()
        proven = [store.prove(conn, r.seq, r) for r in rows]
    return [_proven(reg, p) for p in proven if p is not None]
