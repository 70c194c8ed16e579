"""The staff's work lists, read from projections: the review queue (rows waiting for a
reviewer, with the model's candidates), the objection inbox (nearest deadline first), and the
listings resting on a source's records (a page at a time)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select

from ..clock import iso, to_utc_naive
from ..db import listings, records, review_queue, subject_details, subjects
from ..identifiers.protect import mask_person_name
from .views import _display, _open_items, _state

if TYPE_CHECKING:
    from ..bootstrap import Registry


def review_items(reg: Registry, limit: int = 50) -> dict[str, Any]:
    """Open items of the review queue as they stood at the registry's moment."""
    t = to_utc_naive(reg.now())
    open_items = _open_items(t)
    with reg.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(review_queue).where(open_items)
        ).scalar_one()
        rows = conn.execute(
            select(review_queue)
            .where(open_items)
            .order_by(review_queue.c.queued_at, review_queue.c.item_id)
            .limit(limit)
        ).all()
        findings = {r.item_id: json.loads(r.resolution) for r in rows if r.resolution}
        wanted = sorted({c["subject_id"] for f in findings.values() for c in f["candidates"]})
        details = {
            d.subject_id: d
            for i in range(0, len(wanted), 500)
            for d in conn.execute(
                select(subject_details).where(subject_details.c.subject_id.in_(wanted[i : i + 500]))
            )
        }
    for f in findings.values():
        for c in f["candidates"]:
            d = details.get(c["subject_id"])
            c["address"] = d.address if d else None
            c["legal_representative"] = d.legal_representative if d else None
    return {
        "open": n,
        "items": [
            {
                "item_id": r.item_id,
                "source": r.source,
                "source_record_id": r.source_record_id,
                "record_type": r.record_type,
                "subject_name": r.subject_name,
                "reason": r.reason,
                "queued_at": iso(r.queued_at, reg.tz),
                "row": json.loads(r.row),
                "finding": findings.get(r.item_id),
            }
            for r in rows
        ],
    }


def objection_inbox(reg: Registry, limit: int = 50, *, source: str | None = None) -> dict[str, Any]:
    """Open and escalated objections, the nearest deadline first; with ``source``, only those
    about that source's records (the ones its staff answer)."""
    from ..db import objections
    from .objections import describe, entry_words

    t = to_utc_naive(reg.now())
    pending = objections.c.status.in_(("open", "escalated")) & (objections.c.filed_at <= t)
    if source is not None:
        pending = pending & objections.c.record_key.in_(
            select(records.c.record_key).where(records.c.source == source)
        )
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                objections,
                subjects.c.kind,
                subjects.c.id_masked,
                subjects.c.subject_id.label("sid"),
            )
            .join(subjects, subjects.c.subject_id == objections.c.subject_id)
            .where(pending)
            .order_by(objections.c.deadline, objections.c.objection_id)
            .limit(limit)
        ).all()
        # what each disputes, by the list or record type's name and its decision reference
        entries = {
            r.objection_id: dict(
                zip(("zh", "en"), entry_words(reg, conn, r.listing_id, r.record_key), strict=True)
            )
            for r in rows
        }
    return {
        "as_of": iso(reg.now(), reg.tz),
        "objections": [
            {
                **describe(reg, r),
                "subject": r.id_masked if r.kind == "person" else r.sid,
                # what staff put in a URL to read the file (/v1/file/{subject_id}): a person's
                # subject id, never the number
                "subject_id": r.sid,
                "entry": entries[r.objection_id],
                "overdue": r.deadline <= t,
            }
            for r in rows
        ],
    }


#: Listings shown on one page of a source's console.
SOURCE_LISTINGS_PAGE = 25


def source_listings(
    reg: Registry,
    source: str,
    *,
    query: str = "",
    list_id: str = "",
    page: int = 1,
    per_page: int = SOURCE_LISTINGS_PAGE,
) -> dict[str, Any]:
    """Listings not yet ended that rest on a source's records, for its staff to follow and end:
    each with the record it rests on and the statuses of that record that end it (with the
    fields each status requires). A page at a time (a court has thousands), filtered by list
    and by a code, a name, a decision reference or the source's record id; with the count of
    each list, so that the filter shows where the listings are."""
    t = to_utc_naive(reg.now())
    live = and_(
        records.c.source == source,
        listings.c.status != "ended",
        listings.c.proposed_at <= t,
        or_(listings.c.until.is_(None), listings.c.until > t),
    )
    where = [live]
    if list_id:
        where.append(listings.c.list_id == list_id)
    q = query.strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        where.append(
            or_(
                listings.c.subject_id == q.upper(),
                subjects.c.name.like(like),
                listings.c.decision_ref.like(like),
                records.c.decision_ref.like(like),
                records.c.source_record_id.like(like),
            )
        )
    base = (
        select(listings.c.listing_id)
        .join(records, records.c.record_key == listings.c.record_key)
        .join(subjects, subjects.c.subject_id == listings.c.subject_id)
    )
    page = max(1, page)
    with reg.engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(base.where(*where).subquery())
        ).scalar_one()
        by_list: dict[str, int] = dict(
            conn.execute(
                select(listings.c.list_id, func.count())
                .join(records, records.c.record_key == listings.c.record_key)
                .where(live)
                .group_by(listings.c.list_id)
            ).all()
        )
        pages = max(1, -(-int(total) // per_page))
        page = min(page, pages)
        rows = conn.execute(
            select(
                listings,
                records.c.source_record_id,
                records.c.record_type,
                records.c.status.label("record_status"),
                records.c.decision_ref.label("record_decision_ref"),
                subjects.c.kind,
                subjects.c.id_masked,
                subjects.c.name,
            )
            .join(records, records.c.record_key == listings.c.record_key)
            .join(subjects, subjects.c.subject_id == listings.c.subject_id)
            .where(*where)
            .order_by(listings.c.proposed_at, listings.c.listing_id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
    out = []
    for r in rows:
        state = _state(r, t)
        if state in (None, "ended"):
            continue
        ld = reg.pack.lists[r.list_id]
        rt = reg.pack.record_types[r.record_type]
        exits = [
            {
                "status": st,
                "requires": sorted(
                    name for name, f in rt.fields.items() if st in f.required_when_status
                ),
            }
            for ex in ld.exit
            if ex.trigger == "record_status"
            for st in ex.status
        ]
        out.append(
            {
                "listing_id": r.listing_id,
                "list": r.list_id,
                "list_name": ld.name.model_dump(),
                "kind": ld.kind,
                "state": state,
                "subject": _display(r),
                "subject_name": mask_person_name(r.name) if r.kind == "person" else r.name,
                "source_record_id": r.source_record_id,
                "record_type": r.record_type,
                "record_status": r.record_status,
                "decision_ref": r.decision_ref or r.record_decision_ref,
                "since": iso(r.activates_at, reg.tz),
                "until": iso(r.until, reg.tz),
                "exits": exits,
            }
        )
    return {
        "as_of": iso(reg.now(), reg.tz),
        "source": source,
        "listings": out,
        "total": int(total),
        "page": page,
        "pages": pages,
        "query": q,
        "list": list_id,
        "by_list": {
            lid: {"name": reg.pack.lists[lid].name.model_dump(), "count": int(n)}
            for lid, n in sorted(by_list.items())
            if lid in reg.pack.lists
        },
    }
