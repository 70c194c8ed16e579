"""What anyone may read: organisations' profiles, a listed person's entry by its listing, the search, the pack's lists and measures, published inspection plans."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from ...services import inspection, name_search, views
from .. import schemas
from ..deps import ERRORS, RATE_LIMITED, RegDep, limit_search, moment

router = APIRouter()


@router.get("/v1/subjects/{code}", responses=ERRORS, tags=["subjects"])
def get_subject(
    reg: RegDep,
    code: str,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """An organisation's public profile by its USCC: records within their publicity period
    and listings, now or ``as_of`` a moment. A natural person is not looked up by ID number
    here: every resident ID number gets the same 404 (a listed person's entry is at
    ``/v1/listings/{listing_id}``)."""
    return views.public_profile(reg, code, moment(reg, as_of))


@router.get("/v1/listings/{listing_id}", responses=ERRORS, tags=["subjects"])
def get_listing(reg: RegDep, listing_id: Annotated[str, Path(max_length=40)]) -> Any:
    """The public entry a listing leads to, now: the listed subject's public profile (a
    natural person masked, and only while on a black list the law publishes). Listing ids
    are in the open data's listings file."""
    return views.public_listing(reg, listing_id)


@router.get(
    "/v1/search",
    response_model=schemas.SearchOut,
    responses={422: ERRORS[422], **RATE_LIMITED},
    dependencies=[Depends(limit_search)],
    tags=["subjects"],
)
def get_search(
    reg: RegDep,
    q: Annotated[
        str,
        Query(
            description="A USCC, a legacy organisation code, or two or more characters of "
            "an organisation's name",
            max_length=100,
        ),
    ] = "",
) -> Any:
    """Organisations by code or by (part of) their name, shortest name first; natural
    persons are not searchable by name. Limited per client address: a program that needs
    the whole register reads the open data files instead."""
    return name_search.search(reg, q)


@router.get("/v1/lists", response_model=list[schemas.ListOut], tags=["policy"])
def get_lists(reg: RegDep) -> Any:
    """Lists of the policy pack with their rules and legal basis."""
    p = reg.pack
    return [
        {
            "id": ld.id,
            "name": ld.name.model_dump(),
            "kind": ld.kind,
            "legal_basis": p.cite(ld.legal_basis),
            "requires_ruling": ld.requires_ruling,
            "notice_period": ld.notice_period,
            "duration": ld.duration.default,
            "maximum_duration": ld.duration.maximum,
            "measures": [mid for mid, m in p.measures.items() if ld.id in m.lists],
            "how_to_resolve": ld.how_to_resolve.model_dump(),
        }
        for ld in p.lists.values()
    ]


@router.get("/v1/measures", response_model=list[schemas.MeasureOut], tags=["policy"])
def get_measures(reg: RegDep) -> Any:
    """Measures with their implementing agency, lists and legal basis."""
    p = reg.pack
    return [
        {
            "id": m.id,
            "name": m.name.model_dump(),
            "kind": m.kind,
            "implementing_agency": m.implementing_agency,
            "lists": m.lists,
            "targets": m.targets,
            "legal_basis": p.cite(m.legal_basis),
        }
        for m in p.measures.values()
    ]


@router.get("/v1/inspection-plans", tags=["supervision"])
def get_plans(reg: RegDep) -> Any:
    """Published inspection plans ("double random, one public")."""
    return inspection.published(reg)


@router.get("/v1/inspection-plans/{plan_id}", responses=ERRORS, tags=["supervision"])
def get_plan(reg: RegDep, plan_id: str) -> Any:
    """One published plan, with its seed and digest: re-run the draw and compare."""
    return inspection.published(reg, plan_id)


@router.get("/healthz", response_model=schemas.HealthOut, tags=["ops"])
def healthz(reg: RegDep) -> Any:
    return {"ok": True, "pack": reg.pack.meta.id, "pack_version": reg.pack.meta.version}
