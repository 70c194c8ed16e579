"""Inspection plans, "double random, one public": draw organisations by level and assign
inspectors at random from a recorded seed, so that anyone can re-run the draw and get the same
plan, byte for byte.

The population and its levels come from the registry as of the moment given; the share of each
level comes from the grading method in the pack; inspectors come from the plan, with the regions
they cover and the organisations they must not inspect (conflicts of interest).
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from ..clock import iso
from ..db import subjects
from ..errors import InvalidInput, UnknownEntity
from ..events.chain import canonical
from .grading import grade_file
from .subjects import subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inspector(_Strict):
    id: str
    name: str
    regions: list[str] = Field(
        min_length=1
    )  # division prefixes, e.g. "1101" for Beijing's districts
    conflicts: list[str] = Field(default_factory=list)  # USCCs this inspector must not inspect


class Population(_Strict):
    division_prefix: str = ""
    entity_types: list[str] = Field(default_factory=list)  # USCC positions 1-2, e.g. "91"


class Plan(_Strict):
    id: str
    name: str
    method: str
    population: Population = Population()
    inspectors: list[Inspector]


def load_plan(path: Path) -> Plan:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Plan.model_validate(data)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"{path}: not a valid inspection plan: {exc}") from None


def draw(reg: Registry, plan: Plan, seed: int) -> dict[str, Any]:
    gm = reg.pack.grading.get(plan.method)
    if gm is None or gm.inspection is None:
        raise UnknownEntity(f"grading method {plan.method!r} has no inspection shares in the pack")
    moment = reg.now()
    with reg.engine.connect() as conn:
        codes = [
            r.subject_id
            for r in conn.execute(
                select(subjects.c.subject_id)
                .where(subjects.c.kind == "organisation")
                .order_by(subjects.c.subject_id)
            )
        ]
    codes = [
        c
        for c in codes
        if c[2:8].startswith(plan.population.division_prefix)
        and (not plan.population.entity_types or c[:2] in plan.population.entity_types)
    ]
    by_level: dict[str, list[str]] = {}
    for code in codes:
        file = subject_file(reg, code, moment)
        level = grade_file(reg, file, plan.method, moment)["level"]
        by_level.setdefault(level, []).append(code)
    rng = random.Random(f"{plan.id}|{seed}")
    order = [lv.level for lv in gm.levels] + gm.special_levels
    drawn: list[dict[str, Any]] = []
    unassigned: list[dict[str, Any]] = []
    per = gm.inspection.inspectors_per_subject
    inspectors = sorted(plan.inspectors, key=lambda i: i.id)
    for level in order:
        members = by_level.get(level, [])
        share = gm.inspection.shares.get(level, 0.0)
        k = min(len(members), math.floor(share * len(members) + 0.5))
        for code in sorted(rng.sample(members, k)):
            eligible = [
                i
                for i in inspectors
                if any(code[2:8].startswith(r) for r in i.regions) and code not in i.conflicts
            ]
            if len(eligible) < per:
                unassigned.append(
                    {
                        "subject": code,
                        "level": level,
                        "reason": f"{len(eligible)} eligible inspectors, {per} needed",
                    }
                )
                continue
            picked = sorted(rng.sample(eligible, per), key=lambda i: i.id)
            drawn.append(
                {
                    "subject": code,
                    "level": level,
                    "inspectors": [{"id": i.id, "name": i.name} for i in picked],
                }
            )
    result: dict[str, Any] = {
        "plan": plan.id,
        "name": plan.name,
        "method": plan.method,
        "seed": seed,
        "as_of": iso(moment, reg.tz),
        "pack_digest": reg.pack.digest,
        "shares": gm.inspection.shares,
        "legal_basis": reg.pack.cite(gm.inspection.legal_basis),
        "population": {lv: len(by_level.get(lv, [])) for lv in order},
        "drawn": drawn,
        "unassigned": unassigned,
    }
    result["digest"] = plan_digest(result)
    return result


#: what a drawn plan's digest does not cover: the moment it was drawn (a redraw from the same
#: registry state, plan and seed is the same plan, whenever it is made)
_NOT_CONTENT = ("as_of", "digest")


def plan_digest(result: dict[str, Any]) -> str:
    """The SHA-256 of the drawn plan's content: the plan, seed, rules, population and draw."""
    content = {k: v for k, v in result.items() if k not in _NOT_CONTENT}
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def publish(reg: Registry, result: dict[str, Any], actor: str) -> None:
    """Publish a drawn plan; a plan id is published once."""
    from ..db import inspection_plans
    from ..events import types as T
    from ..events.types import NewEvent

    with reg.uow(actor) as uow:
        exists = uow.execute(
            select(inspection_plans.c.plan_id).where(inspection_plans.c.plan_id == result["plan"])
        ).first()
        if exists is not None:
            raise InvalidInput(f"plan {result['plan']!r} was already published")
        uow.emit(
            NewEvent(
                T.INSPECTION_PLAN_PUBLISHED,
                {
                    "plan_id": result["plan"],
                    "seed": result["seed"],
                    "digest": result["digest"],
                    "plan": result,
                },
            )
        )
        uow.commit()


def published(reg: Registry, plan_id: str | None = None) -> Any:
    import json

    from ..db import inspection_plans

    with reg.engine.connect() as conn:
        q = select(inspection_plans).order_by(inspection_plans.c.published_at.desc())
        if plan_id is not None:
            row = conn.execute(q.where(inspection_plans.c.plan_id == plan_id)).first()
            if row is None:
                raise UnknownEntity(f"no published plan {plan_id!r}")
            return json.loads(row.body)
        return [
            {
                "plan": r.plan_id,
                "seed": r.seed,
                "digest": r.digest,
                "published_at": iso(r.published_at, reg.tz),
            }
            for r in conn.execute(q)
        ]
