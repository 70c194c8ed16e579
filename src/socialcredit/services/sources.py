"""Sources and their API tokens. A token is shown once; the registry keeps only its hash."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db import source_tokens
from ..errors import NotAuthenticated, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent

if TYPE_CHECKING:
    from ..bootstrap import Registry


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(reg: Registry, source: str, label: str, actor: str) -> str:
    if source not in reg.pack.sources:
        raise UnknownEntity(
            f"unknown source {source!r} (known: {', '.join(sorted(reg.pack.sources))})"
        )
    token = f"sc_{source}_{secrets.token_urlsafe(24)}"
    with reg.uow(actor) as uow:
        uow.emit(
            NewEvent(
                T.SOURCE_TOKEN_ISSUED,
                {"token_hash": _hash(token), "source": source, "label": label},
            )
        )
        uow.commit()
    return token


def revoke_token(reg: Registry, token: str, actor: str) -> None:
    with reg.uow(actor) as uow:
        uow.emit(NewEvent(T.SOURCE_TOKEN_REVOKED, {"token_hash": _hash(token)}))
        uow.commit()


def authenticate(reg: Registry, token: str | None) -> str:
    """The source a bearer token acts for; NotAuthenticated otherwise."""
    if not token:
        raise NotAuthenticated("a source token is required (Authorization: Bearer <token>)")
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(source_tokens).where(source_tokens.c.token_hash == _hash(token))
        ).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked source token")
    return str(row.source)


def list_tokens(reg: Registry) -> list[dict[str, Any]]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                source_tokens.c.source,
                source_tokens.c.label,
                source_tokens.c.issued_at,
                source_tokens.c.revoked_at,
            )
        ).all()
    return [dict(r._mapping) for r in rows]
