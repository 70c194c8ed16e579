"""Corrections reach those who relied on the error (FCRA s. 611(d), in the registry's terms).

When a record is corrected or retracted, or a listing ends by objection, repair or the undoing
of a link, everyone who read that subject's file in the period the pack sets
(``objections.yaml`` ``notify_readers_within``, default 12 months) -- agencies' checks, lenders'
reports, staff reads -- is sent a correction notice through the notice outbox, at the contact
the principal gave (e-mail or signed webhook: ``socialcredit principals contact``). The subject
sees the list of recipients in its file, and a public credit report issued before the
correction is marked superseded at ``/report/verify``.

Readers are named in the reads log by their label (``role:name``), which names one account
among those in use (``access.create_principal`` refuses a second account of the same role and
name); a label is matched to the account that bears it (one revoked since is not written to). The subject's own reads,
the command line's and the system's are not recipients. One event per correction
(``corrections-sent``), with every notice it sends, even when it sends none: the correction is
what supersedes earlier reports.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from ..clock import iso, to_utc_naive
from ..db import events, principals, reads
from ..events import types as T
from ..events.types import NewEvent
from ..policy.durations import Duration

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..uow import UnitOfWork

#: readers that are not told: the subject itself, the command line, the system's own jobs
_NOT_RECIPIENTS = ("subject:", "cli:", "system:", "public")

WHAT = {
    "record_retracted": ("记录经异议核实有误，已撤回", "a record was found wrong and retracted"),
    "listing_ended": ("名单列入已结束", "a listing ended"),
    "record_unlinked": (
        "记录经复核并非关于该主体，已移出其档案",
        "a record was found not to be about the subject and left its file",
    ),
    "publicity_ended": ("记录经信用修复停止公示", "a record's publicity ended by credit repair"),
}


def _back(at: datetime, window: str) -> datetime:
    """The moment ``window`` before ``at`` (working days count as days: a span of reads)."""
    from dateutil.relativedelta import relativedelta

    d = Duration.parse(window)
    if d.unit == "y":
        return at - relativedelta(years=d.amount)
    if d.unit == "m":
        return at - relativedelta(months=d.amount)
    return at - relativedelta(days=d.amount)


def recipients(reg: Registry, conn: Any, subject_id: str, at: datetime) -> list[dict[str, Any]]:
    """The principals that read the subject's file in the window before ``at`` (naive UTC),
    each once, with the label they read under and their last read."""
    since = _back(at, reg.pack.record_objections.notify_readers_within)
    last: dict[str, datetime] = {}
    for r in conn.execute(
        select(reads.c.reader, reads.c.at).where(
            and_(reads.c.subject_id == subject_id, reads.c.at >= since, reads.c.at <= at)
        )
    ):
        if r.reader.startswith(_NOT_RECIPIENTS):
            continue
        if r.reader not in last or r.at > last[r.reader]:
            last[r.reader] = r.at
    out = []
    for label, when in sorted(last.items()):
        role, _, name = label.partition(":")
        for p in conn.execute(
            select(principals.c.principal_id, principals.c.name).where(
                and_(
                    principals.c.role == role,
                    principals.c.name == name,
                    principals.c.revoked_at.is_(None),
                )
            )
        ):
            out.append({"principal_id": p.principal_id, "reader": label, "last_read": when})
    return out


def notify(
    reg: Registry, uow: UnitOfWork, subject_id: str, what: str, entry: str, display: str
) -> NewEvent:
    """The event that sends a correction notice to each recent reader of the subject's file
    (``what``: a key of ``WHAT``; ``entry``: the record or listing; ``display``: the subject as
    it may be named to a reader: its code, or a person's masked number)."""
    zh_what, en_what = WHAT[what]
    day = iso(uow.at.replace(tzinfo=UTC), reg.tz)
    sent = []
    for r in recipients(reg, uow.conn, subject_id, uow.at):
        body = {
            "zh": f"更正通知：您曾于{iso(r['last_read'], reg.tz)}查询{display}的信用信息；"
            f"此后{zh_what}（{entry}，{day}）。请以更正后的信息为准。",
            "en": f"Correction: you read the credit file of {display} on "
            f"{iso(r['last_read'], reg.tz)}; since then {en_what} ({entry}, {day}). Rely on "
            "the corrected file.",
        }
        sent.append(
            {
                "principal_id": r["principal_id"],
                "reader": r["reader"],
                "notice_id": "N" + uuid.uuid4().hex[:31],
                "body": {k: v for k, v in body.items() if k in reg.pack.meta.languages},
            }
        )
    return NewEvent(
        T.CORRECTIONS_SENT,
        {"subject_id": subject_id, "what": what, "entry": entry, "recipients": sent},
        subject_id=subject_id,
    )


def superseded(reg: Registry, subject_id: str, issued: datetime) -> dict[str, Any] | None:
    """The first correction of the subject's file after ``issued`` (aware), if any: a report
    issued before it no longer says what the file says."""
    t = to_utc_naive(issued)
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(events.c.at, events.c.payload)
            .where(
                and_(
                    events.c.subject_id == subject_id,
                    events.c.type == T.CORRECTIONS_SENT,
                    events.c.at > t,
                )
            )
            .order_by(events.c.seq)
            .limit(1)
        ).first()
    if row is None:
        return None
    import json

    p = json.loads(row.payload)
    return {"at": iso(row.at, reg.tz), "what": p["what"], "entry": p["entry"]}
