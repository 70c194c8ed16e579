"""Supervision statistics: how organisations are distributed over the classes of each grading
method, by province and by entity type, month by month, and the latest inspection plan; for the
page ``/supervision`` and its charts.

Numbers only, never a subject: a cell that counts fewer than ``MIN_CELL`` organisations is shown
as "fewer than 5" (``None`` here) and left out of the charts, because a small count in a small
region could point at one company whose class is not itself published.

- **Now**: the ``grades`` projection (each organisation's current class per method), joined to
  the subject's division (province: its first two digits) and the entity type its USCC encodes
  (positions 1-2: authority and type, GB 32100-2015), grouped by the database.
- **Trend**: the classes at the end of each of the last ``months`` calendar months (in the
  pack's time zone), from the ``grade-assigned`` events: each organisation counts in the class its
  latest grade before that moment gave it.
- **Plan**: the most recently published inspection plan ("double random, one public"): its
  population and the number drawn per class, its seed and digest (anyone can re-run the draw).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..clock import iso, to_utc_naive
from ..db import events, grades, inspection_plans, subjects
from ..events import types as T
from ..identifiers.uscc import AUTHORITY_TYPES
from .simulation import render_svg

if TYPE_CHECKING:
    from ..bootstrap import Registry

MIN_CELL = 5


def _suppress(n: int) -> int | None:
    return n if n >= MIN_CELL else None


def entity_type(code: str) -> str:
    """The entity type a USCC's first two characters encode, in English."""
    return AUTHORITY_TYPES.get(code[:1], {}).get(code[1:2], "other")


def statistics(reg: Registry, months: int = 12) -> dict[str, Any]:
    now = reg.now()
    tz = reg.tz
    methods = {
        mid: [lv.level for lv in gm.levels] + list(gm.special_levels)
        for mid, gm in reg.pack.grading.items()
        if "organisation" in gm.subject_kinds
    }
    province = subjects.c.province
    kind = func.substr(subjects.c.subject_id, 1, 2)
    by_province: dict[str, dict[str, dict[str, int | None]]] = {m: {} for m in methods}
    by_type: dict[str, dict[str, dict[str, int | None]]] = {m: {} for m in methods}
    totals: dict[str, dict[str, int]] = {
        m: {lv: 0 for lv in levels} for m, levels in methods.items()
    }
    with reg.engine.connect() as conn:
        for key, target in ((province, by_province), (kind, by_type)):
            q = (
                select(grades.c.method, grades.c.level, key.label("k"), func.count())
                .join(subjects, subjects.c.subject_id == grades.c.subject_id)
                .where(subjects.c.kind == "organisation")
                .group_by(grades.c.method, grades.c.level, key)
            )
            raw: dict[tuple[str, str], dict[str, int]] = {}
            for method, level, k, n in conn.execute(q):
                if method not in methods:
                    continue
                label = (k or "??") if target is by_province else entity_type(k or "")
                cell = raw.setdefault((method, label), {})
                cell[level] = cell.get(level, 0) + n
                if target is by_province:
                    totals[method][level] = totals[method].get(level, 0) + n
            for (method, label), cell in sorted(raw.items()):
                target[method][label] = {lv: _suppress(cell.get(lv, 0)) for lv in methods[method]}
        trend = _trend(conn, methods, now, tz, months)
        plan_row = conn.execute(
            select(inspection_plans).order_by(inspection_plans.c.published_at.desc()).limit(1)
        ).first()
    plan = None
    if plan_row is not None:
        body = json.loads(plan_row.body)
        drawn: dict[str, int] = {}
        for d in body.get("drawn", []):
            drawn[d["level"]] = drawn.get(d["level"], 0) + 1
        plan = {
            "plan_id": plan_row.plan_id,
            "name": body.get("name"),
            "method": body.get("method"),
            "seed": plan_row.seed,
            "digest": plan_row.digest,
            "published_at": iso(plan_row.published_at.replace(tzinfo=UTC), tz),
            "as_of": body.get("as_of"),
            "shares": body.get("shares", {}),
            "population": body.get("population", {}),
            "drawn": drawn,
            "unassigned": len(body.get("unassigned", [])),
        }
    return {
        "as_of": iso(now, tz),
        "min_cell": MIN_CELL,
        "methods": {
            m: {"name": reg.pack.grading[m].name.model_dump(), "levels": levels}
            for m, levels in methods.items()
        },
        "totals": totals,
        "by_province": by_province,
        "by_entity_type": by_type,
        "trend": trend,
        "plan": plan,
    }


def _month_ends(now: datetime, tz: Any, months: int) -> list[tuple[str, datetime]]:
    """(``YYYY-MM``, the end of that month as naive UTC) for the last ``months`` months; the
    current month ends now."""
    local = now.astimezone(tz)
    out: list[tuple[str, datetime]] = [(local.strftime("%Y-%m"), to_utc_naive(now))]
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        prev_first = (first - timedelta(days=1)).replace(day=1)
        out.append((prev_first.strftime("%Y-%m"), to_utc_naive(first)))
        first = prev_first
    return out[::-1]


def _trend(
    conn: Any, methods: dict[str, list[str]], now: datetime, tz: Any, months: int
) -> dict[str, list[dict[str, Any]]]:
    ends = _month_ends(now, tz, months)
    current: dict[tuple[str, str], str] = {}
    counts: dict[str, dict[str, int]] = {m: {} for m in methods}
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    i = 0
    q = (
        select(events.c.at, events.c.payload)
        .where((events.c.type == T.GRADE_ASSIGNED) & (events.c.at < ends[-1][1]))
        .order_by(events.c.seq)
    )

    def close_until(at: datetime | None) -> None:
        nonlocal i
        while i < len(ends) and (at is None or at >= ends[i][1]):
            month = ends[i][0]
            for m, levels in methods.items():
                out[m].append(
                    {"month": month, **{lv: _suppress(counts[m].get(lv, 0)) for lv in levels}}
                )
            i += 1

    for at, payload in conn.execution_options(yield_per=5000).execute(q):
        close_until(at)
        p = json.loads(payload)
        m = p["method"]
        if m not in methods:
            continue
        key = (p["subject_id"], m)
        old = current.get(key)
        if old is not None:
            counts[m][old] -= 1
        current[key] = p["level"]
        counts[m][p["level"]] = counts[m].get(p["level"], 0) + 1
    close_until(None)
    return out


def charts(stats: dict[str, Any], lang: str = "zh") -> dict[str, str]:
    """Per method: classes by province (stacked bars) and the monthly trend (lines), as SVG;
    an empty string where every count is suppressed (nothing to draw)."""
    import altair as alt

    zh = lang == "zh"
    out: dict[str, str] = {}
    for m, info in stats["methods"].items():
        name = info["name"][lang]
        levels = info["levels"]
        rows = [
            {"province": prov, "class": lv, "organisations": n}
            for prov, cell in stats["by_province"][m].items()
            for lv, n in cell.items()
            if n
        ]
        color = alt.Color("class:N", sort=levels, title="类别" if zh else "class")
        bars = (
            alt.Chart(alt.Data(values=rows))
            .mark_bar()
            .encode(
                x=alt.X(
                    "province:N", title="省级行政区划代码" if zh else "province (division code)"
                ),
                y=alt.Y("organisations:Q", title="组织数" if zh else "organisations"),
                color=color,
            )
            .properties(width=560, height=260)
        )
        title = f"{name}：各省分类分布" if zh else f"{name}: classes by province"
        out[f"{m}.province"] = (
            ""
            if not rows
            else render_svg(
                bars,
                title=title,
                description=(
                    "各省各类别的组织数；数字见下表。"
                    if zh
                    else "Organisations per class and province; the table below has the figures."
                ),
            )
        )
        trend = [
            {"month": r["month"], "class": lv, "organisations": r[lv]}
            for r in stats["trend"][m]
            for lv in levels
            if r[lv]
        ]
        lines = (
            alt.Chart(alt.Data(values=trend))
            .mark_line(point=True, aria=False)
            .encode(
                x=alt.X("month:O", title="月份" if zh else "month"),
                y=alt.Y("organisations:Q", title="组织数" if zh else "organisations"),
                color=color,
            )
            .properties(width=560, height=220)
        )
        title = f"{name}：逐月趋势" if zh else f"{name}: month by month"
        out[f"{m}.trend"] = (
            ""
            if not trend
            else render_svg(
                lines,
                title=title,
                description=(
                    "每月末各类别的组织数；数字见下表。"
                    if zh
                    else "Organisations per class at the end of each month; the table below has the figures."
                ),
            )
        )
    return out
