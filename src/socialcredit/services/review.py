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
from ..db import records, review_queue
from ..errors import Conflict, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from . import ingest, listings
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..uow import UnitOfWork


def resolve_item(reg: Registry, item_id: str, subject_code: str, *, actor: str) -> dict[str, Any]:
    """Ingest the queued row for the subject with this USCC or resident ID; close the item.

    Raises InvalidIdentifier (422) for a malformed code, UnknownEntity (404) for an unknown
    item, Conflict (409) for an item already closed or out of date (its source has filed the
    record again since), and InvalidInput (422), naming each field and reason, when the row
    cannot be recorded for this subject.
    """
    ref = resolve_code(reg, subject_code)
    listings.advance(reg, actor)  # what time alone has brought, as before any ingest
    with reg.uow(actor) as uow:
        item = _open_item(uow, item_id)
        key = ingest.record_key(item.source, item.source_record_id)
        _refuse_if_stale(reg, uow, item, key)
        summary = ingest.IngestSummary(source=item.source, file_name=f"review:{item_id}")
        ingest.ingest_within(
            reg,
            uow,
            [(_row_number(item), _as_submitted(item, subject_code))],
            item.source,
            summary,
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
                },
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
