"""Listings: proposal, notice, activation after the notice period, and exit.

The rules of each list come from the pack (``rules.lists``); this module turns their decisions
into events. ``advance`` records what time alone has decided (activation, expiry); answers never
wait for it, because a listing's state at a moment follows from its timestamps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from ..clock import moment_text, to_utc_naive
from ..db import listings
from ..events import types as T
from ..events.types import NewEvent
from ..policy.durations import Duration, add_duration
from ..policy.model import ListDef
from ..rules.lists import RecordFacts, duration, exit_rule, notice_period

if TYPE_CHECKING:
    from ..bootstrap import Registry


def _aware(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


def _naive(at: datetime) -> datetime:
    return to_utc_naive(at)


def listing_id(list_id: str, record_key: str, at: datetime, nonce: int | str = 0) -> str:
    """Stable for the same proposal; the nonce separates two proposals of one record at one
    moment (in one batch, or in two batches at the same moment of a fixed clock)."""
    key = f"{list_id}\x1f{record_key}\x1f{at.isoformat()}\x1f{nonce}"
    h = hashlib.sha256(key.encode()).hexdigest()
    return "L" + h[:31]


def proposed(
    ld: ListDef,
    facts: RecordFacts,
    at: datetime,
    ground: str | None,
    pending: str | None,
    nonce: int | str = 0,
) -> NewEvent:
    return NewEvent(
        T.LISTING_PROPOSED,
        {
            "listing_id": listing_id(ld.id, facts.record_key, at, nonce),
            "subject_id": facts.subject_id,
            "list_id": ld.id,
            "record_key": facts.record_key,
            "ground": ground,
            "pending_reason": pending,
        },
        subject_id=facts.subject_id,
    )


def notified(
    reg: Registry,
    ld: ListDef,
    lid: str,
    facts: RecordFacts,
    decision_ref: str,
    at: datetime,
    subject_name: str,
    authority: str,
) -> NewEvent:
    """The notice to the subject; the listing becomes active when the notice period has run.

    The notice period runs from the notice, not from the proposal (DESIGN.md section 2).
    """
    period = notice_period(ld, facts)
    activates = add_duration(_aware(at), Duration.parse(period), reg.calendar, reg.tz)
    term = duration(ld, facts)
    until = add_duration(activates.at, term, reg.calendar, reg.tz)
    notice_id = "N" + lid[1:]
    basis = reg.pack.cite(ld.legal_basis)
    body = {
        "zh": (
            f"{subject_name}：根据{'；'.join(basis)}，{authority}决定（{decision_ref}）将您列入"
            f"{ld.name.zh}。列入自{moment_text(activates.at, reg.tz, 'zh')}起生效，期限"
            f"{term.describe('zh')}，最迟于{moment_text(until.at, reg.tz, 'zh')}届满。"
            f"生效前可对列入提出异议。{ld.how_to_resolve.zh}"
        ),
        "en": (
            f"{subject_name}: under {'; '.join(basis)}, {authority} decided ({decision_ref}) to "
            f"place you on the {ld.name.en}. The listing takes effect on "
            f"{moment_text(activates.at, reg.tz, 'en')} for {term.describe()}, ending at the "
            f"latest on {moment_text(until.at, reg.tz, 'en')}. You may object before it takes "
            "effect. "
            f"{ld.how_to_resolve.en}"
        ),
        "list": ld.id,
        "decision_ref": decision_ref,
        "notice_period": period,
        "calendar_announced": activates.calendar_announced,
    }
    for lang in ("zh", "en"):  # the notice is written in the pack's languages
        if lang not in reg.pack.meta.languages:
            del body[lang]
    return NewEvent(
        T.LISTING_NOTIFIED,
        {
            "listing_id": lid,
            "notice_id": notice_id,
            "decision_ref": decision_ref,
            "activates_at": _naive(activates.at).isoformat(),
            "until": _naive(until.at).isoformat(),
            "duration": str(term),
            "body": body,
        },
        subject_id=facts.subject_id,
    )


def ended(
    reg: Registry,
    ld: ListDef,
    lid: str,
    subject_id: str,
    record_key: str,
    reason: str,
    trigger: str,
    at: datetime,
    effective_at: datetime | None = None,
    decision_ref: str | None = None,
) -> NewEvent:
    """A listing ends; ``decision_ref`` is the source's decision that ended it, where one did
    (a record amended to an exit status), so the subject's file can cite it."""
    rule = exit_rule(ld, trigger)
    eff = effective_at or at
    due = (
        add_duration(_aware(eff), Duration.parse(rule.deadline), reg.calendar, reg.tz)
        if rule
        else None
    )
    basis = rule.legal_basis if rule else []
    if trigger == "objection":
        basis = ld.objection.legal_basis
    elif trigger == "repair" and ld.repair is not None:
        basis = ld.repair.legal_basis
    elif trigger == "link_undone" and reg.pack.resolution is not None:
        basis = reg.pack.resolution.legal_basis
    return NewEvent(
        T.LISTING_ENDED,
        {
            "listing_id": lid,
            "reason": reason,
            "effective_at": eff.isoformat(),
            "exit_due_by": _naive(due.at).isoformat() if due else None,
            "exit_basis": reg.pack.cite(basis),
            "record_key": record_key,
        }
        | ({"decision_ref": decision_ref} if decision_ref else {}),
        subject_id=subject_id,
    )


@dataclass
class AdvanceSummary:
    activated: int = 0
    expired: int = 0
    escalated: int = 0
    resolved: int = 0  # escalated objections resolved for the subject at the review deadline

    def as_dict(self) -> dict[str, Any]:
        return {
            "activated": self.activated,
            "expired": self.expired,
            "escalated": self.escalated,
            "resolved": self.resolved,
        }


def advance(reg: Registry, actor: str) -> AdvanceSummary:
    """Record what time alone has brought up to now: activations, expiries, and objections
    escalated to a reviewer because the source let their deadline pass."""
    from . import grading, objections

    out = AdvanceSummary()
    with reg.uow(actor) as uow:
        now = uow.at
        evs: list[NewEvent] = []
        due = uow.execute(
            select(listings).where(
                and_(listings.c.status == "notified", listings.c.activates_at <= now)
            )
        ).all()
        for row in due:
            evs.append(
                NewEvent(
                    T.LISTING_ACTIVATED,
                    {
                        "listing_id": row.listing_id,
                        "effective_at": row.activates_at.isoformat(),
                    },
                    subject_id=row.subject_id,
                )
            )
            out.activated += 1
        expired = uow.execute(
            select(listings).where(
                and_(listings.c.status.in_(("notified", "active")), listings.c.until <= now)
            )
        ).all()
        for row in expired:
            evs.append(
                ended(
                    reg,
                    reg.pack.lists[row.list_id],
                    row.listing_id,
                    row.subject_id,
                    row.record_key,
                    "expired",
                    "expiry",
                    now,
                    effective_at=row.until,
                )
            )
            out.expired += 1
        for obj in objections.overdue(uow):
            evs.append(
                NewEvent(
                    T.OBJECTION_ESCALATED,
                    {
                        "objection_id": obj.objection_id,
                        "deadline": obj.deadline.isoformat(),
                    },
                    subject_id=obj.subject_id,
                )
            )
            out.escalated += 1
        if evs:
            uow.emit_many(evs)
            changed = {
                ev.subject_id for ev in evs if ev.subject_id and ev.type != T.OBJECTION_ESCALATED
            }
            uow.emit_many(grading.regrade(reg, uow.conn, changed, uow.at))
        uow.commit()
        moment = uow.at
    # escalated objections no reviewer decided in time, where the pack resolves them in the
    # subject's favour: each decided as its own unit (with its notices and corrections)
    with reg.engine.connect() as conn:
        late = objections.undecided(reg, conn, moment)
    for objection_id, reason in late:
        objections.decide_objection(
            reg, objection_id, outcome="corrected", reason=reason, actor=f"{actor}:deadline"
        )
        out.resolved += 1
    return out
