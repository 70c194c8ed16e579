"""The log: its chain, its signed head, a subject's trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ...errors import UnknownEntity
from ...services import access, audit, subjects
from .. import schemas
from ..deps import ERRORS, RegDep, WhoDep

router = APIRouter()


@router.get("/v1/audit/chain", response_model=schemas.ChainOut, tags=["audit"])
def get_chain(reg: RegDep) -> Any:
    """The hash chain of the event log, verified: walked whole once, then extended by the
    events appended since (``socialcredit audit verify`` walks it all)."""
    r = audit.chain_status(reg)
    return {
        "ok": r.ok,
        "events_checked": r.events_checked,
        "head_seq": r.head_seq,
        "first_bad_seq": r.first_bad_seq,
        "problem": r.problem,
    }


@router.get("/v1/audit/head", responses=ERRORS, tags=["audit"])
def get_head(reg: RegDep) -> Any:
    """The log's signed tree head now: its size and head hash, signed with the registry's
    Ed25519 log key. Keep one: ``socialcredit audit verify --against HEAD`` later proves
    the log extends it (a truncated or rewritten log fails)."""
    return audit.signed_head(reg)


@router.get("/v1/audit/export", responses=ERRORS, tags=["audit"])
def get_export(reg: RegDep, who: WhoDep, subject: Annotated[str, Query(max_length=40)]) -> Any:
    """The subject's audit trail, each event with its chain hash (auditors, the subject).
    A person is named by the subject id (P-…), never by the ID number."""
    subjects.no_number_in_url(reg, subject, "address the person by the subject id (P-…)")
    access.require_own_subject(reg, who, subject, "auditor")
    return audit.export_subject(reg, subject, reader=who.label)


@router.get("/v1/audit/proofs/{seq}", responses=ERRORS, tags=["audit"])
def get_proof(reg: RegDep, who: WhoDep, seq: Annotated[int, Path(ge=1)]) -> Any:
    """One fact of the log with its proof (auditors; a subject for the facts about itself):
    the fact, its leaf hash, its RFC 6962 audit path to the Merkle root its batch event
    commits to, and that event's place in the chain. ``hash_verified`` says whether all of it
    recomputes from the content as stored."""
    access.require(who, "subject", "auditor")
    if who.role == "subject" and not audit.in_file_of(reg, seq, str(who.subject_id)):
        raise UnknownEntity("no such fact in your account")
    return audit.prove(reg, seq)
