"""What the API's routes depend on: the registry, who is asking, the documented error
answers, the limits on searches and on checks of natural persons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from ..bootstrap import Registry
from ..clock import parse_moment
from ..errors import NotAuthenticated
from ..services import access, checks, subjects
from ..services.access import Principal
from . import schemas
from .ratelimit import PersonChecksLimited, RateLimited, SearchLimiter


def get_reg(request: Request) -> Registry:
    r: Registry = request.app.state.registry
    return r


RegDep = Annotated[Registry, Depends(get_reg)]


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
) -> Principal:
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise NotAuthenticated("use Authorization: Bearer <token>")
        token = value.strip()
    return access.authenticate(request.app.state.registry, token)


WhoDep = Annotated[Principal, Depends(get_principal)]


def may_check(reg: Registry, who: Principal, measure: str) -> None:
    """An unknown measure is a 404 for everyone; a known one only for the agency implementing it."""
    checks.index(reg).measure(measure)
    access.require_measure(who, measure)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorOut},
    403: {"model": schemas.ErrorOut},
    404: {"model": schemas.ErrorOut},
    # a body above the route's limit (SOCIALCREDIT_MAX_BODY, or the upload limit)
    413: {"model": schemas.ErrorOut, "description": "The request body is too large"},
    422: {"model": schemas.ErrorOut},
}
#: Decisions on something another decision may have closed first (a review item, a merge
#: proposal, a link): 409 with the error body.
DECISIONS = {**ERRORS, 409: {"model": schemas.ErrorOut}}


def client_host(request: Request) -> str | None:
    return request.client.host if request.client else None


def limit_search(request: Request) -> None:
    """One token of the client's search bucket (api/ratelimit.py), or 429."""
    limiter: SearchLimiter = request.app.state.search_limiter
    wait = limiter.take(client_host(request))
    if wait:
        raise RateLimited(wait)


RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": schemas.ErrorOut,
        "description": "Too many requests (searches from this address, or failed sign-ins); "
        "wait and try again",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the next request is accepted",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


def moment(reg: Registry, as_of: str | None) -> Any:
    """An ``as_of`` parameter as a moment in the pack's time zone; None for now."""
    return parse_moment(as_of, reg.tz) if as_of else None


def person_quota(request: Request, who: Principal, codes: list[str]) -> None:
    """Checks on natural persons count against the agency's quota (organisations' do not:
    their listings are public)."""
    reg = get_reg(request)
    persons = sum(1 for c in codes if subjects.is_person_number(reg, c))
    limiter: SearchLimiter = request.app.state.person_check_limiter
    wait = limiter.take(f"principal:{who.principal_id or who.label}", persons)
    if wait:
        raise PersonChecksLimited(wait)
