"""Ingest: validate agency rows, resolve subjects, record facts, evaluate lists.

One transaction per batch: the batch's events, its report and its projections commit together or
not at all. A row resubmitted with the same (source, source_record_id) and the same content
changes nothing; with new content it amends the record (e.g. a judgment now performed). A row
without a code is linked to its subject where the law gives the mapping (its legacy organisation
code, see ``resolution.deterministic``) and otherwise goes to the review queue; bad rows are
reported by row number, field and reason.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from ..bulk import among
from ..db import listings, records, repairs, subjects
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.chain import canonical
from ..events.types import NewEvent
from ..identifiers.protect import mask_person_name
from ..ingest.readers import Row, RowProblem
from ..ingest.validate import ValidRow, validate_row
from ..policy.durations import Duration, add_duration
from ..policy.model import Basis
from ..policy.versions import governing_publicity
from ..resolution import deterministic
from ..rules import lists as rules
from . import consents, grading, uploads
from . import listings as listing_events
from .subjects import SubjectRef, code_of, resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..ingest.formats import Mapped
    from ..uow import UnitOfWork

Progress = Callable[[int], None]


@dataclass
class IngestSummary:
    source: str
    file_name: str | None = None
    rows: int = 0
    accepted: int = 0
    amended: int = 0
    unchanged: int = 0
    rejected: int = 0
    queued: int = 0
    subjects_registered: int = 0
    listings_proposed: int = 0
    listings_notified: int = 0
    listings_ended: int = 0
    barred: int = 0
    batches: int = 0
    rejects: list[RowProblem] = field(default_factory=list)
    #: one upload, however many batches it takes: its batches carry this id, and the last one
    #: says so, so that an upload cut off midway shows as incomplete (``uploads.recent``)
    upload_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the review items this ingest queued (for the model to evaluate next, see
    #: ``services.resolution``)
    queued_items: list[str] = field(default_factory=list)

    def as_dict(self, max_rejects: int | None = None) -> dict[str, Any]:
        shown = self.rejects if max_rejects is None else self.rejects[:max_rejects]
        return {
            "source": self.source,
            "file": self.file_name,
            "rows": self.rows,
            "accepted": self.accepted,
            "amended": self.amended,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "queued_for_review": self.queued,
            "subjects_registered": self.subjects_registered,
            "listings_proposed": self.listings_proposed,
            "listings_notified": self.listings_notified,
            "listings_ended": self.listings_ended,
            "barred": self.barred,
            "batches": self.batches,
            "rejects": [{"row": r.row, "field": r.field, "reason": r.reason} for r in shown],
            "rejects_not_shown": len(self.rejects) - len(shown),
        }


def record_key(source: str, source_record_id: str) -> str:
    return hashlib.sha256(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:32]


def ingest(
    reg: Registry,
    rows: Iterable[Row],
    source: str,
    *,
    actor: str,
    file_name: str | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    upload_id: str | None = None,
) -> IngestSummary:
    """``upload_id``: the upload these rows are part of (a backfill's shards share one a file);
    by default a new one."""
    if source not in reg.pack.sources:
        raise UnknownEntity(
            f"unknown source {source!r} (known: {', '.join(sorted(reg.pack.sources))})"
        )
    listing_events.advance(reg, actor)
    summary = IngestSummary(source=source, file_name=file_name)
    if upload_id is not None:
        summary.upload_id = upload_id
    batch: list[Row] = []
    it = iter(rows)
    for row in it:
        batch.append(row)
        if len(batch) >= batch_size:
            # one row ahead: the batch that ends the upload says so
            following = next(it, None)
            _batch(reg, batch, source, actor, summary, last=following is None)
            if progress:
                progress(len(batch))
            if following is None:
                return summary
            batch = [following]
    if batch:
        _batch(reg, batch, source, actor, summary, last=True)
        if progress:
            progress(len(batch))
    return summary


def ingest_format(
    reg: Registry,
    path: Path,
    source: str,
    fmt: str,
    *,
    actor: str,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> tuple[IngestSummary, str]:
    """A file in a national publication format (``fmt``: a format of the pack, or ``auto`` for
    the one whose headers the file has): mapped row by row to the interchange format, ingested,
    and its rejects named by the source's own columns and row numbers. Returns the summary and
    the format used."""
    mapped = open_format(reg, path, source, fmt)
    summary = ingest(
        reg,
        mapped.rows(),
        source,
        actor=actor,
        file_name=path.name,
        batch_size=batch_size,
        progress=progress,
    )
    summary.rejects = [
        RowProblem(p.row, mapped.source_column(p.field), p.reason) for p in summary.rejects
    ]
    return summary, mapped.spec.id


def open_format(reg: Registry, path: Path, source: str, fmt: str) -> Mapped:
    """A file in a national publication format of the pack (``auto``: the one whose headers
    the file has), its rows mapped to the interchange format; refused when the format is
    unknown or not one ``source`` publishes."""
    from ..ingest import formats

    spec = formats.choose(reg.pack, path) if fmt == "auto" else reg.pack.formats.get(fmt)
    if spec is None:
        raise UnknownEntity(
            f"unknown format {fmt!r} (known: {', '.join(sorted(reg.pack.formats)) or 'none'}, "
            "or auto)"
        )
    allowed = formats.sources_of(reg.pack, spec)
    if source not in allowed:
        raise InvalidInput(
            f"format {spec.id} is published by {', '.join(allowed)}, not by source {source!r}"
        )
    return formats.Mapped(spec, path, reg.pack)


def amend(
    reg: Registry,
    source: str,
    source_record_id: str,
    changes: dict[str, Any],
    *,
    actor: str,
) -> IngestSummary:
    """A source's new decision on one of its records (a judgment performed, a penalty revoked):
    the record as it stands with ``changes`` applied (a new ``status``, the fields that status
    requires, ``exit_decision_ref`` for the decision that ends its listings), sent through
    ingest like any row. The lists follow: an exit status ends the listings resting on the
    record, and each ended listing cites that decision."""
    key = record_key(source, source_record_id)
    with reg.engine.connect() as conn:
        r = conn.execute(select(records).where(records.c.record_key == key)).first()
    if r is None:
        raise UnknownEntity(f"source {source} has no record {source_record_id!r}")
    row: dict[str, Any] = {
        "source_record_id": r.source_record_id,
        "record_type": r.record_type,
        "subject_id": code_of(reg, r.subject_id),
        "subject_name": r.subject_name,
        "authority": r.authority,
        "decision_ref": r.decision_ref,
        "decided_on": r.decided_on.isoformat(),
        "legal_basis": r.legal_basis,
        "status": r.status,
        **json.loads(r.fields),
        # the source's decision on the record as it stands: the next version, which a stale
        # file (an older version, or none) cannot undo
        "record_version": str((r.record_version or 0) + 1),
        **{k: v for k, v in changes.items() if v not in (None, "")},
    }
    return ingest(reg, [(1, row)], source, actor=actor)


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


class _Batch:
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


def _batch(
    reg: Registry,
    batch: list[Row],
    source: str,
    actor: str,
    summary: IngestSummary,
    *,
    last: bool,
) -> None:
    with reg.uow(actor) as uow:
        ingest_within(reg, uow, batch, source, summary, last=last)
        uow.commit()


def ingest_within(
    reg: Registry,
    uow: UnitOfWork,
    batch: list[Row],
    source: str,
    summary: IngestSummary,
    *,
    resolved_by: dict[str, dict[str, Any]] | None = None,
    last: bool = True,
) -> None:
    """One batch of rows as events of the caller's unit of work, which the caller commits.

    ``ingest`` opens a unit of work per batch; a caller that must record more in the same
    transaction (a reviewer resolving a queued row) calls this directly. ``resolved_by``: how
    the caller linked rows it passes with a code their source did not send (the model), by
    source_record_id."""
    st = _Batch(reg, source, uow.at, summary)
    today = uow.at.replace(tzinfo=UTC).astimezone(reg.tz).date()
    counts_before = _counts(summary)
    rejects: list[RowProblem] = []
    valid: list[tuple[ValidRow, SubjectRef | None]] = []
    refs: dict[str, SubjectRef | InvalidIdentifier] = {}  # a batch names a subject many times
    for n, item in batch:
        summary.rows += 1
        if isinstance(item, RowProblem):
            rejects.append(item)
            continue
        result = validate_row(reg.pack, source, n, item, today)
        if isinstance(result, list):
            rejects.extend(result[:5])
            continue
        ref: SubjectRef | None = None
        if result.subject_id:
            known = refs.get(result.subject_id)
            if known is None:
                try:
                    # a source names a person by the ID number it holds, never by the
                    # registry's own key
                    known = resolve_code(reg, result.subject_id, subject_ids=False)
                except InvalidIdentifier as exc:
                    known = exc
                refs[result.subject_id] = known
            if isinstance(known, InvalidIdentifier):
                rejects.append(RowProblem(n, "subject_id", known.reason))
                continue
            ref = known
            rt = reg.pack.record_types[result.record_type]
            if ref.kind not in rt.subject_kinds:
                rejects.append(
                    RowProblem(
                        n,
                        "subject_id",
                        f"a {result.record_type} record cannot be about a {ref.kind}",
                    )
                )
                continue
        named = _named_persons(reg, st, result, ref)
        if isinstance(named, RowProblem):
            rejects.append(named)
            continue
        valid.append((named, ref))
    valid = _to_survivors(reg, uow.conn, valid)
    valid = _consented(reg, uow.conn, source, uow.at, valid, rejects)
    resolutions = _resolve_codeless(reg, uow.conn, valid)
    _prefetch(uow.conn, st, valid)
    for i, (row, ref) in enumerate(valid):
        res = resolutions.get(i)
        unnamed = st.unnamed.get(row.row)
        if ref is None:
            _queue(st, row, res.reason if res else deterministic.NOT_RESOLVED)
        elif unnamed is not None and (resolved_by or {}).get(row.source_record_id) is None:
            # a reviewer sees it (and may file it about its subject alone); nothing is listed
            # about a person the registry cannot key
            _queue(st, unnamed[1], unnamed[0])
        else:
            by = res.resolved_by if res else (resolved_by or {}).get(row.source_record_id)
            problem = _record(st, row, ref, resolved_by=by)
            if problem:
                rejects.append(problem)
    rejected_rows = len({r.row for r in rejects})
    summary.rejected += rejected_rows
    summary.rejects.extend(rejects)
    summary.batches += 1
    delta = {k: v - counts_before[k] for k, v in _counts(summary).items()}
    # the batch's records, notices, listings, registrations and grades are its facts: one
    # chained event commits to them all (events/batches.py)
    uow.open_batch()
    uow.emit_many(st.events)
    # grades follow at once from the records and listings this batch changed
    touched = {ev.subject_id for ev in st.events if ev.subject_id}
    uow.emit_many(grading.regrade(reg, uow.conn, touched, uow.at))
    uow.seal(
        NewEvent(
            T.BATCH_INGESTED,
            {
                "batch_id": st.batch_id,
                "upload_id": summary.upload_id,
                "last": last,
                "source": source,
                "file_name": summary.file_name,
                **delta,
                # the rejected rows are not records: the log keeps their count and the digest
                # of their report, the report is kept apart for the pack's retention
                "rejects_digest": uploads.write_report(
                    reg, uow, st.batch_id, st.source, summary.file_name, rejects
                ),
                "pack_digest": reg.pack.digest,
            },
        )
    )


def _to_survivors(
    reg: Registry, conn: Any, valid: list[tuple[ValidRow, SubjectRef | None]]
) -> list[tuple[ValidRow, SubjectRef | None]]:
    """Rows naming an organisation a reviewer merged into another are the survivor's."""
    from .dedupe import survivors

    ids = {ref.subject_id for _, ref in valid if ref is not None and ref.kind == "organisation"}
    into = survivors(conn, ids) if ids else {}
    if not into:
        return valid
    return [
        (row, resolve_code(reg, into[ref.subject_id]) if ref and ref.subject_id in into else ref)
        for row, ref in valid
    ]


def _named_persons(
    reg: Registry, st: _Batch, row: ValidRow, ref: SubjectRef | None
) -> ValidRow | RowProblem:
    """The row without its ``person_id`` fields and their names, which are never stored in the
    record: each named person is keyed by their number (``st.named``) and registered as a
    subject of their own. A row that names a person without a number is marked for review
    (``st.unnamed``): a person is keyed only by a full ID number, never by a name."""
    rt = reg.pack.record_types[row.record_type]
    specs = [(f, spec) for f, spec in rt.fields.items() if spec.type == "person_id"]
    if not specs:
        return row
    kept = dict(row.fields)
    persons: dict[str, tuple[SubjectRef, str]] = {}
    for fname, spec in specs:
        number = kept.pop(fname, None)
        name = kept.pop(spec.name_field, None) if spec.name_field else None
        if number is None:
            if name:
                st.unnamed[row.row] = (
                    f"the row names a person ({spec.name_field}) without their ID number "
                    f"({fname}): a person is restricted only when keyed by their full number; "
                    "ask the source for it",
                    row,
                )
            continue
        if ref is not None and ref.kind != "organisation":
            return RowProblem(
                row.row,
                fname,
                "a person is named beside the subject only for a unit (the subject here is a "
                "natural person)",
            )
        try:
            person = resolve_code(reg, number, subject_ids=False)
        except InvalidIdentifier as exc:
            return RowProblem(row.row, fname, exc.reason)
        if person.kind != "person":
            return RowProblem(row.row, fname, "not a natural person's resident ID number")
        persons[fname] = (person, name or "")
    if persons:
        st.named[row.row] = persons
    return replace(row, fields=kept)


def _consented(
    reg: Registry,
    conn: Any,
    source: str,
    at: datetime,
    valid: list[tuple[ValidRow, SubjectRef | None]],
    rejects: list[RowProblem],
) -> list[tuple[ValidRow, SubjectRef | None]]:
    """Rows of a type the law lets a source share only with the subject's consent, kept only
    while the subject consents to this source sharing that type; the others are rejected,
    saying so (nothing of them is recorded)."""

    def needs(row: ValidRow, ref: SubjectRef | None) -> bool:
        rule = reg.pack.record_types[row.record_type].consent
        return ref is not None and rule is not None and ref.kind in rule.required_for

    ids = sorted({ref.subject_id for row, ref in valid if ref is not None and needs(row, ref)})
    if not ids:
        return valid
    given = consents.consented_sources(conn, ids, at)
    kept = []
    for row, ref in valid:
        rule = reg.pack.record_types[row.record_type].consent
        if (
            ref is not None
            and rule is not None
            and needs(row, ref)
            and (ref.subject_id, source, row.record_type) not in given
        ):
            rejects.append(
                RowProblem(
                    row.row,
                    "subject_id",
                    f"{row.record_type} records about a {ref.kind} are shared only with "
                    f"the subject's consent ({'; '.join(reg.pack.cite(rule.legal_basis))}), "
                    f"and the subject has not consented to {source} sharing them",
                )
            )
            continue
        kept.append((row, ref))
    return kept


def _counts(s: IngestSummary) -> dict[str, int]:
    return {
        "accepted": s.accepted,
        "amended": s.amended,
        "unchanged": s.unchanged,
        "rejected": s.rejected,
        "queued": s.queued,
    }


def _chunks(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _prefetch(conn: Any, st: _Batch, valid: list[tuple[ValidRow, SubjectRef | None]]) -> None:
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
    import json

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


def _resolve_codeless(
    reg: Registry, conn: Any, valid: list[tuple[ValidRow, SubjectRef | None]]
) -> dict[int, deterministic.Resolution]:
    """Link the batch's rows without a code where the law gives the mapping (see
    ``resolution.deterministic``); a linked row's entry in ``valid`` gets its subject, and goes
    on as if its source had sent the code. Returns each codeless row's outcome by position.

    Rows are taken in order, as ingest takes them: an organisation filed with its code earlier
    in the same batch counts as registered, under the name that row gave it, so the outcome does
    not depend on where batches happen to split. Runs before the prefetch so that a linked
    subject's open listings are read like those of any other row's subject.
    """
    codeless = [i for i, (_, ref) in enumerate(valid) if ref is None]
    if not codeless:
        return {}
    codes = {c for i in codeless if (c := deterministic.legacy_code_of(valid[i][0].hints))}
    found = deterministic.candidates(conn, codes) if codes else {}
    known = {c.subject_id for cs in found.values() for c in cs}
    out: dict[int, deterministic.Resolution] = {}
    for i, (row, ref) in enumerate(valid):
        if ref is not None:
            if ref.uscc is not None and ref.subject_id not in known:
                code = ref.uscc.organisation_code
                if code in codes:
                    found.setdefault(code, []).append(
                        deterministic.Candidate(ref.subject_id, row.subject_name)
                    )
                    known.add(ref.subject_id)
            continue
        res = deterministic.resolve(
            row.subject_name,
            row.hints,
            found,
            record_type=row.record_type,
            subject_kinds=reg.pack.record_types[row.record_type].subject_kinds,
        )
        if res.subject_id is not None:
            valid[i] = (row, resolve_code(reg, res.subject_id))
        out[i] = res
    return out


def _queue(st: _Batch, row: ValidRow, reason: str) -> None:
    item_id = "Q" + record_key(st.source, row.source_record_id)[:31]
    st.emit(
        NewEvent(
            T.ROW_QUEUED,
            {
                "item_id": item_id,
                "source": st.source,
                "source_record_id": row.source_record_id,
                "record_type": row.record_type,
                "subject_name": row.subject_name,
                "reason": reason,
                "row": {
                    **row.content(),
                    "hints": row.hints,
                    "row": row.row,
                },
            },
        )
    )
    st.summary.queued += 1
    st.summary.queued_items.append(item_id)


def _ends(st: _Batch, term: str, decided_on: date) -> date:
    """The day a publicity term counted from a decision date ends (computed once a batch)."""
    until = st.publicity.get((term, decided_on))
    if until is None:
        start = datetime.combine(decided_on, time(0, 0), tzinfo=st.reg.tz)
        until = add_duration(start, Duration.parse(term), st.reg.calendar, st.reg.tz).at.date()
        st.publicity[(term, decided_on)] = until
    return until


def _rule(st: _Batch, version: str, basis: Basis, **more: Any) -> dict[str, Any]:
    key = (version, tuple((b.cite, b.article) for b in basis), tuple(sorted(more.items())))
    rule = st.rules.get(key)
    if rule is None:
        rule = st.rules[key] = {"version": version, "legal_basis": st.pack.cite(basis), **more}
    return rule


def _publicity_until(st: _Batch, row: ValidRow) -> tuple[date, dict[str, Any]]:
    """The day the record's publicity ends and the version and basis that governed
    (``policy.versions.governing_publicity``: the rules of the decision date, or a later and
    lighter version from the day it takes effect)."""
    until, version, basis, lenient = governing_publicity(
        st.pack, row.record_type, row.decided_on, row.fields, lambda t, d: _ends(st, t, d)
    )
    rule = _rule(st, version, basis, lenient=True) if lenient else _rule(st, version, basis)
    return until, rule


def _publicity(
    st: _Batch, row: ValidRow, old: dict[str, Any] | None, subject_id: str
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


def _register_subject(st: _Batch, name: str, ref: SubjectRef) -> None:
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


def _stale(st: _Batch, row: ValidRow, old: dict[str, Any]) -> RowProblem | None:
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


def _record(
    st: _Batch, row: ValidRow, ref: SubjectRef, *, resolved_by: dict[str, Any] | None = None
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
    st: _Batch,
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


def _end(st: _Batch, op: _Open, reason: str, trigger: str, decision_ref: str | None = None) -> None:
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
