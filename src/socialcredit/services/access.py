"""Who may do what: principals with roles, their credentials, and the checks of their scope.

Roles: ``source`` (submits records it is competent for; answers objections to its records),
``agency`` (an implementing agency: checks only the measures it implements), ``reviewer``
(review queue, objection inbox, repair decisions), ``subject`` (an account that speaks for one
subject: its own file, objections, repair, consents), ``auditor`` (reads trails), ``lender``
(reads the file of a subject that consented, for the consent's purpose), and ``public`` (no
credentials: public profiles, lists, the chain's verification). Machines hold tokens; people
sign in with a password (argon2) and get a session token. Only hashes are stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select

from ..clock import to_utc_naive
from ..db import principals, sessions, source_tokens
from ..errors import InvalidInput, NotAuthenticated, NotPermitted, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from .signin_guard import SignInGuard, check_password
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

ROLES = ("agency", "reviewer", "subject", "auditor", "source", "lender")
SESSION_HOURS = 12
_hasher = PasswordHasher()
#: Verified against when the username is unknown, so that an unknown name takes as long as a
#: wrong password (the timing does not tell which usernames exist).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    role: str
    name: str
    principal_id: str | None = None
    source: str | None = None
    measures: frozenset[str] = field(default_factory=frozenset)
    subject_id: str | None = None

    @property
    def label(self) -> str:
        """Who acted or read, as the log and the reads record it. A subject's account is named
        by its opaque id, never by the person's name: an event's actor is covered by the chain
        and could not be redacted when the person's data is purged."""
        if self.role == "subject" and self.principal_id:
            return f"subject:{self.principal_id}"
        return f"{self.role}:{self.name}"


PUBLIC = Principal("public", "anonymous")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_principal(
    reg: Registry,
    role: str,
    name: str,
    *,
    actor: str,
    measures: list[str] | None = None,
    subject: str | None = None,
    source: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """Create an account; its token (if any) is returned once and only its hash is kept."""
    if role not in ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(ROLES)} (systems of a source get tokens with "
            "`socialcredit sources token`)"
        )
    scope: dict[str, Any] = {}
    if role == "agency":
        unknown = [m for m in measures or [] if m not in reg.pack.measures]
        if not measures or unknown:
            raise InvalidInput(
                "an agency account needs the measures it implements"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        scope["measures"] = sorted(measures)
    if role == "source":  # a person at a competent authority who submits its files, signed in
        if source not in reg.pack.sources:
            raise InvalidInput(
                f"a source account names its source (--source), one of {', '.join(reg.pack.sources)}"
            )
        scope["source"] = source
    if role == "subject":
        if not subject:
            raise InvalidInput("a subject account names the subject it speaks for (--subject)")
        scope["subject_id"] = resolve_code(reg, subject).subject_id
    if username and not password:
        raise InvalidInput("a username needs a password")
    if password is not None:
        check_password(password, user_inputs=[username or "", name])
    token = None if username else f"sc_{role}_{secrets.token_urlsafe(24)}"
    principal_id = "U" + uuid.uuid4().hex[:31]
    with reg.uow(actor) as uow:
        if (
            username
            and uow.execute(
                select(principals.c.principal_id).where(principals.c.username == username)
            ).first()
        ):
            raise InvalidInput(f"username {username!r} is taken")
        # the reads log names a reader by its label (role:name): an account's label names it
        # alone among the accounts in use, so that a correction reaches the one that read
        if (
            role != "subject"
            and uow.execute(
                select(principals.c.principal_id).where(
                    (principals.c.role == role)
                    & (principals.c.name == name)
                    & principals.c.revoked_at.is_(None)
                )
            ).first()
        ):
            raise InvalidInput(
                f"an account {role}:{name} exists: give this one another name (reads name their "
                "reader by it)"
            )
        uow.emit(
            NewEvent(
                T.PRINCIPAL_CREATED,
                {
                    "principal_id": principal_id,
                    "role": role,
                    "name": name,
                    "username": username,
                    "scope": scope,
                    "token_hash": _hash(token) if token else None,
                    "password_hash": _hasher.hash(password) if password else None,
                },
                subject_id=scope.get("subject_id"),
            )
        )
        uow.commit()
    return {
        "principal_id": principal_id,
        "role": role,
        "name": name,
        "username": username,
        "token": token,
    }


def revoke_principal(reg: Registry, principal_id: str, *, actor: str) -> None:
    with reg.uow(actor) as uow:
        uow.emit(NewEvent(T.PRINCIPAL_REVOKED, {"principal_id": principal_id}))
        uow.commit()


def guard(reg: Registry) -> SignInGuard:
    """The registry's sign-in guard (one per registry and process)."""
    return reg.shared("signin_guard", SignInGuard)


def sign_in(
    reg: Registry, username: str, password: str, *, address: str | None = None
) -> dict[str, Any]:
    """Open a session. Failed attempts are slowed per account and per ``address`` (the
    client's), and an attempt made too early is refused unread (``signin_guard``)."""
    g = guard(reg)
    g.before(username, address)
    try:
        opened = _sign_in(reg, username, password)
    except NotAuthenticated:
        g.failed(username, address)
        raise
    g.succeeded(username, address)
    return opened


def _sign_in(reg: Registry, username: str, password: str) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        row = conn.execute(select(principals).where(principals.c.username == username)).first()
    usable = row is not None and row.revoked_at is None and bool(row.password_hash)
    try:
        _hasher.verify(row.password_hash if usable else _DUMMY_HASH, password)  # type: ignore[union-attr]
        if not usable:
            raise VerificationError
    except VerificationError:
        raise NotAuthenticated("unknown username or wrong password") from None
    assert row is not None
    token = f"sc_session_{secrets.token_urlsafe(24)}"
    expires = reg.now() + timedelta(hours=SESSION_HOURS)
    with reg.uow(f"{row.role}:{row.name}") as uow:
        uow.emit(
            NewEvent(
                T.SESSION_OPENED,
                {
                    "token_hash": _hash(token),
                    "principal_id": row.principal_id,
                    "expires_at": to_utc_naive(expires).isoformat(),
                },
            )
        )
        uow.commit()
    return {"token": token, "expires_at": expires.isoformat(timespec="seconds"), "role": row.role}


def sign_out(reg: Registry, token: str | None) -> bool:
    """End a session now, server-side: its token stops working on the pages and the API (not
    only the cookie that held it). True when an open session was ended."""
    if not token:
        return False
    h = _hash(token)
    now = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        sess = conn.execute(select(sessions).where(sessions.c.token_hash == h)).first()
    if sess is None or sess.expires_at <= now:
        return False
    with reg.uow("session", clamp=True) as uow:
        uow.emit(NewEvent(T.SESSION_CLOSED, {"token_hash": h, "reason": "signed-out"}))
        uow.commit()
    return True


def authenticate(reg: Registry, token: str | None) -> Principal:
    """The principal a bearer token belongs to; PUBLIC without one; 401 for a bad one."""
    if not token:
        return PUBLIC
    h = _hash(token)
    now = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        src = conn.execute(select(source_tokens).where(source_tokens.c.token_hash == h)).first()
        if src is not None and src.revoked_at is None:
            return Principal("source", src.label, source=src.source)
        row = conn.execute(select(principals).where(principals.c.token_hash == h)).first()
        if row is None:
            sess = conn.execute(select(sessions).where(sessions.c.token_hash == h)).first()
            if sess is not None and sess.expires_at > now:
                row = conn.execute(
                    select(principals).where(principals.c.principal_id == sess.principal_id)
                ).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("unknown, expired or revoked token")
    scope = json.loads(row.scope)
    return Principal(
        row.role,
        row.name,
        row.principal_id,
        source=scope.get("source"),
        measures=frozenset(scope.get("measures", ())),
        subject_id=scope.get("subject_id"),
    )


def require(p: Principal, *roles: str) -> None:
    if p.role == "public":
        raise NotAuthenticated("this needs credentials (Authorization: Bearer <token>)")
    if p.role not in roles:
        raise NotPermitted(f"a {p.role} may not do this")


def require_measure(p: Principal, measure: str) -> None:
    require(p, "agency")
    if measure not in p.measures:
        raise NotPermitted(
            f"this agency does not implement {measure!r}; it may check only "
            f"{', '.join(sorted(p.measures))}"
        )


def require_own_subject(reg: Registry, p: Principal, code: str, *also: str) -> None:
    """A subject account speaks only for its own subject; the roles in ``also`` for any.

    A subject asking about another subject gets the same 404 as for an unknown one: no hint
    that the other exists."""
    require(p, "subject", *also)
    if p.role == "subject" and resolve_code(reg, code).subject_id != p.subject_id:
        raise UnknownEntity("no such subject in your account")
