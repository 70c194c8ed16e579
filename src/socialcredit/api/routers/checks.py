"""Point-of-service checks for implementing agencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ...services import checks, subjects
from .. import schemas
from ..deps import ERRORS, RATE_LIMITED, RegDep, WhoDep, may_check, moment, person_quota

router = APIRouter()


@router.get(
    "/v1/checks",
    response_model=schemas.CheckAnswer,
    responses={**ERRORS, **RATE_LIMITED},
    tags=["checks"],
)
def get_check(
    reg: RegDep,
    request: Request,
    who: WhoDep,
    subject: Annotated[str, Query(description="USCC or resident ID number", max_length=40)],
    measure: Annotated[
        str, Query(description="Measure id, e.g. restrict_air_travel", max_length=80)
    ],
    as_of: Annotated[
        str | None, Query(description="YYYY-MM-DD[THH:MM]; default now", max_length=40)
    ] = None,
) -> Any:
    """Is the subject restricted from (or eligible for) the measure at the moment?

    For implementing agencies, each for the measures it implements; recorded in the
    subject's file."""
    # Requests to this route are answered in front of the framework by the check server's
    # handler (api/check_server.py, SingleChecks) with the same answer; this body serves an
    # application built without it, and tests hold the two equal.
    may_check(reg, who, measure)
    subjects.no_number_in_url(
        reg, subject, 'send it in the body: POST /v1/checks {"measure", "subjects": [number]}'
    )
    person_quota(request, who, [subject])
    return checks.answer(reg, subject, measure, moment(reg, as_of), reader=who.label)


@router.post(
    "/v1/checks",
    response_model=schemas.BatchCheckOut,
    responses={**ERRORS, **RATE_LIMITED},
    tags=["checks"],
)
def post_checks(reg: RegDep, request: Request, who: WhoDep, body: schemas.BatchCheckIn) -> Any:
    """Many subjects, one measure. A malformed code fails the batch and is named."""
    may_check(reg, who, body.measure)
    person_quota(request, who, body.subjects)
    return checks.answer_many(
        reg, body.subjects, body.measure, moment(reg, body.as_of), reader=who.label
    )
