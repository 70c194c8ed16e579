"""The agency console, signed in and by role: a source uploads files and sees each row's fate;
a reviewer works the review queue and the objection inbox (nearest deadline first); an
implementing agency checks subjects for the measures it implements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from ..errors import InvalidInput, RegistryError
from ..ingest.readers import read_upload
from ..services import checks, ingest, objections, review, views
from ..services.access import Principal
from . import session
from .render import page

router = APIRouter(include_in_schema=False)
STAFF = ("source", "reviewer", "agency", "auditor")
MAX_UPLOAD = 50 * 1024 * 1024


def _reg(request: Request) -> Any:
    return request.app.state.registry


def _console(request: Request, who: Principal, **extra: Any) -> HTMLResponse:
    reg = _reg(request)
    status = extra.pop("status_code", 200)
    ctx: dict[str, Any] = {"who": who, "pack": reg.pack, "error": None, "done": "", **extra}
    if who.role == "reviewer":
        ctx["queue"] = views.review_items(reg)
        ctx["inbox"] = views.objection_inbox(reg)
    return page(request, "console.html", ctx, status_code=status)


@router.get("/console", response_class=HTMLResponse)
def console(request: Request, done: str = "") -> Any:
    who = session.require(request, *STAFF)
    if isinstance(who, RedirectResponse):
        return who
    return _console(request, who, done=done)


@router.post("/console/upload", response_class=HTMLResponse)
async def upload(
    request: Request, file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = ""
) -> Any:
    who = session.require(request, "source")
    if isinstance(who, RedirectResponse):
        return who
    session.check_csrf(request, csrf)
    data = await file.read(MAX_UPLOAD + 1)
    name = file.filename or "upload"
    try:
        if len(data) > MAX_UPLOAD:
            raise InvalidInput("the file is larger than 50 MiB; split it and send the parts")
        assert who.source is not None
        summary = ingest.ingest(
            _reg(request), read_upload(data, name), who.source, actor=who.label, file_name=name
        )
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return _console(request, who, report=summary.as_dict(max_rejects=2000))


@router.post("/console/review/{item_id}", response_class=HTMLResponse)
def decide_review_item(
    request: Request,
    item_id: str,
    action: Annotated[str, Form()],
    subject: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Any:
    who = session.require(request, "reviewer")
    if isinstance(who, RedirectResponse):
        return who
    session.check_csrf(request, csrf)
    reg = _reg(request)
    try:
        if action == "resolve":
            review.resolve_item(reg, item_id, subject, actor=who.label)
        elif action == "reject":
            review.reject_item(reg, item_id, reason=reason, actor=who.label)
        else:
            raise InvalidInput("choose resolve or reject")
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return RedirectResponse(f"/console?done={action}d#queue", 303)


@router.post("/console/objections/{objection_id}", response_class=HTMLResponse)
def decide_objection(
    request: Request,
    objection_id: str,
    outcome: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=5000)],
    csrf: Annotated[str, Form()] = "",
) -> Any:
    who = session.require(request, "reviewer", "source")
    if isinstance(who, RedirectResponse):
        return who
    session.check_csrf(request, csrf)
    reg = _reg(request)
    try:
        objections.authorise_decision(reg, who, objection_id, outcome)
        objections.decide_objection(
            reg, objection_id, outcome=outcome, reason=reason, actor=who.label
        )
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return RedirectResponse("/console?done=decided#inbox", 303)


@router.get("/console/check", response_class=HTMLResponse)
def check(
    request: Request,
    subject: Annotated[str, Query(max_length=40)] = "",
    measure: Annotated[str, Query(max_length=80)] = "",
) -> Any:
    who = session.require(request, "agency")
    if isinstance(who, RedirectResponse):
        return who
    if not subject:
        return _console(request, who)
    reg = _reg(request)
    try:
        if measure not in who.measures:
            raise InvalidInput("choose one of the measures your agency implements")
        result = checks.answer(reg, subject, measure, reader=who.label)
    except RegistryError as exc:
        return _console(request, who, error=exc.message, subject=subject, measure=measure)
    return _console(request, who, result=result, subject=subject, measure=measure)
