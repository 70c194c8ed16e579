"""Reviewers' decisions on rows without a code, links and duplicates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...errors import InvalidInput
from ...services import access, dedupe, resolution, review, worklists
from .. import schemas
from ..deps import DECISIONS, ERRORS, RegDep, WhoDep

router = APIRouter()


@router.get("/v1/review-queue", responses=ERRORS, tags=["resolution"])
def get_review_queue(reg: RegDep, who: WhoDep) -> Any:
    """Rows waiting for their subject to be resolved (reviewers)."""
    access.require(who, "reviewer")
    return worklists.review_items(reg)


@router.post("/v1/review-queue/{item_id}/decision", responses=DECISIONS, tags=["resolution"])
def post_review_decision(
    reg: RegDep, who: WhoDep, item_id: str, body: schemas.ReviewDecisionIn
) -> Any:
    """A reviewer links the queued row to a subject (a candidate of the model's, or another
    code: registered if new), or closes it as not resolvable."""
    access.require(who, "reviewer")
    if body.action == "resolve":
        if not body.subject:
            raise InvalidInput("name the subject: its USCC or resident ID number")
        return review.resolve_item(reg, item_id, body.subject, actor=who.label)
    return review.reject_item(reg, item_id, reason=body.reason or "", actor=who.label)


@router.post("/v1/links/undo", responses=DECISIONS, tags=["resolution"])
def post_link_undo(reg: RegDep, who: WhoDep, body: schemas.LinkUndoIn) -> Any:
    """A reviewer undoes a link the registry made (the law's mapping, the model, a
    reviewer): the record leaves the subject's file, its listings end, the row is queued."""
    access.require(who, "reviewer")
    source, sep, rid = body.record.partition("/")
    if not sep or not source or not rid:
        raise InvalidInput("record is SOURCE/SOURCE_RECORD_ID")
    return review.undo_link(reg, source, rid, reason=body.reason, actor=who.label)


@router.get("/v1/merge-proposals", responses=ERRORS, tags=["resolution"])
def get_merge_proposals(reg: RegDep, who: WhoDep, status: str = "open") -> Any:
    """Pairs of registered organisations the model takes for one (reviewers)."""
    access.require(who, "reviewer")
    if status not in ("open", "merged", "kept_apart"):
        raise InvalidInput("status is open, merged or kept_apart")
    return dedupe.proposals(reg, status)


@router.post("/v1/merge-proposals/{proposal_id}/decision", responses=DECISIONS, tags=["resolution"])
def post_merge_decision(
    reg: RegDep, who: WhoDep, proposal_id: str, body: schemas.MergeDecisionIn
) -> Any:
    """A reviewer merges the pair (the other into ``survivor``) or keeps them apart."""
    access.require(who, "reviewer")
    if body.action == "merge":
        if not body.survivor:
            raise InvalidInput("name the survivor: one of the two USCCs")
        return dedupe.merge(reg, proposal_id, body.survivor, reason=body.reason, actor=who.label)
    return dedupe.keep_apart(reg, proposal_id, reason=body.reason, actor=who.label)


@router.post("/v1/resolution/run", responses=ERRORS, tags=["resolution"])
def post_resolution_run(reg: RegDep, who: WhoDep) -> Any:
    """A reviewer has the model evaluate every open item it has not seen yet."""
    access.require(who, "reviewer")
    return resolution.run(reg, actor=who.label).as_dict()
