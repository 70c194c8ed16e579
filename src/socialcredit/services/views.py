"""The read side: listings, the review queue, public profiles and statistics, from projections."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, or_, select, text

from ..clock import iso, to_utc_naive
from ..db import (
    events,
    listings,
    name_grams,
    records,
    review_queue,
    subject_details,
    subjects,
)
from ..errors import InvalidInput, UnknownEntity
from ..identifiers.protect import mask_person_name
from ..projections.name_index import grams, normalise
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


#: Postings counted per pair before a search picks the rarest one to read (a bound, not a limit).
GRAM_COUNT_CAP = 5000
#: A near-match search reads the postings of the query's pairs that have fewer than this many
#: names ("公司" and "有限" have nearly every name: they tell nothing and would cost the most).
SIMILAR_POSTINGS_MAX = 20000
#: How many names sharing the most pairs with the query are scored by rapidfuzz.
SIMILAR_CANDIDATES = 200
#: rapidfuzz's ``WRatio`` (0-100) a near match must reach.
SIMILAR_MIN_SCORE = 75.0
#: Near matches are looked for only for queries this long (after normalisation): a short query
#: is a part of a name, and names merely resembling it would be noise.
SIMILAR_MIN_CHARS = 6


def search(reg: Registry, query: str, limit: int = 20) -> dict[str, Any]:
    """Organisations by USCC, by legacy organisation code, or by (part of) their name.

    Codes are looked up by key; names through the name index (``projections/name_index.py``):
    the postings of the query's rarest pair of characters are read shortest name first, and
    each candidate's whole name is checked, so a search costs about what it returns. A name
    search needs two characters. Natural persons are not searchable, by name or by number: a
    listed person is reached from the list (see ``public_listing``).
    """
    q = " ".join((query or "").split())
    if not q:
        return {"query": q, "results": [], "more": False, "too_short": False}
    if len(q) > 100:
        raise InvalidInput("a search is at most 100 characters")
    t = to_utc_naive(reg.now())
    key = normalise(q)
    code = q.replace(" ", "").replace("-", "").upper()
    cols = (subjects.c.subject_id, subjects.c.name, subjects.c.division)
    org = (subjects.c.kind == "organisation") & (subjects.c.registered_at <= t)
    with reg.engine.connect() as conn:
        rows: list[Any] = []
        if len(code) == 18:
            rows = list(conn.execute(select(*cols).where(org, subjects.c.subject_id == code)))
        elif len(code) == 9:  # GB 11714 code, kept as XXXXXXXX-X; typed with or without "-"
            rows = list(
                conn.execute(
                    select(*cols)
                    .where(org, subjects.c.organisation_code == f"{code[:8]}-{code[8]}")
                    .order_by(subjects.c.subject_id)
                    .limit(limit + 1)
                )
            )
        match = {r.subject_id: "code" for r in rows}
        if len(key) >= 2 and len(rows) <= limit:
            named = _names_containing(conn, key, t, limit + 1)
            rows = (rows + [r for r in named if r.subject_id not in match])[: limit + 1]
            match |= {r.subject_id: "name" for r in named if r.subject_id not in match}
        if len(key) >= SIMILAR_MIN_CHARS and len(rows) < limit:
            similar = _names_similar(conn, key, t, limit - len(rows), exclude=set(match))
            rows += similar
            match |= {r.subject_id: "similar" for r in similar}
        ids = [r.subject_id for r in rows[:limit]]
        listed: dict[str, set[str]] = {}
        if ids:
            for r in conn.execute(select(listings).where(listings.c.subject_id.in_(ids))):
                if _state(r, t) == "active":
                    listed.setdefault(r.subject_id, set()).add(r.list_id)
    return {
        "query": q,
        "results": [
            {
                "subject": r.subject_id,
                "name": r.name,
                "division": r.division,
                "match": match.get(r.subject_id, "name"),
                "lists": [
                    {
                        "list": lid,
                        "kind": reg.pack.lists[lid].kind,
                        "name": reg.pack.lists[lid].name.model_dump(),
                    }
                    for lid in sorted(listed.get(r.subject_id, ()))
                ],
            }
            for r in rows[:limit]
        ],
        "more": len(rows) > limit,
        "too_short": not rows and len(key) < 2,
    }


def _posting_sizes(conn: Connection, pairs: list[str], cap: int) -> dict[str, int]:
    """How many names each pair has, counted up to ``cap``, in one statement."""
    counts = [
        select(func.count())
        .select_from(
            select(name_grams.c.subject_id).where(name_grams.c.gram == g).limit(cap).subquery()
        )
        .scalar_subquery()
        for g in pairs
    ]
    row = conn.execute(select(*counts)).one()
    return dict(zip(pairs, (int(n) for n in row), strict=True))


def _names_similar(
    conn: Connection, key: str, t: datetime, want: int, exclude: set[str]
) -> list[Any]:
    """Up to ``want`` organisations whose names are close to ``key`` without containing it (a
    typo, a character missing or added, a different legal form), best first: the candidates of
    :func:`similar_names`, ranked against the query by rapidfuzz's ``WRatio``; those below
    ``SIMILAR_MIN_SCORE`` are dropped."""
    found = similar_names(conn, key, t, SIMILAR_CANDIDATES)
    return _ranked(key, [c for c in found if c.subject_id not in exclude], want)


def similar_names(conn: Connection, key: str, t: datetime, n: int) -> list[Any]:
    """Up to ``n`` organisations registered by ``t`` (``subject_id``, ``name``, ``division``)
    whose names share the most character pairs with ``key`` (a normalised name), counted in the
    database over the postings of the key's informative pairs; on PostgreSQL with pg_trgm, the
    names most similar by the database's trigram index. Unranked beyond that: the caller
    scores them (name search with rapidfuzz, resolution with its model)."""
    schema = _trgm(conn)
    if schema is not None:
        return list(
            conn.execute(
                text(
                    "SELECT subject_id, name, division FROM subjects "
                    f'WHERE name_key OPERATOR("{schema}".%) :q AND registered_at <= :t '
                    f'ORDER BY "{schema}".similarity(name_key, :q) DESC, subject_id LIMIT :n'
                ),
                {"q": key, "t": t, "n": n},
            )
        )
    pairs = grams(key)
    sizes = _posting_sizes(conn, pairs, SIMILAR_POSTINGS_MAX)
    useful = [g for g in pairs if 0 < sizes[g] < SIMILAR_POSTINGS_MAX]
    if not useful:
        return []
    shared = func.count().label("shared")
    top = (
        select(name_grams.c.subject_id, shared)
        .where(name_grams.c.gram.in_(useful))
        .group_by(name_grams.c.subject_id)
        .having(func.count() >= max(1, (len(useful) + 1) // 3))
        .order_by(shared.desc(), name_grams.c.subject_id)
        .limit(n)
        .subquery()
    )
    return list(
        conn.execute(
            select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
            .join(top, top.c.subject_id == subjects.c.subject_id)
            .where(subjects.c.registered_at <= t, subjects.c.kind == "organisation")
        )
    )


def _ranked(key: str, cands: list[Any], want: int) -> list[Any]:
    """The candidates close enough to ``key`` by rapidfuzz's ``WRatio``, best first."""
    from rapidfuzz import fuzz, process

    scored = process.extract(
        key,
        [normalise(c.name) for c in cands],
        scorer=fuzz.WRatio,
        limit=None,
        score_cutoff=SIMILAR_MIN_SCORE,
    )
    best = sorted(scored, key=lambda m: (-m[1], len(cands[m[2]].name), cands[m[2]].subject_id))
    return [cands[i] for _, _, i in best[:want]]


#: Per database (its URL): the schema of pg_trgm where the trigram index on names exists.
_TRGM: dict[str, str | None] = {}


def _trgm(conn: Connection) -> str | None:
    """The schema of the pg_trgm extension when the names' trigram index exists (migration
    0012 creates it where it can), else None: SQLite, or PostgreSQL without the extension."""
    if conn.dialect.name != "postgresql":
        return None
    url = conn.engine.url.render_as_string(hide_password=False)
    if url not in _TRGM:
        _TRGM[url] = conn.execute(
            text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm' AND EXISTS ("
                "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_subjects_name_key_trgm' "
                "AND schemaname = current_schema())"
            )
        ).scalar()
    return _TRGM[url]


def _names_containing(conn: Connection, key: str, t: datetime, want: int) -> list[Any]:
    """Up to ``want`` organisations registered by ``t`` whose normalised name contains ``key``,
    shortest name first (then by code).

    On PostgreSQL with pg_trgm, a key of three characters or more is found through the
    database's trigram index; otherwise (and for two characters, which make no trigram)
    through the pair index."""
    if len(key) >= 3 and _trgm(conn) is not None:
        return list(
            conn.execute(
                select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
                .where(
                    subjects.c.name_key.like(f"%{key}%"),
                    subjects.c.registered_at <= t,
                )
                .order_by(func.length(subjects.c.name_key), subjects.c.subject_id)
                .limit(want)
            )
        )
    pairs = grams(key)
    postings = _posting_sizes(conn, pairs, GRAM_COUNT_CAP)
    rarest = min(pairs, key=lambda g: (postings[g], g))
    if postings[rarest] == 0:
        return []
    stmt = (
        select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
        .join(subjects, subjects.c.subject_id == name_grams.c.subject_id)
        .where(
            name_grams.c.gram == rarest,
            name_grams.c.name_len >= len(key),
            subjects.c.registered_at <= t,
        )
        .order_by(name_grams.c.name_len, name_grams.c.subject_id)
    )
    found: list[Any] = []
    result = conn.execution_options(yield_per=256).execute(stmt)
    try:
        for r in result:
            if key in normalise(r.name):
                found.append(r)
                if len(found) >= want:
                    break
    finally:
        result.close()
    return found
