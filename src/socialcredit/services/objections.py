"""Objections: a subject disputes a listing or a record; the source answers by a deadline.

Outcomes: ``corrected`` (the subject was right: the listing ends, and an objection to a record
retracts it and ends the listings it grounds), ``rejected`` (it stands, with reasons) and
``withdrawn`` (by the subject). An objection the source leaves unanswered past its deadline is
escalated to a reviewer by the sweep (``listings.advance``). Where the list's policy says so, an
open objection suspends the listing: checks answer ``allowed`` with a note.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, or_, select

from ..bulk import among
from ..clock import iso, moment_text, to_utc_naive
from ..db import blobs, listings, objections, records
from ..errors import InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..policy.durations import Duration, add_duration
from ..policy.model import ObjectionRule
from . import corrections, grading
from . import listings as listing_events
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

OUTCOMES = ("corrected", "rejected", "withdrawn")
OPEN = ("open", "escalated")


def _aware(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Disputes:
    """The objections open at a moment, by what they dispute: what every output that shows a
    record or a listing marks as in dispute (FCRA §611's "disputed by the consumer")."""

    records: dict[str, dict[str, Any]]
    listings: dict[str, dict[str, Any]]

    def of_record(self, record_key: str) -> dict[str, Any] | None:
        return self.records.get(record_key)

    def of_listing(self, listing_id: str) -> dict[str, Any] | None:
        return self.listings.get(listing_id)


def disputes(reg: Registry, conn: Any, subject_ids: Collection[str], t: datetime) -> Disputes:
    """The objections about these subjects open at ``t`` (naive UTC): filed by then and not yet
    decided or withdrawn then. Each as ``{objection_id, filed_at, deadline}``."""
    out = Disputes({}, {})
    o = objections.c
    for r in conn.execute(  # callers pass one subject, or one batch of an export's rows
        select(o.objection_id, o.record_key, o.listing_id, o.filed_at, o.deadline).where(
            among(o.subject_id, sorted(set(subject_ids)), conn.dialect.name),
            o.filed_at <= t,
            or_(o.decided_at.is_(None), o.decided_at > t),
        )
    ):
        entry = {
            "objection_id": r.objection_id,
            "filed_at": iso(r.filed_at, reg.tz),  # naive UTC, as stored
            "deadline": iso(r.deadline, reg.tz),
        }
        if r.listing_id:  # (an objection to a listing also names its record)
            out.listings[r.listing_id] = entry
        elif r.record_key:
            out.records[r.record_key] = entry
    return out


MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def read_attachments(paths: list[Path]) -> list[tuple[str, bytes]]:
    files = []
    for p in paths:
        try:
            files.append((p.name, p.read_bytes()))
        except OSError as exc:
            raise InvalidInput(f"attachment {p}: cannot be read ({exc.strerror})") from None
    return files


def _store_attachments(
    conn: Any, subject_id: str, files: list[tuple[str, bytes]], at: datetime
) -> list[dict[str, Any]]:
    """Keep each file by its SHA-256; the event names the digest, so what was submitted can
    always be proven (and a purge can delete the bytes without touching the chain)."""
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments")
    meta = []
    for name, data in files:
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput(f"attachment {name!r} is larger than 5 MB")
        digest = hashlib.sha256(data).hexdigest()
        if conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == digest)).first() is None:
            conn.execute(
                insert(blobs).values(
                    sha256=digest, content=data, subject_id=subject_id, stored_at=at
                )
            )
        meta.append({"name": name[:200], "size": len(data), "sha256": digest})
    return meta


def _may_suspend(
    conn: Any, rule: ObjectionRule, listing_id: str | None, attachments: list[dict[str, Any]]
) -> tuple[bool, str | None]:
    """Whether a new objection to the listing suspends it, under the list's rule on repeated
    objections; when it does not, why."""
    earlier = conn.execute(
        select(objections.c.attachments).where(
            and_(objections.c.listing_id == listing_id, objections.c.suspends.is_(True))
        )
    ).all()
    if len(earlier) < rule.suspensions:
        return True, None
    seen = {a["sha256"] for row in earlier for a in json.loads(row.attachments)}
    if rule.suspends_again_with_new_evidence and any(a["sha256"] not in seen for a in attachments):
        return True, None
    return False, (
        f"this listing was already suspended by {len(earlier)} objection(s); "
        + (
            "a further objection suspends it only with evidence not attached before"
            if rule.suspends_again_with_new_evidence
            else "a further objection does not suspend it"
        )
        + " (it is still examined within the deadline)"
    )


def _find_listing(conn: Any, subject_id: str, listing_id: str) -> Any:
    row = conn.execute(
        select(listings).where(
            and_(listings.c.listing_id == listing_id, listings.c.subject_id == subject_id)
        )
    ).first()
    if row is None:
        raise UnknownEntity(f"no listing {listing_id} for this subject")
    return row


def _find_record(conn: Any, subject_id: str, record: str) -> Any:
    source, _, sid = record.partition("/")
    row = conn.execute(
        select(records).where(
            and_(
                records.c.source == source,
                records.c.source_record_id == sid,
                records.c.subject_id == subject_id,
            )
        )
    ).first()
    if row is None:
        raise UnknownEntity(f"no record {record} (SOURCE/SOURCE_RECORD_ID) for this subject")
    return row


def _rule_for(
    reg: Registry, conn: Any, listing_id: str | None, record_key: str
) -> ObjectionRule | None:
    """The rule an objection follows: its listing's list's; for a record, the strictest rule of
    the lists it grounds, if any (else None: the pack's rule for records, objections.yaml)."""
    if listing_id:
        list_id = conn.execute(
            select(listings.c.list_id).where(listings.c.listing_id == listing_id)
        ).scalar_one()
        return reg.pack.lists[list_id].objection
    grounded = conn.execute(
        select(listings.c.list_id).where(listings.c.record_key == record_key)
    ).all()
    rules = [reg.pack.lists[r.list_id].objection for r in grounded]
    return min(rules, key=lambda r: 0 if r.suspends else 1) if rules else None


def undecided(reg: Registry, conn: Any, at: datetime) -> list[tuple[str, str]]:
    """Escalated objections no reviewer decided within the pack's review deadline, where the
    pack resolves them in the subject's favour: (objection id, the reason to record)."""
    out = []
    for row in conn.execute(
        select(objections)
        .where(objections.c.status == "escalated")
        .order_by(objections.c.escalated_at, objections.c.objection_id)
    ):
        rule: Any = (
            _rule_for(reg, conn, row.listing_id, row.record_key) or reg.pack.record_objections
        )
        if rule.if_undecided != "corrected" or rule.review_deadline is None:
            continue
        start = row.escalated_at.replace(tzinfo=UTC)
        due = add_duration(start, Duration.parse(rule.review_deadline), reg.calendar, reg.tz)
        if due.at <= at.replace(tzinfo=UTC):
            cited = "; ".join(reg.pack.cite(rule.if_undecided_basis))
            out.append(
                (
                    row.objection_id,
                    f"not decided within {rule.review_deadline} of its escalation: resolved in "
                    f"the subject's favour ({cited})",
                )
            )
    return out


def _source_notice(
    reg: Registry, conn: Any, record_key: str, objection_id: str, deadline: datetime
) -> dict[str, Any] | None:
    """The notice that tells the record's source of the objection and its deadline."""
    row = conn.execute(
        select(records.c.source, records.c.source_record_id).where(
            records.c.record_key == record_key
        )
    ).first()
    if row is None:
        return None
    due = iso(deadline, reg.tz)
    body = {
        "zh": f"信息主体对您报送的记录（{row.source}/{row.source_record_id}）提出异议"
        f"（{objection_id}），请于{due}前核查并答复。",
        "en": f"The subject objects ({objection_id}) to your record {row.source}/"
        f"{row.source_record_id}; verify it and answer by {due}.",
    }
    return {
        "source": row.source,
        "notice_id": "N" + uuid.uuid4().hex[:31],
        "body": {k: v for k, v in body.items() if k in reg.pack.meta.languages},
    }


def file_objection(
    reg: Registry,
    subject: str,
    *,
    grounds: str,
    actor: str,
    listing_id: str | None = None,
    record: str | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> dict[str, Any]:
    if bool(listing_id) == bool(record):
        raise InvalidInput(
            "object to exactly one thing: a listing (--listing) or a record (--record)"
        )
    if not grounds.strip():
        raise InvalidInput("the grounds of the objection are required")
    ref = resolve_code(reg, subject)
    rule: ObjectionRule | None
    with reg.uow(actor) as uow:
        if listing_id:
            target = _find_listing(uow.conn, ref.subject_id, listing_id)
            if target.status == "ended" or (
                target.ended_at is not None and target.ended_at <= uow.at
            ):
                raise InvalidInput(f"listing {listing_id} has ended; there is nothing to object to")
            rule = _rule_for(reg, uow.conn, listing_id, target.record_key)
            record_key = target.record_key
            open_q = objections.c.listing_id == listing_id
        else:
            assert record is not None
            target = _find_record(uow.conn, ref.subject_id, record)
            if target.retracted_at is not None:
                raise InvalidInput(f"record {record} was already retracted")
            rule = _rule_for(reg, uow.conn, None, target.record_key)
            record_key = target.record_key
            open_q = and_(objections.c.record_key == record_key, objections.c.listing_id.is_(None))
        existing = uow.execute(
            select(objections.c.objection_id).where(and_(open_q, objections.c.status.in_(OPEN)))
        ).first()
        if existing is not None:
            raise InvalidInput(f"objection {existing.objection_id} on this is still open")
        # a record that grounds no listing: the pack's deadline for records (objections.yaml)
        deadline_text = rule.deadline if rule else reg.pack.record_objections.deadline
        deadline = add_duration(_aware(uow.at), Duration.parse(deadline_text), reg.calendar, reg.tz)
        objection_id = "O" + uuid.uuid4().hex[:31]
        attachments = _store_attachments(uow.conn, ref.subject_id, files or [], uow.at)
        suspends = bool(rule and rule.suspends and listing_id)
        refused_suspension = None
        if suspends and rule is not None:
            suspends, refused_suspension = _may_suspend(uow.conn, rule, listing_id, attachments)
        payload = {
            "objection_id": objection_id,
            "subject_id": ref.subject_id,
            "listing_id": listing_id,
            "record_key": record_key,
            "grounds": grounds.strip(),
            "attachments": attachments,
            "filed_by": actor,
            "deadline": to_utc_naive(deadline.at).isoformat(),
            "calendar_announced": deadline.calendar_announced,
            "suspends": suspends,
            # the source of the record is told at once, through the outbox
            "source_notice": _source_notice(reg, uow.conn, record_key, objection_id, deadline.at),
        }
        uow.emit(NewEvent(T.OBJECTION_FILED, payload, subject_id=ref.subject_id))
        uow.commit()
    return {
        "id": objection_id,
        "status": "open",
        "deadline": iso(deadline.at, reg.tz),
        "deadline_rule": deadline_text,
        "calendar_announced": deadline.calendar_announced,
        "suspends_listing": payload["suspends"],
        "suspension_refused": refused_suspension,
        "listing_id": listing_id,
        "record": record,
        "note": None
        if deadline.calendar_announced
        else (
            "the deadline falls in a year whose official calendar (make-up working days) is "
            "not yet announced; it may move when it is"
        ),
    }


def decide_objection(
    reg: Registry, objection_id: str, *, outcome: str, reason: str, actor: str
) -> dict[str, Any]:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if not reason.strip():
        raise InvalidInput("a decision needs its reasons")
    with reg.uow(actor) as uow:
        row = uow.execute(
            select(objections).where(objections.c.objection_id == objection_id)
        ).first()
        if row is None:
            raise UnknownEntity(f"no objection {objection_id}")
        if row.status not in OPEN:
            raise InvalidInput(f"objection {objection_id} was already decided ({row.status})")
        evs: list[NewEvent] = []
        ended: list[str] = []
        if outcome == "corrected":
            if row.listing_id:
                targets = uow.execute(
                    select(listings).where(listings.c.listing_id == row.listing_id)
                ).all()
            else:
                evs.append(
                    NewEvent(
                        T.RECORD_RETRACTED,
                        {
                            "record_key": row.record_key,
                            "reason": reason.strip(),
                            "objection_id": objection_id,
                        },
                        subject_id=row.subject_id,
                    )
                )
                targets = uow.execute(
                    select(listings).where(
                        and_(listings.c.record_key == row.record_key, listings.c.status != "ended")
                    )
                ).all()
            for lrow in targets:
                if lrow.status == "ended":
                    continue
                evs.append(
                    listing_events.ended(
                        reg,
                        reg.pack.lists[lrow.list_id],
                        lrow.listing_id,
                        lrow.subject_id,
                        lrow.record_key,
                        "corrected",
                        "objection",
                        uow.at,
                    )
                )
                ended.append(lrow.listing_id)
        what_zh, what_en = entry_words(reg, uow.conn, row.listing_id, row.record_key)
        reason_text = reason.strip()
        next_zh, next_en = _OUTCOME_NEXT[outcome]
        if outcome == "corrected" and ended:
            next_zh, next_en = "该名单列入已终止。" + next_zh, "The listing has ended. " + next_en
        body = {
            "zh": f"您对{what_zh}提出的异议已于{moment_text(uow.at, reg.tz, 'zh')}处理："
            f"{_OUTCOME_ZH[outcome]}。理由：{reason_text}。{next_zh}",
            "en": f"Your objection to the {what_en} was decided on "
            f"{moment_text(uow.at, reg.tz, 'en')}: {_OUTCOME_EN[outcome]}. Reasons: "
            f"{reason_text.rstrip('.')}. {next_en}",
        }
        evs.insert(
            0,
            NewEvent(
                T.OBJECTION_DECIDED,
                {
                    "objection_id": objection_id,
                    "outcome": outcome,
                    "reason": reason.strip(),
                    "decided_by": actor,
                    "listing_id": row.listing_id,
                    "notice_id": "N" + uuid.uuid4().hex[:31],
                    "body": body,
                    "listings_ended": ended,
                },
                subject_id=row.subject_id,
            ),
        )
        if outcome == "corrected":  # told to those who read the file before
            what = "listing_ended" if row.listing_id else "record_retracted"
            entry = row.listing_id or row.record_key
            evs.append(corrections.notify(reg, uow, row.subject_id, what, entry, row.subject_id))
        uow.emit_many(evs)
        uow.emit_many(grading.regrade(reg, uow.conn, {row.subject_id}, uow.at))
        uow.commit()
    return {
        "id": objection_id,
        "status": outcome,
        "reason": reason.strip(),
        "listings_ended": ended,
    }


_OUTCOME_ZH = {
    "corrected": "异议成立，已更正",
    "rejected": "异议不成立，维持原记录",
    "withdrawn": "已撤回",
}
_OUTCOME_EN = {
    "corrected": "the objection is upheld and the entry corrected",
    "rejected": "the objection is not upheld and the entry stands",
    "withdrawn": "withdrawn",
}
#: what happens next, by outcome (the registry's own doing, nothing it cannot promise)
_OUTCOME_NEXT = {
    "corrected": (
        "过去12个月内查询过您档案的机构将收到更正通知。",
        "Everyone who read your file in the past 12 months is told of the correction.",
    ),
    "rejected": (
        "该条目不再标注为异议中；您仍可在条件具备时申请信用修复。",
        "The entry is no longer marked as disputed; you may still apply for credit repair "
        "where its rules allow it.",
    ),
    "withdrawn": ("该条目不再标注为异议中。", "The entry is no longer marked as disputed."),
}


def entry_words(
    reg: Registry, conn: Any, listing_id: str | None, record_key: str | None
) -> tuple[str, str]:
    """How a notice names the entry a subject disputed or asked to repair, in Chinese and
    English: the list or record type by the pack's name, with its decision reference; never
    the registry's internal ids."""
    if listing_id:
        li = conn.execute(
            select(listings.c.list_id, listings.c.decision_ref).where(
                listings.c.listing_id == listing_id
            )
        ).first()
        if li is not None:
            name = reg.pack.lists[li.list_id].name
            ref = li.decision_ref or ""
            return (
                f"{name.zh}列入" + (f"（{ref}）" if ref else ""),
                f"listing on the {name.en}" + (f" ({ref})" if ref else ""),
            )
    if record_key:
        rec = conn.execute(
            select(records.c.record_type, records.c.decision_ref).where(
                records.c.record_key == record_key
            )
        ).first()
        if rec is not None:
            name = reg.pack.record_types[rec.record_type].name
            return f"{name.zh}（{rec.decision_ref}）", f"{name.en} ({rec.decision_ref})"
    return "该条目", "entry"


def overdue(uow: Any) -> list[Any]:
    return list(
        uow.execute(
            select(objections).where(
                and_(objections.c.status == "open", objections.c.deadline <= uow.at)
            )
        ).all()
    )


def describe(reg: Registry, row: Any) -> dict[str, Any]:
    return {
        "id": row.objection_id,
        "listing_id": row.listing_id,
        "status": row.status,
        "grounds": row.grounds,
        "attachments": json.loads(row.attachments),
        "filed_at": iso(row.filed_at, reg.tz),
        "deadline": iso(row.deadline, reg.tz),
        "suspends_listing": row.suspends,
        "escalated_at": iso(row.escalated_at, reg.tz),
        "decided_at": iso(row.decided_at, reg.tz),
        "outcome": row.outcome,
        "reason": row.reason,
    }


#: what an attachment is served as, by its first bytes; anything else is a plain download
_SNIFF = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True)
class Evidence:
    name: str  # safe to put in a Content-Disposition header (see ``download_name``)
    content: bytes
    content_type: str


def download_name(name: str) -> str:
    """An attachment's name as a download may carry it: no path, no control characters, no
    quotes, at most 100 characters (the name a subject gave is kept in the log as it was)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    safe = "".join(ch for ch in base if ch.isprintable() and ch not in "\"';:")
    safe = safe.strip(". ") or "attachment"
    return safe[:100]


def evidence(reg: Registry, who: Any, objection_id: str, sha256: str) -> Evidence:
    """One attachment of an objection, for those who decide it (the record's source, a
    reviewer) and the subject that filed it; recorded as a read of the subject's file. The
    stored bytes are checked against the digest and size the objection recorded."""
    from ..errors import NotPermitted
    from .reads import record_read

    with reg.engine.connect() as conn:
        row = conn.execute(
            select(objections.c.subject_id, objections.c.attachments, records.c.source)
            .join(records, records.c.record_key == objections.c.record_key, isouter=True)
            .where(objections.c.objection_id == objection_id)
        ).first()
        if row is None:
            raise UnknownEntity(f"no objection {objection_id}")
        if not (
            who.role == "reviewer"
            or (who.role == "source" and who.source == row.source)
            or (who.role == "subject" and who.subject_id == row.subject_id)
        ):
            if who.role in ("source", "subject"):
                raise UnknownEntity(f"no objection {objection_id}")
            raise NotPermitted("attachments are for those who decide the objection")
        meta = next((a for a in json.loads(row.attachments) if a["sha256"] == sha256), None)
        if meta is None:
            raise UnknownEntity(f"objection {objection_id} has no attachment {sha256[:12]}")
        content = conn.execute(select(blobs.c.content).where(blobs.c.sha256 == sha256)).scalar()
    if content is None:
        raise UnknownEntity("the attachment was deleted (the subject's data was purged)")
    content = bytes(content)
    if len(content) != meta["size"] or hashlib.sha256(content).hexdigest() != sha256:
        raise InvalidInput("the stored attachment does not match what was filed")
    kind = next((t for magic, t in _SNIFF if content.startswith(magic)), None)
    if kind is None:
        try:
            content.decode("utf-8")
            kind = "text/plain; charset=utf-8"
        except UnicodeDecodeError:
            kind = "application/octet-stream"
    record_read(
        reg,
        row.subject_id,
        who.label,
        "evidence",
        {"purpose": "decide the objection", "objection_id": objection_id, "sha256": sha256},
    )
    return Evidence(download_name(meta["name"]), content, kind)


def authorise_decision(reg: Registry, who: Any, objection_id: str, outcome: str) -> None:
    """The source of the record answers; a reviewer may decide any (escalated ones above all);
    the subject may only withdraw its own objection. Others learn nothing about it."""
    from ..errors import NotPermitted

    with reg.engine.connect() as conn:
        row = conn.execute(
            select(objections.c.subject_id, records.c.source)
            .join(records, records.c.record_key == objections.c.record_key)
            .where(objections.c.objection_id == objection_id)
        ).first()
    if row is None:
        raise UnknownEntity(f"no objection {objection_id}")
    if who.role == "reviewer":
        return
    if who.role == "source" and who.source == row.source:
        if outcome == "withdrawn":
            raise NotPermitted("only the subject withdraws its objection")
        return
    if who.role == "subject" and who.subject_id == row.subject_id:
        if outcome != "withdrawn":
            raise NotPermitted("a subject may only withdraw its objection")
        return
    raise UnknownEntity(f"no objection {objection_id}")
