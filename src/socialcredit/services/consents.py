"""Consents: a subject's revocable permission for one lender to read its file, or for one source
to share records the law lets it share only with the subject's consent.

A consent names its grantee, its purpose (one of the pack's lending purposes; ``collection``
for a source), and the moment it ends, at most the pack's ``maximum_period`` away. The subject
may revoke it at any time and the revocation holds from that moment: every check of a consent
reads the store, never a cache. Consents and revocations are events in the hash-chained log;
every read a lender makes under one is recorded with the consent's id and purpose and shown to
the subject in its file.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, or_, select

from ..clock import iso, to_utc_naive
from ..db import consents, principals
from ..errors import InvalidInput, NotPermitted, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..policy.durations import Duration, add_duration
from ..policy.model import LendingPolicy
from .access import Principal, require, require_own_subject
from .subjects import lookup, resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

COLLECTION = "collection"
#: What a lender without a valid consent is told, whether or not the subject exists.
NO_CONSENT = "no valid consent of this subject covers your reading its file"


def _lending(reg: Registry) -> LendingPolicy:
    if reg.pack.lending is None:
        raise NotPermitted(f"policy pack {reg.pack.meta.id} shares no file with lenders")
    return reg.pack.lending


def _until(reg: Registry, until: datetime | None) -> datetime:
    """The end of a new consent: as asked, or the longest the pack allows."""
    now = reg.now()
    cap = add_duration(
        now, Duration.parse(_lending(reg).consent.maximum_period), reg.calendar, reg.tz
    ).at
    if until is None:
        return cap
    if until.tzinfo is None:
        until = until.replace(tzinfo=reg.tz)
    if until <= now:
        raise InvalidInput("a consent must end in the future")
    if until > cap:
        raise InvalidInput(
            f"a consent may run at most {_lending(reg).consent.maximum_period} "
            f"(until {iso(cap, reg.tz)})"
        )
    return until


def lenders(reg: Registry) -> list[dict[str, Any]]:
    """The lenders a subject may consent to: their ids and names (no credentials)."""
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(principals.c.principal_id, principals.c.name)
            .where((principals.c.role == "lender") & principals.c.revoked_at.is_(None))
            .order_by(principals.c.name)
        ).all()
    return [{"lender": r.principal_id, "name": r.name} for r in rows]


def _emit(reg: Registry, actor: str, payload: dict[str, Any]) -> dict[str, Any]:
    with reg.uow(actor) as uow:
        uow.emit(NewEvent(T.CONSENT_GRANTED, payload, subject_id=payload["subject_id"]))
        uow.commit()
    return describe_payload(reg, payload)


def grant(
    reg: Registry,
    who: Principal,
    subject: str,
    *,
    lender: str,
    purpose: str,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The subject lets one lender read its file for one purpose until a moment."""
    require_own_subject(reg, who, subject)
    policy = _lending(reg)
    if purpose not in policy.consent.purposes:
        raise InvalidInput(
            f"unknown purpose {purpose!r}; one of {', '.join(policy.consent.purposes)}"
        )
    ref = resolve_code(reg, subject)
    lookup(reg, subject)  # a consent is for a registered subject
    with reg.engine.connect() as conn:
        row = conn.execute(select(principals).where(principals.c.principal_id == lender)).first()
    if row is None or row.role != "lender" or row.revoked_at is not None:
        raise UnknownEntity(f"no lender {lender!r} (GET /v1/lenders lists them)")
    end = _until(reg, until)
    return _emit(
        reg,
        who.label,
        {
            "consent_id": "C" + uuid.uuid4().hex[:31],
            "subject_id": ref.subject_id,
            "grantee_kind": "lender",
            "grantee": row.principal_id,
            "grantee_name": row.name,
            "purpose": purpose,
            "record_types": [],
            "until": to_utc_naive(end).isoformat(),
            "granted_by": who.label,
        },
    )


def grant_to_source(
    reg: Registry,
    who: Principal,
    subject: str,
    *,
    source: str,
    record_types: list[str],
    until: datetime | None = None,
) -> dict[str, Any]:
    """The subject lets a source share records of these types about it (where the type's
    ``consent`` rule requires the subject's consent)."""
    require_own_subject(reg, who, subject)
    src = reg.pack.sources.get(source)
    if src is None:
        raise UnknownEntity(f"no source {source!r}; one of {', '.join(reg.pack.sources)}")
    ref = resolve_code(reg, subject)
    lookup(reg, subject)
    if not record_types:
        raise InvalidInput("name the record types the source may share")
    for rt in record_types:
        spec = reg.pack.record_types.get(rt)
        if rt not in src.competent_for or spec is None or spec.consent is None:
            raise InvalidInput(
                f"{source} does not submit {rt!r} records that need your consent; it may: "
                + ", ".join(
                    r for r in src.competent_for if reg.pack.record_types[r].consent is not None
                )
            )
    end = _until(reg, until)
    return _emit(
        reg,
        who.label,
        {
            "consent_id": "C" + uuid.uuid4().hex[:31],
            "subject_id": ref.subject_id,
            "grantee_kind": "source",
            "grantee": source,
            "grantee_name": src.name.en,
            "purpose": COLLECTION,
            "record_types": sorted(set(record_types)),
            "until": to_utc_naive(end).isoformat(),
            "granted_by": who.label,
        },
    )


def revoke(reg: Registry, who: Principal, consent_id: str) -> dict[str, Any]:
    """The subject withdraws a consent; from this moment it covers nothing."""
    require(who, "subject")
    with reg.engine.connect() as conn:
        row = conn.execute(select(consents).where(consents.c.consent_id == consent_id)).first()
    if row is None or row.subject_id != who.subject_id:
        raise UnknownEntity("no such consent in your account")
    if row.revoked_at is not None:
        return describe(reg, row)
    with reg.uow(who.label) as uow:
        uow.emit(
            NewEvent(
                T.CONSENT_REVOKED,
                {"consent_id": consent_id, "revoked_by": who.label},
                subject_id=row.subject_id,
            )
        )
        uow.commit()
    with reg.engine.connect() as conn:
        row = conn.execute(select(consents).where(consents.c.consent_id == consent_id)).first()
    return describe(reg, row)


def _state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None and row.revoked_at <= now:
        return "revoked"
    return "active" if row.granted_at <= now < row.until else "expired"


def describe(reg: Registry, row: Any) -> dict[str, Any]:
    now = to_utc_naive(reg.now())
    policy = reg.pack.lending
    purpose = policy.consent.purposes.get(row.purpose) if policy else None
    return {
        "consent_id": row.consent_id,
        "grantee_kind": row.grantee_kind,
        "grantee": row.grantee,
        "grantee_name": row.grantee_name,
        "purpose": row.purpose,
        "purpose_text": purpose.model_dump() if purpose else None,
        "record_types": json.loads(row.record_types),
        "granted_at": iso(row.granted_at, reg.tz),
        "until": iso(row.until, reg.tz),
        "revoked_at": iso(row.revoked_at, reg.tz),
        "status": _state(row, now),
    }


def describe_payload(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        row = conn.execute(select(consents).where(consents.c.consent_id == p["consent_id"])).one()
    return describe(reg, row)


def listing(reg: Registry, who: Principal) -> list[dict[str, Any]]:
    """A subject's consents (all of them, newest first), or the consents a lender holds."""
    require(who, "subject", "lender")
    cond = (
        consents.c.subject_id == who.subject_id
        if who.role == "subject"
        else (consents.c.grantee_kind == "lender") & (consents.c.grantee == who.principal_id)
    )
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(consents).where(cond).order_by(consents.c.granted_at.desc())
        ).all()
    out = [describe(reg, r) for r in rows]
    if who.role == "lender":
        # a lender sees which of its consents hold, never the subject's other grantees; it
        # addresses a person by the subject id (no ID number in a URL), an organisation by
        # its USCC
        for item, r in zip(out, rows, strict=True):
            item["subject"] = r.subject_id if item["status"] == "active" else None
    return out


def of_subject(reg: Registry, subject_id: str) -> list[dict[str, Any]]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(consents)
            .where(consents.c.subject_id == subject_id)
            .order_by(consents.c.granted_at.desc())
        ).all()
    return [describe(reg, r) for r in rows]


def _active(at: datetime) -> Any:
    return and_(
        consents.c.granted_at <= at,
        consents.c.until > at,
        or_(consents.c.revoked_at.is_(None), consents.c.revoked_at > at),
    )


def require_lender_consent(reg: Registry, who: Principal, code: str) -> tuple[Any, Any]:
    """The lender's active consent for this subject, and the subject's reference; 403 with
    nothing else otherwise (not even whether the subject exists or the code is valid)."""
    require(who, "lender")
    try:
        ref = resolve_code(reg, code)
    except InvalidInput:
        raise NotPermitted(NO_CONSENT) from None
    now = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(consents)
            .where(
                (consents.c.grantee_kind == "lender")
                & (consents.c.grantee == who.principal_id)
                & (consents.c.subject_id == ref.subject_id)
                & _active(now)
            )
            .order_by(consents.c.until.desc())
        ).first()
    if row is None:
        raise NotPermitted(NO_CONSENT)
    return row, ref


def consented_sources(
    conn: Connection, subject_ids: list[str], at: datetime
) -> set[tuple[str, str, str]]:
    """(subject_id, source, record_type) for every active collection consent of these subjects."""
    out: set[tuple[str, str, str]] = set()
    for i in range(0, len(subject_ids), 500):
        rows = conn.execute(
            select(consents.c.subject_id, consents.c.grantee, consents.c.record_types).where(
                (consents.c.grantee_kind == "source")
                & consents.c.subject_id.in_(subject_ids[i : i + 500])
                & _active(at)
            )
        ).all()
        for r in rows:
            out.update((r.subject_id, r.grantee, t) for t in json.loads(r.record_types))
    return out
