"""The read side: listings, public profiles and statistics, from projections (the staff's
work lists are in ``worklists``, finding organisations by name in ``name_search``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..clock import iso, to_utc_naive
from ..db import (
    events,
    listings,
    records,
    review_queue,
    subjects,
)
from ..errors import UnknownEntity
from ..identifiers.protect import mask_person_name
from ..rules.lists import status_at
from . import statements
from .objections import disputes
from .subjects import resolve_code, survivor_at

if TYPE_CHECKING:
    from ..bootstrap import Registry


def _display(row: Any) -> str:
    return str(row.id_masked) if row.kind == "person" else str(row.subject_id)


def _state(row: Any, t: datetime) -> str | None:
    return status_at(t, row.proposed_at, row.notified_at, row.activates_at, row.until, row.ended_at)


def listings_at(
    reg: Registry,
    *,
    list_id: str | None = None,
    state: str | None = None,
    limit: int = 50,
    at: datetime | None = None,
) -> dict[str, Any]:
    moment = at or reg.now()
    t = to_utc_naive(moment)
    q = (
        select(listings, subjects.c.kind, subjects.c.id_masked, subjects.c.name)
        .join(subjects, subjects.c.subject_id == listings.c.subject_id)
        .where(listings.c.proposed_at <= t)
        .order_by(listings.c.proposed_at, listings.c.listing_id)
    )
    if list_id:
        if list_id not in reg.pack.lists:
            raise UnknownEntity(f"unknown list {list_id!r} (known: {', '.join(reg.pack.lists)})")
        q = q.where(listings.c.list_id == list_id)
    counts: dict[str, dict[str, int]] = {
        lid: {} for lid in reg.pack.lists if not list_id or lid == list_id
    }
    shown: list[dict[str, Any]] = []
    with reg.engine.connect() as conn:
        for row in conn.execute(q):
            s = _state(row, t)
            if s is None:
                continue
            c = counts[row.list_id]
            c[s] = c.get(s, 0) + 1
            if (state is None or s == state) and len(shown) < limit:
                shown.append(
                    {
                        "listing_id": row.listing_id,
                        "subject": _display(row),
                        "name": row.name
                        if row.kind == "organisation"
                        else mask_person_name(row.name),
                        "list": row.list_id,
                        "state": s,
                        "decision_ref": row.decision_ref,
                        "since": iso(row.activates_at, reg.tz),
                        "until": iso(row.until, reg.tz),
                        "ended_at": iso(row.ended_at, reg.tz),
                        "end_reason": row.end_reason,
                    }
                )
    return {"as_of": iso(moment, reg.tz), "counts": counts, "listings": shown}


def _open_items(t: Any) -> Any:
    """The review queue's items waiting at ``t`` (naive UTC): queued by then, not decided."""
    return (review_queue.c.status == "open") & (review_queue.c.queued_at <= t)


#: What a public route answers for any resident ID number, right or wrong, listed or not: an
#: answer that differed for the right number would let anyone try the ~2,600 numbers a masked
#: entry leaves until one answers (issue: the lookup oracle).
PERSON_BY_NUMBER = (
    "natural persons are not looked up by ID number on public routes: a listed person's public "
    "entry is reached from the list (its listing id, in the open data and at /v1/listings/{id})"
)


def public_profile(reg: Registry, code: str, at: datetime | None = None) -> dict[str, Any]:
    """What anyone may read about an organisation, by its code: records within their publicity
    period, listings, at any moment.

    A natural person is never found by ID number here (``PERSON_BY_NUMBER``, the same for every
    number); a listed person's entry is reached through the listing (``public_listing``).
    """
    ref = resolve_code(reg, code, subject_ids=False)
    if ref.kind == "person":
        raise UnknownEntity(PERSON_BY_NUMBER)
    into = survivor_at(reg, ref.subject_id, to_utc_naive(at or reg.now()))
    if into is None:
        return subject_profile(reg, ref.subject_id, ref.display, at)
    # a code merged into another is answered as the organisation it is now part of, saying so
    return {
        **subject_profile(reg, into, into, at),
        "asked": {"code": ref.display, "merged_into": into},
    }


def public_listing(reg: Registry, listing_id: str) -> dict[str, Any]:
    """The public entry a listing leads to, now: the listed subject's public profile.

    A natural person appears only while on a black list whose publication the law provides for,
    and then masked; a listing that does not exist, is not yet public or whose person is no
    longer listed answers the same "not found". Public means now: no ``as_of`` for persons.
    """
    lid = (listing_id or "").strip()
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(listings.c.subject_id, subjects.c.kind, subjects.c.id_masked)
            .join(subjects, subjects.c.subject_id == listings.c.subject_id)
            .where(listings.c.listing_id == lid)
        ).first()
    if row is None:
        raise UnknownEntity("no public listing with this id")
    display = _display(row)
    profile = subject_profile(reg, str(row.subject_id), display, None)
    return {"listing_id": lid, **profile}


def subject_profile(
    reg: Registry, subject_id: str, display: str, at: datetime | None = None
) -> dict[str, Any]:
    """The public profile of a subject by its key (``public_profile``, ``public_listing``)."""
    moment = at or reg.now()
    t = to_utc_naive(moment)
    today = moment.astimezone(reg.tz).date()
    with reg.engine.connect() as conn:
        subj = conn.execute(select(subjects).where(subjects.c.subject_id == subject_id)).first()
        if subj is None or subj.registered_at > t:
            raise UnknownEntity(f"no public information on {display}")
        lrows = conn.execute(
            select(listings)
            .where(listings.c.subject_id == subject_id)
            .order_by(listings.c.proposed_at)
        ).all()
        rrows = conn.execute(
            select(records)
            .where(records.c.subject_id == subject_id)
            .order_by(records.c.decided_on, records.c.record_key)
        ).all()
        # an open objection is shown with what it disputes, wherever that is shown
        open_disputes = disputes(reg, conn, [subject_id], t)
        # and the subject's own statement beside it, marked as theirs
        said = statements.shown(reg, conn, [subject_id], t)
    active = []
    for row in lrows:
        s = _state(row, t)
        if s == "active":  # a notified listing is not published during its notice period
            ld = reg.pack.lists[row.list_id]
            active.append(
                {
                    "list": row.list_id,
                    "list_name": ld.name.model_dump(),
                    "kind": ld.kind,
                    "state": s,
                    "decision_ref": row.decision_ref,
                    "legal_basis": reg.pack.cite(ld.legal_basis),
                    "since": iso(row.activates_at, reg.tz),
                    "until": iso(row.until, reg.tz),
                    "how_to_resolve": ld.how_to_resolve.model_dump(),
                    "dispute": open_disputes.of_listing(row.listing_id),
                    "statement": said.of_listing(row.listing_id),
                }
            )
    person = subj.kind == "person"
    if person and not any(a["kind"] == "black" and a["state"] == "active" for a in active):
        raise UnknownEntity(f"no public information on {display}")
    if person:
        from .reads import public_reads

        # a person's listing is public by law, yet reading it is still a read of personal data:
        # counted per day (anyone may read it, so one entry per read would let anyone flood the
        # log and the person's "who looked" page)
        public_reads(reg).add(subject_id, reg.read_moment())
    recs = []
    shown = reg.pack.publication.person_records  # what the pack publishes of a listed person
    for r in rrows:
        if r.first_seen_at > t or r.publicity_until <= today:
            continue
        if r.retracted_at is not None and r.retracted_at <= t:
            continue
        if person and r.record_type not in shown.record_types:
            continue
        recs.append(
            {
                "record_type": r.record_type,
                "record_type_name": reg.pack.record_types[r.record_type].name.model_dump(),
                "authority": r.authority,
                "decision_ref": r.decision_ref,
                "decided_on": r.decided_on.isoformat(),
                "status": r.status,
                "publicity_until": r.publicity_until.isoformat(),
                "fields": {
                    k: v
                    for k, v in json.loads(r.fields).items()
                    if not person or k not in shown.withheld_fields
                },
                "dispute": open_disputes.of_record(r.record_key),
                "statement": said.of_record(r.record_key),
            }
        )
    return {
        "subject": display,
        "kind": subj.kind,
        "name": mask_person_name(subj.name) if person else subj.name,
        "division": subj.division,
        "as_of": iso(moment, reg.tz),
        "rules": reg.pack.rules_on(today),
        "listings": [a for a in active if not person or a["kind"] == "black"],
        "records": recs,
        "sections": _sections(reg, subj.kind, recs, shown.record_types if person else None),
    }


def _sections(
    reg: Registry, kind: str, recs: list[dict[str, Any]], only: list[str] | None
) -> list[dict[str, Any]]:
    """The profile's records by type, in the order the pack publishes them
    (``publication.profile_sections``, then the rest in the pack's order): every type a
    subject of this kind may have, with its records (none: an empty section says so)."""
    first = reg.pack.publication.profile_sections
    order = [*first, *(r for r in reg.pack.record_types if r not in first)]
    out = []
    for rid in order:
        rt = reg.pack.record_types[rid]
        if kind not in rt.subject_kinds or (
            rt.publicity.default == "0d" and not rt.publicity.by_field
        ):
            continue  # never public: no section
        if only is not None and rid not in only:
            continue
        out.append(
            {
                "record_type": rid,
                "name": rt.name.model_dump(),
                "records": [r for r in recs if r["record_type"] == rid],
            }
        )
    return out


def stats(reg: Registry) -> dict[str, Any]:
    t = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        n_subjects = conn.execute(select(func.count()).select_from(subjects)).scalar_one()
        n_records = conn.execute(select(func.count()).select_from(records)).scalar_one()
        n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
        # waiting now: a decided item is no longer "awaiting review" (the home page counted
        # every item ever queued)
        n_review = conn.execute(
            select(func.count()).select_from(review_queue).where(_open_items(t))
        ).scalar_one()
        active: dict[str, int] = {}
        for row in conn.execute(
            select(
                listings.c.list_id,
                listings.c.proposed_at,
                listings.c.notified_at,
                listings.c.activates_at,
                listings.c.until,
                listings.c.ended_at,
            )
        ):
            if _state(row, t) == "active":
                active[row.list_id] = active.get(row.list_id, 0) + 1
        sample_rows = conn.execute(
            select(listings.c.subject_id, listings.c.list_id)
            .join(subjects, subjects.c.subject_id == listings.c.subject_id)
            .where(subjects.c.kind == "organisation")
            .where(listings.c.activates_at <= t)
            .where(listings.c.until > t)
            .where(listings.c.ended_at.is_(None))
            .order_by(listings.c.listing_id)
            .limit(500)
        ).all()
    sample: list[Any] = []
    for lid in reg.pack.lists:  # two examples per list, so every list can be tried
        sample.extend([r for r in sample_rows if r.list_id == lid][:2])
    return {
        "as_of": iso(reg.now(), reg.tz),
        "subjects": n_subjects,
        "records": n_records,
        "events": n_events,
        "review_queue": n_review,
        "active_listings": active,
        "sample_listed": [{"subject": r.subject_id, "list": r.list_id} for r in sample],
    }
