"""Apply events to the projection tables, the same way live and during a rebuild.

Everything a projection holds comes from the event (its payload and its ``at``), never from a
clock or another table's state that the event does not name: a rebuild therefore reproduces the
live tables exactly.

Each handler turns an event into (statement, parameters) pairs over statements built once; runs
of the same statement are sent as one executemany, which keeps ingest fast on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Executable,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..bulk import write_many
from ..db import (
    PROJECTIONS,
    consents,
    contacts,
    deliveries,
    grades,
    ingest_batches,
    inspection_plans,
    listings,
    merge_proposals,
    name_grams,
    notices,
    objections,
    principals,
    reads,
    records,
    repairs,
    resolution_judgements,
    review_queue,
    screening_judgements,
    sessions,
    source_tokens,
    statements,
    subject_details,
    subjects,
)
from ..events import types as T
from ..events.chain import canonical
from ..events.store import StoredEvent
from .name_index import grams, normalise
from .notice_text import derived_notice_id, proposal_notice, record_notice, unlink_notice

Op = tuple[Any, dict[str, Any]]  # a statement, or an Upsert resolved per dialect
Handler = Callable[[StoredEvent, dict[str, Any]], list[Op]]


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _t(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


INSERT_SUBJECT = insert(subjects)
INSERT_NAME_GRAM = insert(name_grams)
INSERT_RECORD = insert(records)
UPDATE_RECORD = (
    update(records)
    .where(records.c.record_key == bindparam("k"))
    .values(
        {
            c: bindparam(c)
            for c in (
                "record_type",
                "subject_id",
                "subject_name",
                "authority",
                "decision_ref",
                "decided_on",
                "legal_basis",
                "status",
                "fields",
                "publicity_until",
                "content_hash",
                "updated_at",
            )
        }
        | {"version": records.c.version + 1}
    )
)
DELETE_REVIEW = delete(review_queue).where(
    (review_queue.c.source == bindparam("s")) & (review_queue.c.source_record_id == bindparam("r"))
)
INSERT_REVIEW = insert(review_queue)
CLOSE_REVIEW = (
    update(review_queue)
    .where(review_queue.c.item_id == bindparam("k"))
    .values(status=bindparam("status"))
)
INSERT_BATCH = insert(ingest_batches)
INSERT_LISTING = insert(listings)
PARAM = object()  # in a Patch: the value comes from the parameter of the column's name


@dataclass(frozen=True, eq=False)
class Patch:
    """An UPDATE of one row by its key (parameter ``k``). While the row's INSERT is still held
    in the current run, the change is made to the held row instead: the same row results,
    with one statement fewer (a listing proposed and notified in one batch is one INSERT)."""

    stmt: Executable
    key: str
    sets: dict[str, Any]

    @classmethod
    def of(cls, table: Table, key: str, **sets: Any) -> Patch:
        values = {c: bindparam(c) if v is PARAM else v for c, v in sets.items()}
        stmt = update(table).where(table.c[key] == bindparam("k")).values(values)
        return cls(stmt, key, sets)

    def merge(self, row: dict[str, Any], params: dict[str, Any]) -> None:
        for c, v in self.sets.items():
            row[c] = params[c] if v is PARAM else v


NOTIFY_LISTING = Patch.of(
    listings,
    "listing_id",
    status="notified",
    pending_reason=None,
    decision_ref=PARAM,
    notified_at=PARAM,
    activates_at=PARAM,
    until=PARAM,
    duration=PARAM,
)
INSERT_NOTICE = insert(notices)
ACTIVATE_LISTING = Patch.of(listings, "listing_id", status="active", activated_at=PARAM)
END_LISTING = Patch.of(
    listings, "listing_id", status="ended", ended_at=PARAM, end_reason=PARAM, exit_due_by=PARAM
)
INSERT_TOKEN = insert(source_tokens)
REVOKE_TOKEN = (
    update(source_tokens)
    .where(source_tokens.c.token_hash == bindparam("k"))
    .values(revoked_at=bindparam("revoked_at"))
)


def _subject_registered(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_SUBJECT,
            dict(
                subject_id=p["subject_id"],
                kind=p["kind"],
                name=p["name"],
                division=p.get("division") if p["kind"] == "organisation" else None,
                province=p.get("province") or (p.get("division") or "")[:2] or None,
                organisation_code=p.get("organisation_code"),
                id_cipher=p.get("id_cipher"),
                id_masked=p.get("id_masked"),
                known_from=p["known_from"],
                registered_at=ev.at,
                name_key=normalise(p["name"]) if p["kind"] == "organisation" else None,
            ),
        ),
        *_name_grams(p),
    ]


def _name_grams(p: dict[str, Any]) -> list[Op]:
    if p["kind"] != "organisation":  # a person is never found by name
        return []
    n = len(normalise(p["name"]))
    return [
        (INSERT_NAME_GRAM, {"gram": g, "name_len": n, "subject_id": p["subject_id"]})
        for g in grams(p["name"])
    ]


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
        minor_at_decision=p.get("minor_at_decision"),
        record_version=p.get("record_version"),
    )


def _details(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    d = p.get("subject_details")
    if not d:
        return []
    return [
        (
            UPSERT_DETAILS,
            dict(
                subject_id=p["subject_id"],
                address=d.get("address"),
                legal_representative=d.get("legal_representative"),
                source=p["source"],
                updated_at=ev.at,
            ),
        )
    ]


def _record_accepted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        *_details(ev, p),
        _record_notice(ev, p, "record-filed"),
        (
            INSERT_RECORD,
            dict(
                record_key=p["record_key"],
                source=p["source"],
                source_record_id=p["source_record_id"],
                first_seen_at=ev.at,
                updated_at=ev.at,
                version=1,
                **_record_values(p),
            ),
        ),
    ]


def _record_amended(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        *_details(ev, p),
        _record_notice(ev, p, "record-amended"),
        (UPDATE_RECORD, dict(k=p["record_key"], updated_at=ev.at, **_record_values(p))),
    ]


def _row_queued(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (DELETE_REVIEW, {"s": p["source"], "r": p["source_record_id"]}),
        (
            INSERT_REVIEW,
            dict(
                item_id=p["item_id"],
                source=p["source"],
                source_record_id=p["source_record_id"],
                record_type=p["record_type"],
                subject_name=p["subject_name"],
                reason=p["reason"],
                row=canonical(p["row"]),
                queued_at=ev.at,
                status="open",
            ),
        ),
    ]


def _batch_ingested(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_BATCH,
            dict(
                batch_id=p["batch_id"],
                source=p["source"],
                file_name=p.get("file_name"),
                at=ev.at,
                accepted=p["accepted"],
                amended=p["amended"],
                unchanged=p["unchanged"],
                rejected=p["rejected"],
                queued=p["queued"],
                # batches before schema 0014 carried their rejects in the log; later ones keep
                # them in reject_reports, with only their digest here
                rejects=canonical(p.get("rejects", [])),
                upload_id=p.get("upload_id"),
                last=p.get("last"),
            ),
        )
    ]


def _listing_proposed(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_NOTICE,
            dict(
                notice_id=derived_notice_id(ev.event_id),
                subject_id=ev.subject_id,
                listing_id=p["listing_id"],
                kind="listing-proposed",
                issued_at=ev.at,
                body=canonical(proposal_notice(p)),
            ),
        ),
        (
            INSERT_LISTING,
            dict(
                listing_id=p["listing_id"],
                subject_id=p["subject_id"],
                list_id=p["list_id"],
                record_key=p["record_key"],
                ground=p.get("ground"),
                decision_ref=None,
                status="proposed",
                pending_reason=p.get("pending_reason"),
                proposed_at=ev.at,
                notified_at=None,
                activates_at=None,
                until=None,
                duration=None,
                activated_at=None,
                ended_at=None,
                end_reason=None,
                exit_due_by=None,
            ),
        ),
    ]


def _listing_notified(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            NOTIFY_LISTING,
            dict(
                k=p["listing_id"],
                decision_ref=p["decision_ref"],
                notified_at=ev.at,
                activates_at=_t(p["activates_at"]),
                until=_t(p["until"]),
                duration=p["duration"],
            ),
        ),
        (
            INSERT_NOTICE,
            dict(
                notice_id=p["notice_id"],
                subject_id=ev.subject_id,
                listing_id=p["listing_id"],
                kind="listing-notified",
                issued_at=ev.at,
                body=canonical(p["body"]),
            ),
        ),
    ]


def _listing_activated(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [(ACTIVATE_LISTING, {"k": p["listing_id"], "activated_at": _t(p["effective_at"])})]


def _listing_ended(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            END_LISTING,
            {
                "k": p["listing_id"],
                "ended_at": _t(p["effective_at"]),
                "end_reason": p["reason"],
                "exit_due_by": _t(p.get("exit_due_by")),
            },
        )
    ]


def _token_issued(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_TOKEN,
            dict(
                token_hash=p["token_hash"],
                source=p["source"],
                label=p["label"],
                issued_at=ev.at,
                revoked_at=None,
            ),
        )
    ]


def _token_revoked(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [(REVOKE_TOKEN, {"k": p["token_hash"], "revoked_at": ev.at})]


RETRACT_RECORD = (
    update(records)
    .where(records.c.record_key == bindparam("k"))
    .values(retracted_at=bindparam("retracted_at"), retraction_reason=bindparam("reason"))
)
INSERT_OBJECTION = insert(objections)
ESCALATE_OBJECTION = (
    update(objections)
    .where(objections.c.objection_id == bindparam("k"))
    .values(status="escalated", escalated_at=bindparam("escalated_at"))
)
DECIDE_OBJECTION = (
    update(objections)
    .where(objections.c.objection_id == bindparam("k"))
    .values(
        status=bindparam("status"),
        outcome=bindparam("outcome"),
        reason=bindparam("reason"),
        decided_at=bindparam("decided_at"),
        decided_by=bindparam("decided_by"),
    )
)
INSERT_STATEMENT = insert(statements)
END_STATEMENT = (
    update(statements)
    .where(statements.c.statement_id == bindparam("k"))
    .values(
        status=bindparam("status"),
        ended_at=bindparam("ended_at"),
        reason=bindparam("reason"),
        decided_by=bindparam("decided_by"),
    )
)
INSERT_REPAIR = insert(repairs)
DECIDE_REPAIR = (
    update(repairs)
    .where(repairs.c.repair_id == bindparam("k"))
    .values(
        status=bindparam("status"),
        reason=bindparam("reason"),
        decided_at=bindparam("decided_at"),
        decided_by=bindparam("decided_by"),
        reapply_from=bindparam("reapply_from"),
    )
)


def _notice(ev: StoredEvent, p: dict[str, Any], kind: str, listing_id: str | None) -> Op:
    return (
        INSERT_NOTICE,
        dict(
            notice_id=p["notice_id"],
            subject_id=ev.subject_id,
            listing_id=listing_id,
            kind=kind,
            issued_at=ev.at,
            body=canonical(p["body"]),
        ),
    )


def _record_retracted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [(RETRACT_RECORD, {"k": p["record_key"], "retracted_at": ev.at, "reason": p["reason"]})]


def _objection_filed(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    told = p.get("source_notice")  # the record's source, told through the outbox
    source_ops: list[Op] = (
        [
            (
                INSERT_NOTICE,
                dict(
                    notice_id=told["notice_id"],
                    subject_id=f"source:{told['source']}",
                    listing_id=p.get("listing_id"),
                    kind="objection-filed",
                    issued_at=ev.at,
                    body=canonical(told["body"]),
                ),
            )
        ]
        if told
        else []
    )
    return [
        *source_ops,
        (
            INSERT_OBJECTION,
            dict(
                objection_id=p["objection_id"],
                subject_id=p["subject_id"],
                listing_id=p.get("listing_id"),
                record_key=p.get("record_key"),
                grounds=p["grounds"],
                attachments=canonical(p["attachments"]),
                filed_by=p["filed_by"],
                filed_at=ev.at,
                deadline=_t(p["deadline"]),
                calendar_announced=p["calendar_announced"],
                suspends=p["suspends"],
                status="open",
                escalated_at=None,
                decided_at=None,
                outcome=None,
                reason=None,
                decided_by=None,
            ),
        ),
    ]


def _objection_escalated(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [(ESCALATE_OBJECTION, {"k": p["objection_id"], "escalated_at": ev.at})]


def _objection_decided(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            DECIDE_OBJECTION,
            {
                "k": p["objection_id"],
                "status": p["outcome"],
                "outcome": p["outcome"],
                "reason": p["reason"],
                "decided_at": ev.at,
                "decided_by": p["decided_by"],
            },
        ),
        _notice(ev, p, "objection-decided", p.get("listing_id")),
    ]


def _statement_filed(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    ops: list[Op] = []
    if p.get("replaces"):
        ops.append(_statement_ends(ev, p["replaces"], "replaced", None, p["filed_by"]))
    ops.append(
        (
            INSERT_STATEMENT,
            dict(
                statement_id=p["statement_id"],
                subject_id=p["subject_id"],
                listing_id=p.get("listing_id"),
                record_key=p.get("record_key"),
                statement=p["statement"],
                filed_by=p["filed_by"],
                filed_at=ev.at,
                status="shown",
                ended_at=None,
                reason=None,
                decided_by=None,
            ),
        )
    )
    return ops


def _statement_ends(
    ev: StoredEvent, statement_id: str, status: str, reason: str | None, by: str
) -> Op:
    return (
        END_STATEMENT,
        {
            "k": statement_id,
            "status": status,
            "ended_at": ev.at,
            "reason": reason,
            "decided_by": by,
        },
    )


def _repair_applied(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_REPAIR,
            dict(
                repair_id=p["repair_id"],
                subject_id=p["subject_id"],
                listing_id=p.get("listing_id"),
                record_key=p.get("record_key"),
                evidence=p["evidence"],
                applied_by=p["applied_by"],
                applied_at=ev.at,
                eligible=p["eligible"],
                reasons=canonical(p["reasons"]),
                status="pending" if p["eligible"] else "ineligible",
                decision_deadline=_t(p.get("decision_deadline")),
                decided_at=None,
                reason=None,
                decided_by=None,
                reapply_from=None,
            ),
        )
    ]


def _repair_decided(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            DECIDE_REPAIR,
            {
                "k": p["repair_id"],
                "status": "approved" if p["approved"] else "rejected",
                "reason": p["reason"],
                "decided_at": ev.at,
                "decided_by": p["decided_by"],
                "reapply_from": _t(p.get("reapply_from")),
            },
        ),
        _notice(ev, p, "repair-decided", p.get("listing_id")),
    ]


DELETE_CONTACT = delete(contacts).where(contacts.c.subject_id == bindparam("k"))
INSERT_CONTACT = insert(contacts)
DELETE_DELIVERY = delete(deliveries).where(
    (deliveries.c.notice_id == bindparam("n")) & (deliveries.c.channel == bindparam("c"))
)
INSERT_DELIVERY = insert(deliveries)


def _record_notice(ev: StoredEvent, p: dict[str, Any], kind: str) -> Op:
    return (
        INSERT_NOTICE,
        dict(
            notice_id=derived_notice_id(ev.event_id),
            subject_id=ev.subject_id,
            listing_id=None,
            kind=kind,
            issued_at=ev.at,
            body=canonical(record_notice(kind, p)),
        ),
    )


def _contact_set(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (DELETE_CONTACT, {"k": p["subject_id"]}),
        (
            INSERT_CONTACT,
            dict(
                subject_id=p["subject_id"],
                email=p.get("email"),
                webhook_url=p.get("webhook_url"),
                webhook_secret_cipher=p.get("webhook_secret_cipher"),
                since=ev.at,
            ),
        ),
    ]


def _delivery(ev: StoredEvent, p: dict[str, Any], delivered: bool) -> list[Op]:
    return [
        (DELETE_DELIVERY, {"n": p["notice_id"], "c": p["channel"]}),
        (
            INSERT_DELIVERY,
            dict(
                notice_id=p["notice_id"],
                channel=p["channel"],
                target=p["target"],
                status="delivered"
                if delivered
                else ("retrying" if p.get("next_attempt_at") else "failed"),
                attempts=p["attempt"],
                next_attempt_at=_t(p.get("next_attempt_at")),
                last_error=None if delivered else p.get("error"),
                delivered_at=ev.at if delivered else None,
            ),
        ),
    ]


INSERT_PRINCIPAL = insert(principals)
REVOKE_PRINCIPAL = (
    update(principals)
    .where(principals.c.principal_id == bindparam("k"))
    .values(revoked_at=bindparam("revoked_at"))
)
INSERT_SESSION = insert(sessions)
INSERT_READ = insert(reads)


def _principal_created(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_PRINCIPAL,
            dict(
                principal_id=p["principal_id"],
                role=p["role"],
                name=p["name"],
                username=p.get("username"),
                scope=canonical(p["scope"]),
                token_hash=p.get("token_hash"),
                password_hash=p.get("password_hash"),
                created_at=ev.at,
                revoked_at=None,
            ),
        )
    ]


def _read_row(r: dict[str, Any], log_seq: int | None) -> dict[str, Any]:
    return dict(
        read_id=r["read_id"],
        subject_id=r["subject_id"],
        at=_t(r["at"]),
        reader=r["reader"],
        kind=r["kind"],
        # not hashed: orjson's sorted compact form (the canonical one for the texts and
        # integers a read's detail holds), a tenth of the cost at point-of-service volume
        detail=orjson.dumps(r["detail"], option=orjson.OPT_SORT_KEYS).decode(),
        log_seq=log_seq,
    )


def _reads_recorded(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    """A batch event of reads: before schema 0015 the reads themselves, after it none (its
    facts, ``read-recorded``, came before it)."""
    return [(INSERT_READ, _read_row(r, None)) for r in p.get("reads", ())]


PURGED = "(purged)"
PURGE_SUBJECT = (
    update(subjects)
    .where(subjects.c.subject_id == bindparam("k"))
    .values(name=PURGED, id_cipher=None, id_masked=None, division=None)
)
PURGE_RECORDS = (
    update(records).where(records.c.subject_id == bindparam("k")).values(subject_name=PURGED)
)
PURGE_NOTICES = (
    update(notices)
    .where(
        (notices.c.subject_id == bindparam("k"))
        & notices.c.kind.in_(("listing-notified", "objection-decided", "repair-decided"))
    )
    .values(body=canonical(PURGED))
)
PURGE_OBJECTIONS = (
    update(objections)
    .where(objections.c.subject_id == bindparam("k"))
    .values(grounds=PURGED, attachments=canonical([]))
)
PURGE_STATEMENTS = (
    update(statements).where(statements.c.subject_id == bindparam("k")).values(statement=PURGED)
)
PURGE_REPAIRS = (
    update(repairs).where(repairs.c.subject_id == bindparam("k")).values(evidence=PURGED)
)
PURGE_CONTACTS = (
    update(contacts)
    .where(contacts.c.subject_id == bindparam("k"))
    .values(email=None, webhook_url=None, webhook_secret_cipher=None)
)
PURGE_DELIVERIES = (
    update(deliveries)
    .where(
        deliveries.c.notice_id.in_(
            select(notices.c.notice_id)
            .where(notices.c.subject_id == bindparam("k"))
            .scalar_subquery()
        )
    )
    .values(target=PURGED)
)
PURGE_PRINCIPAL = (
    update(principals)
    .where(principals.c.principal_id == bindparam("pk"))
    # the person's accounts: no name, no login name, no password, and closed
    .values(
        name=PURGED,
        username=None,
        password_hash=None,
        revoked_at=func.coalesce(principals.c.revoked_at, bindparam("at")),
    )
)
PURGE_REVIEW_ITEM = (
    update(review_queue)
    .where(review_queue.c.item_id == bindparam("k"))
    .values(subject_name=PURGED, row=canonical({}))
)
END_SESSIONS_OF = (
    update(sessions)
    .where(sessions.c.principal_id == bindparam("pk"))
    .where(sessions.c.expires_at > bindparam("at"))
    .values(expires_at=bindparam("at"))
)


def _purged(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    k = {"k": p["subject_id"]}
    ops: list[Op] = [
        (stmt, dict(k))
        for stmt in (
            PURGE_SUBJECT,
            PURGE_RECORDS,
            PURGE_DELIVERIES,
            PURGE_NOTICES,
            PURGE_OBJECTIONS,
            PURGE_STATEMENTS,
            PURGE_REPAIRS,
            PURGE_CONTACTS,
        )
    ]
    ops += [(PURGE_REVIEW_ITEM, {"k": item}) for item in p.get("review_items", [])]
    for pid in p.get("principal_ids", []):
        ops += [
            (PURGE_PRINCIPAL, {"pk": pid, "at": ev.at}),
            (END_SESSIONS_OF, {"pk": pid, "at": ev.at}),
        ]
    return ops


END_PUBLICITY = (
    update(records)
    .where(records.c.record_key == bindparam("k"))
    .values(publicity_until=bindparam("until"))
)


@dataclass(frozen=True, eq=False)
class Upsert:
    """Insert a row or replace the one with the same key, as one statement per dialect, so
    that a run of them is one executemany (a delete and an insert per row alternate, and
    every row would be a round trip of its own)."""

    table: Table
    keys: tuple[str, ...]
    by_dialect: dict[str, Executable]

    @classmethod
    def of(cls, table: Table, keys: tuple[str, ...]) -> Upsert:
        stmts: dict[str, Executable] = {}
        for name, make in (("sqlite", sqlite_insert), ("postgresql", pg_insert)):
            stmt = make(table)
            replace = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in keys}
            stmts[name] = stmt.on_conflict_do_update(index_elements=list(keys), set_=replace)
        return cls(table, keys, stmts)


UPSERT_GRADE = Upsert.of(grades, ("subject_id", "method"))
UPSERT_DETAILS = Upsert.of(subject_details, ("subject_id",))
UPSERT_READ = Upsert.of(reads, ("read_id",))
UPSERT_JUDGEMENT = Upsert.of(resolution_judgements, ("source", "source_record_id", "subject_id"))
UPSERT_SCREENING = Upsert.of(screening_judgements, ("principal_id", "query_key", "entity_id"))
LIFT_SCREENING = (
    update(screening_judgements)
    .where(
        (screening_judgements.c.principal_id == bindparam("p"))
        & (screening_judgements.c.query_key == bindparam("q"))
        & (screening_judgements.c.entity_id == bindparam("e"))
    )
    .values(lifted_at=bindparam("lifted_at"))
)


def _public_reads_counted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            UPSERT_READ,
            dict(
                read_id=r["read_id"],
                subject_id=r["subject_id"],
                at=_t(r["at"]),
                reader="public",
                kind="public-count",
                detail=canonical(
                    {"purpose": "public profile", "day": r["day"], "count": r["count"]}
                ),
            ),
        )
        for r in p["reads"]
    ]


EVALUATE_REVIEW = (
    update(review_queue)
    .where(review_queue.c.item_id == bindparam("k"))
    .values(resolution=bindparam("resolution"))
)
REOPEN_REVIEW = (
    update(review_queue)
    .where(review_queue.c.item_id == bindparam("k"))
    .values(status="open", resolution=None, reason=bindparam("reason"))
)
DELETE_RECORD = delete(records).where(records.c.record_key == bindparam("k"))


def _item_evaluated(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    finding = {k: p[k] for k in ("decision", "model", "thresholds", "candidates")}
    if p.get("ambiguous"):
        finding["ambiguous"] = True
    if p.get("judged_different"):
        finding["judged_different"] = p["judged_different"]
    finding["evaluated_at"] = ev.at.isoformat()
    return [(EVALUATE_REVIEW, {"k": p["item_id"], "resolution": canonical(finding)})]


INSERT_PROPOSAL = insert(merge_proposals)
DECIDE_PROPOSAL = (
    update(merge_proposals)
    .where(merge_proposals.c.proposal_id == bindparam("k"))
    .values(
        status=bindparam("status"),
        survivor=bindparam("survivor"),
        decided_by=bindparam("decided_by"),
        reason=bindparam("reason"),
        decided_at=bindparam("decided_at"),
    )
)
MERGE_SUBJECT = (
    update(subjects)
    .where(subjects.c.subject_id == bindparam("k"))
    .values(merged_into=bindparam("survivor"))
)
MOVE_RECORDS = (
    update(records)
    .where(records.c.subject_id == bindparam("k"))
    .values(subject_id=bindparam("survivor"))
)
MOVE_LISTINGS = (
    update(listings)
    .where(listings.c.subject_id == bindparam("k"))
    .values(subject_id=bindparam("survivor"))
)
DROP_GRAMS = delete(name_grams).where(name_grams.c.subject_id == bindparam("k"))
DROP_DETAILS = delete(subject_details).where(subject_details.c.subject_id == bindparam("k"))
DROP_GRADES = delete(grades).where(grades.c.subject_id == bindparam("k"))


def _merge_proposed(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    finding = {k: p[k] for k in ("model", "explanation")}
    return [
        (
            INSERT_PROPOSAL,
            dict(
                proposal_id=p["proposal_id"],
                subject_a=p["subject_a"],
                subject_b=p["subject_b"],
                match_probability=p["match_probability"],
                finding=canonical(finding),
                proposed_at=ev.at,
                status="open",
                survivor=None,
                decided_by=None,
                reason=None,
                decided_at=None,
            ),
        )
    ]


def _decided(p: dict[str, Any], ev: StoredEvent, status: str) -> Op:
    return (
        DECIDE_PROPOSAL,
        dict(
            k=p["proposal_id"],
            status=status,
            survivor=p.get("survivor"),
            decided_by=p["decided_by"],
            reason=p["reason"],
            decided_at=ev.at,
        ),
    )


def _subjects_merged(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    """The merged subject's records and listings become the survivor's; it leaves the name
    index (a search finds the survivor) and keeps its row, marked, for its code to redirect."""
    k = {"k": p["merged"], "survivor": p["survivor"]}
    ops: list[Op] = [
        (MERGE_SUBJECT, k),
        (MOVE_RECORDS, k),
        (MOVE_LISTINGS, k),
        (DROP_GRAMS, {"k": p["merged"]}),
        (DROP_DETAILS, {"k": p["merged"]}),
        (DROP_GRADES, {"k": p["merged"]}),
    ]
    if p.get("proposal_id"):
        ops.append(_decided(p, ev, "merged"))
    return ops


def _link_undone(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (DELETE_RECORD, {"k": p["record_key"]}),
        (
            INSERT_NOTICE,
            dict(
                notice_id=derived_notice_id(ev.event_id),
                subject_id=ev.subject_id,
                listing_id=None,
                kind="link-undone",
                issued_at=ev.at,
                body=canonical(unlink_notice(p)),
            ),
        ),
        (REOPEN_REVIEW, {"k": p["item_id"], "reason": f"link undone: {p['reason']}"}),
        (UPSERT_JUDGEMENT, _judgement(ev, p)),
    ]


def _judgement(ev: StoredEvent, p: dict[str, Any]) -> dict[str, Any]:
    """The reviewer's judgement an undone link makes: the row is not about that subject."""
    source, _, rid = str(p["record"]).partition("/")
    return dict(
        source=source,
        source_record_id=rid,
        subject_id=p["subject_id"],
        verdict="different",
        reason=p["reason"],
        decided_by=p.get("decided_by") or ev.actor,
        decided_at=ev.at,
        lifted_at=None,
        lifted_by=None,
        lift_reason=None,
    )


LIFT_JUDGEMENT = (
    update(resolution_judgements)
    .where(
        resolution_judgements.c.source == bindparam("s"),
        resolution_judgements.c.source_record_id == bindparam("r"),
        resolution_judgements.c.subject_id == bindparam("k"),
    )
    .values(
        lifted_at=bindparam("lifted_at"),
        lifted_by=bindparam("lifted_by"),
        lift_reason=bindparam("lift_reason"),
    )
)


def _judgement_lifted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            LIFT_JUDGEMENT,
            {
                "s": p["source"],
                "r": p["source_record_id"],
                "k": p["subject_id"],
                "lifted_at": ev.at,
                "lifted_by": p.get("decided_by") or ev.actor,
                "lift_reason": p["reason"],
            },
        )
    ]


def _grade_assigned(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            UPSERT_GRADE,
            dict(
                subject_id=p["subject_id"],
                method=p["method"],
                level=p["level"],
                points=p["points"],
                assigned_at=ev.at,
            ),
        ),
    ]


INSERT_PLAN = insert(inspection_plans)
INSERT_CONSENT = insert(consents)
REVOKE_CONSENT = (
    update(consents)
    .where(consents.c.consent_id == bindparam("k"))
    .values(revoked_at=bindparam("revoked_at"))
)


def _consent_granted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    return [
        (
            INSERT_CONSENT,
            dict(
                consent_id=p["consent_id"],
                subject_id=p["subject_id"],
                grantee_kind=p["grantee_kind"],
                grantee=p["grantee"],
                grantee_name=p["grantee_name"],
                purpose=p["purpose"],
                record_types=canonical(p["record_types"]),
                granted_at=ev.at,
                until=_t(p["until"]),
                revoked_at=None,
            ),
        )
    ]


CLOSE_SESSION = (
    update(sessions)
    .where(sessions.c.token_hash == bindparam("k"))
    .values(expires_at=bindparam("at"))
)
MARK_MINOR = (
    update(records).where(records.c.record_key == bindparam("k")).values(minor_at_decision=True)
)


def _quasi_identifiers_redacted(ev: StoredEvent, p: dict[str, Any]) -> list[Op]:
    # the subject-registered events it redacted are projected already without division or
    # birth date; what the birth date decided is kept on each record
    return [(MARK_MINOR, {"k": k}) for k in p.get("minor_records", [])]


EVENT_HANDLERS: dict[str, Handler] = {
    T.SUBJECT_REGISTERED: _subject_registered,
    T.RECORD_ACCEPTED: _record_accepted,
    T.RECORD_AMENDED: _record_amended,
    T.ROW_QUEUED: _row_queued,
    T.REVIEW_ITEM_RESOLVED: lambda ev, p: [
        (CLOSE_REVIEW, {"k": p["item_id"], "status": "resolved"})
    ],
    T.REVIEW_ITEM_REJECTED: lambda ev, p: [
        (CLOSE_REVIEW, {"k": p["item_id"], "status": "rejected"})
    ],
    T.REVIEW_ITEM_EVALUATED: _item_evaluated,
    T.LINK_UNDONE: _link_undone,
    T.JUDGEMENT_LIFTED: _judgement_lifted,
    T.MERGE_PROPOSED: _merge_proposed,
    T.MERGE_KEPT_APART: lambda ev, p: [_decided(p, ev, "kept_apart")],
    T.SUBJECTS_MERGED: _subjects_merged,
    T.BATCH_INGESTED: _batch_ingested,
    T.LISTING_PROPOSED: _listing_proposed,
    T.LISTING_NOTIFIED: _listing_notified,
    T.LISTING_ACTIVATED: _listing_activated,
    T.LISTING_ENDED: _listing_ended,
    T.SOURCE_TOKEN_ISSUED: _token_issued,
    T.SOURCE_TOKEN_REVOKED: _token_revoked,
    T.RECORD_RETRACTED: _record_retracted,
    T.OBJECTION_FILED: _objection_filed,
    T.OBJECTION_ESCALATED: _objection_escalated,
    T.OBJECTION_DECIDED: _objection_decided,
    T.STATEMENT_FILED: _statement_filed,
    T.STATEMENT_REFUSED: lambda ev, p: [
        _statement_ends(ev, p["statement_id"], "refused", p["reason"], p["refused_by"]),
        _notice(ev, p, "statement-refused", p.get("listing_id")),
    ],
    T.STATEMENT_WITHDRAWN: lambda ev, p: [
        _statement_ends(ev, p["statement_id"], "withdrawn", None, p["withdrawn_by"])
    ],
    T.CORRECTIONS_SENT: lambda ev, p: [
        (
            INSERT_NOTICE,
            dict(
                notice_id=r["notice_id"],
                subject_id=f"principal:{r['principal_id']}",  # the reader is the addressee
                listing_id=None,
                kind="correction",
                issued_at=ev.at,
                body=canonical(r["body"]),
            ),
        )
        for r in p["recipients"]
    ],
    T.SCREENING_JUDGED: lambda ev, p: [
        (
            UPSERT_SCREENING,
            dict(
                principal_id=p["principal_id"],
                query_key=p["query_key"],
                entity_id=p["entity_id"],
                verdict=p["verdict"],
                reason=p["reason"],
                judged_at=ev.at,
                lifted_at=None,
            ),
        )
    ],
    T.SCREENING_JUDGEMENT_LIFTED: lambda ev, p: [
        (
            LIFT_SCREENING,
            {"p": p["principal_id"], "q": p["query_key"], "e": p["entity_id"], "lifted_at": ev.at},
        )
    ],
    T.REPAIR_APPLIED: _repair_applied,
    T.REPAIR_DECIDED: _repair_decided,
    T.CONTACT_SET: _contact_set,
    T.NOTICE_DELIVERED: lambda ev, p: _delivery(ev, p, True),
    T.NOTICE_DELIVERY_FAILED: lambda ev, p: _delivery(ev, p, False),
    T.PRINCIPAL_CREATED: _principal_created,
    T.PRINCIPAL_REVOKED: lambda ev, p: [
        (REVOKE_PRINCIPAL, {"k": p["principal_id"], "revoked_at": ev.at})
    ],
    T.SESSION_OPENED: lambda ev, p: [
        (
            INSERT_SESSION,
            dict(
                token_hash=p["token_hash"],
                principal_id=p["principal_id"],
                opened_at=ev.at,
                expires_at=_t(p["expires_at"]),
            ),
        )
    ],
    T.SESSION_CLOSED: lambda ev, p: [(CLOSE_SESSION, {"k": p["token_hash"], "at": ev.at})],
    T.READS_RECORDED: _reads_recorded,
    T.READ_RECORDED: lambda ev, p: [(INSERT_READ, _read_row(p, ev.seq))],
    T.PUBLIC_READS_COUNTED: _public_reads_counted,
    T.PERSONAL_DATA_PURGED: _purged,
    T.QUASI_IDENTIFIERS_REDACTED: _quasi_identifiers_redacted,
    T.GRADE_ASSIGNED: _grade_assigned,
    T.INSPECTION_PLAN_PUBLISHED: lambda ev, p: [
        (
            INSERT_PLAN,
            dict(
                plan_id=p["plan_id"],
                seed=p["seed"],
                digest=p["digest"],
                published_at=ev.at,
                body=canonical(p["plan"]),
            ),
        )
    ],
    T.CONSENT_GRANTED: _consent_granted,
    T.CONSENT_REVOKED: lambda ev, p: [
        (REVOKE_CONSENT, {"k": p["consent_id"], "revoked_at": ev.at})
    ],
    T.RECORD_PUBLICITY_ENDED: lambda ev, p: [
        (END_PUBLICITY, {"k": p["record_key"], "until": _d(p["ended_on"])})
    ],
}


#: Events whose statements read other projections (a purge finds a subject's notices).
BARRIERS = frozenset({T.PERSONAL_DATA_PURGED, T.QUASI_IDENTIFIERS_REDACTED})


class _Run:
    """Rows held for one statement on one table, sent as one executemany when flushed."""

    __slots__ = ("by_key", "keys", "rows", "stmt")

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self.rows: list[dict[str, Any]] = []
        self.keys: set[tuple[Any, ...]] = set()  # an upsert run's keys
        self.by_key: dict[Any, dict[str, Any]] = {}  # an insert run's rows, for patches


def apply(conn: Connection, evs: Iterable[StoredEvent]) -> None:
    """Project events, sending runs of one statement as a single executemany.

    Operations on the same table keep the order of their events; operations on different
    tables are independent (no projection reads another while being written), so a run on one
    table may be held while other tables are written, and is flushed before the next different
    statement on its own table. The few events that read across tables are barriers.
    """
    pending: dict[str, _Run] = {}
    dialect = conn.dialect.name
    for ev in evs:
        ops = EVENT_HANDLERS[ev.type](ev, orjson.loads(ev.payload))
        if ev.type in BARRIERS:
            # it reads across tables: what came before is written first, and it is written
            # at once, in its own order
            for run in pending.values():
                write_many(conn, run.stmt, run.rows)
            pending = {}
            for stmt, params in ops:
                conn.execute(_resolve(stmt, dialect), params)
            continue
        for op, params in ops:
            stmt = _resolve(op, dialect)
            table = stmt.table.name  # type: ignore[attr-defined]
            held = pending.get(table)
            if isinstance(op, Patch) and held is not None:
                row = held.by_key.get(params["k"])
                if row is not None:
                    op.merge(row, params)
                    continue
            key = tuple(params[k] for k in op.keys) if isinstance(op, Upsert) else None
            # a run holds one statement; an upsert run holds each key once (PostgreSQL refuses
            # to update one row twice in one multi-row insert)
            if held is not None and (
                held.stmt is not stmt or (key is not None and key in held.keys)
            ):
                write_many(conn, held.stmt, held.rows)
                held = None
            if held is None:
                held = pending[table] = _Run(stmt)
            held.rows.append(params)
            if key is not None:
                held.keys.add(key)
            patch_key = _PATCHED_BY.get(stmt)
            if patch_key is not None:
                held.by_key[params[patch_key]] = params
    for run in pending.values():
        write_many(conn, run.stmt, run.rows)


#: Inserts whose rows a later Patch of the same table may change while held (by key column).
_PATCHED_BY: dict[Any, str] = {INSERT_LISTING: "listing_id"}


def _resolve(op: Any, dialect: str) -> Executable:
    if isinstance(op, Upsert):
        return op.by_dialect[dialect]
    if isinstance(op, Patch):
        return op.stmt
    stmt: Executable = op
    return stmt


def clear(conn: Connection) -> None:
    for table in reversed(PROJECTIONS):
        conn.execute(delete(table))
