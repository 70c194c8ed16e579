"""Impact simulation: evaluate a changed policy pack against today's registry without changing
it, and report who would enter or leave each list and change class, by region and type of
organisation, with charts and an HTML report.

List entry is compared rule against rule (the entry criteria and bars of each pack, over every
record on file); grades are compared method against method with the batch engine. Nothing is
written: a regulator sees a disproportionate effect before enacting it.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from stdnum import numdb

from ..clock import iso, to_utc_naive
from ..db import records, subjects
from ..errors import InvalidInput
from ..identifiers.uscc import AUTHORITY_TYPES
from ..policy import load_pack
from ..policy.durations import Duration, add_duration
from ..policy.model import Pack
from ..policy.versions import governing_publicity, without_version
from ..rules import lists as rules

if TYPE_CHECKING:
    from ..bootstrap import Registry

_LOC = numdb.get("cn/loc")


def province(division: str | None) -> str:
    if not division:
        return "unknown"
    parts = list(_LOC.info(division[:2] + "0000"))
    name = parts[0][1].get("province") if parts and parts[0][1] else None
    return str(name) if name else division[:2]


def kind_of(subject_id: str, kind: str) -> str:
    if kind == "person":
        return "natural person"
    return AUTHORITY_TYPES.get(subject_id[0], {}).get(subject_id[1], "other")


def _qualifying(pack: Pack, rows: Sequence[Any]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for r in rows:
        facts = rules.RecordFacts(
            record_key=r.record_key,
            record_type=r.record_type,
            status=r.status,
            subject_id=r.subject_id,
            subject_kind=r.kind,
            decided_on=r.decided_on,
            decision_ref=r.decision_ref,
            fields=json.loads(r.fields),
            minor_at_decision=r.minor_at_decision,
        )
        for ld in rules.lists_for_record_type(pack, r.record_type):
            # the persons a record names are not in the records table (only their listings
            # are), so a list of them is not simulated
            who = rules.listed(ld, facts)
            if who is not None and rules.entry_matches(ld, who) and rules.bar(ld, who) is None:
                out.add((ld.id, who.subject_id))
    return out


def _packs(reg: Registry, policy: str | Path) -> tuple[Pack, Pack, date | None, str]:
    """What is compared: (the rules before, the rules after, the day the change takes effect,
    what it is called). ``policy`` is a version of the pack in force (its name, the day it takes
    effect: the pack without it against the pack with it), or a pack directory or bundled pack's
    name (the pack in force against it)."""
    name = str(policy)
    v = reg.pack.version(name)
    if v is not None:
        return (
            without_version(reg.pack, v.name),
            reg.pack,
            v.effective_from,
            (f"version {v.name} of {reg.pack.meta.id}"),
        )
    if not Path(name).exists() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", name):
        raise InvalidInput(
            f"pack {reg.pack.meta.id} has no version taking effect on {name} (versions: "
            f"{', '.join(x.name for x in reg.pack.versions) or 'none'}); a pack directory is a path"
        )
    return reg.pack, load_pack(policy), None, name


def _publicity_changes(
    reg: Registry, before: Pack, after: Pack, rows: Sequence[Any], on: date
) -> dict[str, list[dict[str, Any]]]:
    """Records the change would take out of publicity on ``on`` (its effective date, or today),
    or show for a shorter time: a lighter rule applies to records already decided from the day
    it takes effect (Administrative Penalty Law Art. 37); a heavier one does not reach back."""
    memo: dict[tuple[str, date], date] = {}

    def ends(term: str, decided_on: date) -> date:
        key = (term, decided_on)
        if key not in memo:
            start = datetime.combine(decided_on, time(0, 0), tzinfo=reg.tz)
            memo[key] = add_duration(start, Duration.parse(term), reg.calendar, reg.tz).at.date()
        return memo[key]

    out: dict[str, list[dict[str, Any]]] = {"unpublished": [], "shortened": []}
    for r in rows:
        if r.record_type not in after.record_types:
            continue
        fields = json.loads(r.fields)
        was, _v, _b, _l = governing_publicity(before, r.record_type, r.decided_on, fields, ends)
        now, version, _b, _l = governing_publicity(after, r.record_type, r.decided_on, fields, ends)
        if not now < was or was <= on or r.publicity_until < min(was, now):
            continue  # unchanged, already out of publicity, or ended early (a repair)
        item = {
            "record": r.record_key,
            "record_type": r.record_type,
            "decided_on": r.decided_on.isoformat(),
            "until_before": was.isoformat(),
            "until_after": max(now, on).isoformat(),
            "version": version,
        }
        out["unpublished" if now <= on else "shortened"].append(item)
    return out


def simulate(reg: Registry, policy: str | Path, out: Path | None = None) -> dict[str, Any]:
    from ..analytics.grades import compute

    current, alt, effective, label = _packs(reg, policy)
    now = reg.now()
    on = max(now.astimezone(reg.tz).date(), effective or date.min)
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                records.c.record_key,
                records.c.record_type,
                records.c.status,
                records.c.subject_id,
                records.c.decided_on,
                records.c.decision_ref,
                records.c.fields,
                subjects.c.kind,
                records.c.minor_at_decision,
                records.c.publicity_until,
            )
            .join(subjects, subjects.c.subject_id == records.c.subject_id)
            .where(records.c.retracted_at.is_(None))
        ).all()
        info = {
            r.subject_id: r
            for r in conn.execute(
                select(
                    subjects.c.subject_id,
                    subjects.c.kind,
                    subjects.c.province,
                    subjects.c.id_masked,
                )
            )
        }
        t_local = now.astimezone(reg.tz).replace(tzinfo=None)
        t_utc = to_utc_naive(now)
        before_g = compute(
            conn,
            [m for m in current.grading.values() if "organisation" in m.subject_kinds],
            t_local,
            t_utc,
        )
        after_g = compute(
            conn,
            [m for m in alt.grading.values() if "organisation" in m.subject_kinds],
            t_local,
            t_utc,
        )
    before, after = _qualifying(current, rows), _qualifying(alt, rows)
    publicity = _publicity_changes(reg, current, alt, rows, on)

    def shown(sid: str) -> str:
        s = info.get(sid)
        return str(s.id_masked) if s is not None and s.kind == "person" else sid

    def breakdown(pairs: set[tuple[str, str]]) -> dict[str, dict[str, dict[str, int]]]:
        out_: dict[str, dict[str, dict[str, int]]] = {}
        for lid, sid in pairs:
            s = info[sid]
            d = out_.setdefault(lid, {"by_region": {}, "by_type": {}})
            reg_ = province(s.province)
            d["by_region"][reg_] = d["by_region"].get(reg_, 0) + 1
            typ = kind_of(sid, s.kind)
            d["by_type"][typ] = d["by_type"].get(typ, 0) + 1
        return out_

    entered, left = after - before, before - after
    lists = sorted({lid for lid, _ in before | after})
    changed: dict[str, list[dict[str, Any]]] = {}
    for method, rows_after in after_g.items():
        prior = {sid: (level, pts) for sid, pts, level in before_g.get(method, [])}
        changed[method] = [
            {
                "subject": sid,
                "from": prior[sid][0] if sid in prior else None,
                "to": level,
                "points_from": prior[sid][1] if sid in prior else None,
                "points_to": pts,
            }
            for sid, pts, level in rows_after
            if prior.get(sid, (None,))[0] != level
        ]
    result: dict[str, Any] = {
        "as_of": iso(now, reg.tz),
        "current_pack": reg.pack.digest,
        "policy": label,
        "policy_pack": alt.digest,
        "effective_from": effective.isoformat() if effective else None,
        "publicity_on": on.isoformat(),
        "unpublished": len(publicity["unpublished"]),
        "shortened": len(publicity["shortened"]),
        "entered": {lid: sum(1 for x, _ in entered if x == lid) for lid in lists},
        "left": {lid: sum(1 for x, _ in left if x == lid) for lid in lists},
        "changed_class": {m: len(v) for m, v in changed.items()},
        "subjects": {
            "entered": {lid: sorted(shown(s) for x, s in entered if x == lid) for lid in lists},
            "left": {lid: sorted(shown(s) for x, s in left if x == lid) for lid in lists},
            "changed_class": changed,
        },
        "records": publicity,
        "breakdown": {"entered": breakdown(entered), "left": breakdown(left)},
        "note": "list entry compares the entry rules of both packs over every record on file; "
        "publicity compares the day each record leaves publicity under each, a lighter rule "
        "applying from its effective date; "
        "the size of organisations is not in the register and is not broken down",
    }
    if out is not None:
        write_report(result, out)
        result["report"] = str(out / "report.html")
    return result


def _chart(title: str, data: list[dict[str, Any]]) -> str:
    import altair as alt

    if not data:
        return f"<p>{html.escape(title)}: no change.</p>"
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar()
        .encode(
            x=alt.X("n:Q", title="subjects"),
            y=alt.Y("group:N", title=None, sort="-x"),
            color=alt.Color(
                "change:N",
                scale=alt.Scale(domain=["entered", "left"], range=["#b3261e", "#1e7b34"]),
            ),
            row=alt.Row("list:N", title=None),
        )
        .properties(title=title, width=420)
    )
    return render_svg(chart, title=title)


def render_svg(chart: Any, *, title: str, description: str = "") -> str:
    """An Altair chart as inline SVG (rendered by vl-convert, no browser) that names itself to
    screen readers: ``role="img"`` with an ``aria-label``, and ``<title>``/``<desc>`` children."""
    import vl_convert as vlc

    svg = str(vlc.vegalite_to_svg(chart.to_json()))
    start = svg.find("<svg")
    if start < 0:
        return svg
    end = svg.index(">", start)
    label = html.escape(title, quote=True)
    attrs = f' role="img" aria-label="{label}"'
    children = f"<title>{label}</title>"
    if description:
        children += f"<desc>{html.escape(description, quote=True)}</desc>"
    return svg[:end] + attrs + ">" + children + svg[end + 1 :]


def write_report(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    charts = []
    for dim, label in (
        ("by_region", "Entered and left by province"),
        ("by_type", "Entered and left by type of organisation"),
    ):
        data = [
            {"list": lid, "group": g, "n": n, "change": change}
            for change in ("entered", "left")
            for lid, d in result["breakdown"][change].items()
            for g, n in d[dim].items()
        ]
        svg = _chart(label, data)
        name = f"{dim}.svg"
        if svg.startswith("<svg") or svg.startswith("<?xml"):
            (out / name).write_text(svg, encoding="utf-8")
        charts.append(svg)
    counts = Counter({m: n for m, n in result["changed_class"].items()})
    rows = "".join(
        f"<tr><td>{html.escape(lid)}</td><td>{result['entered'][lid]}</td>"
        f"<td>{result['left'][lid]}</td></tr>"
        for lid in result["entered"]
    )
    grade_rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{n}</td></tr>" for m, n in sorted(counts.items())
    )
    page = f"""<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">
<title>Impact of a policy change</title>
<style>body{{font-family:"Noto Sans CJK SC",system-ui,sans-serif;max-width:60rem;margin:auto;
padding:1rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}
</style></head><body>
<h1>政策变更影响模拟 · Impact of a policy change</h1>
<p>As of {html.escape(result["as_of"])}; proposed pack {html.escape(result["policy"])}
(digest {result["policy_pack"][:12]}) against the pack in force (digest
{result["current_pack"][:12]}). Nothing was changed in the registry.</p>
<h2>Lists</h2><table><tr><th>list</th><th>would enter</th><th>would leave</th></tr>{rows}</table>
<h2>Grades</h2><table><tr><th>method</th><th>subjects changing class</th></tr>{grade_rows}</table>
<h2>Publicity</h2><p>On {html.escape(result["publicity_on"])}: {result["unpublished"]} records
would leave publicity, {result["shortened"]} would be shown for a shorter time.</p>
{"".join(charts)}
<p><small>{html.escape(result["note"])}</small></p>
</body></html>"""
    (out / "report.html").write_text(page, encoding="utf-8")
