"""The agency console, signed in and by role: a source uploads files and sees each row's fate,
records one decision through a form (which may issue a listing, with its decision reference),
ends the listings resting on its records by recording the decision that ends them, and answers
the objections to its records; a reviewer works the review queue and every objection (nearest
deadline first); an implementing agency checks subjects for the measures it implements."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import InvalidInput, RegistryError
from ..ingest.readers import read_upload
from ..services import (
    checks,
    dedupe,
    ingest,
    objections,
    resolution,
    review,
    uploads,
    worklists,
)
from ..services.access import Principal
from . import session
from .deps import CsrfChecked, signed_in
from .i18n import gettext as _
from .render import download, page

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
        ctx["queue"] = worklists.review_items(reg)
        ctx["inbox"] = worklists.objection_inbox(reg)
        ctx["merges"] = dedupe.proposals(reg)
    if who.role == "source" and who.source is not None:
        ctx["inbox"] = worklists.objection_inbox(reg, source=who.source)
        qp = request.query_params
        page_no = qp.get("page", "1")
        ctx["listings"] = worklists.source_listings(
            reg,
            who.source,
            query=qp.get("q", "")[:100],
            list_id=qp.get("list", "") if qp.get("list", "") in reg.pack.lists else "",
            page=int(page_no) if page_no.isdigit() else 1,
        )
        ctx["uploads"] = uploads.recent(reg, who.source)
        types = reg.pack.sources[who.source].competent_for
        ctx["record_types"] = [reg.pack.record_types[t] for t in types]
        chosen = ctx.get("form_type") or request.query_params.get("type") or types[0]
        ctx["form_type"] = reg.pack.record_types.get(chosen) or reg.pack.record_types[types[0]]
        ctx["form_lists"] = [
            ld
            for ld in reg.pack.lists.values()
            if ld.entry_for(ctx["form_type"].id) is not None and ld.decision_ref is not None
        ]
        ctx.setdefault("values", {})
        ctx.setdefault("field_errors", {})
    return page(request, "console.html", ctx, status_code=status)


#: The columns every record has, in the order of the form (the interchange format's own).
RECORD_COLUMNS = (
    "source_record_id",
    "subject_id",
    "subject_name",
    "authority",
    "decision_ref",
    "decided_on",
    "legal_basis",
    "status",
)


@router.get("/console", response_class=HTMLResponse)
def console(
    request: Request,
    who: Annotated[Principal, signed_in(*STAFF)],
    done: str = "",
) -> Any:
    return _console(request, who, done=done)


@router.post("/console/upload", response_class=HTMLResponse)
async def upload(
    request: Request,
    who: Annotated[Principal, signed_in("source")],
    _csrf: CsrfChecked,
    file: Annotated[UploadFile, File()],
    fmt: Annotated[str, Form(alias="format", max_length=80)] = "interchange",
) -> Any:
    data = await file.read(MAX_UPLOAD + 1)
    name = file.filename or "upload"
    try:
        if len(data) > MAX_UPLOAD:
            raise InvalidInput("the file is larger than 50 MiB; split it and send the parts")
        assert who.source is not None
        # ingest in a worker thread: a large file must not hold up the server's event loop
        if fmt == "interchange":
            summary = await run_in_threadpool(
                ingest.ingest,
                _reg(request),
                read_upload(data, name),
                who.source,
                actor=who.label,
                file_name=name,
            )
        else:  # a national publication format (or auto), read from a file of its own
            summary = await run_in_threadpool(
                _ingest_format, _reg(request), data, name, who.source, fmt, who.label
            )
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return _console(request, who, report=summary.as_dict(max_rejects=2000))


def _ingest_format(
    reg: Any, data: bytes, name: str, source: str, fmt: str, actor: str
) -> ingest.IngestSummary:
    with uploads.temporary_file(name) as path:
        path.write_bytes(data)
        summary, _used = ingest.ingest_format(reg, path, source, fmt, actor=actor)
    summary.file_name = name
    return summary


@router.get("/console/uploads/{upload_id}/rejects.csv")
def upload_rejects(
    request: Request,
    who: Annotated[Principal, signed_in("source")],
    upload_id: str,
) -> Any:
    """The rejected rows of one of the source's uploads, as CSV (row, field, reason)."""
    assert who.source is not None
    rows = uploads.rejects_of(_reg(request), who.source, upload_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "field", "reason"])
    writer.writerows([r["row"], r["field"] or "", r["reason"]] for r in rows)
    return Response(
        "\ufeff" + out.getvalue(),  # with a byte-order mark, so that spreadsheets read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejects-{upload_id[:12]}.csv"'},
    )


@router.post("/console/record", response_class=HTMLResponse)
async def record(request: Request, who: Annotated[Principal, signed_in("source")]) -> Any:
    """One decision entered by hand: the same row, checks and lists as a file's."""
    form = await request.form()
    session.check_csrf(request, str(form.get("csrf", "")))
    reg = _reg(request)
    assert who.source is not None
    rtype = str(form.get("record_type", ""))
    if rtype not in reg.pack.sources[who.source].competent_for:
        return _console(request, who, error=f"your source does not record {rtype!r}")
    spec = reg.pack.record_types[rtype]
    values = {
        name: str(form.get(name, "")).strip()
        for name in (*RECORD_COLUMNS, *spec.fields)
        if len(str(form.get(name, ""))) <= 2000
    }
    row = {"record_type": rtype, **{k: v for k, v in values.items() if v}}
    try:
        summary = ingest.ingest(reg, [(1, row)], who.source, actor=who.label, file_name="form")
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status, values=values)
    if summary.rejected:
        errors = {p.field or "": p.reason for p in summary.rejects}
        return _console(
            request,
            who,
            form_type=rtype,
            values=values,
            field_errors=errors,
            error=_("The decision was not recorded; correct the fields marked below."),
            status_code=422,
        )
    return _console(request, who, recorded=summary.as_dict(), form_type=rtype)


@router.post("/console/amend", response_class=HTMLResponse)
async def amend(request: Request, who: Annotated[Principal, signed_in("source")]) -> Any:
    """A source's decision that changes one of its records, e.g. ends a listing resting on it."""
    form = await request.form()
    session.check_csrf(request, str(form.get("csrf", "")))
    reg = _reg(request)
    assert who.source is not None
    srid = str(form.get("source_record_id", ""))
    reserved = {"csrf", "source_record_id"}
    changes = {
        k: str(v).strip() for k, v in form.items() if k not in reserved and len(str(v)) <= 2000
    }
    if not changes.get("exit_decision_ref"):
        return _console(
            request,
            who,
            error=_("Give the reference of the decision that ends the listing."),
            status_code=422,
        )
    try:
        summary = ingest.amend(reg, who.source, srid, changes, actor=who.label)
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    if summary.rejected:
        reasons = "; ".join(f"{p.field}: {p.reason}" for p in summary.rejects)
        return _console(request, who, error=reasons, status_code=422)
    done = "ended" if summary.listings_ended else "amended"
    return RedirectResponse(f"/console?done={done}#listings", 303)


@router.post("/console/review/{item_id}", response_class=HTMLResponse)
def decide_review_item(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer")],
    _csrf: CsrfChecked,
    item_id: str,
    action: Annotated[str, Form()],
    subject: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Any:
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


@router.post("/console/resolution", response_class=HTMLResponse)
def run_resolution(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer")],
    _csrf: CsrfChecked,
) -> Any:
    resolution.run(_reg(request), actor=who.label)
    return RedirectResponse("/console?done=evaluated#queue", 303)


@router.post("/console/merges/{proposal_id}", response_class=HTMLResponse)
def decide_merge(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer")],
    _csrf: CsrfChecked,
    proposal_id: str,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Any:
    reg = _reg(request)
    try:
        if action.startswith("merge:"):
            dedupe.merge(
                reg, proposal_id, action.removeprefix("merge:"), reason=reason, actor=who.label
            )
        elif action == "keep_apart":
            dedupe.keep_apart(reg, proposal_id, reason=reason, actor=who.label)
        else:
            raise InvalidInput("choose a survivor or keep the two apart")
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    done = "merged" if action.startswith("merge:") else "kept"
    return RedirectResponse(f"/console?done={done}#merges", 303)


@router.post("/console/links/undo", response_class=HTMLResponse)
def undo_link(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer")],
    _csrf: CsrfChecked,
    record: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Any:
    reg = _reg(request)
    source, sep, rid = record.strip().partition("/")
    try:
        if not sep or not source or not rid:
            raise InvalidInput("the record is SOURCE/SOURCE_RECORD_ID")
        review.undo_link(reg, source, rid, reason=reason, actor=who.label)
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return RedirectResponse("/console?done=undone#queue", 303)


@router.post("/console/objections/{objection_id}", response_class=HTMLResponse)
def decide_objection(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer", "source")],
    _csrf: CsrfChecked,
    objection_id: str,
    outcome: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=5000)],
) -> Any:
    reg = _reg(request)
    try:
        objections.authorise_decision(reg, who, objection_id, outcome)
        objections.decide_objection(
            reg, objection_id, outcome=outcome, reason=reason, actor=who.label
        )
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return RedirectResponse("/console?done=decided#inbox", 303)


@router.get("/console/objections/{objection_id}/attachments/{sha256}")
def objection_attachment(
    request: Request,
    who: Annotated[Principal, signed_in("reviewer", "source")],
    objection_id: str,
    sha256: str,
) -> Any:
    """An attachment of an objection, for the source that decides it or a reviewer (a read
    of the subject's file)."""
    try:
        ev = objections.evidence(_reg(request), who, objection_id, sha256)
    except RegistryError as exc:
        return _console(request, who, error=exc.message, status_code=exc.status)
    return download(ev.content, ev.name, ev.content_type)


@router.post("/console/check", response_class=HTMLResponse)
def check(
    request: Request,
    who: Annotated[Principal, signed_in("agency")],
    _csrf: CsrfChecked,
    subject: Annotated[str, Form(max_length=40)] = "",
    measure: Annotated[str, Form(max_length=80)] = "",
) -> Any:
    """A check is recorded in the subject's file: a POST with the form's CSRF token (as a GET a
    link or an image on another site could make a signed-in agency's browser write to anyone's
    file), and the number travels in the body, never in a URL."""
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
