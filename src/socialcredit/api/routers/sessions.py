"""Signing in and out with a password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from ...errors import NotAuthenticated
from ...services import access
from .. import schemas
from ..deps import ERRORS, RATE_LIMITED, RegDep, WhoDep, client_host

router = APIRouter()


@router.post(
    "/v1/sessions",
    response_model=schemas.SessionOut,
    responses={**ERRORS, **RATE_LIMITED},
    tags=["access"],
)
def post_session(reg: RegDep, request: Request, body: schemas.SignIn) -> Any:
    """Sign in with a username and password; returns a session token. After five failures
    for an account (twenty from an address) each attempt waits twice as long as the one
    before: 429 with Retry-After."""
    return access.sign_in(reg, body.username, body.password, address=client_host(request))


@router.delete("/v1/sessions", status_code=204, responses=ERRORS, tags=["access"])
def delete_session(
    reg: RegDep,
    who: WhoDep,
    authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
) -> Response:
    """Sign out: the session token stops working at once, on the API and the pages."""
    if who.role == "public":
        raise NotAuthenticated("use Authorization: Bearer <session token>")
    access.sign_out(reg, (authorization or "").partition(" ")[2].strip())
    return Response(status_code=204)
