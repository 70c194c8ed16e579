"""Credit repair: after correcting its conduct, a subject applies to end a listing early, or to
end a record's publicity early (the record itself stays in its file).

Eligibility follows the pack: for a listing, the list's repair rule (minimum period served,
obligations met on the grounding record, no new listing within the window); for a record, its
record type's repair rule (minimum period shown, by severity, and obligations met). Always: no
application already pending, and no reapplication before the date a rejection set. Every
application is recorded, eligible or not; an ineligible one carries its reasons and is closed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from ..clock import iso, moment_text, to_utc_naive
from ..db import listings, records, repairs
from ..errors import InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..policy.durations import Duration, add_duration
from ..policy.model import RecordRepair, RepairRule
from ..rules.lists import status_at
from . import corrections, grading
from . import listings as listing_events
from .objections import _find_record, entry_words
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..uow import UnitOfWork


def _aware(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


def _naive(at: datetime) -> datetime:
    return to_utc_naive(at)


def _obligations_met(rule: Any, rec: Any) -> bool:
    fields = json.loads(rec.fields)
    return (rule.obligations_field is not None and bool(fields.get(rule.obligations_field))) or (
        rec.status in rule.obligations_status
    )


def _listing_reasons(
    reg: Registry, uow: UnitOfWork, lrow: Any, subject_id: str
) -> tuple[Any, list[str]]:
    now = uow.at
    ld = reg.pack.lists[lrow.list_id]
    rule = ld.repair
    if rule is None:
        raise InvalidInput(
            f"the {ld.name.en} has no credit repair; how to resolve it: {ld.how_to_resolve.en}"
        )
    reasons: list[str] = []
    state = status_at(
        now, lrow.proposed_at, lrow.notified_at, lrow.activates_at, lrow.until, lrow.ended_at
    )
    if state != "active":
        reasons.append(f"the listing is {state}, not active")
    else:
        served = add_duration(
            _aware(lrow.activates_at), Duration.parse(rule.minimum_served), reg.calendar, reg.tz
        ).at
        if _naive(served) > now:
            reasons.append(
                f"the minimum period on the list ({rule.minimum_served}) is served on "
                f"{iso(served, reg.tz)}"
            )
    rec = uow.execute(select(records).where(records.c.record_key == lrow.record_key)).one()
    if not _obligations_met(rule, rec):
        reasons.append(f"obligations not met: {rule.obligations_text.en}")
    if rule.no_repeat_within:
        window = add_duration(
            _aware(now), Duration.parse(rule.no_repeat_within), reg.calendar, reg.tz
        ).at - _aware(now)
        repeat = uow.execute(
            select(listings.c.listing_id).where(
                and_(
                    listings.c.subject_id == subject_id,
                    listings.c.list_id == lrow.list_id,
                    listings.c.listing_id != lrow.listing_id,
                    listings.c.proposed_at >= now - window,
                )
            )
        ).first()
        if repeat is not None:
            reasons.append(
                f"another listing on this list began within {rule.no_repeat_within} "
                f"({repeat.listing_id})"
            )
    return rule, reasons


def _record_reasons(reg: Registry, uow: UnitOfWork, rec: Any) -> tuple[Any, list[str]]:
    today = _aware(uow.at).astimezone(reg.tz).date()
    # a procedure: the repair rule in force on the day of the application
    rt, _version = reg.pack.record_type_at(rec.record_type, today)
    rule = rt.repair
    if rule is None:
        raise InvalidInput(f"a {rt.name.en} record has no credit repair of its publicity")
    reasons: list[str] = []
    if rec.publicity_until <= today:
        reasons.append("the record is no longer shown to the public")
    text = rule.minimum_shown.default
    fields = json.loads(rec.fields)
    for fname, table in rule.minimum_shown.by_field.items():
        if fields.get(fname) in table:
            text = table[fields[fname]]
    start = datetime.combine(rec.decided_on, time(0, 0), tzinfo=reg.tz)
    shown = add_duration(start, Duration.parse(text), reg.calendar, reg.tz).at
    if _naive(shown) > uow.at:
        reasons.append(f"the minimum period shown ({text}) ends on {iso(shown, reg.tz)}")
    if not _obligations_met(rule, rec):
        reasons.append(f"obligations not met: {rule.obligations_text.en}")
    return rule, reasons


def apply_for_repair(
    reg: Registry,
    subject: str,
    *,
    evidence: str,
    actor: str,
    listing_id: str | None = None,
    record: str | None = None,
) -> dict[str, Any]:
    if bool(listing_id) == bool(record):
        raise InvalidInput(
            "apply for exactly one thing: a listing (--listing) or a record (--record)"
        )
    if not evidence.strip():
        raise InvalidInput("describe the evidence that the conduct was corrected (--evidence)")
    ref = resolve_code(reg, subject)
    with reg.uow(actor) as uow:
        if listing_id:
            lrow = uow.execute(
                select(listings).where(
                    and_(
                        listings.c.listing_id == listing_id, listings.c.subject_id == ref.subject_id
                    )
                )
            ).first()
            if lrow is None:
                raise UnknownEntity(f"no listing {listing_id} for this subject")
            rule, reasons = _listing_reasons(reg, uow, lrow, ref.subject_id)
            same = repairs.c.listing_id == listing_id
            record_key = None
        else:
            assert record is not None
            rec = _find_record(uow.conn, ref.subject_id, record)
            rule, reasons = _record_reasons(reg, uow, rec)
            record_key = rec.record_key
            same = and_(repairs.c.record_key == record_key, repairs.c.listing_id.is_(None))
        pending = uow.execute(
            select(repairs.c.repair_id).where(and_(same, repairs.c.status == "pending"))
        ).first()
        if pending is not None:
            raise InvalidInput(f"application {pending.repair_id} for this is still pending")
        last = uow.execute(
            select(repairs)
            .where(and_(same, repairs.c.status == "rejected"))
            .order_by(repairs.c.decided_at.desc())
        ).first()
        if last is not None and last.reapply_from is not None and last.reapply_from > uow.at:
            reasons.append(
                f"a rejected application may be renewed from {iso(last.reapply_from, reg.tz)}"
            )
        eligible = not reasons
        deadline = (
            add_duration(
                _aware(uow.at), Duration.parse(rule.decision_deadline), reg.calendar, reg.tz
            )
            if eligible
            else None
        )
        repair_id = "R" + uuid.uuid4().hex[:31]
        uow.emit(
            NewEvent(
                T.REPAIR_APPLIED,
                {
                    "repair_id": repair_id,
                    "subject_id": ref.subject_id,
                    "listing_id": listing_id,
                    "record_key": record_key,
                    "record": record,
                    "evidence": evidence.strip(),
                    "applied_by": actor,
                    "eligible": eligible,
                    "reasons": reasons,
                    "decision_deadline": _naive(deadline.at).isoformat() if deadline else None,
                },
                subject_id=ref.subject_id,
            )
        )
        uow.commit()
    out: dict[str, Any] = {
        "id": repair_id,
        "status": "pending" if eligible else "ineligible",
        "eligible": eligible,
        "listing_id": listing_id,
        "record": record,
        "decision_deadline": iso(deadline.at, reg.tz) if deadline else None,
        "legal_basis": reg.pack.cite(rule.legal_basis),
    }
    if not eligible:
        out["reasons"] = reasons
    return out


def decide_repair(
    reg: Registry, repair_id: str, *, approve: bool, reason: str, actor: str
) -> dict[str, Any]:
    if not reason.strip():
        raise InvalidInput("a decision needs its reasons")
    with reg.uow(actor) as uow:
        row = uow.execute(select(repairs).where(repairs.c.repair_id == repair_id)).first()
        if row is None:
            raise UnknownEntity(f"no repair application {repair_id}")
        if row.status != "pending":
            raise InvalidInput(f"application {repair_id} is {row.status}, not pending")
        lrow = None
        rule: RepairRule | RecordRepair | None
        if row.listing_id:
            lrow = uow.execute(
                select(listings).where(listings.c.listing_id == row.listing_id)
            ).one()
            rule = reg.pack.lists[lrow.list_id].repair
            effect_zh, effect_en = "名单提前移出", "the listing ends now"
        else:
            rec = uow.execute(select(records).where(records.c.record_key == row.record_key)).one()
            applied = row.applied_at.replace(tzinfo=UTC).astimezone(reg.tz).date()
            rule = reg.pack.record_type_at(rec.record_type, applied)[0].repair
            effect_zh, effect_en = "记录停止公示", "the record is no longer shown to the public"
        assert rule is not None
        reapply = None
        if not approve:
            reapply = add_duration(
                _aware(uow.at), Duration.parse(rule.reapply_after), reg.calendar, reg.tz
            ).at
        if reapply is None:
            zh, en = f"予以批准，{effect_zh}", f"was approved: {effect_en}"
        else:
            zh = f"不予批准；您可于{moment_text(reapply, reg.tz, 'zh')}起重新申请"
            en = f"was not approved; you may apply again from {moment_text(reapply, reg.tz, 'en')}"
        what_zh, what_en = entry_words(reg, uow.conn, row.listing_id, row.record_key)
        evs = [
            NewEvent(
                T.REPAIR_DECIDED,
                {
                    "repair_id": repair_id,
                    "approved": approve,
                    "reason": reason.strip(),
                    "decided_by": actor,
                    "listing_id": row.listing_id,
                    "reapply_from": _naive(reapply).isoformat() if reapply else None,
                    "notice_id": "N" + uuid.uuid4().hex[:31],
                    "body": {
                        "zh": f"您就{what_zh}提出的信用修复申请{zh}。理由：{reason.strip()}",
                        "en": f"Your application for credit repair of the {what_en} {en}. "
                        f"Reasons: {reason.strip()}",
                    },
                },
                subject_id=row.subject_id,
            )
        ]
        ended = False
        if approve and lrow is not None and lrow.status != "ended":
            ld = reg.pack.lists[lrow.list_id]
            evs.append(
                listing_events.ended(
                    reg,
                    ld,
                    lrow.listing_id,
                    lrow.subject_id,
                    lrow.record_key,
                    "repaired",
                    "repair",
                    uow.at,
                )
            )
            ended = True
        if approve and lrow is None:
            today = _aware(uow.at).astimezone(reg.tz).date()
            evs.append(
                NewEvent(
                    T.RECORD_PUBLICITY_ENDED,
                    {
                        "record_key": row.record_key,
                        "repair_id": repair_id,
                        "ended_on": today.isoformat(),
                    },
                    subject_id=row.subject_id,
                )
            )
        if approve:  # told to those who read the file before
            what, entry = (
                ("listing_ended", row.listing_id)
                if lrow is not None
                else ("publicity_ended", row.record_key)
            )
            evs.append(corrections.notify(reg, uow, row.subject_id, what, entry, row.subject_id))
        uow.emit_many(evs)
        uow.emit_many(grading.regrade(reg, uow.conn, {row.subject_id}, uow.at))
        uow.commit()
    return {
        "id": repair_id,
        "status": "approved" if approve else "rejected",
        "reason": reason.strip(),
        "listing_ended": ended,
        "publicity_ended": bool(approve and lrow is None),
        "reapply_from": iso(reapply, reg.tz) if reapply else None,
    }


def describe(reg: Registry, row: Any) -> dict[str, Any]:
    return {
        "id": row.repair_id,
        "listing_id": row.listing_id,
        "status": row.status,
        "eligible": row.eligible,
        "reasons": json.loads(row.reasons),
        "evidence": row.evidence,
        "applied_at": iso(row.applied_at, reg.tz),
        "decision_deadline": iso(row.decision_deadline, reg.tz),
        "decided_at": iso(row.decided_at, reg.tz),
        "reason": row.reason,
        "reapply_from": iso(row.reapply_from, reg.tz),
    }
