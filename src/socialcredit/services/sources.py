"""Sources and their API tokens. A token is shown once; the registry keeps only its hash."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db import source_tokens
from ..errors import InvalidInput, UnknownEntity
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


#: how a token is named when it is not at hand (it is shown once): the start of its hash
TOKEN_ID_LENGTH = 12


def revoke_token(reg: Registry, token: str, actor: str) -> dict[str, Any]:
    """Revoke a source's token: the token itself (``sc_…``) or its id (the first characters of
    its hash, as ``sources list`` shows them). It stops working at once."""
    token = (token or "").strip()
    with reg.uow(actor) as uow:
        if token.startswith("sc_"):
            rows = uow.execute(
                select(source_tokens).where(source_tokens.c.token_hash == _hash(token))
            ).all()
        elif len(token) >= 8 and all(c in "0123456789abcdef" for c in token):
            rows = uow.execute(
                select(source_tokens).where(source_tokens.c.token_hash.startswith(token))
            ).all()
        else:
            raise InvalidInput("name a token by itself (sc_…) or by its id (8+ hex characters)")
        if not rows:
            raise UnknownEntity("no such source token")
        if len(rows) > 1:
            raise InvalidInput("that id names several tokens: give more of it")
        (row,) = rows
        if row.revoked_at is not None:
            raise InvalidInput("that token is already revoked")
        uow.emit(NewEvent(T.SOURCE_TOKEN_REVOKED, {"token_hash": row.token_hash}))
        uow.commit()
    return {"id": row.token_hash[:TOKEN_ID_LENGTH], "source": row.source, "label": row.label}


def list_tokens(reg: Registry) -> list[dict[str, Any]]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                source_tokens.c.token_hash,
                source_tokens.c.source,
                source_tokens.c.label,
                source_tokens.c.issued_at,
                source_tokens.c.revoked_at,
            )
        ).all()
    return [
        {"id": r.token_hash[:TOKEN_ID_LENGTH]}
        | {k: v for k, v in r._mapping.items() if k != "token_hash"}
        for r in rows
    ]
