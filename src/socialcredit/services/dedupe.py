"""Dedupe of the register: organisations registered twice, found by the model, merged by a person.

A source that types a valid but wrong USCC makes a second subject for one organisation: its
records and listings then sit apart from the organisation's own. ``propose`` runs the pack's
organisation model over the register itself (Splink, dedupe: every registered organisation with
its name, address and legal representative) and records each pair at or above the policy's
lower threshold as a proposal, with the model's explanation; it never merges by itself,
whatever the probability: a merge moves a file, so a person decides (PIPL Art. 24).

``merge`` records the reviewer's decision: the merged subject's records and listings become the
survivor's, its file is read as part of the survivor's (its history from the start), rows that
still name its code are recorded for the survivor, and the survivor is regraded. Nothing is
lost: every event of both subjects stays in the log under its own subject, and the merged
subject keeps its row, marked ``merged_into``. ``keep_apart`` closes a proposal; the pair is not
proposed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso
from ..db import merge_proposals, subject_details, subjects
from ..errors import Conflict, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from . import grading, listings

if TYPE_CHECKING:
    from ..bootstrap import Registry

Progress = Callable[[int], None]
MODEL = "organisations_v1"


def proposal_id(a: str, b: str) -> str:
    lo, hi = sorted((a, b))
    return "M" + hashlib.sha256(f"{lo}\x1f{hi}".encode()).hexdigest()[:31]


def propose(
    reg: Registry,
    *,
    actor: str = "dedupe",
    progress: Progress | None = None,
    engine: str = "duckdb",
) -> dict[str, Any]:
    """Score the register against itself (on DuckDB, or Splink's Spark backend with
    ``engine="spark"``); record new pairs at or above ``lower``."""
    import pandas as pd

    from ..resolution import probabilistic as P

    th = reg.pack.resolution.organisations if reg.pack.resolution else P.thresholds("organisation")
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                subjects.c.subject_id,
                subjects.c.name,
                subject_details.c.address,
                subject_details.c.legal_representative,
            )
            .outerjoin(subject_details, subject_details.c.subject_id == subjects.c.subject_id)
            .where(subjects.c.kind == "organisation", subjects.c.merged_into.is_(None))
            .order_by(subjects.c.subject_id)
        ).all()
        known = {r.proposal_id for r in conn.execute(select(merge_proposals.c.proposal_id))}
    if progress:
        progress(len(rows) // 2)
    found: list[NewEvent] = []
    if len(rows) >= 2:
        table = pd.DataFrame(
            {
                "name": [r.name for r in rows],
                "address": [r.address for r in rows],
                "legal_rep": [r.legal_representative for r in rows],
                "uscc": [None] * len(rows),  # the codes differ by definition: not evidence
            }
        )
        res = P.link(
            table,
            None,
            P.default_model("organisation"),
            upper=th.upper,
            lower=th.lower,
            cluster=False,
            engine=engine,
        )
        for d in res.decisions():
            a, b = rows[d.left].subject_id, rows[d.right].subject_id
            pid = proposal_id(a, b)
            if pid in known:
                continue
            known.add(pid)
            found.append(
                NewEvent(
                    T.MERGE_PROPOSED,
                    {
                        "proposal_id": pid,
                        "subject_a": a,
                        "subject_b": b,
                        "match_probability": round(d.match_probability, 6),
                        "model": MODEL,
                        "explanation": [
                            {
                                "comparison": e.comparison,
                                "level": e.level,
                                "bayes_factor": round(e.bayes_factor, 4),
                            }
                            for e in d.explanation
                        ],
                        "decided_by": actor,
                    },
                )
            )
    if found:
        with reg.uow(actor) as uow:
            uow.emit_many(found)
            uow.commit()
    if progress:
        progress(len(rows) - len(rows) // 2)
    return {"organisations": len(rows), "proposed": len(found)}


def proposals(reg: Registry, status: str = "open", limit: int = 100) -> dict[str, Any]:
    """Proposals with both organisations' names, addresses and legal representatives."""
    import json

    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(merge_proposals)
            .where(merge_proposals.c.status == status)
            .order_by(merge_proposals.c.match_probability.desc(), merge_proposals.c.proposal_id)
            .limit(limit)
        ).all()
        ids = sorted({s for r in rows for s in (r.subject_a, r.subject_b)})
        who = {
            r.subject_id: r
            for r in conn.execute(
                select(
                    subjects.c.subject_id,
                    subjects.c.name,
                    subject_details.c.address,
                    subject_details.c.legal_representative,
                )
                .outerjoin(subject_details, subject_details.c.subject_id == subjects.c.subject_id)
                .where(subjects.c.subject_id.in_(ids))
            )
        }

    def side(code: str) -> dict[str, Any]:
        w = who.get(code)
        return {
            "subject": code,
            "name": w.name if w else None,
            "address": w.address if w else None,
            "legal_representative": w.legal_representative if w else None,
        }

    return {
        "status": status,
        "proposals": [
            {
                "proposal_id": r.proposal_id,
                "a": side(r.subject_a),
                "b": side(r.subject_b),
                "match_probability": r.match_probability,
                "proposed_at": iso(r.proposed_at, reg.tz),
                **json.loads(r.finding),
                "survivor": r.survivor,
                "decided_by": r.decided_by,
                "reason": r.reason,
            }
            for r in rows
        ],
    }


def _open(reg: Registry, uow: Any, pid: str) -> Any:
    row = uow.execute(select(merge_proposals).where(merge_proposals.c.proposal_id == pid)).first()
    if row is None:
        raise UnknownEntity(f"no merge proposal {pid}")
    if row.status != "open":
        raise Conflict(
            f"merge proposal {pid} is already {row.status}", detail={"status": row.status}
        )
    return row


def merge(reg: Registry, pid: str, survivor: str, *, reason: str, actor: str) -> dict[str, Any]:
    """Merge the proposal's other organisation into ``survivor`` (one of the two)."""
    if not reason.strip():
        raise InvalidInput("say why the two are one organisation (--reason)")
    listings.advance(reg, actor)
    with reg.uow(actor) as uow:
        row = _open(reg, uow, pid)
        pair = (row.subject_a, row.subject_b)
        if survivor not in pair:
            raise InvalidInput(f"the survivor is one of {pair[0]} and {pair[1]}")
        merged = pair[1] if survivor == pair[0] else pair[0]
        for code in pair:
            gone = uow.execute(
                select(subjects.c.merged_into).where(subjects.c.subject_id == code)
            ).scalar_one_or_none()
            if gone:
                raise Conflict(f"{code} was already merged into {gone}")
        uow.emit(
            NewEvent(
                T.SUBJECTS_MERGED,
                {
                    "proposal_id": pid,
                    "survivor": survivor,
                    "merged": merged,
                    "reason": reason.strip(),
                    "decided_by": actor,
                },
                subject_id=survivor,
            )
        )
        uow.emit_many(grading.regrade(reg, uow.conn, {survivor}, uow.at))
        uow.commit()
    return {"proposal_id": pid, "status": "merged", "survivor": survivor, "merged": merged}


def keep_apart(reg: Registry, pid: str, *, reason: str, actor: str) -> dict[str, Any]:
    if not reason.strip():
        raise InvalidInput("say why the two are different organisations (--reason)")
    with reg.uow(actor) as uow:
        _open(reg, uow, pid)
        uow.emit(
            NewEvent(
                T.MERGE_KEPT_APART,
                {"proposal_id": pid, "reason": reason.strip(), "decided_by": actor},
            )
        )
        uow.commit()
    return {"proposal_id": pid, "status": "kept_apart"}


def merged_subjects(conn: Any) -> dict[str, str]:
    """Every merged subject with its survivor (following merges of merges)."""
    into = dict(
        conn.execute(
            select(subjects.c.subject_id, subjects.c.merged_into).where(
                subjects.c.merged_into.is_not(None)
            )
        ).all()
    )
    return {sid: _last(into, sid) for sid in into}


def _last(into: dict[str, str], sid: str) -> str:
    end = into[sid]
    while end in into:
        end = into[end]
    return end


def survivors(conn: Any, subject_ids: set[str]) -> dict[str, str]:
    """The survivor of each merged subject among ``subject_ids`` (following merges of merges)."""
    into: dict[str, str] = {}
    frontier = sorted(subject_ids)
    while frontier:
        found = {
            r.subject_id: r.merged_into
            for i in range(0, len(frontier), 500)
            for r in conn.execute(
                select(subjects.c.subject_id, subjects.c.merged_into).where(
                    subjects.c.subject_id.in_(frontier[i : i + 500]),
                    subjects.c.merged_into.is_not(None),
                )
            )
        }
        into.update(found)
        frontier = sorted(set(found.values()) - set(into))
    return {sid: _last(into, sid) for sid in subject_ids if sid in into}
