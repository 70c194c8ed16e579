"""Statements: the subject's own words beside a record or listing about it.

A subject may not agree with an entry, or may want a reader to know what the entry does not say
(paid since, appealed, the circumstances). Beside the objection, which asks the source to change
the entry, a statement changes nothing of the entry: it is shown wherever the entry is shown (the
public profile, the credit report, the lender's report, the subject's file), in the subject's
words and marked as theirs, for as long as the entry is shown. The pack sets its length
(``statements.yaml``: characters for a text in Chinese, words otherwise) and its basis.

One statement per entry is shown: a new one takes the place of the last. A statement is checked
like any input (no prohibited category, nobody's identity number, telephone number or e-mail
address), and a reviewer may refuse one that names a third party, with a reason the subject is
told. The subject may withdraw theirs. Each is one event (a right depends on it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from ..bulk import among
from ..clock import iso
from ..db import listings, records, statements
from ..errors import InvalidInput, NotPermitted, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..identifiers.resident_id import looks_like_resident_id
from ..policy.vocabularies import text_category
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DIGIT_RUNS = re.compile(r"\d[\d\s-]{12,20}[\dXx]")
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Shown:
    """The statements in force at a moment, by the entry they stand beside."""

    records: dict[str, dict[str, Any]]
    listings: dict[str, dict[str, Any]]

    def of_record(self, record_key: str) -> dict[str, Any] | None:
        return self.records.get(record_key)

    def of_listing(self, listing_id: str) -> dict[str, Any] | None:
        return self.listings.get(listing_id)


def shown(reg: Registry, conn: Any, subject_ids: Collection[str], t: datetime) -> Shown:
    """The statements about these subjects in force at ``t`` (naive UTC), each as
    ``{statement_id, statement, filed_at, by_subject: True}``."""
    out = Shown({}, {})
    s = statements.c
    for r in conn.execute(
        select(s.statement_id, s.record_key, s.listing_id, s.statement, s.filed_at).where(
            among(s.subject_id, sorted(set(subject_ids)), conn.dialect.name),
            s.filed_at <= t,
            or_(s.ended_at.is_(None), s.ended_at > t),
        )
    ):
        entry = {
            "statement_id": r.statement_id,
            "statement": r.statement,
            "filed_at": iso(r.filed_at, reg.tz),
            "by_subject": True,
        }
        if r.listing_id:
            out.listings[r.listing_id] = entry
        elif r.record_key:
            out.records[r.record_key] = entry
    return out


def check_text(reg: Registry, text: str) -> str:
    """The statement as it will be kept, or InvalidInput naming what is wrong with it."""
    t = " ".join((text or "").split())
    if not t:
        raise InvalidInput("the statement is empty")
    if "\x00" in t or not t.encode("utf-8", "surrogatepass").decode("utf-8", "ignore") == t:
        raise InvalidInput("the statement contains characters that are not text")
    policy = reg.pack.statements
    if _CJK.search(t):
        n = sum(1 for ch in t if not ch.isspace())
        if n > policy.max_chars:
            raise InvalidInput(
                f"the statement has {n} characters; at most {policy.max_chars} are shown"
            )
    else:
        n = len(t.split())
        if n > policy.max_words:
            raise InvalidInput(f"the statement has {n} words; at most {policy.max_words}")
    found = text_category(t)
    if found is not None:
        raise InvalidInput(
            f"the statement names {found[0]} ({', '.join(found[1])}): the registry shows "
            "nothing of that category; write it without"
        )
    persons = reg.person_scheme
    for run in _DIGIT_RUNS.findall(t):
        number = "".join(run.split()).replace("-", "")
        if looks_like_resident_id(number) or (persons is not None and persons.looks_like(number)):
            raise InvalidInput(
                "the statement holds an identity number: the registry never shows one; "
                "write it without"
            )
    if _PHONE.search(t) or _EMAIL.search(t):
        raise InvalidInput(
            "the statement holds a telephone number or an e-mail address, which would be "
            "shown to everyone who reads the entry; write it without"
        )
    return t


def _target(conn: Any, subject_id: str, listing_id: str | None, record: str | None) -> Any:
    if bool(listing_id) == bool(record):
        raise InvalidInput("a statement stands beside one entry: a listing or a record")
    if listing_id:
        row = conn.execute(
            select(listings.c.listing_id, listings.c.status, listings.c.record_key).where(
                and_(listings.c.listing_id == listing_id, listings.c.subject_id == subject_id)
            )
        ).first()
        if row is None:
            raise UnknownEntity(f"no listing {listing_id} for this subject")
        if row.status == "ended":
            raise InvalidInput(f"listing {listing_id} has ended; it is no longer shown")
        return row
    assert record is not None
    source, _, sid = record.partition("/")
    row = conn.execute(
        select(records.c.record_key, records.c.retracted_at).where(
            and_(
                records.c.source == source,
                records.c.source_record_id == sid,
                records.c.subject_id == subject_id,
            )
        )
    ).first()
    if row is None:
        raise UnknownEntity(f"no record {record} (SOURCE/SOURCE_RECORD_ID) for this subject")
    if row.retracted_at is not None:
        raise InvalidInput(f"record {record} was retracted; it is no longer shown")
    return row


def file_statement(
    reg: Registry,
    subject: str,
    *,
    text: str,
    actor: str,
    listing_id: str | None = None,
    record: str | None = None,
) -> dict[str, Any]:
    """Attach the subject's statement to one of its entries (replacing the one shown there)."""
    statement = check_text(reg, text)
    ref = resolve_code(reg, subject)
    with reg.uow(actor) as uow:
        target = _target(uow.conn, ref.subject_id, listing_id, record)
        record_key = None if listing_id else target.record_key
        s = statements.c
        on_entry = s.listing_id == listing_id if listing_id else s.record_key == record_key
        if not listing_id:
            on_entry = and_(on_entry, s.listing_id.is_(None))
        previous = uow.execute(
            select(s.statement_id).where(and_(on_entry, s.status == "shown"))
        ).first()
        statement_id = "S" + uuid.uuid4().hex[:31]
        uow.emit(
            NewEvent(
                T.STATEMENT_FILED,
                {
                    "statement_id": statement_id,
                    "subject_id": ref.subject_id,
                    "listing_id": listing_id,
                    "record_key": record_key,
                    "statement": statement,
                    "filed_by": actor,
                    "replaces": previous.statement_id if previous else None,
                },
                subject_id=ref.subject_id,
            )
        )
        uow.commit()
    return {
        "id": statement_id,
        "status": "shown",
        "statement": statement,
        "listing_id": listing_id,
        "record": record,
        "replaces": previous.statement_id if previous else None,
        "legal_basis": reg.pack.cite(reg.pack.statements.legal_basis),
    }


def _find(conn: Any, statement_id: str) -> Any:
    row = conn.execute(select(statements).where(statements.c.statement_id == statement_id)).first()
    if row is None:
        raise UnknownEntity(f"no statement {statement_id}")
    return row


def refuse_statement(
    reg: Registry, statement_id: str, *, reason: str, actor: str
) -> dict[str, Any]:
    """A reviewer takes a statement down (it names a third party, or other data the registry
    may not show), with the reason the subject is told."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("a refusal gives its reason: the subject is told it")
    with reg.uow(actor) as uow:
        row = _find(uow.conn, statement_id)
        if row.status != "shown":
            raise InvalidInput(f"statement {statement_id} is {row.status}, not shown")
        body = {
            "zh": f"您的声明（{statement_id}）未予展示。理由：{reason}。您可以修改后重新提交。",
            "en": f"Your statement {statement_id} is no longer shown. Reasons: {reason}. You may "
            "write it again without what the reasons name.",
        }
        uow.emit(
            NewEvent(
                T.STATEMENT_REFUSED,
                {
                    "statement_id": statement_id,
                    "reason": reason,
                    "refused_by": actor,
                    "listing_id": row.listing_id,
                    "notice_id": "N" + uuid.uuid4().hex[:31],
                    "body": {k: v for k, v in body.items() if k in reg.pack.meta.languages},
                },
                subject_id=row.subject_id,
            )
        )
        uow.commit()
    return {"id": statement_id, "status": "refused", "reason": reason}


def withdraw_statement(
    reg: Registry, statement_id: str, *, actor: str, subject_id: str | None = None
) -> dict[str, Any]:
    """The subject takes its statement down. ``subject_id``: the subject the caller speaks for
    (a subject's account may withdraw only its own)."""
    with reg.uow(actor) as uow:
        row = _find(uow.conn, statement_id)
        if subject_id is not None and row.subject_id != subject_id:
            raise NotPermitted("a subject withdraws only its own statements")
        if row.status != "shown":
            raise InvalidInput(f"statement {statement_id} is {row.status}, not shown")
        uow.emit(
            NewEvent(
                T.STATEMENT_WITHDRAWN,
                {"statement_id": statement_id, "withdrawn_by": actor},
                subject_id=row.subject_id,
            )
        )
        uow.commit()
    return {"id": statement_id, "status": "withdrawn"}


def to_review(reg: Registry, limit: int = 200) -> list[dict[str, Any]]:
    """The statements shown now, newest first, for a reviewer to read."""
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(statements)
            .where(statements.c.status == "shown")
            .order_by(statements.c.filed_at.desc())
            .limit(limit)
        ).all()
    return [
        {
            "id": r.statement_id,
            "subject_id": r.subject_id,
            "listing_id": r.listing_id,
            "record_key": r.record_key,
            "statement": r.statement,
            "filed_at": iso(r.filed_at, reg.tz),
        }
        for r in rows
    ]
