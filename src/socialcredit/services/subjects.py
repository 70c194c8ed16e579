"""Subjects: resolving a code to the registry's key, and a subject's file as of a moment."""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso, to_utc_naive
from ..db import events, reads, subjects
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.store import read
from ..identifiers.protect import PERSON_PREFIX, mask_person_name
from ..identifiers.resident_id import ResidentId
from ..identifiers.uscc import Uscc
from ..projections.notice_text import (
    derived_notice_id,
    proposal_notice,
    record_notice,
    unlink_notice,
)
from ..rules.lists import status_at

if TYPE_CHECKING:
    from ..bootstrap import Registry


@dataclass(frozen=True, slots=True)
class SubjectRef:
    subject_id: str  # USCC for organisations, keyed hash for persons
    kind: str
    display: str  # what may be shown: the USCC, or the masked ID number
    uscc: Uscc | None = None
    resident: ResidentId | None = None
    #: a person's number in its canonical form, read from the code given (never stored in
    #: clear: the subject's registration keeps it encrypted)
    number: str | None = None


#: A person's subject id: what staff and lenders put in a URL instead of the ID number.
SUBJECT_ID = re.compile(r"^P-[0-9a-f]{32}$")


def resolve_code(reg: Registry, code: str, *, subject_ids: bool = True) -> SubjectRef:
    """Read an organisation's number, a person's number, or (``subject_ids``) a person's subject
    id (P-…, what URLs carry instead of the number), by the schemes the pack names; raise
    InvalidIdentifier with the reason.

    The organisation's scheme is tried first: under the Chinese schemes a valid USCC is always
    an organisation (some USCCs are all digits and pass a resident ID's checks too, while a
    resident ID is practically never a valid USCC: its positions 3-8 would have to form a known
    division under a province code and both check characters would have to agree).
    """
    if subject_ids and SUBJECT_ID.match((code or "").strip()):
        return _by_subject_id(reg, code.strip())
    raw = (code or "").strip().upper()
    if not raw:
        raise InvalidIdentifier(code, "empty")
    try:
        org = reg.org_scheme.parse(raw)
        return SubjectRef(org.number, "organisation", org.number, uscc=org.uscc)
    except InvalidIdentifier as exc:
        org_error = exc
    persons = reg.person_scheme
    if persons is not None and persons.looks_like(raw):
        p = persons.parse(raw)
        if p.resident is not None and p.resident.birth_date > reg.now().astimezone(reg.tz).date():
            raise InvalidIdentifier(code, "its birth date is in the future: not a valid number")
        key = reg.protector.subject_key(p.number)
        keep = reg.pack.publication.person_id.keep_last
        return SubjectRef(
            key, "person", persons.mask(p.number, keep), resident=p.resident, number=p.number
        )
    raise org_error


def is_person_number(reg: Registry, code: str) -> bool:
    """Is this a person's number under the pack (one that also reads as an organisation's
    number is an organisation's)?"""
    persons = reg.person_scheme
    if persons is None or not persons.looks_like(code):
        return False
    try:
        reg.org_scheme.parse(code.strip().upper())
    except InvalidIdentifier:
        return True
    return False


def no_number_in_url(reg: Registry, code: str, instead: str) -> None:
    """Refuse a person's number where it would travel in a URL (proxies, servers and
    browsers keep URLs in their logs and histories); ``instead`` says what to send."""
    if is_person_number(reg, code):
        raise InvalidInput(
            f"a person's identity number is never put in a URL (it ends up in logs): {instead}"
        )


def _by_subject_id(reg: Registry, subject_id: str) -> SubjectRef:
    with reg.engine.connect() as conn:
        masked = conn.execute(
            select(subjects.c.id_masked).where(
                (subjects.c.subject_id == subject_id) & (subjects.c.kind == "person")
            )
        ).first()
    if masked is None:
        raise UnknownEntity("no subject with this id")
    return SubjectRef(subject_id, "person", str(masked.id_masked or "(purged)"))


def code_of(reg: Registry, subject_id: str) -> str:
    """The code a subject is known by: its USCC, or (decrypted) a person's ID number."""
    if not subject_id.startswith(PERSON_PREFIX):
        return subject_id
    with reg.engine.connect() as conn:
        cipher = conn.execute(
            select(subjects.c.id_cipher).where(subjects.c.subject_id == subject_id)
        ).scalar_one_or_none()
    if cipher is None:
        raise UnknownEntity("no such subject")
    return reg.protector.decrypt(cipher)


def _body(p: dict[str, Any]) -> dict[str, str]:
    """A notice's text, or the mark a purge left in its place."""
    body = p.get("body")
    if isinstance(body, dict):
        return {"zh": body.get("zh", ""), "en": body.get("en", "")}
    return {"zh": str(body), "en": str(body)}


def _type_name(reg: Registry, record_type: str) -> dict[str, str] | None:
    rt = reg.pack.record_types.get(record_type)
    return rt.name.root if rt is not None else None


def _list_name(reg: Registry, list_id: str) -> dict[str, str] | None:
    ld = reg.pack.lists.get(list_id)
    return ld.name.root if ld is not None else None


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def lookup(reg: Registry, code: str) -> dict[str, Any]:
    ref = resolve_code(reg, code)
    with reg.engine.connect() as conn:
        row = conn.execute(select(subjects).where(subjects.c.subject_id == ref.subject_id)).first()
    if row is None:
        raise UnknownEntity(f"no subject {ref.display} in the register")
    return dict(row._mapping)


def subject_file(
    reg: Registry,
    code: str,
    at: datetime | None = None,
    *,
    reader: str | None = None,
    purpose: str = "view the file",
) -> dict[str, Any]:
    """The subject's file as the registry held it at ``at``: replayed from its own events.

    This is how every "as of" question is answered for a file: the log up to that moment is
    folded again, so the answer cannot be coloured by anything recorded later.
    """
    ref = resolve_code(reg, code)
    moment = at or reg.now()
    until = to_utc_naive(moment)
    if reg._check_index is not None:
        reg._check_index.read_log.flush()  # checks gathered in this process are on file first
    if reader is not None:
        from .reads import record_read

        record_read(
            reg, ref.subject_id, reader, "file", {"purpose": purpose, "as_of": iso(moment, reg.tz)}
        )
    subject: dict[str, Any] | None = None
    recs: dict[str, dict[str, Any]] = {}
    lst: dict[str, dict[str, Any]] = {}
    objs: dict[str, dict[str, Any]] = {}
    stmts: dict[str, dict[str, Any]] = {}
    fixes: list[dict[str, Any]] = []
    reps: dict[str, dict[str, Any]] = {}
    notes: list[dict[str, Any]] = []
    cons: dict[str, dict[str, Any]] = {}
    with reg.engine.connect() as conn:
        merged = _merged_into(conn, ref.subject_id, until)
        streams = [read(conn, subject_id=s, until_at=until) for s in [ref.subject_id, *merged]]
        for ev in heapq.merge(*streams, key=lambda e: e.seq):
            p = json.loads(ev.payload)
            if ev.type == T.SUBJECT_REGISTERED and ev.subject_id != ref.subject_id:
                continue  # a subject merged into this one: its history is read, not its identity
            if ev.type == T.SUBJECT_REGISTERED:
                subject = {
                    "subject": ref.display,
                    "kind": p["kind"],
                    "name": p["name"]
                    if p["kind"] == "organisation" or p["name"] == "(purged)"
                    else mask_person_name(p["name"]),
                    "division": p.get("division"),
                    "known_from": p["known_from"],
                    "registered_at": iso(ev.at, reg.tz),
                }
            elif ev.type in (T.RECORD_ACCEPTED, T.RECORD_AMENDED):
                kind = "record-filed" if ev.type == T.RECORD_ACCEPTED else "record-amended"
                notes.append(
                    {
                        "kind": kind,
                        "notice_id": derived_notice_id(ev.event_id),
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": None,
                        **record_notice(kind, p, _type_name(reg, p["record_type"])),
                    }
                )
                retraction = recs.get(p["record_key"], {}).get("retracted")
                recs[p["record_key"]] = {
                    "record": f"{p['source']}/{p['source_record_id']}",
                    "retracted": retraction,
                    "record_type": p["record_type"],
                    "source": p["source"],
                    "source_record_id": p["source_record_id"],
                    "authority": p["authority"],
                    "decision_ref": p["decision_ref"],
                    "decided_on": p["decided_on"],
                    "legal_basis": p["legal_basis"],
                    "status": p["status"],
                    "fields": p["fields"],
                    "publicity_until": p["publicity_until"],
                    # the rules version and basis that set it (records before versions: none)
                    "publicity_rule": p.get("publicity_rule"),
                    "updated_at": iso(ev.at, reg.tz),
                    # the log's row that holds the record as it stands: its proof is at
                    # /v1/audit/proofs/{log_seq} (``socialcredit audit prove``)
                    "log_seq": ev.seq,
                }
            elif ev.type == T.LISTING_PROPOSED:
                notes.append(
                    {
                        "kind": "listing-proposed",
                        "notice_id": derived_notice_id(ev.event_id),
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": p["listing_id"],
                        **proposal_notice(p, _list_name(reg, p["list_id"])),
                    }
                )
                lst[p["listing_id"]] = {
                    "listing_id": p["listing_id"],
                    "list": p["list_id"],
                    "record_key": p["record_key"],
                    "ground": p.get("ground"),
                    "pending_reason": p.get("pending_reason"),
                    "proposed_at": ev.at,
                    "notified_at": None,
                    "activates_at": None,
                    "until": None,
                    "ended_at": None,
                    "end_reason": None,
                    "end_decision_ref": None,
                    "decision_ref": None,
                }
            elif ev.type == T.LINK_UNDONE:
                recs.pop(p["record_key"], None)
                notes.append(
                    {
                        "kind": "link-undone",
                        "notice_id": derived_notice_id(ev.event_id),
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": None,
                        **unlink_notice(p),
                    }
                )
            elif ev.type == T.RECORD_RETRACTED:
                recs[p["record_key"]]["retracted"] = {
                    "at": iso(ev.at, reg.tz),
                    "reason": p["reason"],
                    "objection_id": p["objection_id"],
                }
            elif ev.type == T.OBJECTION_FILED:
                objs[p["objection_id"]] = {
                    "id": p["objection_id"],
                    "listing_id": p.get("listing_id"),
                    "record_key": p.get("record_key"),
                    "status": "open",
                    "grounds": p["grounds"],
                    "attachments": p["attachments"],
                    "filed_by": p["filed_by"],
                    "filed_at": iso(ev.at, reg.tz),
                    "deadline": iso(datetime.fromisoformat(p["deadline"]), reg.tz),
                    "suspends_listing": p["suspends"],
                    "escalated_at": None,
                    "decided_at": None,
                    "outcome": None,
                    "reason": None,
                }
            elif ev.type == T.OBJECTION_ESCALATED:
                objs[p["objection_id"]].update(status="escalated", escalated_at=iso(ev.at, reg.tz))
            elif ev.type == T.OBJECTION_DECIDED:
                objs[p["objection_id"]].update(
                    status=p["outcome"],
                    outcome=p["outcome"],
                    reason=p["reason"],
                    decided_at=iso(ev.at, reg.tz),
                )
                notes.append(
                    {
                        "kind": "objection-decided",
                        "notice_id": p["notice_id"],
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": p.get("listing_id"),
                        **_body(p),
                    }
                )
            elif ev.type == T.STATEMENT_FILED:
                if p.get("replaces") in stmts:
                    stmts[p["replaces"]].update(status="replaced", ended_at=iso(ev.at, reg.tz))
                stmts[p["statement_id"]] = {
                    "id": p["statement_id"],
                    "listing_id": p.get("listing_id"),
                    "record_key": p.get("record_key"),
                    "statement": p["statement"],
                    "status": "shown",
                    "filed_at": iso(ev.at, reg.tz),
                    "ended_at": None,
                    "reason": None,
                }
            elif ev.type in (T.STATEMENT_REFUSED, T.STATEMENT_WITHDRAWN):
                refused = ev.type == T.STATEMENT_REFUSED
                stmts[p["statement_id"]].update(
                    status="refused" if refused else "withdrawn",
                    ended_at=iso(ev.at, reg.tz),
                    reason=p.get("reason"),
                )
                if refused:
                    notes.append(
                        {
                            "kind": "statement-refused",
                            "notice_id": p["notice_id"],
                            "issued_at": iso(ev.at, reg.tz),
                            "listing_id": p.get("listing_id"),
                            **_body(p),
                        }
                    )
            elif ev.type == T.CORRECTIONS_SENT:
                fixes.append(
                    {
                        "at": iso(ev.at, reg.tz),
                        "what": p["what"],
                        "entry": p["entry"],
                        "told": [r["reader"] for r in p["recipients"]],
                    }
                )
            elif ev.type == T.REPAIR_APPLIED:
                reps[p["repair_id"]] = {
                    "id": p["repair_id"],
                    "listing_id": p["listing_id"],
                    "status": "pending" if p["eligible"] else "ineligible",
                    "eligible": p["eligible"],
                    "reasons": p["reasons"],
                    "evidence": p["evidence"],
                    "applied_at": iso(ev.at, reg.tz),
                    "decision_deadline": iso(_dt(p.get("decision_deadline")), reg.tz),
                    "decided_at": None,
                    "reason": None,
                    "reapply_from": None,
                }
            elif ev.type == T.REPAIR_DECIDED:
                reps[p["repair_id"]].update(
                    status="approved" if p["approved"] else "rejected",
                    reason=p["reason"],
                    decided_at=iso(ev.at, reg.tz),
                    reapply_from=iso(_dt(p.get("reapply_from")), reg.tz),
                )
                notes.append(
                    {
                        "kind": "repair-decided",
                        "notice_id": p["notice_id"],
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": p.get("listing_id"),
                        **_body(p),
                    }
                )
            elif ev.type == T.LISTING_NOTIFIED:
                notes.append(
                    {
                        "kind": "listing-notified",
                        "notice_id": p["notice_id"],
                        "issued_at": iso(ev.at, reg.tz),
                        "listing_id": p["listing_id"],
                        **_body(p),
                    }
                )
                lst[p["listing_id"]].update(
                    notified_at=ev.at,
                    decision_ref=p["decision_ref"],
                    pending_reason=None,
                    activates_at=datetime.fromisoformat(p["activates_at"]),
                    until=datetime.fromisoformat(p["until"]),
                )
            elif ev.type == T.CONSENT_GRANTED:
                cons[p["consent_id"]] = {
                    "consent_id": p["consent_id"],
                    "grantee_kind": p["grantee_kind"],
                    "grantee": p["grantee"],
                    "grantee_name": p["grantee_name"],
                    "purpose": p["purpose"],
                    "record_types": p["record_types"],
                    "granted_at": iso(ev.at, reg.tz),
                    "until": iso(datetime.fromisoformat(p["until"]), reg.tz),
                    "until_utc": datetime.fromisoformat(p["until"]),
                    "revoked_at": None,
                }
            elif ev.type == T.CONSENT_REVOKED:
                cons[p["consent_id"]]["revoked_at"] = iso(ev.at, reg.tz)
            elif ev.type == T.LISTING_ENDED:
                lst[p["listing_id"]].update(
                    ended_at=datetime.fromisoformat(p["effective_at"]),
                    end_reason=p["reason"],
                    end_decision_ref=p.get("decision_ref"),
                )
    if subject is None:
        raise UnknownEntity(f"no subject {ref.display} in the register as of {iso(moment, reg.tz)}")
    listings_out = []
    for item in lst.values():
        state = status_at(
            until,
            item["proposed_at"],
            item["notified_at"],
            item["activates_at"],
            item["until"],
            item["ended_at"],
        )
        ld = reg.pack.lists[item["list"]]
        listings_out.append(
            {
                "id": item["listing_id"],
                "listing_id": item["listing_id"],
                "list": item["list"],
                "list_name": ld.name.model_dump(),
                "status": state,
                "ground": item["ground"],
                "decision_ref": item["decision_ref"],
                "pending_reason": item["pending_reason"] if state == "proposed" else None,
                "legal_basis": reg.pack.cite(ld.legal_basis),
                "proposed_at": iso(item["proposed_at"], reg.tz),
                "notified_at": iso(item["notified_at"], reg.tz),
                "since": iso(item["activates_at"], reg.tz),
                "until": iso(item["until"], reg.tz),
                "ended_at": iso(item["ended_at"], reg.tz) if state == "ended" else None,
                "end_reason": (item["end_reason"] or "expired") if state == "ended" else None,
                "end_decision_ref": item["end_decision_ref"] if state == "ended" else None,
                "how_to_resolve": ld.how_to_resolve.model_dump(),
            }
        )
    return {
        **subject,
        "as_of": iso(moment, reg.tz),
        "rules": reg.pack.rules_on(moment.astimezone(reg.tz).date()),
        "records": sorted(recs.values(), key=lambda r: (r["decided_on"], r["source_record_id"])),
        "listings": listings_out,
        "notices": notes,
        "objections": list(objs.values()),
        "statements": list(stmts.values()),
        "corrections": fixes,
        "repairs": list(reps.values()),
        "consents": [
            {
                **{k: v for k, v in c.items() if k != "until_utc"},
                "status": "revoked"
                if c["revoked_at"]
                else ("active" if until < c["until_utc"] else "expired"),
            }
            for c in reversed(cons.values())
        ],
        "reads": _reads(reg, ref.subject_id, until),
        "merged_from": merged,
        "merged_into": _survivor(reg, ref.subject_id, until),
    }


def survivor_at(reg: Registry, subject_id: str, until: datetime) -> str | None:
    """The subject that answers for ``subject_id`` at ``until`` (naive UTC): the last of the
    subjects it was merged into by then (a merge of a merge followed), or None if it was not
    merged by then. Every public answer on a code (profile, credit report, API, pages) asks
    this, so a merged code is answered as its survivor, never as an empty file; checks read the
    same merges from the same projection (``dedupe.merged_subjects``)."""
    out: str | None = None
    cur, seen = subject_id, {subject_id}
    while (nxt := _survivor(reg, cur, until)) is not None and nxt not in seen:
        seen.add(nxt)
        out = cur = nxt
    return out


def _survivor(reg: Registry, subject_id: str, until: datetime) -> str | None:
    """The subject this one was merged into by ``until``, if a reviewer merged it (the
    projection names the survivor; its own events say when)."""
    with reg.engine.connect() as conn:
        into = conn.execute(
            select(subjects.c.merged_into).where(subjects.c.subject_id == subject_id)
        ).scalar_one_or_none()
        if into is None:
            return None
        return into if subject_id in _merged_into(conn, into, until) else None


def _merged_into(conn: Any, subject_id: str, until: datetime) -> list[str]:
    """Subjects a reviewer merged into this one by ``until`` (and those merged into them)."""
    out: list[str] = []
    todo = [subject_id]
    while todo:
        sid = todo.pop()
        for (payload,) in conn.execute(
            select(events.c.payload).where(
                events.c.subject_id == sid,
                events.c.type == T.SUBJECTS_MERGED,
                events.c.at <= until,
            )
        ):
            m = json.loads(payload)["merged"]
            if m not in out:
                out.append(m)
                todo.append(m)
    return sorted(out)


def _reads(reg: Registry, subject_id: str, until: datetime) -> list[dict[str, Any]]:
    """Who looked at the subject's data, when and why: checks and reads of its file."""
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(reads)
            .where((reads.c.subject_id == subject_id) & (reads.c.at <= until))
            .order_by(reads.c.at, reads.c.read_id)
        ).all()
    return [
        {
            "at": iso(r.at, reg.tz),
            "who": r.reader,
            "kind": r.kind,
            "why": json.loads(r.detail),
            # the log's row that holds the read: its proof is at /v1/audit/proofs/{log_seq}
            "log_seq": r.log_seq,
        }
        for r in rows
    ]
