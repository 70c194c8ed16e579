"""Filing one valid row as a record, and what follows from it in the same batch.

``ingest`` validates a batch's rows and finds their subjects; each row that goes on is filed
here: compared with the version on file (unchanged, an amendment, or a stale row refused), its
publicity worked out under the rules version that governs it, its subject (and each person it
names) registered on first sight, and the lists it grounds evaluated: listings ended by its
status, superseded by a newer record, or proposed and notified. ``BatchState`` is what a batch
reads and changes meanwhile: the records, subjects and open listings it touches, read once
(``prefetch``) and kept up to date as its events are made.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from ..bulk import among
from ..db import listings, records, repairs, subjects
from ..events import types as T
from ..events.chain import canonical
from ..events.types import NewEvent
from ..identifiers.protect import mask_person_name
from ..ingest.readers import RowProblem
from ..ingest.validate import ValidRow
from ..policy.durations import Duration, add_duration
from ..policy.model import Basis
from ..policy.versions import governing_publicity
from ..rules import lists as rules
from . import listings as listing_events
from .subjects import SubjectRef

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from .ingest import IngestSummary


def record_key(source: str, source_record_id: str) -> str:
    return hashlib.sha256(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:32]


@dataclass
class _Open:
    listing_id: str
    list_id: str
    record_key: str
    subject_id: str
    status: str
    grounded_on: date | None


class _OpenListings:
    """The batch's open listings, found by record and by subject without a scan."""

    def __init__(self) -> None:
        self.by_id: dict[str, _Open] = {}
        self._by_record: dict[str, dict[str, _Open]] = {}
        self._by_subject: dict[str, dict[str, _Open]] = {}

    def add(self, op: _Open) -> None:
        self.by_id[op.listing_id] = op
        self._by_record.setdefault(op.record_key, {})[op.listing_id] = op
        self._by_subject.setdefault(op.subject_id, {})[op.listing_id] = op

    def remove(self, op: _Open) -> None:
        del self.by_id[op.listing_id]
        del self._by_record[op.record_key][op.listing_id]
        del self._by_subject[op.subject_id][op.listing_id]

    def of_record(self, record_key: str) -> list[_Open]:
        return list(self._by_record.get(record_key, {}).values())

    def of_subject(self, subject_id: str) -> list[_Open]:
        return list(self._by_subject.get(subject_id, {}).values())


class BatchState:
    """The state one batch reads and changes: prefetched rows, updated as events are made."""

    def __init__(self, reg: Registry, source: str, at: datetime, summary: IngestSummary) -> None:
        self.reg = reg
        self.pack = reg.pack
        self.source = source
        self.at = at  # naive UTC
        self.summary = summary
        self.batch_id = uuid.uuid4().hex
        self.events: list[NewEvent] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.subjects: dict[str, dict[str, Any]] = {}
        self.open = _OpenListings()
        self.publicity: dict[tuple[str, date], date] = {}  # (period, decided on): until
        self.rules: dict[Any, dict[str, Any]] = {}  # the publicity rules cited, shared
        #: the persons each row names beside its subject (person_id fields), by row number:
        #: the person and the name the row gives
        self.named: dict[int, dict[str, tuple[SubjectRef, str]]] = {}
        #: rows that name a person without the ID number that keys them: why, and the row as sent
        self.unnamed: dict[int, tuple[str, ValidRow]] = {}

    def emit(self, ev: NewEvent) -> None:
        self.events.append(ev)


def _chunks(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def prefetch(conn: Any, st: BatchState, valid: list[tuple[ValidRow, SubjectRef | None]]) -> None:
    keys = sorted({record_key(st.source, r.source_record_id) for r, _ in valid})
    sids = sorted(
        {ref.subject_id for _, ref in valid if ref is not None}
        | {p.subject_id for named in st.named.values() for p, _name in named.values()}
    )
    dialect = conn.dialect.name
    for chunk in _chunks(keys):
        for row in conn.execute(select(records).where(among(records.c.record_key, chunk, dialect))):
            st.records[row.record_key] = _record_state(row._mapping)
        for row in conn.execute(
            select(repairs.c.record_key).where(
                among(repairs.c.record_key, chunk, dialect) & (repairs.c.status == "approved")
            )
        ):
            # an approved repair ended the record's publicity: a resubmission keeps that end
            st.records[row.record_key]["repaired"] = True
    for chunk in _chunks(sids):
        for row in conn.execute(
            select(subjects.c.subject_id, subjects.c.kind).where(
                among(subjects.c.subject_id, chunk, dialect)
            )
        ):
            st.subjects[row.subject_id] = {"kind": row.kind}
    for kchunk, schunk in _pairs(list(_chunks(keys)), list(_chunks(sids))):
        q = (
            select(listings, records.c.decided_on)
            .join(records, records.c.record_key == listings.c.record_key)
            .where(listings.c.status != "ended")
            .where(
                or_(
                    among(listings.c.record_key, kchunk, dialect),
                    among(listings.c.subject_id, schunk, dialect),
                )
            )
        )
        for row in conn.execute(q):
            st.open.add(
                _Open(
                    row.listing_id,
                    row.list_id,
                    row.record_key,
                    row.subject_id,
                    row.status,
                    row.decided_on,
                )
            )


def _pairs(a: list[list[str]], b: list[list[str]]) -> Iterable[tuple[list[str], list[str]]]:
    n = max(len(a), len(b))
    for i in range(n):
        yield (a[i] if i < len(a) else [], b[i] if i < len(b) else [])


def _record_state(m: Any) -> dict[str, Any]:

    return {
        "subject_id": m["subject_id"],
        "record_type": m["record_type"],
        "status": m["status"],
        "content_hash": m["content_hash"],
        "decided_on": m["decided_on"],
        "fields": json.loads(m["fields"]),
        "decision_ref": m["decision_ref"],
        "subject_name": m["subject_name"],
        "authority": m["authority"],
        "retracted": m["retracted_at"] is not None,
        "publicity_until": m["publicity_until"],
        "repaired": False,
        "record_version": m["record_version"],
    }


def _ends(st: BatchState, term: str, decided_on: date) -> date:
    """The day a publicity term counted from a decision date ends (computed once a batch)."""
    until = st.publicity.get((term, decided_on))
    if until is None:
        start = datetime.combine(decided_on, time(0, 0), tzinfo=st.reg.tz)
        until = add_duration(start, Duration.parse(term), st.reg.calendar, st.reg.tz).at.date()
        st.publicity[(term, decided_on)] = until
    return until


def _rule(st: BatchState, version: str, basis: Basis, **more: Any) -> dict[str, Any]:
    key = (version, tuple((b.cite, b.article) for b in basis), tuple(sorted(more.items())))
    rule = st.rules.get(key)
    if rule is None:
        rule = st.rules[key] = {"version": version, "legal_basis": st.pack.cite(basis), **more}
    return rule


def _publicity_until(st: BatchState, row: ValidRow) -> tuple[date, dict[str, Any]]:
    """The day the record's publicity ends and the version and basis that governed
    (``policy.versions.governing_publicity``: the rules of the decision date, or a later and
    lighter version from the day it takes effect)."""
    until, version, basis, lenient = governing_publicity(
        st.pack, row.record_type, row.decided_on, row.fields, lambda t, d: _ends(st, t, d)
    )
    rule = _rule(st, version, basis, lenient=True) if lenient else _rule(st, version, basis)
    return until, rule


def _publicity(
    st: BatchState, row: ValidRow, old: dict[str, Any] | None, subject_id: str
) -> tuple[date, dict[str, Any]]:
    rt, version = st.pack.record_type_at(row.record_type, row.decided_on)
    barred = rt.publicity.not_while_listed
    if barred and any(
        op.list_id in barred and op.status == "active" for op in st.open.of_subject(subject_id)
    ):
        # never public: the subject is under a measure that bars it
        return row.decided_on, _rule(st, version, rt.publicity.basis, not_while_listed=True)
    until, rule = _publicity_until(st, row)
    if old is not None and old.get("repaired") and old["publicity_until"] < until:
        return old["publicity_until"], rule
    return until, rule


def _register_subject(st: BatchState, name: str, ref: SubjectRef) -> None:
    if ref.subject_id in st.subjects:
        return
    p: dict[str, Any] = {"subject_id": ref.subject_id, "kind": ref.kind, "known_from": st.source}
    if ref.kind == "organisation":
        p["name"] = name
        if ref.uscc is not None:
            p.update(division=ref.uscc.division, organisation_code=ref.uscc.organisation_code)
    elif ref.number is not None:
        # no part of the number in clear (DESIGN.md section 7): the province for statistics
        # is all that is kept of a resident ID's division, and the birth date is not kept at
        # all (each record keeps whether the person was a minor at its decision date instead)
        p["name"] = name
        if ref.resident is not None:
            p["province"] = ref.number[:2]
        p.update(
            id_cipher=st.reg.protector.encrypt(ref.number),
            id_masked=ref.display,
        )
    st.emit(NewEvent(T.SUBJECT_REGISTERED, p, subject_id=ref.subject_id))
    st.subjects[ref.subject_id] = {"kind": ref.kind}
    st.summary.subjects_registered += 1


#: Hints a source gives about an organisation it names by its code, kept as the organisation's
#: details (``subject_details``) for resolving later rows that come without one.
_DETAILS = (
    ("subject_address", "address"),
    ("subject_legal_representative", "legal_representative"),
)


def _stale(st: BatchState, row: ValidRow, old: dict[str, Any]) -> RowProblem | None:
    """A row older than the version on file, which must not overwrite it: a day-old file sent
    again set a performed judgment back to unperformed and listed the debtor again on a
    decision already used. The source's ``record_version``, where both have one, decides;
    otherwise a row decided before the version on file is refused, and so is a row that would
    take a record out of a status that ended its listings without a later decision."""
    new_v, old_v = row.record_version, old.get("record_version")
    if new_v is not None and old_v is not None and new_v != old_v:
        if new_v < old_v:
            return RowProblem(
                row.row,
                "record_version",
                f"version {new_v} is older than version {old_v} on file: send the current one",
            )
        return None  # a newer version of the source's own record wins
    if new_v is not None and old_v is None:
        return None
    on_file = old["decided_on"]
    if row.decided_on < on_file:
        return RowProblem(
            row.row,
            "decided_on",
            f"decided on {row.decided_on.isoformat()}, before the version on file (decided "
            f"{on_file.isoformat()}): an older file cannot overwrite a later decision (to "
            "correct the date, send the row with a record_version above the last one)",
        )
    exits = [
        ld
        for ld in rules.lists_for_record_type(st.pack, row.record_type)
        if rules.status_exit(ld, old["status"]) is not None
    ]
    if (
        exits
        and row.status != old["status"]
        and not any(rules.status_exit(ld, row.status) for ld in exits)
        and row.decided_on <= on_file
    ):
        return RowProblem(
            row.row,
            "status",
            f"the record is {old['status']} on file, which ended its listings; a row decided "
            f"on {row.decided_on.isoformat()} cannot set it back to {row.status} (a stale "
            "file?). A new obligation is a new record; to correct this one, send it with a "
            "record_version above the last one",
        )
    return None


def file_row(
    st: BatchState, row: ValidRow, ref: SubjectRef, *, resolved_by: dict[str, Any] | None = None
) -> RowProblem | None:
    """``resolved_by``: how a row sent without a code was linked to ``ref``; it goes into the
    event's payload but not into the content hash, so a resubmission is judged on what the
    source said, and an identical codeless row, linked the same way again, is unchanged."""
    key = record_key(st.source, row.source_record_id)
    named = st.named.get(row.row, {})
    content = {**row.content(), "subject_id": ref.subject_id}
    if named:  # who the record names, by the key the registry gives them (never the number)
        content["named"] = {f: p.subject_id for f, (p, _name) in sorted(named.items())}
    content_hash = hashlib.sha256(canonical(content).encode()).hexdigest()
    old = st.records.get(key)
    if old is not None:
        if old["content_hash"] == content_hash:
            st.summary.unchanged += 1
            return None
        if old["subject_id"] != ref.subject_id:
            return RowProblem(
                row.row,
                "subject_id",
                "differs from the subject this record was filed about; a record "
                "cannot move to another subject (submit a correction instead)",
            )
        if old["record_type"] != row.record_type:
            return RowProblem(
                row.row,
                "record_type",
                f"this record was filed as {old['record_type']}; its type cannot change",
            )
        stale = _stale(st, row, old)
        if stale is not None:
            return stale
    _register_subject(st, row.subject_name, ref)
    for person, name in named.values():
        _register_subject(st, name, person)
    publicity_until, publicity_rule = _publicity(st, row, old, ref.subject_id)
    payload = {
        **content,
        "record_key": key,
        "source": st.source,
        "source_record_id": row.source_record_id,
        "publicity_until": publicity_until.isoformat(),
        # the rules version (and, when a later rule is lighter, the Art. 37 case) that governed
        "publicity_rule": publicity_rule,
        "content_hash": content_hash,
    }
    minor = (
        rules.age_on(ref.resident.birth_date, row.decided_on) < 18
        if ref.resident is not None
        else None
    )
    if minor is not None:
        payload["minor_at_decision"] = minor
    if resolved_by is not None:
        payload["resolved_by"] = resolved_by
    elif ref.kind == "organisation":
        details = {k: row.hints[h] for h, k in _DETAILS if row.hints.get(h)}
        if details:
            payload["subject_details"] = details
    if old is None:
        st.emit(NewEvent(T.RECORD_ACCEPTED, payload, subject_id=ref.subject_id))
        st.summary.accepted += 1
    else:
        payload["previous_status"] = old["status"]
        st.emit(NewEvent(T.RECORD_AMENDED, payload, subject_id=ref.subject_id))
        st.summary.amended += 1
    st.records[key] = {
        "subject_id": ref.subject_id,
        "record_type": row.record_type,
        "status": row.status,
        "content_hash": content_hash,
        "decided_on": row.decided_on,
        "record_version": row.record_version,
        "fields": row.fields,
        "decision_ref": row.decision_ref,
        "subject_name": row.subject_name,
        "authority": row.authority,
        "retracted": bool(old and old.get("retracted")),
        "repaired": bool(old and old.get("repaired")),
        "publicity_until": date.fromisoformat(payload["publicity_until"]),
    }
    subj = st.subjects[ref.subject_id]
    facts = rules.RecordFacts(
        record_key=key,
        record_type=row.record_type,
        status=row.status,
        subject_id=ref.subject_id,
        subject_kind=subj["kind"],
        decided_on=row.decided_on,
        decision_ref=row.decision_ref,
        fields=row.fields,
        minor_at_decision=minor,
        named={
            f: rules.NamedPerson(
                p.subject_id,
                rules.age_on(p.resident.birth_date, row.decided_on) < 18 if p.resident else None,
            )
            for f, (p, _name) in named.items()
        },
    )
    names = {p.subject_id: mask_person_name(n) for p, n in named.values()}
    names[ref.subject_id] = (
        row.subject_name if ref.kind == "organisation" else mask_person_name(row.subject_name)
    )
    if st.records[key]["retracted"]:
        # an objection found this record wrong; a resubmission is kept but grounds no listing
        return None
    _evaluate_lists(
        st,
        facts,
        is_new=old is None,
        names=names,
        authority=row.authority,
        exit_ref=row.exit_decision_ref,
    )
    return None


def _evaluate_lists(
    st: BatchState,
    facts: rules.RecordFacts,
    *,
    is_new: bool,
    names: dict[str, str],
    authority: str,
    exit_ref: str | None = None,
) -> None:
    """``names``: how notices name each subject a listing may be about (the record's subject
    and the persons it names), by subject id."""
    reg, at = st.reg, st.at
    # 1. listings grounded on this record: exit, or a decision that has now arrived
    for op in st.open.of_record(facts.record_key):
        ld = st.pack.lists[op.list_id]
        ex = rules.status_exit(ld, facts.status)
        if ex is not None:
            _end(st, op, facts.status, "record_status", exit_ref)
            continue
        f = rules.subject_field(ld, facts.record_type)
        if f is not None and f not in facts.named:
            # a row that names nobody (a source's amendment of the status alone: the record
            # does not keep the number) leaves the person it named before where they are
            facts_here = replace(facts, named={f: rules.NamedPerson(op.subject_id)})
        else:
            facts_here = facts
        who = rules.listed(ld, facts_here)
        if who is None or who.subject_id != op.subject_id or not rules.entry_matches(ld, who):
            # (a record that now names another person no longer grounds the listing of the
            # person it named)
            _end(st, op, "criteria_no_longer_met", "record_status")
            continue
        if op.status == "proposed":
            ref, _pending = rules.listing_decision(ld, who)
            if ref is not None:
                st.emit(
                    listing_events.notified(
                        reg, ld, op.listing_id, who, ref, at, names[who.subject_id], authority
                    )
                )
                op.status = "notified"
                st.summary.listings_notified += 1
    # 2. a newer record supersedes listings grounded on older records of its type
    if is_new:
        for op in [
            o for o in st.open.of_subject(facts.subject_id) if o.record_key != facts.record_key
        ]:
            ld = st.pack.lists[op.list_id]
            if (
                ld.entry_for(facts.record_type) is not None
                and rules.exit_rule(ld, "superseded") is not None
                and (op.grounded_on is None or op.grounded_on <= facts.decided_on)
            ):
                _end(st, op, "superseded", "superseded")
    # 3. lists this record now qualifies for (about its subject, or a person it names)
    for ld in rules.lists_for_record_type(st.pack, facts.record_type):
        who = rules.listed(ld, facts)
        if who is None or not rules.entry_matches(ld, who):
            continue
        if any(o.list_id == ld.id for o in st.open.of_record(facts.record_key)):
            continue
        if rules.bar(ld, who):
            st.summary.barred += 1
            continue
        ref, pending = rules.listing_decision(ld, who)
        ev = listing_events.proposed(
            ld,
            who,
            at,
            rules.ground(ld, who),
            pending,
            nonce=f"{st.batch_id}:{len(st.events)}",
        )
        st.emit(ev)
        lid = ev.payload["listing_id"]
        st.summary.listings_proposed += 1
        status = "proposed"
        if ref is not None:
            st.emit(
                listing_events.notified(
                    reg, ld, lid, who, ref, at, names[who.subject_id], authority
                )
            )
            st.summary.listings_notified += 1
            status = "notified"
        st.open.add(_Open(lid, ld.id, facts.record_key, who.subject_id, status, facts.decided_on))


def _end(
    st: BatchState, op: _Open, reason: str, trigger: str, decision_ref: str | None = None
) -> None:
    ld = st.pack.lists[op.list_id]
    st.emit(
        listing_events.ended(
            st.reg,
            ld,
            op.listing_id,
            op.subject_id,
            op.record_key,
            reason,
            trigger,
            st.at,
            decision_ref=decision_ref,
        )
    )
    st.summary.listings_ended += 1
    st.open.remove(op)
