"""Ingest: validate agency rows, resolve their subjects, and file them (``filing``: the record,
its publicity, the lists it grounds), in batches committed to by one event of the log.

One transaction per batch: the batch's events, its report and its projections commit together or
not at all. A row resubmitted with the same (source, source_record_id) and the same content
changes nothing; with new content it amends the record (e.g. a judgment now performed). A row
without a code is linked to its subject where the law gives the mapping (its legacy organisation
code, see ``resolution.deterministic``) and otherwise goes to the review queue; bad rows are
reported by row number, field and reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db import records
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..ingest.readers import Row, RowProblem
from ..ingest.validate import ValidRow, validate_row
from ..resolution import deterministic
from . import consents, grading, uploads
from . import listings as listing_events
from .filing import BatchState, file_row, prefetch, record_key
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
    st = BatchState(reg, source, uow.at, summary)
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
    prefetch(uow.conn, st, valid)
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
            problem = file_row(st, row, ref, resolved_by=by)
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
    reg: Registry, st: BatchState, row: ValidRow, ref: SubjectRef | None
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


def _queue(st: BatchState, row: ValidRow, reason: str) -> None:
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
