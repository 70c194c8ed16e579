"""A subject's file, objections and credit repair."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ...errors import InvalidInput
from ...services import (
    access,
    grading,
    objections,
    repairs,
    statements,
    subject_copy,
    subjects,
    worklists,
)
from ...web.copy import ics_response, readable, zip_response
from ...web.render import download, pdf_job
from .. import schemas
from ..deps import ERRORS, RegDep, WhoDep, moment

router = APIRouter()


@router.get("/v1/file/{code}", responses=ERRORS, tags=["due process"])
def get_file(
    reg: RegDep,
    who: WhoDep,
    code: str,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    purpose: Annotated[str, Query(max_length=200)] = "view the file",
) -> Any:
    """The subject's whole file: records, listings, notices, objections, repairs, reads.

    The subject's own account, reviewers and auditors; every read is recorded."""
    subjects.no_number_in_url(
        reg, code, "address the person by the subject id (P-…); a subject reads /v1/me/file"
    )
    access.require_own_subject(reg, who, code, "reviewer", "auditor")
    at = moment(reg, as_of)
    file = subjects.subject_file(reg, code, at, reader=who.label, purpose=purpose)
    return grading.with_grades(reg, file, at)


@router.get("/v1/me/file", responses=ERRORS, tags=["due process"])
def get_my_file(
    reg: RegDep,
    who: WhoDep,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """The signed-in subject's own file, with no ID number in the URL (a person's number
    in a URL ends up in proxies' and servers' logs)."""
    access.require(who, "subject")
    assert who.subject_id is not None
    code = subjects.code_of(reg, who.subject_id)
    at = moment(reg, as_of)
    file = subjects.subject_file(reg, code, at, reader=who.label, purpose="view the file")
    return grading.with_grades(reg, file, at)


@router.get(
    "/v1/me/export",
    responses={**ERRORS, 200: {"content": {"application/zip": {}}}},
    response_class=Response,
    tags=["due process"],
)
def get_my_copy(reg: RegDep, who: WhoDep, request: Request) -> Any:
    """A copy of everything held about the signed-in subject (PIPL Art. 45): one zip archive
    with the file as JSON and as a readable PDF, every entry of the log about it with its
    proof, and its calendar (.ics). The request and its delivery are recorded in the file."""
    access.require(who, "subject")
    assert who.subject_id is not None
    code = subjects.code_of(reg, who.subject_id)
    data, manifest = pdf_job(
        lambda: subject_copy.archive(reg, code, reader=who.label, readable=readable(request))
    )
    return zip_response(data, manifest)


@router.get(
    "/v1/me/calendar.ics",
    responses={**ERRORS, 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
    tags=["due process"],
)
def get_my_calendar(reg: RegDep, who: WhoDep) -> Any:
    """The dates that matter in the signed-in subject's file, as an iCalendar feed: when each
    record leaves publicity, each listing's latest end, the earliest day for credit repair,
    each open objection's deadline."""
    access.require(who, "subject")
    assert who.subject_id is not None
    file = subject_copy.own_file(reg, subjects.code_of(reg, who.subject_id), who.label)
    return ics_response(subject_copy.ics(reg, file["subject"], file["calendar"]))


@router.post(
    "/v1/objections",
    response_model=schemas.ObjectionFiled,
    responses=ERRORS,
    tags=["due process"],
    status_code=201,
)
def post_objection(reg: RegDep, who: WhoDep, body: schemas.ObjectionIn) -> Any:
    """A subject objects to one of its listings or records, with up to 5 attachments."""
    access.require_own_subject(reg, who, body.subject)
    files = []
    for a in body.attachments:
        try:
            files.append((a.name, base64.b64decode(a.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            raise InvalidInput(f"attachment {a.name!r} is not valid base64") from None
    return objections.file_objection(
        reg,
        body.subject,
        grounds=body.grounds,
        listing_id=body.listing_id,
        record=body.record,
        files=files,
        actor=who.label,
    )


@router.get("/v1/objections", responses=ERRORS, tags=["due process"])
def get_objections(reg: RegDep, who: WhoDep) -> Any:
    """Objections awaiting an answer, the nearest deadline first (reviewers)."""
    access.require(who, "reviewer")
    return worklists.objection_inbox(reg)


@router.get(
    "/v1/objections/{objection_id}/attachments/{sha256}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
    tags=["due process"],
)
def get_objection_attachment(
    reg: RegDep,
    who: WhoDep,
    objection_id: Annotated[str, Path(max_length=40)],
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
) -> Any:
    """An attachment of an objection, served as a download to those who decide it (the
    record's source, a reviewer) and to the subject that filed it; each is a read of the
    subject's file."""
    access.require(who, "source", "reviewer", "subject")
    ev = objections.evidence(reg, who, objection_id, sha256)
    return download(ev.content, ev.name, ev.content_type)


@router.post(
    "/v1/objections/{objection_id}/decision",
    response_model=schemas.ObjectionDecided,
    responses=ERRORS,
    tags=["due process"],
)
def post_objection_decision(
    reg: RegDep, who: WhoDep, objection_id: str, body: schemas.DecisionIn
) -> Any:
    """The source of the record (or a reviewer) decides; the subject may only withdraw."""
    access.require(who, "source", "reviewer", "subject")
    objections.authorise_decision(reg, who, objection_id, body.outcome)
    return objections.decide_objection(
        reg, objection_id, outcome=body.outcome, reason=body.reason, actor=who.label
    )


@router.post(
    "/v1/statements",
    response_model=schemas.StatementFiled,
    responses=ERRORS,
    tags=["due process"],
    status_code=201,
)
def post_statement(reg: RegDep, who: WhoDep, body: schemas.StatementIn) -> Any:
    """A subject puts its own statement beside one of its records or listings: shown wherever
    the entry is shown, marked as the subject's (it replaces the one shown there)."""
    access.require_own_subject(reg, who, body.subject)
    return statements.file_statement(
        reg,
        body.subject,
        text=body.statement,
        listing_id=body.listing_id,
        record=body.record,
        actor=who.label,
    )


@router.get("/v1/statements", responses=ERRORS, tags=["due process"])
def get_statements(reg: RegDep, who: WhoDep) -> Any:
    """The statements shown now, newest first (reviewers)."""
    access.require(who, "reviewer")
    return {"statements": statements.to_review(reg)}


@router.post(
    "/v1/statements/{statement_id}/refusal",
    response_model=schemas.StatementEnded,
    responses=ERRORS,
    tags=["due process"],
)
def post_statement_refusal(
    reg: RegDep, who: WhoDep, statement_id: str, body: schemas.StatementRefusalIn
) -> Any:
    """A reviewer takes a statement down (it names a third party), with the reason the
    subject is told."""
    access.require(who, "reviewer")
    return statements.refuse_statement(reg, statement_id, reason=body.reason, actor=who.label)


@router.post(
    "/v1/statements/{statement_id}/withdrawal",
    response_model=schemas.StatementEnded,
    responses=ERRORS,
    tags=["due process"],
)
def post_statement_withdrawal(reg: RegDep, who: WhoDep, statement_id: str) -> Any:
    """The subject takes its own statement down."""
    access.require(who, "subject")
    return statements.withdraw_statement(
        reg, statement_id, actor=who.label, subject_id=who.subject_id
    )


@router.post(
    "/v1/repairs",
    response_model=schemas.RepairApplied,
    response_model_exclude_unset=True,
    responses=ERRORS,
    tags=["due process"],
    status_code=201,
)
def post_repair(reg: RegDep, who: WhoDep, body: schemas.RepairIn) -> Any:
    """A subject applies for credit repair of one of its listings or records."""
    access.require_own_subject(reg, who, body.subject)
    return repairs.apply_for_repair(
        reg,
        body.subject,
        listing_id=body.listing_id,
        record=body.record,
        evidence=body.evidence,
        actor=who.label,
    )


@router.post(
    "/v1/repairs/{repair_id}/decision",
    response_model=schemas.RepairDecided,
    responses=ERRORS,
    tags=["due process"],
)
def post_repair_decision(
    reg: RegDep, who: WhoDep, repair_id: str, body: schemas.RepairDecisionIn
) -> Any:
    """A reviewer approves (the listing ends) or rejects (with a date to reapply)."""
    access.require(who, "reviewer")
    return repairs.decide_repair(
        reg, repair_id, approve=body.approve, reason=body.reason, actor=who.label
    )
