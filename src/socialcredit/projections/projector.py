"""Apply events to the projection tables, the same way live and during a rebuild.

Everything a projection holds comes from the event (its payload and its ``at``), never from a
clock or another table's state that the event does not name: a rebuild therefore reproduces the
live tables exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, update

from ..db import (
    PROJECTIONS,
    ingest_batches,
    listings,
    notices,
    records,
    review_queue,
    source_tokens,
    subjects,
)
from ..events import types as T
from ..events.chain import canonical
from ..events.store import StoredEvent

Handler = Callable[[Connection, StoredEvent, dict[str, Any]], None]


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _t(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _subject_registered(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        insert(subjects).values(
            subject_id=p["subject_id"],
            kind=p["kind"],
            name=p["name"],
            division=p.get("division"),
            organisation_code=p.get("organisation_code"),
            id_cipher=p.get("id_cipher"),
            id_masked=p.get("id_masked"),
            birth_date=_d(p.get("birth_date")),
            known_from=p["known_from"],
            registered_at=ev.at,
        )
    )


def _record_values(p: dict[str, Any]) -> dict[str, Any]:
    return dict(
        record_type=p["record_type"],
        subject_id=p["subject_id"],
        subject_name=p["subject_name"],
        authority=p["authority"],
        decision_ref=p["decision_ref"],
        decided_on=_d(p["decided_on"]),
        legal_basis=p["legal_basis"],
        status=p["status"],
        fields=canonical(p["fields"]),
        publicity_until=_d(p["publicity_until"]),
        content_hash=p["content_hash"],
    )


def _record_accepted(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        insert(records).values(
            record_key=p["record_key"],
            source=p["source"],
            source_record_id=p["source_record_id"],
            first_seen_at=ev.at,
            updated_at=ev.at,
            version=1,
            **_record_values(p),
        )
    )


def _record_amended(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        update(records)
        .where(records.c.record_key == p["record_key"])
        .values(updated_at=ev.at, version=records.c.version + 1, **_record_values(p))
    )


def _row_queued(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        delete(review_queue).where(
            (review_queue.c.source == p["source"])
            & (review_queue.c.source_record_id == p["source_record_id"])
        )
    )
    conn.execute(
        insert(review_queue).values(
            item_id=p["item_id"],
            source=p["source"],
            source_record_id=p["source_record_id"],
            record_type=p["record_type"],
            subject_name=p["subject_name"],
            reason=p["reason"],
            row=canonical(p["row"]),
            queued_at=ev.at,
            status="open",
        )
    )


def _batch_ingested(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        insert(ingest_batches).values(
            batch_id=p["batch_id"],
            source=p["source"],
            file_name=p.get("file_name"),
            at=ev.at,
            accepted=p["accepted"],
            amended=p["amended"],
            unchanged=p["unchanged"],
            rejected=p["rejected"],
            queued=p["queued"],
            rejects=canonical(p["rejects"]),
        )
    )


def _listing_proposed(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        insert(listings).values(
            listing_id=p["listing_id"],
            subject_id=p["subject_id"],
            list_id=p["list_id"],
            record_key=p["record_key"],
            ground=p.get("ground"),
            status="proposed",
            pending_reason=p.get("pending_reason"),
            proposed_at=ev.at,
        )
    )


def _listing_notified(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        update(listings)
        .where(listings.c.listing_id == p["listing_id"])
        .values(
            status="notified",
            pending_reason=None,
            decision_ref=p["decision_ref"],
            notified_at=ev.at,
            activates_at=_t(p["activates_at"]),
            until=_t(p["until"]),
            duration=p["duration"],
        )
    )
    conn.execute(
        insert(notices).values(
            notice_id=p["notice_id"],
            subject_id=ev.subject_id,
            listing_id=p["listing_id"],
            kind="listing-notified",
            issued_at=ev.at,
            body=canonical(p["body"]),
        )
    )


def _listing_activated(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        update(listings)
        .where(listings.c.listing_id == p["listing_id"])
        .values(
            status="active",
            activated_at=_t(p["effective_at"]),
        )
    )


def _listing_ended(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        update(listings)
        .where(listings.c.listing_id == p["listing_id"])
        .values(
            status="ended",
            ended_at=_t(p["effective_at"]),
            end_reason=p["reason"],
            exit_due_by=_t(p.get("exit_due_by")),
        )
    )


def _token_issued(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        insert(source_tokens).values(
            token_hash=p["token_hash"],
            source=p["source"],
            label=p["label"],
            issued_at=ev.at,
        )
    )


def _token_revoked(conn: Connection, ev: StoredEvent, p: dict[str, Any]) -> None:
    conn.execute(
        update(source_tokens)
        .where(source_tokens.c.token_hash == p["token_hash"])
        .values(revoked_at=ev.at)
    )


EVENT_HANDLERS: dict[str, Handler] = {
    T.SUBJECT_REGISTERED: _subject_registered,
    T.RECORD_ACCEPTED: _record_accepted,
    T.RECORD_AMENDED: _record_amended,
    T.ROW_QUEUED: _row_queued,
    T.BATCH_INGESTED: _batch_ingested,
    T.LISTING_PROPOSED: _listing_proposed,
    T.LISTING_NOTIFIED: _listing_notified,
    T.LISTING_ACTIVATED: _listing_activated,
    T.LISTING_ENDED: _listing_ended,
    T.SOURCE_TOKEN_ISSUED: _token_issued,
    T.SOURCE_TOKEN_REVOKED: _token_revoked,
}


def apply(conn: Connection, evs: Iterable[StoredEvent]) -> None:
    for ev in evs:
        EVENT_HANDLERS[ev.type](conn, ev, json.loads(ev.payload))


def clear(conn: Connection) -> None:
    for table in reversed(PROJECTIONS):
        conn.execute(delete(table))
