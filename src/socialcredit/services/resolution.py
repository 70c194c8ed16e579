"""Probabilistic resolution of queued rows: the model links, proposes or leaves each one.

A row that arrives without a usable code and that the law's mapping could not link
(``resolution.deterministic``) waits in the review queue. For a row about an organisation,
this service reads the registered organisations most like it by name (the name index, see
``name_search.similar_names``), with the address and legal representative their sources last gave
(``subject_details``), and scores row against candidates with the organisation model of the
policy pack (``resolution.probabilistic``, Splink). The prior is the one for the row against
the whole register, not against the handful of candidates read. Then, by the pack's
thresholds (``resolution/thresholds.yaml``):

- at or above ``upper`` the row is linked: it is ingested for that subject exactly as if a
  reviewer had named it (``review.resolve_item``), the decision recorded as made by the model,
  with its probability; the listing rules then apply to that subject;
- from ``lower`` up to ``upper`` the item stays open for a reviewer, with the candidates and
  the model's explanation (each comparison's level and Bayes factor): review-item-evaluated;
- below ``lower`` it stays open, marked unresolved (no candidate is likely enough).

A reviewer can undo any link, automatic or not (``review.undo_link``). Rows about natural
persons are left to reviewers: the register keeps a person's name and date of birth only, and
rows without an ID number rarely carry a date of birth, so there is too little to compare.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..bulk import among
from ..clock import to_utc_naive
from ..db import name_grams, resolution_judgements, review_queue, subject_details, subjects
from ..events import types as T
from ..events.types import NewEvent
from ..projections.name_index import grams
from ..projections.name_index import normalise as name_key
from ..resolution import deterministic
from . import name_search, review

if TYPE_CHECKING:
    import pandas as pd

    from ..bootstrap import Registry

Progress = Callable[[int], None]

MODEL = "organisations_v1"
#: Registered organisations read per row: those whose names share the most character pairs.
CANDIDATES = 20
#: Rows scored together (one Splink job).
CHUNK = 500


@dataclass
class ResolveSummary:
    considered: int = 0
    linked: int = 0
    by_law: int = 0
    review: int = 0
    unresolved: int = 0
    persons_left: int = 0
    conflicts: int = 0
    linked_items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "considered": self.considered,
            "linked": self.linked,
            "linked_by_law": self.by_law,
            "review": self.review,
            "unresolved": self.unresolved,
            "persons_left_to_reviewers": self.persons_left,
            "conflicts": self.conflicts,
        }


def _is_organisation(reg: Registry, item: Any, row: dict[str, Any]) -> bool:
    hints = row.get("hints", {})
    kind = hints.get("subject_kind")
    if kind:
        return bool(kind == "organisation")
    rt = reg.pack.record_types.get(item.record_type)
    return bool(rt and set(rt.subject_kinds) == {"organisation"}) or bool(
        hints.get("subject_legacy_code") or hints.get("subject_registration_no")
    )


def open_items(
    reg: Registry, item_ids: Sequence[str] | None = None, *, again: bool = False
) -> list[Any]:
    """Open items, oldest first; without ``again`` only those the model has not evaluated."""
    q = select(review_queue).where(review_queue.c.status == "open")
    if not again:
        q = q.where(review_queue.c.resolution.is_(None))
    q = q.order_by(review_queue.c.queued_at, review_queue.c.item_id)
    with reg.engine.connect() as conn:
        if item_ids is None:
            return list(conn.execute(q))
        wanted = sorted(set(item_ids))
        out: list[Any] = []
        for i in range(0, len(wanted), 500):
            out.extend(conn.execute(q.where(review_queue.c.item_id.in_(wanted[i : i + 500]))))
        return sorted(out, key=lambda r: (r.queued_at, r.item_id))


def run(
    reg: Registry,
    *,
    actor: str = "resolution",
    item_ids: Sequence[str] | None = None,
    again: bool = False,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    engine: str = "duckdb",
    model: Any = None,
) -> ResolveSummary:
    """Evaluate open review items (``item_ids``, or all not yet evaluated) with the model, on
    DuckDB or (``engine="spark"``) Splink's Spark backend: the same scores. ``model``: a
    retrained organisation model (``probabilistic.Model``) instead of the pack's; a
    reviewer's judgements hold whatever the model."""
    summary = ResolveSummary()
    items = open_items(reg, item_ids, again=again)
    orgs: list[tuple[Any, dict[str, Any]]] = []
    for item in items:
        row = json.loads(item.row)
        if _is_organisation(reg, item, row):
            orgs.append((item, row))
        else:
            summary.persons_left += 1
    if progress and summary.persons_left:
        progress(summary.persons_left)
    for i in range(0, len(orgs), chunk):
        part = orgs[i : i + chunk]
        _evaluate(reg, part, actor, summary, engine, model)
        if progress:
            progress(len(part))
    return summary


def _left(part: Sequence[tuple[Any, dict[str, Any]]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "name": [item.subject_name for item, _ in part],
            "address": [row.get("hints", {}).get("subject_address") for _, row in part],
            "legal_rep": [
                row.get("hints", {}).get("subject_legal_representative") for _, row in part
            ],
            "uscc": [None] * len(part),
        }
    )


#: A pair of characters in more names than this says little about which organisation a row
#: names (a city, an industry, a legal form): candidates are found through the rarer pairs.
COMMON_PAIR = 2000


def _candidate_ids(conn: Any, names: Sequence[str], t: Any) -> list[list[str]]:
    """For each name, the registered organisations sharing the most of its informative pairs of
    characters (the name index, ``name_grams``), at most ``CANDIDATES``: one statement for the
    postings of all the names' informative pairs, counted here. A name whose every pair is
    common is looked up by its two rarest."""
    from collections import Counter

    from ..resolution.normalise import simplified

    keyed = [grams(name_key(simplified(n))) for n in names]
    distinct = sorted({g for gs in keyed for g in gs})
    sizes: dict[str, int] = {}
    for i in range(0, len(distinct), 200):
        sizes |= name_search.posting_sizes(conn, distinct[i : i + 200], COMMON_PAIR)
    wanted: list[list[str]] = []
    for gs in keyed:
        useful = [g for g in gs if 0 < sizes[g] < COMMON_PAIR]
        if not useful:
            useful = sorted((g for g in gs if sizes[g]), key=lambda g: (sizes[g], g))[:2]
        wanted.append(useful)
    grams_needed = sorted({g for w in wanted for g in w})
    postings: dict[str, list[str]] = {}
    for i in range(0, len(grams_needed), 200):
        for gram, sid in conn.execute(
            select(name_grams.c.gram, name_grams.c.subject_id)
            .join(subjects, subjects.c.subject_id == name_grams.c.subject_id)
            .where(name_grams.c.gram.in_(grams_needed[i : i + 200]), subjects.c.registered_at <= t)
        ):
            postings.setdefault(gram, []).append(sid)
    out = []
    for w in wanted:
        shared = Counter(sid for g in w for sid in postings.get(g, ()))
        best = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:CANDIDATES]
        out.append([sid for sid, _ in best])
    return out


#: A legal representative or an address shared by more registered organisations than this
#: does not narrow the search (a common name): it adds no candidates.
COMMON_DETAIL = 50


def _by_details(conn: Any, values: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Registered organisations by their exact legal representative and address, for the values
    rows give (a name misspelt past recognition still has its legal representative)."""
    out: dict[str, dict[str, list[str]]] = {}
    for column, wanted in values.items():
        col = subject_details.c[column]
        found: dict[str, list[str]] = {}
        todo = sorted(wanted)
        for i in range(0, len(todo), 500):
            for value, sid in conn.execute(
                select(col, subject_details.c.subject_id).where(col.in_(todo[i : i + 500]))
            ):
                found.setdefault(value, []).append(sid)
        out[column] = {v: sorted(ids) for v, ids in found.items() if len(ids) <= COMMON_DETAIL}
    return out


def _candidates(
    reg: Registry, part: Sequence[tuple[Any, dict[str, Any]]]
) -> tuple[pd.DataFrame, list[str], int]:
    """The registered organisations most like any of the rows (by name, and by exact legal
    representative or address), with their details: a table for the model, their codes in its
    row order, and how many organisations are registered."""
    import pandas as pd

    from ..resolution.normalise import simplified

    t = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        population = conn.execute(
            select(func.count())
            .select_from(subjects)
            .where(subjects.c.kind == "organisation", subjects.c.registered_at <= t)
        ).scalar_one()
        names = [item.subject_name for item, _ in part]
        ids: dict[str, None] = dict.fromkeys(
            sid for cands in _candidate_ids(conn, names, t) for sid in cands
        )
        hints = [row.get("hints", {}) for _, row in part]
        wanted = {
            "legal_representative": {
                simplified(v) for h in hints if (v := h.get("subject_legal_representative"))
            },
            "address": {simplified(v) for h in hints if (v := h.get("subject_address"))},
        }
        for by_value in _by_details(conn, wanted).values():
            for sids in by_value.values():
                ids.update(dict.fromkeys(sids))
        order = list(ids)
        found: dict[str, Any] = {}
        for i in range(0, len(order), 500):
            q = (
                select(
                    subjects.c.subject_id,
                    subjects.c.name,
                    subject_details.c.address,
                    subject_details.c.legal_representative,
                )
                .outerjoin(subject_details, subject_details.c.subject_id == subjects.c.subject_id)
                .where(
                    subjects.c.subject_id.in_(order[i : i + 500]),
                    subjects.c.kind == "organisation",
                    subjects.c.merged_into.is_(None),
                    subjects.c.registered_at <= t,
                )
            )
            found.update({r.subject_id: r for r in conn.execute(q)})
    order = [s for s in order if s in found]
    table = pd.DataFrame(
        {
            "name": [found[s].name for s in order],
            "address": [found[s].address for s in order],
            "legal_rep": [found[s].legal_representative for s in order],
            "uscc": order,
        }
    )
    return table, order, int(population)


def _by_law(
    reg: Registry,
    part: Sequence[tuple[Any, dict[str, Any]]],
    actor: str,
    summary: ResolveSummary,
    judged: dict[str, set[str]],
) -> list[tuple[Any, dict[str, Any]]]:
    """Link the rows the law's mapping now resolves (their organisation registered since they
    were queued); the others are returned for the model."""
    codes = {c for _, row in part if (c := deterministic.legacy_code_of(row.get("hints", {})))}
    if not codes:
        return list(part)
    with reg.engine.connect() as conn:
        found = deterministic.candidates(conn, codes)
    rest = []
    links: list[tuple[str, str, dict[str, Any]]] = []
    for item, row in part:
        res = deterministic.resolve(
            item.subject_name,
            row.get("hints", {}),
            found,
            record_type=item.record_type,
            subject_kinds=reg.pack.record_types[item.record_type].subject_kinds,
        )
        if res.subject_id is None or res.subject_id in judged.get(item.item_id, ()):
            # (a reviewer undid this very link: the law's mapping does not make it again)
            rest.append((item, row))
        else:
            links.append((item.item_id, res.subject_id, res.resolved_by))
    done, failed = review.resolve_items(reg, links, actor=actor) if links else ([], {})
    summary.linked += len(done)
    summary.by_law += len(done)
    summary.conflicts += len(failed)
    summary.linked_items += [
        {"item_id": i, "subject_id": sid, "method": deterministic.METHOD}
        for i, sid, _ in links
        if i not in failed
    ]
    return rest


def _judged_different(
    reg: Registry, part: Sequence[tuple[Any, dict[str, Any]]]
) -> dict[str, set[str]]:
    """Per item of ``part`` (a chunk of at most ``CHUNK`` rows), the subjects a reviewer judged
    its row is not about (an undone link), until a reviewer lifts the judgement: neither the
    law's mapping nor the model links or proposes them again."""
    keys = {(item.source, item.source_record_id): item.item_id for item, _row in part}
    out: dict[str, set[str]] = {}
    j = resolution_judgements.c
    with reg.engine.connect() as conn:
        rids = sorted({rid for _s, rid in keys})
        for r in conn.execute(
            select(j.source, j.source_record_id, j.subject_id).where(
                among(j.source_record_id, rids, reg.engine.dialect.name),
                j.verdict == "different",
                j.lifted_at.is_(None),
            )
        ):
            item_id = keys.get((r.source, r.source_record_id))
            if item_id is not None:
                out.setdefault(item_id, set()).add(r.subject_id)
    return out


def _finding(c: Any, codes: Sequence[str], names: dict[str, str]) -> dict[str, Any]:
    return {
        "subject_id": codes[c.right],
        "name": names[codes[c.right]],
        "match_probability": round(c.match_probability, 6),
        "match_weight": round(c.match_weight, 3),
        "explanation": [
            {"comparison": e.comparison, "level": e.level, "bayes_factor": round(e.bayes_factor, 4)}
            for e in c.explanation
        ],
    }


def _evaluate(
    reg: Registry,
    part: Sequence[tuple[Any, dict[str, Any]]],
    actor: str,
    summary: ResolveSummary,
    engine: str = "duckdb",
    model: Any = None,
) -> None:
    """The law's mapping first, then the model: links at or above ``upper`` in one
    transaction, the others' findings in another."""
    from ..resolution import probabilistic as P

    summary.considered += len(part)
    model_name = MODEL if model is None else str(model.metadata.get("name") or "retrained")
    judged = _judged_different(reg, part)  # read once for both
    part = _by_law(reg, part, actor, summary, judged)
    if not part:
        return
    th = reg.pack.resolution.organisations if reg.pack.resolution else P.thresholds("organisation")
    right, codes, population = _candidates(reg, part)
    outcomes: dict[int, P.RowOutcome] = {}
    if codes:
        res = P.link(
            _left(part),
            right,
            model or P.default_model("organisation"),
            upper=th.upper,
            lower=th.lower,
            margin=th.margin,
            cluster=False,
            population=max(population, len(codes)),
            engine=engine,
        )
        at = {code: j for j, code in enumerate(codes)}
        exclude = {
            i: {at[sid] for sid in judged.get(item.item_id, ()) if sid in at}
            for i, (item, _row) in enumerate(part)
        }
        outcomes = P.outcomes(res, exclude)
    names = dict(zip(codes, right["name"], strict=True))
    item_idx = {item.item_id: i for i, (item, _row) in enumerate(part)}
    links: list[tuple[str, str, dict[str, Any]]] = []
    proposed: dict[str, list[dict[str, Any]]] = {}
    for i, (item, _row) in enumerate(part):
        out = outcomes.get(i)
        cands = [_finding(c, codes, names) for c in (out.candidates[:5] if out else ())]
        proposed[item.item_id] = cands
        if out is not None and out.decision == "link":
            best = cands[0]
            finding = {
                "method": "probabilistic",
                "model": model_name,
                "match_probability": best["match_probability"],
            }
            links.append((item.item_id, best["subject_id"], finding))
    done, failed = review.resolve_items(reg, links, actor=actor) if links else ([], {})
    summary.linked += len(done)
    summary.conflicts += len(failed)
    for item_id, _sid, _how in links:
        if item_id in done:
            best = proposed[item_id][0]
            summary.linked_items.append({"item_id": item_id, "method": "probabilistic", **best})
    findings: list[NewEvent] = []
    for item, _row in part:
        if item.item_id in done:
            continue
        cands = proposed[item.item_id]
        decision = "review" if cands else "unresolved"
        if decision == "review":
            summary.review += 1
        else:
            summary.unresolved += 1
        out = outcomes.get(item_idx[item.item_id])
        payload = {
            "item_id": item.item_id,
            "decision": decision,
            "model": model_name,
            "thresholds": {"upper": th.upper, "lower": th.lower, "margin": th.margin},
            "candidates": cands,
            "decided_by": actor,
        }
        if judged.get(item.item_id):
            # left out whatever the model scores them: a reviewer judged the row is not theirs
            payload["judged_different"] = sorted(judged[item.item_id])
        if out is not None and out.ambiguous:
            # the best reached the upper threshold, but another is within the margin of it
            payload["ambiguous"] = True
        findings.append(NewEvent(T.REVIEW_ITEM_EVALUATED, payload))
    if findings:
        with reg.uow(actor) as uow:
            still = {
                r.item_id
                for r in uow.execute(
                    select(review_queue.c.item_id).where(
                        review_queue.c.item_id.in_([ev.payload["item_id"] for ev in findings]),
                        review_queue.c.status == "open",
                    )
                )
            }
            uow.emit_many([ev for ev in findings if ev.payload["item_id"] in still])
            uow.commit()
