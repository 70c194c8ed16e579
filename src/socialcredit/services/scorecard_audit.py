"""The fairness audit of a lending scorecard on the registry's own subjects (issue #27).

``socialcredit scorecard audit --kind person|organisation`` scores every subject of the kind
that has a file to score (the pack's model, on the inputs the score reads) and reports, per
group, how many were scored, the share approved and the mean score; with ``--as-of`` and
``--window`` it reads the inputs as of that date and adds each group's observed bad share
(a loan reported in default or 90+ days past due within the window: the fit's outcome), so a
model's calibration can be compared across groups.

- **Persons** by sex and age band. The registry stores neither; both are derived, in memory
  and for this job only, from the decrypted resident ID number (its 17th digit and birth date),
  and nothing derived is kept: the output holds aggregates only, and each person whose number
  was decrypted sees the read ("fairness audit, aggregates only") in their file. Sex and age
  are never model inputs.
- **Organisations** by province, entity type (the USCC's second character) and age of the firm
  (from its registration record's date of establishment, where the registry holds one).

A group of fewer than ``MIN_CELL`` subjects is shown as suppressed (its counts ``None``), as on
``/supervision``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso
from ..db import subjects
from ..errors import InvalidIdentifier, InvalidInput
from ..identifiers.divisions import division_name
from ..identifiers.uscc import parse_uscc
from ..policy.durations import Duration, add_duration
from .scorecard_fit import bad_after, in_force
from .subjects import subject_file
from .supervision import MIN_CELL

if TYPE_CHECKING:
    from ..bootstrap import Registry


def _age_band(age: int) -> str:
    return "<25" if age < 25 else "25-40" if age <= 40 else "41-60" if age <= 60 else ">60"


def _person_groups(number: str, on: date) -> dict[str, str]:
    """Sex and age band from an 18-digit resident ID number (GB 11643): the 17th digit odd for
    a man; the birth date in digits 7 to 14."""
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return {"sex": "male" if int(number[16]) % 2 else "female", "age_band": _age_band(age)}


def _entity_type(code: str) -> str:
    """The kind of organisation its USCC declares (authority and entity type, GB 32100)."""
    try:
        return parse_uscc(code).describe()["entity_type"]
    except (InvalidIdentifier, KeyError):
        return "other"


def _organisation_groups(row: Any, file: dict[str, Any], on: date) -> dict[str, str]:
    est = next(
        (
            r["fields"].get("established_on")
            for r in file["records"]
            if r["record_type"] == "business_registration" and r["fields"].get("established_on")
        ),
        None,
    )
    if est:
        years = on.year - int(str(est)[:4])
        firm_age = "<3 years" if years < 3 else "3-10 years" if years <= 10 else ">10 years"
    else:
        firm_age = "unknown"
    return {
        "province": (division_name(f"{row.province}0000") if row.province else None) or "unknown",
        "entity_type": _entity_type(row.subject_id),
        "firm_age": firm_age,
    }


def audit(
    reg: Registry,
    kind: str,
    as_of: datetime | None = None,
    window: str | None = None,
    reader: str = "cli:scorecard audit",
) -> dict[str, Any]:
    """The audit of ``kind``'s scorecard (module doc): per attribute and group, the subjects
    scored, the share approved, the mean score and (with ``as_of`` and ``window``) the
    observed bad share."""
    from ..analytics import persons, smb
    from ..analytics.scorecard import load_model

    module = {"person": persons, "organisation": smb}.get(kind)
    if module is None:
        raise InvalidInput(f"--kind is person or organisation, not {kind!r}")
    if (as_of is None) != (window is None):
        raise InvalidInput("give --as-of and --window together (the outcomes' window), or neither")
    policy = reg.pack.lending
    if policy is None or kind not in policy.score.models:
        raise InvalidInput(f"this pack scores no {kind}")
    model_id = policy.score.models[kind]
    model = load_model(model_id, reg.settings.models_dir)
    now = reg.now()
    moment = as_of or now
    end = None
    if as_of is not None and window is not None:
        end = add_duration(as_of, Duration.parse(window), reg.calendar, reg.tz).at
        if end > now:
            raise InvalidInput(f"the window ends {iso(end, reg.tz)}, after now")
    black = [lid for lid, ld in reg.pack.lists.items() if ld.kind == "black"]
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(subjects).where(subjects.c.kind == kind, subjects.c.merged_into.is_(None))
        ).all()
    # group -> [scored, approved, score sum, with outcome, bad]
    cells: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0.0, 0, 0])
    )
    thin = 0
    for row in rows:
        code = row.subject_id
        if kind == "person":
            if not row.id_cipher:
                continue  # purged: nothing to derive, nothing to score
            number = reg.protector.decrypt(row.id_cipher)
            file = subject_file(
                reg, code, now, reader=reader, purpose="fairness audit (aggregates only)"
            )
            groups = _person_groups(number, moment.astimezone(reg.tz).date())
            del number
        else:
            file = subject_file(reg, code, now)
            groups = _organisation_groups(row, file, moment.astimezone(reg.tz).date())
        listed = [
            {**x, "status": "active" if in_force(x, moment) else "ended"} for x in file["listings"]
        ]
        inputs = module.features_of(
            file["records"], listed, black, moment.astimezone(reg.tz).date()
        )
        if kind == "person" and not persons.enough_history(inputs):
            thin += 1
            continue
        scored = model.score(inputs)
        bad = (
            bad_after(file, moment.astimezone(reg.tz).date(), end.astimezone(reg.tz).date())
            if end is not None
            else None
        )
        for attribute, group in groups.items():
            c = cells[attribute][group]
            c[0] += 1
            c[1] += scored["score"] >= model.cutoff
            c[2] += scored["score"]
            if bad is not None:
                c[3] += 1
                c[4] += bad
    table: dict[str, list[dict[str, Any]]] = {}
    gaps: dict[str, float] = {}
    for attribute, groups_ in sorted(cells.items()):
        out: list[dict[str, Any]] = []
        rates: list[float] = []
        for group, (n, approved, total, with_outcome, bad_n) in sorted(groups_.items()):
            if n < MIN_CELL:
                out.append({"group": group, "scored": None, "suppressed": True})
                continue
            entry: dict[str, Any] = {
                "group": group,
                "scored": int(n),
                "approval_rate": round(approved / n, 4),
                "mean_score": round(total / n, 1),
            }
            if end is not None and with_outcome:
                entry["bad_rate"] = round(bad_n / with_outcome, 4)
            out.append(entry)
            rates.append(approved / n)
        table[attribute] = out
        if len(rates) > 1:
            gaps[attribute] = round(max(rates) - min(rates), 4)
    return {
        "model": model_id,
        "kind": kind,
        "as_of": iso(moment, reg.tz),
        "window": window,
        "cutoff": model.cutoff,
        "subjects": len(rows),
        "not_enough_history": thin,
        "min_cell": MIN_CELL,
        "groups": table,
        "approval_gaps": gaps,
        "note": "aggregates only; for persons, sex and age band derived in memory from the "
        "decrypted ID number for this audit and not kept; never model inputs",
    }
