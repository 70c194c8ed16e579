"""Consents and what lenders read under them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import consents, lending, subjects
from .. import schemas
from ..deps import ERRORS, RegDep, WhoDep, moment

router = APIRouter()


@router.get("/v1/lenders", response_model=list[schemas.LenderOut], tags=["lending"])
def get_lenders(reg: RegDep) -> Any:
    """The lenders a subject may consent to."""
    return consents.lenders(reg)


@router.post(
    "/v1/consents",
    response_model=schemas.ConsentOut,
    responses=ERRORS,
    tags=["lending"],
    status_code=201,
)
def post_consent(reg: RegDep, who: WhoDep, body: schemas.ConsentIn) -> Any:
    """A subject lets one lender read its file, for one purpose, until a moment."""
    return consents.grant(
        reg,
        who,
        body.subject,
        lender=body.lender,
        purpose=body.purpose,
        until=moment(reg, body.until),
    )


@router.post(
    "/v1/consents/sources",
    response_model=schemas.ConsentOut,
    responses=ERRORS,
    tags=["lending"],
    status_code=201,
)
def post_source_consent(reg: RegDep, who: WhoDep, body: schemas.SourceConsentIn) -> Any:
    """A subject lets a source share the payment records the law shares only by consent."""
    return consents.grant_to_source(
        reg,
        who,
        body.subject,
        source=body.source,
        record_types=body.record_types,
        until=moment(reg, body.until),
    )


@router.get(
    "/v1/consents", response_model=list[schemas.ConsentOut], responses=ERRORS, tags=["lending"]
)
def get_consents(reg: RegDep, who: WhoDep) -> Any:
    """A subject's consents, or the consents a lender holds."""
    return consents.listing(reg, who)


@router.post(
    "/v1/consents/{consent_id}/revoke",
    response_model=schemas.ConsentOut,
    responses=ERRORS,
    tags=["lending"],
)
def post_revoke(reg: RegDep, who: WhoDep, consent_id: str) -> Any:
    """The subject withdraws a consent; it covers nothing from this moment."""
    return consents.revoke(reg, who, consent_id)


@router.get("/v1/lending/reports/{code}", responses=ERRORS, tags=["lending"])
def get_lender_report(reg: RegDep, who: WhoDep, code: str) -> Any:
    """A lender's credit report on a subject that consented; recorded as a read. A person
    is named by the subject id its consent lists (P-…), never by the ID number."""
    subjects.no_number_in_url(reg, code, "use the subject id the consent lists (P-…)")
    return lending.lender_report(reg, who, code)


@router.post(
    "/v1/lending/verify",
    response_model=schemas.ReportVerified,
    responses=ERRORS,
    tags=["lending"],
)
def post_verify_report(reg: RegDep, body: dict[str, Any]) -> Any:
    """Whether the registry issued exactly this lender's report (its seal holds)."""
    return lending.verify_report(reg, body)


@router.post(
    "/v1/lending/scores", response_model=schemas.ScoreOut, responses=ERRORS, tags=["lending"]
)
def post_score(reg: RegDep, who: WhoDep, body: schemas.ScoreIn) -> Any:
    """A lending score with its reasons, for a consenting subject; never stored."""
    return lending.score(reg, who, body.subject, body.applicant)
