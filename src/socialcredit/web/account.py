"""Signed-in pages: signing in and out, the subject's portal (its own file, notices, who
looked, objections and repair applications)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from ..errors import RegistryError, UnknownEntity
from ..services import (
    access,
    audit,
    consents,
    grading,
    objections,
    repairs,
    statements,
    subject_copy,
)
from ..services.access import Principal
from ..services.signin_guard import TooManyAttempts
from ..services.subjects import code_of, subject_file
from . import session
from .deps import CsrfChecked, signed_in
from .i18n import _
from .render import page

router = APIRouter(include_in_schema=False)
MAX_ATTACHMENT = 5 * 1024 * 1024


def _reg(request: Request) -> Any:
    return request.app.state.registry


def _safe_next(target: str) -> str:
    """Only a path on this site: never a redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def home_of(role: str) -> str:
    return {"subject": "/me", "lender": "/lender"}.get(role, "/console")


def _signin_page(
    request: Request,
    next: str,
    error: str | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    """The sign-in form, with its token bound to the browser's sign-in nonce."""
    token, fresh = session.signin_token(request)
    resp = page(
        request,
        "signin.html",
        {"next": next, "error": error, "signin_csrf": token},
        status_code=status_code,
        headers=headers,
    )
    if fresh:
        session.set_signin_cookie(request, resp, fresh)
    return resp


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "") -> Any:
    return _signin_page(request, _safe_next(next) if next else "", None)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Any:
    try:
        session.check_signin_token(request, csrf)
    except RegistryError:
        return _signin_page(
            request,
            next,
            _("The sign-in form is stale or came from elsewhere; reload it and try again."),
            status_code=403,
        )
    host = request.client.host if request.client else None
    try:
        opened = access.sign_in(_reg(request), username, password, address=host)
    except TooManyAttempts as exc:
        return _signin_page(
            request,
            next,
            _("Too many failed sign-ins: wait %(seconds)s s and try again.")
            % {"seconds": exc.retry_after},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except RegistryError:
        return _signin_page(request, next, _("Unknown username or wrong password."), 401)
    resp = RedirectResponse(_safe_next(next) if next else home_of(opened["role"]), 303)
    session.open_session(resp, opened, secure=request.url.scheme == "https")
    return resp


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form()] = "") -> Any:
    session.check_csrf(request, csrf)
    access.sign_out(_reg(request), request.cookies.get(session.COOKIE))
    resp = RedirectResponse("/", 303)
    resp.delete_cookie(session.COOKIE)
    return resp


def own_code(request: Request, who: access.Principal) -> str:
    assert who.subject_id is not None
    return code_of(_reg(request), who.subject_id)


def _own_file(request: Request, who: access.Principal) -> dict[str, Any]:
    reg = _reg(request)
    file = subject_file(
        reg, own_code(request, who), reader=who.label, purpose="the subject reads its file"
    )
    file["lenders"] = consents.lenders(reg) if reg.pack.lending else []
    file["purposes"] = reg.pack.lending.consent.purposes if reg.pack.lending else {}
    file["calendar"] = subject_copy.calendar(reg, file)
    return grading.with_grades(reg, file)


@router.get("/me", response_class=HTMLResponse)
def my_file(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    done: str = "",
) -> Any:
    file = _own_file(request, who)
    return page(
        request,
        "me.html",
        {
            "file": file,
            "done": done,
            "error": None,
            "statement_policy": _reg(request).pack.statements,
        },
    )


@router.get("/me/proofs/{seq}", response_class=HTMLResponse)
def my_proof(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    seq: int,
) -> Any:
    """The proof of one fact of the subject's own file: its leaf, its audit path to its
    batch's Merkle root, and that batch event's place in the chain."""
    reg = _reg(request)
    if not audit.in_file_of(reg, seq, str(who.subject_id)):
        raise UnknownEntity("no such fact in your file")
    return page(request, "proof.html", {"proof": audit.prove(reg, seq)})


def entry_of(target: str) -> tuple[str | None, str | None]:
    """A form's ``listing:ID`` or ``record:SOURCE/ID`` (``parts/target_select.html``) as
    (listing id, record)."""
    kind, _sep, ident = target.partition(":")
    return (ident if kind == "listing" else None), (ident if kind == "record" else None)


def back_with_error(request: Request, who: access.Principal, exc: RegistryError) -> Any:
    file = _own_file(request, who)
    return page(
        request,
        "me.html",
        {
            "file": file,
            "done": "",
            "error": exc.message,
            "statement_policy": _reg(request).pack.statements,
        },
        status_code=exc.status,
    )


@router.post("/me/objections", response_class=HTMLResponse)
async def file_objection(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    target: Annotated[str, Form(max_length=300)],
    grounds: Annotated[str, Form(max_length=5000)],
    attachments: Annotated[list[UploadFile] | None, File()] = None,
) -> Any:
    files = []
    for up in attachments or []:
        if not up.filename:
            continue
        data = await up.read(MAX_ATTACHMENT + 1)
        files.append((up.filename, data))
    reg = _reg(request)
    listing_id, record = entry_of(target)
    try:
        assert who.subject_id is not None
        objections.file_objection(
            reg,
            code_of(reg, who.subject_id),
            grounds=grounds,
            listing_id=listing_id,
            record=record,
            files=files,
            actor=who.label,
        )
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me?done=objection#objections", 303)


@router.post("/me/statements", response_class=HTMLResponse)
def file_statement(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    target: Annotated[str, Form(max_length=300)],
    statement: Annotated[str, Form(max_length=5000)],
) -> Any:
    reg = _reg(request)
    listing_id, record = entry_of(target)
    try:
        assert who.subject_id is not None
        statements.file_statement(
            reg,
            code_of(reg, who.subject_id),
            text=statement,
            listing_id=listing_id,
            record=record,
            actor=who.label,
        )
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me?done=statement#statements", 303)


@router.post("/me/statements/{statement_id}/withdraw", response_class=HTMLResponse)
def withdraw_statement(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    statement_id: str,
) -> Any:
    try:
        statements.withdraw_statement(
            _reg(request), statement_id, actor=who.label, subject_id=who.subject_id
        )
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me#statements", 303)


@router.post("/me/repairs", response_class=HTMLResponse)
def apply_for_repair(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    target: Annotated[str, Form(max_length=300)],
    evidence: Annotated[str, Form(max_length=5000)],
) -> Any:
    reg = _reg(request)
    listing_id, record = entry_of(target)
    try:
        assert who.subject_id is not None
        repairs.apply_for_repair(
            reg,
            code_of(reg, who.subject_id),
            evidence=evidence,
            listing_id=listing_id,
            record=record,
            actor=who.label,
        )
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me?done=repair#repairs", 303)
