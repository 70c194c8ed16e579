"""Signing in to the pages: a session cookie, and a CSRF token bound to it for every form.

The cookie holds the session token of ``access.sign_in`` (HttpOnly, SameSite=Lax), so the
pages and the API share one notion of who is asking. Every POST form carries a token derived
from the session with the registry's key; a form posted from elsewhere fails.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse

from ..errors import NotAuthenticated, NotPermitted
from ..services import access
from ..services.access import Principal

COOKIE = "sc_session"


def principal(request: Request) -> Principal | None:
    """Who is signed in (None for the public); looked up once per request."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    token = request.cookies.get(COOKIE)
    who: Principal | None = None
    if token:
        try:
            who = access.authenticate(request.app.state.registry, token)
        except NotAuthenticated:
            who = None
    request.state.principal = who if who is not None and who.role != "public" else None
    request.state.csrf = csrf_token(request, token) if request.state.principal else ""
    result: Principal | None = request.state.principal
    return result


def csrf_token(request: Request, token: str | None) -> str:
    seal: str = request.app.state.registry.protector.seal("csrf", token or "", length=20)
    return seal


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = csrf_token(request, request.cookies.get(COOKIE))
    if not submitted or not hmac.compare_digest(submitted, expected):
        raise NotPermitted("the form is stale or came from elsewhere; reload the page and retry")


#: Before signing in there is no session to bind a form's token to: the sign-in form binds its
#: token to a nonce cookie of its own, so that another site cannot sign a browser in to an
#: account of the attacker's choosing (login CSRF).
SIGNIN_COOKIE = "sc_signin"


def signin_token(request: Request) -> tuple[str, str | None]:
    """The sign-in form's token, and the nonce to set as its cookie when the browser has none
    yet (``set_signin_cookie``)."""
    nonce = request.cookies.get(SIGNIN_COOKIE)
    fresh = None
    if not nonce:
        nonce = fresh = secrets.token_urlsafe(16)
    seal: str = request.app.state.registry.protector.seal("signin", nonce, length=20)
    return seal, fresh


def set_signin_cookie(request: Request, response: Any, nonce: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_signin_token(request: Request, submitted: str | None) -> None:
    nonce = request.cookies.get(SIGNIN_COOKIE)
    expected = (
        request.app.state.registry.protector.seal("signin", nonce, length=20) if nonce else ""
    )
    if not submitted or not expected or not hmac.compare_digest(submitted, expected):
        raise NotPermitted("the sign-in form is stale or came from elsewhere; reload it and retry")


def require(request: Request, *roles: str) -> Principal | RedirectResponse:
    """The signed-in principal if it has one of the roles; else a redirect to sign in."""
    who = principal(request)
    if who is None or who.role not in roles:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    return who


def open_session(response: Any, session: dict[str, Any], secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        session["token"],
        max_age=access.SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
