"""What a signed-in page asks of its request, as FastAPI dependencies: a principal of one of
the page's roles (else a redirect to sign in, back to the page afterwards), and a form's
CSRF token bound to the session (else 403). One definition instead of the same opening in
every page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request

from ..services.access import Principal
from . import session


class SignInRequired(Exception):
    """The page needs a principal of another role, or one signed in: answered with a redirect
    to the sign-in page (``api/errors.py``)."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def signed_in(*roles: str) -> Any:
    """``who: Annotated[Principal, signed_in("subject")]``: the signed-in principal if it has
    one of ``roles``."""

    def dependency(request: Request) -> Principal:
        who = session.principal(request)
        if who is None or who.role not in roles:
            query = f"?{request.url.query}" if request.url.query else ""
            raise SignInRequired(request.url.path + query)
        return who

    return Depends(dependency)


def _csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    session.check_csrf(request, csrf)


#: a form's CSRF token checked (declare it after the principal: the role is asked first)
CsrfChecked = Annotated[None, Depends(_csrf)]
