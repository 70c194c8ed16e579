"""Open data: the public information of the registry as downloads (CSV, JSON Lines, FtM).

What is public is exactly what ``views.public_profile`` shows, subject by subject, at a moment:

- records within their publicity period (seen by then, publicity not yet over, not retracted);
- listings while *active* (a notified listing is not published during its notice period);
- a natural person only while on an active black list, and then masked: the masked ID number
  and name, the record types and fields the pack's ``publication.yaml`` publishes (court
  judgments without the amount in the default pack), black-list listings only.

The exports stream. Rows are read in batches (``yield_per``: a server-side cursor on PostgreSQL)
and the only lookup, whether a person is on an active black list, is made once per batch for the
persons in it; nothing holds more than one batch. An export reads in one transaction (repeatable
read on PostgreSQL, SQLite's snapshot of the connection), so it is consistent with itself.

A person's data leaving in a download is a read of personal data, so every export records one
read (reader ``public``, kind ``open_data``) for each person it emits, in batches, as
``public_profile`` does for one profile.

The CSV files are for people, who open them in a spreadsheet: a cell that a spreadsheet would
run as a formula (an agency's text starting with ``=``, ``+``, ``-``, ``@``, ...) is written with a
leading ``'`` (``spreadsheet_cell``, the one rule every CSV export goes through). The JSON Lines
files carry every value exactly as stored.

The FollowTheMoney export (``ftm_entities``) is what screening tools (yente, OpenSanctions
tooling) load: the subjects on an active black list as targets (``Company``/``Organization`` or a
masked ``Person``), and each such listing as a ``Sanction``. Red lists are commendations, not
designations: a screening tool would report every entity in the file as a hit, so red-list
listings (and subjects only on a red list) are left out of it; the CSV and JSONL listings carry
them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from followthemoney import model
from followthemoney.util import make_entity_id
from sqlalchemy import Connection, Select, and_, or_, select

from ..clock import from_utc_naive, iso, to_utc_naive
from ..db import listings, records, subjects
from ..identifiers.divisions import division_name
from ..identifiers.protect import mask_person_name
from .objections import disputes
from .reads import read_entry
from .reads import record as record_reads
from .views import _display, _state

if TYPE_CHECKING:
    from ..bootstrap import Registry

#: Rows per batch read from the database (and the most persons looked up at once).
BATCH = 1000
#: Reads of persons recorded per event.
READS_BATCH = 1000
#: How the registry's persons and organisations are named in FtM ids (``make_id`` parts).
ID_NAMESPACE = "socialcredit"

RECORD_COLUMNS: tuple[str, ...] = (
    "subject",
    "subject_kind",
    "name",
    "division",
    "record_type",
    "record_type_name",
    "authority",
    "decision_ref",
    "decided_on",
    "legal_basis",
    "status",
    "publicity_until",
    "fields",
    "disputed",
    "dispute",
)

LISTING_COLUMNS: tuple[str, ...] = (
    "listing_id",
    "subject",
    "subject_kind",
    "name",
    "division",
    "list",
    "list_name",
    "kind",
    "decision_ref",
    "authority",
    "legal_basis",
    "since",
    "until",
    "how_to_resolve",
    "disputed",
    "dispute",
)

_SUBJECT_COLS = (
    subjects.c.kind,
    subjects.c.name,
    subjects.c.division,
    subjects.c.id_masked,
)


class _Moment:
    """The moment an export describes, in the forms the rules compare."""

    def __init__(self, reg: Registry, at: datetime | None) -> None:
        self.moment = at or reg.now()
        self.t = to_utc_naive(self.moment)  # instants in the database: naive UTC
        self.today = self.moment.astimezone(reg.tz).date()  # publicity ends on a local date


class _ReadLog:
    """Records a read for every person an export emits, at most once per person and export."""

    def __init__(self, reg: Registry, export: str, m: _Moment) -> None:
        self.reg = reg
        self.detail = {"purpose": "open data", "export": export, "as_of": iso(m.moment, reg.tz)}
        self._buf: list[dict[str, Any]] = []
        self._last: str | None = None

    def add(self, subject_id: str) -> None:
        if subject_id == self._last:  # exports are ordered by subject
            return
        self._last = subject_id
        self._buf.append(
            read_entry(subject_id, "public", "open_data", self.reg.read_moment(), self.detail)
        )
        if len(self._buf) >= READS_BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self._buf = self._buf, []
        record_reads(self.reg, batch, "public")


def _connect(reg: Registry) -> Connection:
    conn = reg.engine.connect()
    if reg.engine.dialect.name == "postgresql":
        # one snapshot for the whole export, whatever is written meanwhile
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return conn


def _batches(conn: Connection, q: Select[Any]) -> Iterator[Sequence[Any]]:
    result = conn.execute(q.execution_options(yield_per=BATCH))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _black_lists(reg: Registry) -> list[str]:
    return [lid for lid, ld in reg.pack.lists.items() if ld.kind == "black"]


def _listed_persons(reg: Registry, conn: Connection, m: _Moment, candidates: set[str]) -> set[str]:
    """Which of these persons are on an active black list at the moment (public_profile's rule)."""
    if not candidates:
        return set()
    rows = conn.execute(
        select(
            listings.c.subject_id,
            listings.c.proposed_at,
            listings.c.notified_at,
            listings.c.activates_at,
            listings.c.until,
            listings.c.ended_at,
        )
        .where(listings.c.subject_id.in_(sorted(candidates)))
        .where(listings.c.list_id.in_(_black_lists(reg)))
        .where(listings.c.activates_at <= m.t)
    )
    return {r.subject_id for r in rows if _state(r, m.t) == "active"}


def _where_active(m: _Moment) -> Any:
    return and_(
        listings.c.proposed_at <= m.t,
        listings.c.activates_at.is_not(None),
        listings.c.activates_at <= m.t,
        or_(listings.c.until.is_(None), listings.c.until > m.t),
        or_(listings.c.ended_at.is_(None), listings.c.ended_at > m.t),
    )


def _name(row: Any) -> str:
    return mask_person_name(row.name) if row.kind == "person" else str(row.name)


def _division(row: Any) -> str | None:
    # a person's division is the birth registration place in the ID number: not in bulk data
    return row.division if row.kind == "organisation" else None


def _local_date(reg: Registry, at: datetime | None) -> str | None:
    local = from_utc_naive(at, reg.tz)
    return local.date().isoformat() if local else None


# -- records ------------------------------------------------------------------------------------


def _record_rows(
    reg: Registry, conn: Connection, m: _Moment, record_type: str | None = None
) -> Iterator[tuple[Any, bool, dict[str, Any] | None]]:
    """Public records with their subject: (row, whether the subject is a person, the open
    objection that disputes it)."""
    q = (
        select(records, *_SUBJECT_COLS)
        .join(subjects, subjects.c.subject_id == records.c.subject_id)
        .where(subjects.c.registered_at <= m.t)
        .where(records.c.first_seen_at <= m.t)
        .where(records.c.publicity_until > m.today)
        .where(or_(records.c.retracted_at.is_(None), records.c.retracted_at > m.t))
        # a person shows the record types the pack publishes (publication.yaml)
        .where(
            or_(
                subjects.c.kind != "person",
                records.c.record_type.in_(reg.pack.publication.person_records.record_types),
            )
        )
        .order_by(records.c.subject_id, records.c.decided_on, records.c.record_key)
    )
    if record_type is not None:
        q = q.where(records.c.record_type == record_type)
    for batch in _batches(conn, q):
        persons = {r.subject_id for r in batch if r.kind == "person"}
        public = _listed_persons(reg, conn, m, persons)
        open_disputes = disputes(reg, conn, {r.subject_id for r in batch}, m.t)
        for r in batch:
            person = r.kind == "person"
            if person and r.subject_id not in public:
                continue
            yield r, person, open_disputes.of_record(r.record_key)


def public_records(
    reg: Registry, at: datetime | None = None, record_type: str | None = None
) -> Iterator[dict[str, Any]]:
    """One dict per public record at ``at`` (default: now), ordered by subject (columns:
    ``RECORD_COLUMNS``), of one record type if given. The same records
    ``views.public_profile`` shows, for every subject."""
    m = _Moment(reg, at)
    log = _ReadLog(reg, "records", m)
    withheld = reg.pack.publication.person_records.withheld_fields
    try:
        with _connect(reg) as conn:
            for r, person, dispute in _record_rows(reg, conn, m, record_type):
                if person:
                    log.add(r.subject_id)
                yield {
                    "subject": _display(r),
                    "subject_kind": r.kind,
                    "name": _name(r),
                    "division": _division(r),
                    "record_type": r.record_type,
                    "record_type_name": reg.pack.record_types[r.record_type].name.model_dump(),
                    "authority": r.authority,
                    "decision_ref": r.decision_ref,
                    "decided_on": r.decided_on.isoformat(),
                    "legal_basis": r.legal_basis,
                    "status": r.status,
                    "publicity_until": r.publicity_until.isoformat(),
                    "fields": {
                        k: v
                        for k, v in json.loads(r.fields).items()
                        if not person or k not in withheld
                    },
                    "disputed": dispute is not None,
                    "dispute": dispute,
                }
    finally:
        log.flush()


# -- listings -----------------------------------------------------------------------------------


def _listing_rows(
    reg: Registry, conn: Connection, m: _Moment, *, black_only: bool = False
) -> Iterator[Any]:
    """Active public listings with their subject and the deciding authority, by subject."""
    q = (
        select(listings, records.c.authority, *_SUBJECT_COLS)
        .join(subjects, subjects.c.subject_id == listings.c.subject_id)
        .outerjoin(records, records.c.record_key == listings.c.record_key)
        .where(subjects.c.registered_at <= m.t)
        .where(_where_active(m))
        .order_by(listings.c.subject_id, listings.c.proposed_at, listings.c.listing_id)
    )
    black = _black_lists(reg)
    if black_only:
        q = q.where(listings.c.list_id.in_(black))
    else:
        # a person is public only while on a black list, and shows only those
        q = q.where(or_(subjects.c.kind != "person", listings.c.list_id.in_(black)))
    for batch in _batches(conn, q):
        open_disputes = disputes(reg, conn, {r.subject_id for r in batch}, m.t)
        for r in batch:
            if r.list_id in reg.pack.lists and _state(r, m.t) == "active":
                yield r, open_disputes.of_listing(r.listing_id)


def public_listings(reg: Registry, at: datetime | None = None) -> Iterator[dict[str, Any]]:
    """One dict per active public listing at ``at`` (default: now), ordered by subject (columns:
    ``LISTING_COLUMNS``; ``kind`` is the list's, red or black)."""
    m = _Moment(reg, at)
    log = _ReadLog(reg, "listings", m)
    try:
        with _connect(reg) as conn:
            for r, dispute in _listing_rows(reg, conn, m):
                if r.kind == "person":
                    log.add(r.subject_id)
                ld = reg.pack.lists[r.list_id]
                yield {
                    "listing_id": r.listing_id,
                    "subject": _display(r),
                    "subject_kind": r.kind,
                    "name": _name(r),
                    "division": _division(r),
                    "list": r.list_id,
                    "list_name": ld.name.model_dump(),
                    "kind": ld.kind,
                    "decision_ref": r.decision_ref,
                    "authority": r.authority,
                    "legal_basis": reg.pack.cite(ld.legal_basis),
                    "since": iso(r.activates_at, reg.tz),
                    "until": iso(r.until, reg.tz),
                    "how_to_resolve": ld.how_to_resolve.model_dump(),
                    "disputed": dispute is not None,
                    "dispute": dispute,
                }
    finally:
        log.flush()


# -- writers ------------------------------------------------------------------------------------


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"), and ``\n``.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_cell(v: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as the text it is, never runs.

    Text starting with ``= + - @``, a tab, CR or LF is prefixed with one ``'`` (OWASP's rule), so
    that a subject name or decision reference an agency wrote as ``=HYPERLINK(...)`` or
    ``@SUM(...)`` is shown, not evaluated. A plain number (``-250``, ``+3.5``, ``-1e5``) is left
    alone: it cannot call anything, and a quote would turn an amount into text. Everything else
    is unchanged. The stored data is never altered: this applies to CSV files for people only,
    and the JSON Lines download carries every value exactly (a program should read that one,
    since a leading ``'`` in the CSV may be the agency's own). Every CSV the registry exports
    for people is written through ``write_csv``, which calls this for every cell.
    """
    if v is None:
        return ""
    if isinstance(v, dict | list | tuple):
        text = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(v, date | datetime):
        text = v.isoformat()
    else:
        text = str(v)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(
    rows: Iterable[dict[str, Any]], out: IO[str], fieldnames: Sequence[str] | None = None
) -> int:
    """Write rows as CSV to a text stream; returns the number of rows.

    UTF-8 with a byte-order mark, so that Excel reads the Chinese; open the stream with
    ``encoding="utf-8", newline=""`` (not ``utf-8-sig``, which would add a second mark). Nested
    values are JSON strings, a missing value is empty, and a cell that a spreadsheet would run as
    a formula is neutralised (``spreadsheet_cell``). Columns are ``fieldnames`` or the first
    row's keys (``RECORD_COLUMNS`` and ``LISTING_COLUMNS`` give the header of an empty export).
    """
    out.write("\ufeff")
    writer: csv.DictWriter[str] | None = None
    if fieldnames is not None:
        writer = csv.DictWriter(out, fieldnames=list(fieldnames), lineterminator="\r\n")
        writer.writeheader()
    n = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
            writer.writeheader()
        writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
        n += 1
    return n


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write one JSON object per line (UTF-8, no ASCII escaping); returns the number of lines.
    FtM entity dicts written this way are the line-based ``ftm`` format yente loads."""
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str))
        out.write("\n")
        n += 1
    return n


# -- FollowTheMoney -----------------------------------------------------------------------------


def ftm_id(kind: str, key: str) -> str:
    """The stable FtM id of a registry object (``make_id`` of namespace, kind and key):
    ``organisation`` (by USCC), ``person`` (by the keyed hash the registry holds, never the ID
    number) or ``listing`` (by listing id)."""
    made = make_entity_id(ID_NAMESPACE, kind, key)
    assert made is not None
    return made


def _country(reg: Registry) -> str:
    """The pack's jurisdiction as FollowTheMoney writes a country (cn, gb, eu)."""
    return reg.pack.meta.jurisdiction.lower()


def _topics(reg: Registry, list_id: str) -> list[str]:
    linked = [m for m in reg.pack.measures.values() if list_id in m.lists]
    return ["sanction"] if any(m.kind == "sanction" for m in linked) else []


def _subject_entity(
    reg: Registry, r: Any, topics: list[str], source_url: str | None
) -> dict[str, Any]:
    country = _country(reg)
    uscc = reg.org_scheme.builtin == "uscc"
    if r.kind == "person":
        e = model.make_entity("Person")
        e.make_id(ID_NAMESPACE, "person", r.subject_id)
        e.add("name", mask_person_name(r.name))  # masked; no ID number, no birth date
        e.add("country", country)
    else:
        # GB 32100: registration authority 9 (market regulation) registers enterprises
        company = not uscc or r.subject_id.startswith("9")
        e = model.make_entity("Company" if company else "Organization")
        e.make_id(ID_NAMESPACE, "organisation", r.subject_id)
        e.add("name", r.name)
        e.add("registrationNumber", r.subject_id)
        if uscc:
            e.add("uscCode", r.subject_id)
        e.add("jurisdiction", country)
        # the division that registered it (the USCC's positions 3-8), not a street address
        e.add("address", division_name(r.division))
    e.add("topics", topics)
    if source_url:
        e.add("sourceUrl", source_url)
    data = e.to_dict()
    data["target"] = True  # what a screening tool matches against (OpenSanctions' convention)
    return data


def _sanction_entity(
    reg: Registry,
    r: Any,
    entity_id: str,
    source_url: str | None,
    dispute: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ld = reg.pack.lists[r.list_id]
    e = model.make_entity("Sanction")
    e.make_id(ID_NAMESPACE, "listing", r.listing_id)
    e.add("entity", entity_id)
    e.add("country", _country(reg))
    e.add("authority", r.authority)
    e.add("authorityId", r.decision_ref)  # the listing decision's document number
    e.add("program", [ld.name.in_(lang) for lang in reg.pack.meta.languages])
    e.add("programId", ld.id)
    e.add("reason", reg.pack.cite(ld.legal_basis))
    e.add(
        "provisions",
        [
            m.name.in_(reg.pack.meta.languages[0])
            for m in reg.pack.measures.values()
            if r.list_id in m.lists and m.kind == "sanction"
        ],
    )
    e.add("status", "active")
    if dispute is not None:  # the subject's objection is open: the listing is in dispute
        e.add("status", "disputed")
        e.add(
            "summary",
            f"In dispute: the subject's objection of {dispute['filed_at']} is to be decided by "
            f"{dispute['deadline']}.",
        )
    e.add("listingDate", _local_date(reg, r.notified_at))
    e.add("startDate", _local_date(reg, r.activates_at))
    e.add("endDate", _local_date(reg, r.until))
    e.add("recordId", r.listing_id)
    if source_url:
        e.add("sourceUrl", source_url)
    return e.to_dict()


def ftm_entities(
    reg: Registry, at: datetime | None = None, *, source_url: str | None = None
) -> Iterator[dict[str, Any]]:
    """FollowTheMoney entity dicts for the active black-list listings at ``at`` (default: now).

    Each listed subject once, before its sanctions, as a target: ``Company`` (USCC of a market
    entity, or any organisation under a pack of other numbers) or ``Organization`` (other
    registration authorities) with name, registration number and ``uscCode`` (USCCs only),
    jurisdiction the pack's (``cn``, ``eu``) and the registering division as address; or
    ``Person`` with the masked name only. Each listing as a ``Sanction`` whose ``entity`` is that subject.
    Ids are ``make_id`` of stable keys (``ftm_id``): repeated exports give the same ids. Write
    with ``write_jsonl`` for the line-based ``ftm`` format.
    """
    m = _Moment(reg, at)
    log = _ReadLog(reg, "ftm", m)
    topics = {lid: _topics(reg, lid) for lid in reg.pack.lists}
    try:
        with _connect(reg) as conn:
            rows = _listing_rows(reg, conn, m, black_only=True)
            for subject_id, group in groupby(rows, key=lambda rd: str(rd[0].subject_id)):
                held = list(group)  # one subject's active listings: a handful
                first = held[0][0]
                tags = sorted({t for r, _d in held for t in topics[r.list_id]})
                entity = _subject_entity(reg, first, tags, source_url)
                entity_id = entity["id"]
                if first.kind == "person":
                    log.add(subject_id)
                yield entity
                for r, dispute in held:
                    yield _sanction_entity(reg, r, entity_id, source_url, dispute)
    finally:
        log.flush()


# The files of a day's export: name -> (what, writer). Built once a day, at the first request,
# so that a national audience downloading them does not read the registry (and record a read of
# each listed person's data) once per download.
FILES: dict[str, tuple[str, str]] = {
    "records.csv": ("records", "csv"),
    "records.jsonl": ("records", "jsonl"),
    "listings.csv": ("listings", "csv"),
    "listings.jsonl": ("listings", "jsonl"),
    "entities.ftm.json": ("ftm", "jsonl"),
}


def snapshot(reg: Registry, directory: Path, *, source_url: str | None = None) -> dict[str, Any]:
    """Today's export (in the registry's time zone): written once, then served as files.

    Returns the manifest: the moment of the export and, for each file, its rows, size and
    SHA-256. Files are written under a temporary name and renamed, so a reader never sees a
    half-written one.
    """
    with _SNAPSHOT_LOCK:  # one export at a time in this process
        return _snapshot(reg, directory, source_url)


_SNAPSHOT_LOCK = threading.Lock()


def _snapshot(reg: Registry, directory: Path, source_url: str | None) -> dict[str, Any]:
    moment = reg.now()
    day = moment.astimezone(reg.tz).date().isoformat()
    folder = directory / day
    manifest_path = folder / "manifest.json"
    persons_path = folder / PERSONS_FILE
    if manifest_path.exists():
        loaded: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        published = (
            json.loads(persons_path.read_text(encoding="utf-8")) if persons_path.exists() else []
        )
        if _still_listed(reg, published, moment):
            return loaded
        # a person published in today's files has left the list since: public means now, so
        # the files are written anew rather than kept until tomorrow
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    persons: list[str] = []

    def noting_persons(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for r in rows:
            if r["subject_kind"] == "person":
                persons.append(r["listing_id"])
            yield r

    for name, (what, fmt) in FILES.items():
        rows: Iterable[dict[str, Any]]
        if what == "records":
            rows = public_records(reg, moment)
        elif what == "listings":
            rows = public_listings(reg, moment)
            if name == "listings.csv":
                rows = noting_persons(rows)
        else:
            rows = ftm_entities(reg, moment, source_url=source_url)
        tmp = folder / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8", newline="") as out:
            n = write_csv(rows, out) if fmt == "csv" else write_jsonl(rows, out)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        tmp.replace(folder / name)
        files.append(
            {"name": name, "rows": n, "bytes": (folder / name).stat().st_size, "sha256": digest}
        )
    manifest: dict[str, Any] = {
        "day": day,
        "as_of": iso(moment, reg.tz),
        # the pack, release and rules version every row of the day's files was computed under
        "rules": reg.pack.rules_on(moment.astimezone(reg.tz).date()),
        "files": files,
        "persons": len(persons),
    }
    if reg.settings.log_signing_key:
        # the log's signed head, published outside the database with each day's files
        from .audit import signed_head

        manifest["tree_head"] = signed_head(reg)
    tmp = folder / f".{PERSONS_FILE}.tmp"
    tmp.write_text(json.dumps(sorted(set(persons))), encoding="utf-8")
    tmp.replace(persons_path)
    tmp = folder / ".manifest.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(manifest_path)
    _remove_older(directory, day)
    return manifest


#: The listings of persons a day's files publish (not served: only ``FILES`` are).
PERSONS_FILE = ".person-listings.json"


def _still_listed(reg: Registry, listing_ids: list[str], at: datetime) -> bool:
    """Are all these listings of persons still active (so still public) at ``at``?"""
    m = _Moment(reg, at)
    with reg.engine.connect() as conn:
        for i in range(0, len(listing_ids), BATCH):
            chunk = listing_ids[i : i + BATCH]
            rows = conn.execute(
                select(
                    listings.c.listing_id,
                    listings.c.proposed_at,
                    listings.c.notified_at,
                    listings.c.activates_at,
                    listings.c.until,
                    listings.c.ended_at,
                ).where(listings.c.listing_id.in_(chunk))
            ).all()
            if len(rows) < len(chunk) or any(_state(r, m.t) != "active" for r in rows):
                return False
    return True


def _remove_older(directory: Path, day: str) -> None:
    """Earlier days' files go once today's are written: a person delisted since must not stay
    downloadable from an old folder."""
    for old in directory.iterdir():
        if old.is_dir() and old.name != day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", old.name):
            shutil.rmtree(old, ignore_errors=True)
