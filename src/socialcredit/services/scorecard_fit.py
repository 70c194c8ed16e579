"""A lending scorecard refitted on the registry's own outcomes: the loans lenders report back.

``socialcredit scorecard fit --kind KIND --outcomes-from-registry --as-of T --window 12m``
takes every subject of that kind about whom a lender has reported loan performance; reads its
inputs from its file as of ``T`` (records of periods and decisions up to ``T``, listings in
force then, as the registry holds them now, corrections included; the same ``features_of`` the
score reads, so training and scoring read files alike); and calls it *bad* when a lender reported one of its loans in
default, or 90 days or more past due, for a month after ``T`` and within the window. The
method is the default models' (``analytics.scorecard.fit``: monotone bins, logistic
regression, points), split 70/30 by outcome. The model is written to the registry's models
directory under a versioned id (``registry_person_v1_fit_20260301``); a pack puts it in use by
naming that id in ``lending.yaml`` (``score.models``), as any change of policy, and every score
then names it.

A registry with too few outcomes to learn from (fewer than ``MIN_ROWS`` subjects or
``MIN_BAD`` bad ones) is refused with the counts, rather than fitted on noise.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso
from ..db import records, subjects
from ..errors import InvalidInput
from ..policy.durations import Duration, add_duration
from .subjects import subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry

#: the fewest subjects with outcomes, and bad outcomes among them, a fit is made on
MIN_ROWS = 100
MIN_BAD = 10
#: days past due that count as a bad outcome (the common definition of a default)
BAD_DAYS_PAST_DUE = 90


def _period(r: dict[str, Any]) -> date | None:
    text = str(r.get("fields", {}).get("period", ""))
    try:
        return date(int(text[:4]), int(text[5:7]), 1) if len(text) == 7 else None
    except ValueError:
        return None


def bad_after(file: dict[str, Any], start: date, end: date) -> bool:
    for r in file["records"]:
        if r["record_type"] != "loan_performance" or r.get("retracted"):
            continue
        p = _period(r)
        if p is None or not (start < p <= end):
            continue
        f = r["fields"]
        if f.get("performance") == "default" or int(f.get("days_past_due") or 0) >= (
            BAD_DAYS_PAST_DUE
        ):
            return True
    return False


def in_force(listing: dict[str, Any], t: datetime) -> bool:
    since = listing.get("since")
    if not since or datetime.fromisoformat(since) > t:
        return False
    ended = listing.get("ended_at") or listing.get("until")
    return not (ended and datetime.fromisoformat(ended) <= t)


def fit_from_registry(
    reg: Registry,
    kind: str,
    as_of: datetime,
    window: str = "12m",
    seed: int = 0,
    reader: str = "cli:scorecard fit",
) -> dict[str, Any]:
    """Fit ``kind``'s scorecard on the registry's outcomes (module doc); the model is written
    to ``reg.settings.models_dir``. Returns its id, path, the rows and bad outcomes it was fitted
    on, and its metrics."""
    from ..analytics import persons, smb
    from ..analytics import scorecard as sc

    module = {"person": persons, "organisation": smb}.get(kind)
    if module is None:
        raise InvalidInput(f"--kind is person or organisation, not {kind!r}")
    end = add_duration(as_of, Duration.parse(window), reg.calendar, reg.tz).at
    if end > reg.now():
        raise InvalidInput(
            f"the window ends {iso(end, reg.tz)}, after now: its outcomes are not all known; "
            "choose an earlier --as-of or a shorter --window"
        )
    black = [lid for lid, ld in reg.pack.lists.items() if ld.kind == "black"]
    with reg.engine.connect() as conn:
        ids = [
            r.subject_id
            for r in conn.execute(
                select(records.c.subject_id)
                .join(subjects, subjects.c.subject_id == records.c.subject_id)
                .where(
                    records.c.record_type == "loan_performance",
                    records.c.retracted_at.is_(None),
                    subjects.c.kind == kind,
                )
                .distinct()
                .order_by(records.c.subject_id)
            )
        ]
    rows = []
    for sid in ids:
        # the file as the registry holds it now (corrections included), read
        # as it stood at ``as_of``: records of periods and decisions up to then, listings in
        # force then; one read recorded a subject, which it sees in its file
        file = subject_file(reg, sid, reg.now(), reader=reader, purpose="model training")
        listed = [
            {**x, "status": "active" if in_force(x, as_of) else "ended"} for x in file["listings"]
        ]
        inputs = module.features_of(file["records"], listed, black, as_of.date())
        if kind == "person" and not persons.enough_history(inputs):
            continue  # not scored, so not learnt from
        bad = bad_after(file, as_of.date(), end.date())
        rows.append({**inputs, sc.TARGET: sc.BAD if bad else sc.GOOD})
    n_bad = sum(sc.is_bad(rows))
    if len(rows) < MIN_ROWS or n_bad < MIN_BAD:
        raise InvalidInput(
            f"too few outcomes to fit on: {len(rows)} {kind}s with loans reported "
            f"({n_bad} bad); a fit needs at least {MIN_ROWS}, {MIN_BAD} of them bad"
        )
    train_idx, test_idx = sc.split(rows, seed)
    train_rows = [rows[i] for i in train_idx]
    test_rows = [rows[i] for i in test_idx]
    model_id = f"{module.MODEL_ID}_fit_{as_of.astimezone(reg.tz):%Y%m%d}"
    fitted = sc.fit(train_rows, module.CANDIDATES, module.NUMERIC, model_id)
    test_scores = [fitted.score(r)["score"] for r in test_rows]
    metrics = {
        "test_auc": round(sc.auc(sc.is_bad(test_rows), test_scores), 4),
        "test_ks": round(sc.ks(sc.is_bad(test_rows), test_scores), 4),
        "test_approval_rate": round(
            sum(s >= fitted.cutoff for s in test_scores) / len(test_rows), 4
        ),
    }
    provenance = {
        "data": {
            "name": "the registry's own outcomes: loan performance reported by lenders",
            "kind": kind,
            "as_of": iso(as_of, reg.tz),
            "window": window,
            "bad": f"a loan in default or {BAD_DAYS_PAST_DUE}+ days past due within the window",
            "subjects": len(rows),
            "bad_outcomes": n_bad,
            "pack": reg.pack.meta.id,
        },
        "split": {"method": "stratified by outcome", "test_size": sc.TEST_SIZE, "seed": seed},
        **fitted.provenance,
        "command": f"socialcredit scorecard fit --kind {kind} --outcomes-from-registry "
        f"--as-of {as_of.astimezone(reg.tz):%Y-%m-%d} --window {window}",
    }
    model = sc.Model(
        features=fitted.features,
        cutoff=fitted.cutoff,
        model_id=model_id,
        metrics=metrics,
        provenance=provenance,
    )
    directory = reg.settings.models_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{model_id}.json"
    path.write_text(model.to_json(), encoding="utf-8")
    return {
        "model": model_id,
        "path": str(path),
        "subjects": len(rows),
        "bad": n_bad,
        "inputs": list(model.inputs),
        "metrics": metrics,
    }
