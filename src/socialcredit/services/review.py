"""The review queue, decided by hand: a reviewer names the subject of a row its source sent
without a code, or closes the item as not resolvable.

A resolved row goes through ingest exactly as if its source had sent it with that code: the
same validation, subject registration and list rules, and a batch report of its own (file
``review:ITEM_ID``). The row's events and the event that closes the item share one
transaction: a row that fails validation changes nothing, and the error
names each problem. Every decision is an event naming who made it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso
from ..db import events, records, resolution_judgements, review_queue
from ..db import listings as listings_table
from ..errors import Conflict, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..ingest.readers import Row
from . import corrections, filing, grading, ingest, listings
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..uow import UnitOfWork


def resolve_item(
    reg: Registry,
    item_id: str,
    subject_code: str,
    *,
    actor: str,
    finding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ingest the queued row for the subject with this USCC or resident ID; close the item.

    ``finding``: the model's decision when it, not a reviewer, links the row (method
    ``probabilistic``, model, match_probability); it goes into the decision event and, as
    ``resolved_by``, into the record's.

    Raises InvalidIdentifier (422) for a malformed code, UnknownEntity (404) for an unknown
    item, Conflict (409) for an item already closed or out of date (its source has filed the
    record again since), and InvalidInput (422), naming each field and reason, when the row
    cannot be recorded for this subject.
    """
    ref = resolve_code(reg, subject_code)
    listings.advance(reg, actor)  # what time alone has brought, as before any ingest
    with reg.uow(actor) as uow:
        item = _open_item(uow, item_id)
        key = filing.record_key(item.source, item.source_record_id)
        _refuse_if_stale(reg, uow, item, key)
        summary = ingest.IngestSummary(source=item.source, file_name=f"review:{item_id}")
        ingest.ingest_within(
            reg,
            uow,
            [(_row_number(item), _as_submitted(item, subject_code))],
            item.source,
            summary,
            resolved_by={item.source_record_id: {**finding, "item_id": item_id}}
            if finding
            else None,
        )
        if summary.rejects:
            problems = [f"{p.field}: {p.reason}" for p in summary.rejects]
            raise InvalidInput(
                f"review item {item_id} cannot be recorded for {ref.display}: "
                + "; ".join(problems),
                detail={"invalid": problems},
            )
        outcome = _outcome(summary)
        uow.emit(
            NewEvent(
                T.REVIEW_ITEM_RESOLVED,
                {
                    "item_id": item_id,
                    "subject_id": ref.subject_id,
                    "record_key": key,
                    "decided_by": actor,
                }
                | (finding or {}),
                subject_id=ref.subject_id,
            )
        )
        uow.commit()
    return {
        "item_id": item_id,
        "status": "resolved",
        "subject": ref.display,
        "kind": ref.kind,
        "record": f"{item.source}/{item.source_record_id}",
        "record_key": key,
        "outcome": outcome,
        "subject_registered": summary.subjects_registered > 0,
        "listings_proposed": summary.listings_proposed,
        "listings_notified": summary.listings_notified,
        "listings_ended": summary.listings_ended,
        "barred": summary.barred,
    }


def resolve_items(
    reg: Registry, decisions: list[tuple[str, str, dict[str, Any]]], *, actor: str
) -> tuple[list[str], dict[str, str]]:
    """Link many queued rows at once, as :func:`resolve_item` does one, in one transaction:
    ``decisions`` are (item_id, subject code, finding). Returns the items linked, and for the
    others why not (closed or out of date since, or the row cannot be recorded for that
    subject: those stay open)."""
    from ..errors import RegistryError

    listings.advance(reg, actor)
    done: list[str] = []
    failed: dict[str, str] = {}
    with reg.uow(actor) as uow:
        by_source: dict[str, list[tuple[Any, str, str, dict[str, Any]]]] = {}
        for item_id, code, finding in decisions:
            try:
                ref = resolve_code(reg, code)
                item = _open_item(uow, item_id)
                key = filing.record_key(item.source, item.source_record_id)
                _refuse_if_stale(reg, uow, item, key)
            except RegistryError as exc:
                failed[item_id] = exc.message
                continue
            by_source.setdefault(item.source, []).append((item, ref.subject_id, code, finding))
        for source, batch in by_source.items():
            summary = ingest.IngestSummary(source=source, file_name="resolution")
            rows = [(_row_number(it), _as_submitted(it, code)) for it, _, code, _ in batch]
            # row numbers of the submitted rows identify the items whose rows were refused
            numbered: list[Row] = [(i + 1, row) for i, (_, row) in enumerate(rows)]
            ingest.ingest_within(
                reg,
                uow,
                numbered,
                source,
                summary,
                resolved_by={
                    it.source_record_id: {**finding, "item_id": it.item_id}
                    for it, _, _, finding in batch
                },
            )
            refused: dict[int, list[str]] = {}
            for p in summary.rejects:
                refused.setdefault(p.row, []).append(f"{p.field}: {p.reason}")
            for i, (it, sid, _, finding) in enumerate(batch):
                if i + 1 in refused:
                    failed[it.item_id] = "; ".join(refused[i + 1])
                    continue
                uow.emit(
                    NewEvent(
                        T.REVIEW_ITEM_RESOLVED,
                        {
                            "item_id": it.item_id,
                            "subject_id": sid,
                            "record_key": filing.record_key(it.source, it.source_record_id),
                            "decided_by": actor,
                        }
                        | finding,
                        subject_id=sid,
                    )
                )
                done.append(it.item_id)
        uow.commit()
    return done, failed


def reject_item(reg: Registry, item_id: str, *, reason: str, actor: str) -> dict[str, Any]:
    """Close the item as not resolvable, with the reviewer's reasons; no record is made."""
    if not reason.strip():
        raise InvalidInput("say why the row cannot be resolved (--reason)")
    with reg.uow(actor) as uow:
        _open_item(uow, item_id)
        uow.emit(
            NewEvent(
                T.REVIEW_ITEM_REJECTED,
                {"item_id": item_id, "reason": reason.strip(), "decided_by": actor},
            )
        )
        uow.commit()
    return {"item_id": item_id, "status": "rejected", "reason": reason.strip()}


def undo_link(
    reg: Registry, source: str, source_record_id: str, *, reason: str, actor: str
) -> dict[str, Any]:
    """Undo the link of a record to its subject, whoever made it (the law's mapping at ingest,
    the model, a reviewer): the record leaves that subject's file, the listings resting on it
    end, the subject is regraded, and the row is back in the review queue to be linked again
    (to the right subject, by a reviewer) or closed. The log keeps every event of the link.

    Only a record its source sent without a code can be unlinked: one sent with the code is
    the source's own statement, corrected by an objection, not by a reviewer. Raises
    UnknownEntity (404) for an unknown record, Conflict (409) for a record sent with its code.
    """
    if not reason.strip():
        raise InvalidInput("say why the link is wrong (--reason)")
    listings.advance(reg, actor)
    key = filing.record_key(source, source_record_id)
    with reg.uow(actor) as uow:
        rec = uow.execute(select(records).where(records.c.record_key == key)).first()
        if rec is None:
            raise UnknownEntity(f"no record {source}/{source_record_id}")
        item = uow.execute(
            select(review_queue).where(
                review_queue.c.source == source,
                review_queue.c.source_record_id == source_record_id,
            )
        ).first()
        linked_by = _linked_by(uow, key, rec.subject_id)
        if item is None and linked_by is None:
            raise Conflict(
                f"{source}/{source_record_id} was sent with its subject's code: it was not "
                "linked by the registry, so there is no link to undo (an objection corrects it)"
            )
        item_id = item.item_id if item is not None else "Q" + key[:31]
        evs: list[NewEvent] = []
        if item is None:
            # linked at ingest by the law's mapping: the row goes to the queue as it was sent
            evs.append(
                NewEvent(
                    T.ROW_QUEUED,
                    {
                        "item_id": item_id,
                        "source": source,
                        "source_record_id": source_record_id,
                        "record_type": rec.record_type,
                        "subject_name": rec.subject_name,
                        "reason": f"link undone: {reason.strip()}",
                        "row": _row_of(rec, linked_by or {}),
                    },
                )
            )
        evs.append(
            NewEvent(
                T.LINK_UNDONE,
                {
                    "record_key": key,
                    "record": f"{source}/{source_record_id}",
                    "subject_id": rec.subject_id,
                    "item_id": item_id,
                    "reason": reason.strip(),
                    "decided_by": actor,
                },
                subject_id=rec.subject_id,
            )
        )
        ended = []
        for lrow in uow.execute(
            select(listings_table).where(
                listings_table.c.record_key == key, listings_table.c.status != "ended"
            )
        ):
            evs.append(
                listings.ended(
                    reg,
                    reg.pack.lists[lrow.list_id],
                    lrow.listing_id,
                    lrow.subject_id,
                    key,
                    "link_undone",
                    "link_undone",
                    uow.at,
                )
            )
            ended.append(lrow.listing_id)
        # told to those who read the subject's file before
        evs.append(
            corrections.notify(
                reg, uow, rec.subject_id, "record_unlinked", f"{source}/{source_record_id}",
                rec.subject_id,
            )
        )  # fmt: skip
        uow.emit_many(evs)
        uow.emit_many(grading.regrade(reg, uow.conn, {rec.subject_id}, uow.at))
        uow.commit()
    return {
        "record": f"{source}/{source_record_id}",
        "subject_id": rec.subject_id,
        "item_id": item_id,
        "status": "open",
        "listings_ended": ended,
    }


def judgements(reg: Registry, source: str, source_record_id: str) -> list[dict[str, Any]]:
    """A row's judgements (each subject a reviewer found it is not about), lifted ones too."""
    j = resolution_judgements.c
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(resolution_judgements)
            .where(j.source == source, j.source_record_id == source_record_id)
            .order_by(j.decided_at, j.subject_id)
        ).all()
    return [
        {
            "subject_id": r.subject_id,
            "verdict": r.verdict,
            "reason": r.reason,
            "decided_by": r.decided_by,
            "decided_at": iso(r.decided_at, reg.tz),
            "lifted": None
            if r.lifted_at is None
            else {"at": iso(r.lifted_at, reg.tz), "by": r.lifted_by, "reason": r.lift_reason},
        }
        for r in rows
    ]


def lift_judgement(
    reg: Registry,
    source: str,
    source_record_id: str,
    subject_id: str,
    *,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    """Lift a reviewer's judgement that the row is not about the subject: later runs of the
    model may propose or link the row to it again. Raises UnknownEntity when there is no such
    judgement in force."""
    if not reason.strip():
        raise InvalidInput("say why the judgement no longer holds (--reason)")
    j = resolution_judgements.c
    with reg.uow(actor) as uow:
        row = uow.execute(
            select(resolution_judgements).where(
                j.source == source,
                j.source_record_id == source_record_id,
                j.subject_id == subject_id,
                j.lifted_at.is_(None),
            )
        ).first()
        if row is None:
            raise UnknownEntity(
                f"no judgement in force that {source}/{source_record_id} is not {subject_id}"
            )
        uow.emit(
            NewEvent(
                T.JUDGEMENT_LIFTED,
                {
                    "source": source,
                    "source_record_id": source_record_id,
                    "subject_id": subject_id,
                    "reason": reason.strip(),
                    "decided_by": actor,
                },
            )
        )
        uow.commit()
    return {"record": f"{source}/{source_record_id}", "subject_id": subject_id, "lifted": True}


def _linked_by(uow: UnitOfWork, key: str, subject_id: str) -> dict[str, Any] | None:
    """The ``resolved_by`` of the record's latest filing, when the registry linked it."""
    for (payload,) in uow.execute(
        select(events.c.payload)
        .where(
            events.c.subject_id == subject_id,
            events.c.type.in_([T.RECORD_ACCEPTED, T.RECORD_AMENDED]),
        )
        .order_by(events.c.seq.desc())
    ):
        p = json.loads(payload)
        if p.get("record_key") == key:
            by = p.get("resolved_by")
            return by if isinstance(by, dict) else None
    return None


def _row_of(rec: Any, linked_by: dict[str, Any]) -> dict[str, Any]:
    hints = {}
    code = linked_by.get("evidence", {}).get("legacy_organisation_code")
    if code:
        hints["subject_legacy_code"] = code
    return {
        "record_type": rec.record_type,
        "subject_name": rec.subject_name,
        "authority": rec.authority,
        "decision_ref": rec.decision_ref,
        "decided_on": rec.decided_on.isoformat(),
        "legal_basis": rec.legal_basis,
        "status": rec.status,
        "fields": json.loads(rec.fields),
        "hints": hints,
    }


def _open_item(uow: UnitOfWork, item_id: str) -> Any:
    # read under the log's head lock (taken by the unit of work): two reviewers deciding the
    # same item one after the other see each other's decision
    row = uow.execute(select(review_queue).where(review_queue.c.item_id == item_id)).first()
    if row is None:
        raise UnknownEntity(f"no review item {item_id}")
    if row.status != "open":
        raise Conflict(
            f"review item {item_id} is already {row.status}", detail={"status": row.status}
        )
    return row


def _refuse_if_stale(reg: Registry, uow: UnitOfWork, item: Any, key: str) -> None:
    """A row queued before its source last filed the record (with the code) is out of date:
    ingesting it would roll the record back, so the item can only be rejected. A row queued
    after (a resubmission without the code, e.g. the judgment now performed) amends it."""
    updated = uow.execute(
        select(records.c.updated_at).where(records.c.record_key == key)
    ).scalar_one_or_none()
    if updated is not None and updated >= item.queued_at:
        raise Conflict(
            f"the source filed {item.source}/{item.source_record_id} again on "
            f"{iso(updated, reg.tz)}, after this row was queued; the queued row is out of "
            "date: reject the item",
            detail={"record_updated_at": iso(updated, reg.tz)},
        )


def _as_submitted(item: Any, code: str) -> dict[str, Any]:
    """The row in the interchange format, as its source would have sent it with the code."""
    stored = json.loads(item.row)
    raw = {k: v for k, v in stored.items() if k not in ("fields", "hints", "row")}
    raw.update(stored.get("fields", {}))
    raw.update(stored.get("hints", {}))
    raw["source_record_id"] = item.source_record_id
    raw["subject_id"] = code
    return raw


def _row_number(item: Any) -> int:
    n = json.loads(item.row).get("row")
    return n if isinstance(n, int) else 1


def _outcome(summary: ingest.IngestSummary) -> str:
    if summary.accepted:
        return "accepted"
    if summary.amended:
        return "amended"
    return "unchanged"  # the source resent, without its code, a row already resolved
