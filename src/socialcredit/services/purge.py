"""Purge: when the retention the policy sets has passed, a natural person's personal data is
redacted from the event log and from every table.

Events carry the SHA-256 of their payload in the chain, so a payload can be rewritten as a
redaction (the personal fields replaced, the list of them kept under ``_redacted``) while the
chain still verifies; the purge itself is an event naming every redacted event, and
``audit verify`` refuses a redaction that no purge event names. What remains: the subject's
keyed hash (irreversible without the registry's key), the records' facts (type, authority,
decision, dates), and the trail of what happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, insert, select, update

from ..clock import to_utc_naive
from ..db import (
    blobs,
    events,
    listings,
    objections,
    principals,
    records,
    redaction_grants,
    repairs,
    subjects,
)
from ..events import types as T
from ..events.chain import REDACTED_KEY, canonical, payload_digest
from ..events.types import NewEvent
from ..policy.durations import Duration, add_duration
from ..policy.versions import governing_retention
from . import uploads

if TYPE_CHECKING:
    from ..bootstrap import Registry

PURGED = "(purged)"

#: Personal fields and what they become. Facts about the obligation (record type, authority,
#: decision reference, dates, amounts) are not personal data of this kind and stay.
PERSONAL_FIELDS: dict[str, Any] = {
    "name": PURGED,
    "subject_name": PURGED,
    "id_cipher": None,
    "id_masked": None,
    "birth_date": None,
    "division": None,
    "body": PURGED,
    "grounds": PURGED,
    "statement": PURGED,
    "attachments": [],
    "evidence": PURGED,
    "email": None,
    "webhook_url": None,
    "webhook_secret_cipher": None,
    "target": PURGED,
    "username": None,
    "password_hash": None,
    "row": {},
}


@dataclass
class PurgeSummary:
    subjects: int = 0
    events_redacted: int = 0
    legacy_events_kept: int = 0
    purged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subjects": self.subjects,
            "events_redacted": self.events_redacted,
            "legacy_events_kept": self.legacy_events_kept,
        }


def _ends(reg: Registry, publicity_until: Any, record_type: str, decided_on: date) -> datetime:
    """When a record's retention ends: counted from the end of its publicity, under the rules
    version that governs it (``policy.versions.governing_retention``)."""
    start = datetime.combine(publicity_until, time(0, 0), tzinfo=reg.tz)

    def after(term: str) -> datetime:
        return add_duration(start, Duration.parse(term), reg.calendar, reg.tz).at

    return governing_retention(reg.pack, record_type, decided_on, after)[0]


def due(reg: Registry) -> list[str]:
    """Persons whose every record is past retention, with nothing open about them."""
    now = reg.now()
    naive = to_utc_naive(now)
    with reg.engine.connect() as conn:
        persons = [
            r.subject_id
            for r in conn.execute(
                select(subjects.c.subject_id).where(
                    and_(subjects.c.kind == "person", subjects.c.name != PURGED)
                )
            )
        ]
        out = []
        for sid in persons:
            recs = conn.execute(
                select(
                    records.c.publicity_until, records.c.record_type, records.c.decided_on
                ).where(records.c.subject_id == sid)
            ).all()
            if not recs or any(
                _ends(reg, r.publicity_until, r.record_type, r.decided_on) > now for r in recs
            ):
                continue
            live = conn.execute(
                select(listings.c.listing_id).where(
                    and_(
                        listings.c.subject_id == sid,
                        (listings.c.status != "ended")
                        & ((listings.c.until.is_(None)) | (listings.c.until > naive)),
                    )
                )
            ).first()
            pending = conn.execute(
                select(objections.c.objection_id).where(
                    and_(
                        objections.c.subject_id == sid,
                        objections.c.status.in_(("open", "escalated")),
                    )
                )
            ).first()
            waiting = conn.execute(
                select(repairs.c.repair_id).where(
                    and_(repairs.c.subject_id == sid, repairs.c.status == "pending")
                )
            ).first()
            if live is None and pending is None and waiting is None:
                out.append(sid)
    return out


def redact(payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    changed = [k for k, v in PERSONAL_FIELDS.items() if k in payload and payload[k] != v]
    if not changed:
        return payload, []
    names = sorted(set(payload.get(REDACTED_KEY, [])) | set(changed))
    return {**payload, **{k: PERSONAL_FIELDS[k] for k in changed}, REDACTED_KEY: names}, changed


def _release_blobs(uow: Any, sid: str) -> None:
    """Delete the subject's attachments, except a file another subject attached too (files are
    kept once by their SHA-256): that one passes to the other subject."""
    for (digest,) in uow.execute(select(blobs.c.sha256).where(blobs.c.subject_id == sid)).all():
        pattern = f"%{digest}%"
        other = uow.execute(
            select(objections.c.subject_id)
            .where(objections.c.subject_id != sid, objections.c.attachments.like(pattern))
            .limit(1)
        ).scalar()
        if other is None:
            uow.execute(delete(blobs).where(blobs.c.sha256 == digest))
        else:
            uow.execute(update(blobs).where(blobs.c.sha256 == digest).values(subject_id=other))


def _leave_no_trace(reg: Registry) -> None:
    """SQLite keeps the pages a transaction replaced in its write-ahead log until a checkpoint:
    copy them into the file (where secure_delete has zeroed what was freed) and empty the log."""
    if reg.engine.dialect.name != "sqlite":
        return
    with reg.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def purge(reg: Registry, *, actor: str, subject_ids: Iterable[str] | None = None) -> PurgeSummary:
    summary = PurgeSummary()
    if subject_ids is None:  # the periodic sweep: what has outlived its retention
        uploads.expire_reports(reg)
    targets = list(subject_ids) if subject_ids is not None else due(reg)
    for sid in targets:
        with reg.uow(actor) as uow:
            rows = uow.execute(
                select(events.c.seq, events.c.type, events.c.payload, events.c.payload_digest)
                .where(events.c.subject_id == sid)
                .order_by(events.c.seq)
            ).all()
            # rows that came without a code and were linked to the person: their queued form
            # (name, the row as sent) is in events recorded before the subject was known
            items = [
                json.loads(r.payload)["item_id"]
                for r in rows
                if r.type == T.REVIEW_ITEM_RESOLVED and '"item_id"' in r.payload
            ]
            for item_id in items:
                rows += uow.execute(
                    select(events.c.seq, events.c.type, events.c.payload, events.c.payload_digest)
                    .where(events.c.type == T.ROW_QUEUED)
                    .where(events.c.payload.like(f'%"item_id":"{item_id}"%'))
                ).all()
            seqs: list[int] = []
            digests: dict[str, str] = {}
            fields: set[str] = set()
            updates = []
            for r in rows:
                if r.payload_digest is None:
                    summary.legacy_events_kept += 1
                    continue
                # an event redacted before (schema 0014 removed a person's quasi-identifiers)
                # still holds the name: redact what is left
                new, changed = redact(json.loads(r.payload))
                if changed:
                    text = canonical(new)
                    updates.append({"s": r.seq, "p": text})
                    seqs.append(r.seq)
                    digests[str(r.seq)] = payload_digest(text)
                    fields.update(changed)
            if updates:
                # the log's guard lets through exactly the rewrites granted here
                uow.execute(
                    insert(redaction_grants),
                    [{"seq": u["s"], "payload": u["p"]} for u in updates],
                )
                uow.execute(
                    update(events)
                    .where(events.c.seq == bindparam("s"))
                    .values(payload=bindparam("p")),
                    updates,
                )
                uow.execute(delete(redaction_grants))
            owners = [
                r.principal_id
                for r in uow.execute(
                    select(principals.c.principal_id).where(principals.c.scope.like(f'%"{sid}"%'))
                )
            ]
            _release_blobs(uow, sid)
            uow.emit(
                NewEvent(
                    T.PERSONAL_DATA_PURGED,
                    {
                        "subject_id": sid,
                        "seqs": seqs,
                        # what each redacted payload became: a later rewrite of it is found
                        "redacted_digests": digests,
                        "fields": sorted(fields),
                        "principal_ids": owners,
                        "review_items": items,
                        "reason": "retention after the end of publicity has passed",
                    },
                    subject_id=sid,
                )
            )
            uow.commit()
        summary.subjects += 1
        summary.events_redacted += len(seqs)
        summary.purged.append(sid)
    if summary.subjects:
        _leave_no_trace(reg)
    return summary
