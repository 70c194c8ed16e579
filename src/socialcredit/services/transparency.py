"""Transparency statistics: how the registry's lists, objections and repairs move, month by month
and province by province, for the public page ``/transparency``; and its charts.

Everything is counted from the projection tables as they stood at a moment (``at``, by default the
registry's now): only what had happened by then counts, as every other read of the registry at a
past moment. Natural persons are counted like organisations, as numbers; no identity leaves here.

What is counted:

* listings **entered** a list in the month their notice period ran out (``activates_at``), and
  **ended** in the month they left it (the earlier of ``ended_at`` and ``until``, the maximum
  duration): both only for listings that were ever active (a listing withdrawn during its notice
  period never entered the list). So entered minus ended, summed up to ``at``, is the number of
  active listings at ``at``.
* objections **filed**, **escalated** (unanswered past their deadline) and decided by outcome
  (``corrected``, ``rejected``, ``withdrawn``, see ``services.objections``), each in the month it
  happened; and the state of every objection at ``at`` (``open`` and ``escalated`` are pending).
* repair applications (**applied**; those that failed the eligibility rules are closed at once as
  **ineligible**) and decisions (**approved**, **rejected**), each in its month.
* active listings and objections by province: the first two digits of the subject's
  administrative division.

Months are calendar months in the registry's time zone (the pack's ``timezone``). The grouping is
done by the database (``GROUP BY``) so that it scales to millions of rows; the month of an instant
(stored as naive UTC) is computed exactly in either engine, see ``_month``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select

from ..clock import iso, to_utc_naive
from ..db import listings, objections, repairs, subjects
from ..errors import InvalidInput
from .simulation import render_svg
from .supervision import MIN_CELL

if TYPE_CHECKING:
    from ..bootstrap import Registry

LANGS = ("zh", "en")
OBJECTION_OUTCOMES = ("corrected", "rejected", "withdrawn")
OBJECTION_STATES = ("open", "escalated", *OBJECTION_OUTCOMES)
OBJECTION_MONTHLY = ("filed", "escalated", *OBJECTION_OUTCOMES)
REPAIR_DECISIONS = ("approved", "rejected")
REPAIR_STATES = ("pending", "ineligible", *REPAIR_DECISIONS)
REPAIR_MONTHLY = ("applied", "ineligible", *REPAIR_DECISIONS)

#: The 31 provincial-level divisions of the mainland, by the first two digits of a GB/T 2260 code.
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京", "Beijing"),
    "12": ("天津", "Tianjin"),
    "13": ("河北", "Hebei"),
    "14": ("山西", "Shanxi"),
    "15": ("内蒙古", "Inner Mongolia"),
    "21": ("辽宁", "Liaoning"),
    "22": ("吉林", "Jilin"),
    "23": ("黑龙江", "Heilongjiang"),
    "31": ("上海", "Shanghai"),
    "32": ("江苏", "Jiangsu"),
    "33": ("浙江", "Zhejiang"),
    "34": ("安徽", "Anhui"),
    "35": ("福建", "Fujian"),
    "36": ("江西", "Jiangxi"),
    "37": ("山东", "Shandong"),
    "41": ("河南", "Henan"),
    "42": ("湖北", "Hubei"),
    "43": ("湖南", "Hunan"),
    "44": ("广东", "Guangdong"),
    "45": ("广西", "Guangxi"),
    "46": ("海南", "Hainan"),
    "50": ("重庆", "Chongqing"),
    "51": ("四川", "Sichuan"),
    "52": ("贵州", "Guizhou"),
    "53": ("云南", "Yunnan"),
    "54": ("西藏", "Xizang"),
    "61": ("陕西", "Shaanxi"),
    "62": ("甘肃", "Gansu"),
    "63": ("青海", "Qinghai"),
    "64": ("宁夏", "Ningxia"),
    "65": ("新疆", "Xinjiang"),
}
UNKNOWN_PROVINCE = {"zh": "未知地区", "en": "Unknown region"}

# ---------------------------------------------------------------------------------------------
# the month of an instant, in the database


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _exact_month(utc: datetime, zone: str) -> str:
    local = utc.replace(tzinfo=UTC).astimezone(_zone(zone))
    return f"{local.year:04d}-{local.month:02d}"


_HOUR_LESS = timedelta(hours=1, microseconds=-1)


@lru_cache(maxsize=1 << 16)
def _hour_month(hour: str, zone: str) -> str | None:
    """The local month of a whole UTC hour (``YYYY-MM-DD HH``), or None if a month begins
    inside it (a zone whose offset is not a whole number of hours)."""
    start = datetime.fromisoformat(hour + ":00:00")
    first = _exact_month(start, zone)
    return first if _exact_month(start + _HOUR_LESS, zone) == first else None


def _local_month(value: str | None, zone: str) -> str | None:
    """SQLite function: the ``YYYY-MM`` in ``zone`` of a naive-UTC timestamp as SQLite stores it
    (``YYYY-MM-DD HH:MM:SS.ffffff``). Exact; cached by the hour, where the hour lies in one
    month, since converting every row would cost some microseconds each."""
    if value is None:
        return None
    month = _hour_month(value[:13], zone)
    return month if month is not None else _exact_month(datetime.fromisoformat(value), zone)


def _month(conn: Connection, column: ColumnElement[Any], zone: str) -> ColumnElement[Any]:
    """The calendar month (``YYYY-MM``) in ``zone`` of a naive-UTC timestamp column, exactly.

    PostgreSQL converts with its own time-zone database. SQLite has none (its ``localtime`` is the
    server process's zone), so the conversion is a Python function registered on the connection:
    still one ``GROUP BY`` in the database, exact for every zone and offset, at about a
    microsecond a row (see ``_local_month``).
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone, func.timezone("UTC", column)), "YYYY-MM")
    if dialect == "sqlite":
        raw: Any = conn.connection.driver_connection
        raw.create_function("sc_local_month", 2, _local_month, deterministic=True)
        return func.sc_local_month(column, zone)
    raise InvalidInput(f"transparency statistics support SQLite and PostgreSQL, not {dialect}")


def _grouped(
    conn: Connection,
    keys: list[ColumnElement[Any]],
    where: ColumnElement[bool],
    table: Any,
) -> list[tuple[Any, ...]]:
    """``SELECT keys..., count(*) ... GROUP BY keys`` over one (or a joined) table.

    The keys are computed in a subquery and grouped outside it, so that an expression with bound
    parameters (the time zone) need not be repeated verbatim in ``GROUP BY``.
    """
    inner = (
        select(*(k.label(f"k{i}") for i, k in enumerate(keys))).select_from(table).where(where)
    ).subquery()
    cols = [inner.c[f"k{i}"] for i in range(len(keys))]
    q = select(*cols, func.count()).group_by(*cols)
    return [tuple(r) for r in conn.execute(q)]


def _province(division_prefix: str | None) -> dict[str, Any]:
    if division_prefix in PROVINCES:
        zh, en = PROVINCES[division_prefix]
        return {"code": division_prefix, "zh": zh, "en": en}
    if division_prefix:
        return {"code": division_prefix, "zh": division_prefix, "en": division_prefix}
    return {"code": None, **UNKNOWN_PROVINCE}


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# ---------------------------------------------------------------------------------------------
# statistics


def _suppress_objections(p: dict[str, Any]) -> dict[str, Any]:
    """A province's objections counted 1 to 4 are not shown (None), as /supervision shows no
    cell under ``MIN_CELL``: an objection is a subject's own act, not a public record, and one
    objection in a small province could point at its subject. Listings are public records and
    are counted in full."""
    for key in ("objections", "objections_pending"):
        if 0 < p[key] < MIN_CELL:
            p[key] = None
    return p


def statistics(reg: Registry, at: datetime | None = None) -> dict[str, Any]:
    """The registry's transparency statistics as they stood at ``at`` (default: now).

    Returns a dict (all counts are plain ints; months are ``YYYY-MM`` in ``timezone``)::

        as_of, timezone
        months: every month from the first event counted to the month of ``as_of``
        lists: [{id, kind, zh, en}] in the pack's order
        listings: {by_month: {month: {list_id: {entered, ended}}},
                   totals: {list_id: {entered, ended, active}},
                   ended_by_reason: {list_id: {reason: n}}, active: n}
        objections: {by_month: {month: {filed, escalated, corrected, rejected, withdrawn}},
                     by_outcome: {open, escalated, corrected, rejected, withdrawn}, filed: n}
        repairs: {by_month: {month: {applied, ineligible, approved, rejected}},
                  by_decision: {pending, ineligible, approved, rejected}, applied: n}
        provinces: [{code, zh, en, active_listings, active_by_list: {list_id: n},
                     objections, objections_pending}] by code (code None: no division known)
        tables: {lang: {chart key: {caption, columns, rows}}} for lang in zh, en: the figures
                of each chart of ``charts()`` as a plain table (rows whose counts are all zero
                are left out)
    """
    moment = at or reg.now()
    t = to_utc_naive(moment)
    zone = reg.tz.key
    list_ids = list(reg.pack.lists)
    L, Ob, R, S = listings.c, objections.c, repairs.c, subjects.c

    ever_active = and_(
        L.activates_at.is_not(None),
        or_(L.ended_at.is_(None), L.ended_at > L.activates_at),
        or_(L.until.is_(None), L.until > L.activates_at),
    )
    by_event = and_(L.ended_at.is_not(None), or_(L.until.is_(None), L.ended_at <= L.until))
    end_at = case((by_event, L.ended_at), else_=L.until)
    end_reason = case((by_event, func.coalesce(L.end_reason, "ended")), else_="expired")
    active_at_t = and_(
        L.activates_at <= t,
        or_(L.ended_at.is_(None), L.ended_at > t),
        or_(L.until.is_(None), L.until > t),
    )
    province = S.province
    l_subj = listings.outerjoin(subjects, S.subject_id == L.subject_id)
    o_subj = objections.outerjoin(subjects, S.subject_id == Ob.subject_id)
    o_state = case(
        (Ob.decided_at <= t, Ob.outcome),
        (Ob.escalated_at <= t, "escalated"),
        else_="open",
    )
    r_state = case(
        (R.decided_at <= t, R.status),
        (R.eligible, "pending"),
        else_="ineligible",
    )

    with reg.engine.connect() as conn:
        entered = _grouped(
            conn,
            [_month(conn, L.activates_at, zone), L.list_id],
            and_(ever_active, L.activates_at <= t),
            listings,
        )
        ended = _grouped(
            conn,
            [_month(conn, end_at, zone), L.list_id, end_reason],
            and_(ever_active, end_at <= t),
            listings,
        )
        active = _grouped(conn, [L.list_id, province], active_at_t, l_subj)
        o_filed = _grouped(conn, [_month(conn, Ob.filed_at, zone)], Ob.filed_at <= t, objections)
        o_escalated = _grouped(
            conn, [_month(conn, Ob.escalated_at, zone)], Ob.escalated_at <= t, objections
        )
        o_decided = _grouped(
            conn, [_month(conn, Ob.decided_at, zone), Ob.outcome], Ob.decided_at <= t, objections
        )
        o_states = _grouped(conn, [o_state, province], Ob.filed_at <= t, o_subj)
        r_applied = _grouped(
            conn, [_month(conn, R.applied_at, zone), R.eligible], R.applied_at <= t, repairs
        )
        r_decided = _grouped(
            conn, [_month(conn, R.decided_at, zone), R.status], R.decided_at <= t, repairs
        )
        r_states = _grouped(conn, [r_state], R.applied_at <= t, repairs)

    seen = [
        rows[0]
        for group in (entered, ended, o_filed, o_escalated, o_decided, r_applied, r_decided)
        for rows in group
        if rows[0]
    ]
    now_month = _local_month(t.isoformat(sep=" "), zone)
    assert now_month is not None
    months = _month_range(min(seen), max(*seen, now_month)) if seen else []

    by_month: dict[str, dict[str, dict[str, int]]] = {
        m: {lid: {"entered": 0, "ended": 0} for lid in list_ids} for m in months
    }
    totals = {lid: {"entered": 0, "ended": 0, "active": 0} for lid in list_ids}
    reasons: dict[str, dict[str, int]] = {lid: {} for lid in list_ids}
    for month, lid, n in entered:
        by_month[month].setdefault(lid, {"entered": 0, "ended": 0})["entered"] += n
        totals.setdefault(lid, {"entered": 0, "ended": 0, "active": 0})["entered"] += n
    for month, lid, reason, n in ended:
        by_month[month].setdefault(lid, {"entered": 0, "ended": 0})["ended"] += n
        totals.setdefault(lid, {"entered": 0, "ended": 0, "active": 0})["ended"] += n
        r = reasons.setdefault(lid, {})
        r[reason] = r.get(reason, 0) + n

    provinces: dict[str | None, dict[str, Any]] = {}

    def prov(code: str | None) -> dict[str, Any]:
        if code not in provinces:
            provinces[code] = {
                **_province(code),
                "active_listings": 0,
                "active_by_list": {},
                "objections": 0,
                "objections_pending": 0,
            }
        return provinces[code]

    for lid, code, n in active:
        totals.setdefault(lid, {"entered": 0, "ended": 0, "active": 0})["active"] += n
        p = prov(code)
        p["active_listings"] += n
        p["active_by_list"][lid] = p["active_by_list"].get(lid, 0) + n

    o_month = {m: dict.fromkeys(OBJECTION_MONTHLY, 0) for m in months}
    for month, n in o_filed:
        o_month[month]["filed"] += n
    for month, n in o_escalated:
        o_month[month]["escalated"] += n
    for month, outcome, n in o_decided:
        o_month[month][outcome] = o_month[month].get(outcome, 0) + n
    o_outcome = dict.fromkeys(OBJECTION_STATES, 0)
    for state, code, n in o_states:
        o_outcome[state] = o_outcome.get(state, 0) + n
        p = prov(code)
        p["objections"] += n
        if state in ("open", "escalated"):
            p["objections_pending"] += n

    r_month = {m: dict.fromkeys(REPAIR_MONTHLY, 0) for m in months}
    for month, eligible, n in r_applied:
        r_month[month]["applied"] += n
        if not eligible:
            r_month[month]["ineligible"] += n
    for month, status, n in r_decided:
        r_month[month][status] = r_month[month].get(status, 0) + n
    r_decision = dict.fromkeys(REPAIR_STATES, 0)
    for state, n in r_states:
        r_decision[state] = r_decision.get(state, 0) + n

    stats: dict[str, Any] = {
        "as_of": iso(moment, reg.tz),
        "timezone": zone,
        "months": months,
        "lists": [
            {"id": lid, "kind": ld.kind, "zh": ld.name.zh, "en": ld.name.en}
            for lid, ld in reg.pack.lists.items()
        ],
        "listings": {
            "by_month": by_month,
            "totals": totals,
            "ended_by_reason": reasons,
            "active": sum(v["active"] for v in totals.values()),
        },
        "objections": {
            "by_month": o_month,
            "by_outcome": o_outcome,
            "filed": sum(o_outcome.values()),
        },
        "repairs": {
            "by_month": r_month,
            "by_decision": r_decision,
            "applied": sum(r_decision.values()),
        },
        "provinces": [
            _suppress_objections(provinces[k]) for k in sorted(provinces, key=lambda c: c or "~")
        ],
        "min_cell": MIN_CELL,
    }
    stats["tables"] = {lang: _tables(stats, lang) for lang in LANGS}
    return stats


#: the periods a reader may choose, in months (None: since the first event)
PERIODS = (12, 24, 36, None)


def period(stats: dict[str, Any], months: int | None) -> dict[str, Any]:
    """``stats`` over the last ``months`` months up to its own (every one of them, a month
    with nothing in it at zero), or over all months with ``None``; totals stay the
    registry's. The tables follow the months shown."""
    if months is None:
        return stats
    last = stats["as_of"][:7]
    y, m = int(last[:4]), int(last[5:7]) - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    shown = _month_range(f"{y:04d}-{m:02d}", last)
    list_ids = [x["id"] for x in stats["lists"]]
    out = {**stats, "months": shown}
    out["listings"] = {
        **stats["listings"],
        "by_month": {
            mo: stats["listings"]["by_month"].get(
                mo, {lid: {"entered": 0, "ended": 0} for lid in list_ids}
            )
            for mo in shown
        },
    }
    out["objections"] = {
        **stats["objections"],
        "by_month": {
            mo: stats["objections"]["by_month"].get(mo, dict.fromkeys(OBJECTION_MONTHLY, 0))
            for mo in shown
        },
    }
    out["repairs"] = {
        **stats["repairs"],
        "by_month": {
            mo: stats["repairs"]["by_month"].get(mo, dict.fromkeys(REPAIR_MONTHLY, 0))
            for mo in shown
        },
    }
    out["tables"] = {lang: _tables(out, lang) for lang in LANGS}
    return out


def table_csv(stats: dict[str, Any], key: str, lang: str) -> str:
    """One chart's figures as CSV, with the table's own columns (what the page shows)."""
    import csv
    import io

    from .opendata import spreadsheet_cell

    table = stats["tables"][lang][key]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([spreadsheet_cell(c) for c in table["columns"]])
    for row in table["rows"]:
        w.writerow([spreadsheet_cell(v) for v in row])
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# labels, tables and charts

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "listings_by_month": "各名单每月列入与移出数量",
        "objections_by_outcome": "每月异议提出与处理结果",
        "repairs_by_decision": "每月信用修复申请与决定",
        "active_by_province": "各省份在列名单数量",
        "month": "月份",
        "list": "名单",
        "count": "数量",
        "province": "省份",
        "code": "区划代码",
        "measure": "类别",
        "entered": "列入",
        "ended": "移出",
        "filed": "提出异议",
        "escalated": "逾期转复核",
        "corrected": "异议成立（已更正）",
        "rejected": "驳回",
        "withdrawn": "撤回",
        "applied": "提出申请",
        "ineligible": "不符合条件",
        "approved": "批准修复",
        "repair_rejected": "不予批准",
        "active_listings": "在列名单",
        "objections": "异议（累计）",
        "objections_pending": "待处理异议",
        "as_of": "截至 {as_of}",
        "describe_monthly": "{title}，{first}至{last}，按自然月（{time_zone} 时区）统计。"
        "数据见旁边的表格。",
        "describe_province": "{title}，截至 {as_of}，共 {total} 条。数据见旁边的表格。",
        "no_data": "{title}：暂无数据。",
        "none_in_period": "所选期间内没有{what}。",
        "fewer_than": "少于{n}",
    },
    "en": {
        "listings_by_month": "Listings entered and ended per month, by list",
        "objections_by_outcome": "Objections filed and decided per month, by outcome",
        "repairs_by_decision": "Credit repair applications and decisions per month",
        "active_by_province": "Active listings by province",
        "month": "Month",
        "list": "List",
        "count": "Number",
        "province": "Province",
        "code": "Division code",
        "measure": "Category",
        "entered": "Entered",
        "ended": "Ended",
        "filed": "Filed",
        "escalated": "Escalated (overdue)",
        "corrected": "Corrected (upheld)",
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
        "applied": "Applied",
        "ineligible": "Ineligible",
        "approved": "Approved",
        "repair_rejected": "Rejected",
        "active_listings": "Active listings",
        "objections": "Objections (all)",
        "objections_pending": "Objections pending",
        "as_of": "as of {as_of}",
        "describe_monthly": "{title}, {first} to {last}, by calendar month ({time_zone} time). "
        "The figures are in the table next to the chart.",
        "describe_province": "{title}, as of {as_of}: {total} in all. "
        "The figures are in the table next to the chart.",
        "no_data": "{title}: no data yet.",
        "none_in_period": "No {what} in the period chosen.",
        "fewer_than": "fewer than {n}",
    },
}

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]
_FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
CHART_KEYS = (
    "listings_by_month",
    "objections_by_outcome",
    "repairs_by_decision",
    "active_by_province",
)


def _lang(lang: str) -> dict[str, str]:
    if lang not in _TEXT:
        raise InvalidInput(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return _TEXT[lang]


def _repair_label(tx: dict[str, str], key: str) -> str:
    return tx["repair_rejected"] if key == "rejected" else tx[key]


def _table(caption: str, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"caption": caption, "columns": columns, "rows": rows}


def _tables(stats: dict[str, Any], lang: str) -> dict[str, dict[str, Any]]:
    tx = _lang(lang)
    names = {x["id"]: x[lang] for x in stats["lists"]}
    lst = stats["listings"]["by_month"]
    obj = stats["objections"]["by_month"]
    rep = stats["repairs"]["by_month"]
    date = stats["as_of"][:10]
    few = tx["fewer_than"].format(n=stats.get("min_cell", MIN_CELL))
    return {
        "listings_by_month": _table(
            tx["listings_by_month"],
            [tx["month"], tx["list"], tx["entered"], tx["ended"]],
            [
                [m, names.get(lid, lid), c["entered"], c["ended"]]
                for m in stats["months"]
                for lid, c in lst[m].items()
                if c["entered"] or c["ended"]
            ],
        ),
        "objections_by_outcome": _table(
            tx["objections_by_outcome"],
            [tx["month"], *(tx[k] for k in OBJECTION_MONTHLY)],
            [
                [m, *(obj[m][k] for k in OBJECTION_MONTHLY)]
                for m in stats["months"]
                if any(obj[m].values())
            ],
        ),
        "repairs_by_decision": _table(
            tx["repairs_by_decision"],
            [tx["month"], *(_repair_label(tx, k) for k in REPAIR_MONTHLY)],
            [
                [m, *(rep[m][k] for k in REPAIR_MONTHLY)]
                for m in stats["months"]
                if any(rep[m].values())
            ],
        ),
        "active_by_province": _table(
            f"{tx['active_by_province']}（{tx['as_of'].format(as_of=date)}）"
            if lang == "zh"
            else f"{tx['active_by_province']} ({tx['as_of'].format(as_of=date)})",
            [
                tx["code"],
                tx["province"],
                tx["active_listings"],
                tx["objections"],
                tx["objections_pending"],
            ],
            [
                [
                    p["code"],
                    p[lang],
                    p["active_listings"],
                    few if p["objections"] is None else p["objections"],
                    few if p["objections_pending"] is None else p["objections_pending"],
                ]
                for p in stats["provinces"]
                if p["active_listings"] or p["objections"] != 0
            ],
        ),
    }


#: the width of the monthly charts (the page's figure scrolls sideways on a phone)
CHART_WIDTH = 640


def charts(stats: dict[str, Any], lang: str = "zh") -> dict[str, str]:
    """Inline SVG charts of ``statistics()`` with titles and axes in ``lang`` (``zh`` or ``en``).

    Keys as in ``stats["tables"][lang]``, whose tables carry the same figures. Each SVG has
    ``role="img"``, an ``aria-label`` and a ``<title>`` (the chart's title) and a ``<desc>``.
    """
    import altair as alt

    tx = _lang(lang)
    months: list[str] = stats["months"]
    names = {x["id"]: x[lang] for x in stats["lists"]}
    date = stats["as_of"][:10]
    subtitle = tx["as_of"].format(as_of=date)
    zone = stats["timezone"]

    def describe(key: str) -> str:
        if not months:
            return tx["no_data"].format(title=tx[key])
        return tx["describe_monthly"].format(
            title=tx[key], first=months[0], last=months[-1], time_zone=zone
        )

    def title(key: str) -> Any:
        return alt.TitleParams(text=tx[key], subtitle=subtitle, anchor="start")

    def finish(chart: Any) -> Any:
        return chart.configure(font=_FONT).configure_view(stroke=None)

    x_month = alt.X("month:O", title=tx["month"], sort=months, axis=alt.Axis(labelAngle=-45))

    def counts(top: int) -> Any:
        """A count axis with whole-number ticks only (half an objection means nothing)."""
        step = max(1, -(-top // 5))
        return alt.Axis(format="d", values=list(range(0, top + step, step)))

    out: dict[str, str] = {}

    # listings entered and ended, stacked by list, one panel each
    measures = [tx["entered"], tx["ended"]]
    values = [
        {"month": m, "list": names.get(lid, lid), "measure": tx[k], "n": c[k]}
        for m in months
        for lid, c in stats["listings"]["by_month"][m].items()
        for k in ("entered", "ended")
    ]
    listed = [names.get(x["id"], x["id"]) for x in stats["lists"]]
    stacks: dict[tuple[str, str], int] = {}
    for v in values:
        stacks[v["month"], v["measure"]] = stacks.get((v["month"], v["measure"]), 0) + v["n"]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=x_month,
            y=alt.Y("n:Q", title=tx["count"], axis=counts(max(stacks.values(), default=0))),
            color=alt.Color(
                "list:N",
                title=tx["list"],
                scale=alt.Scale(domain=listed, range=_PALETTE[: len(listed)] or _PALETTE),
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=480),
            ),
            row=alt.Row("measure:N", title=None, sort=measures),
            tooltip=["month:O", "list:N", "measure:N", "n:Q"],
        )
        .properties(width=CHART_WIDTH, height=160, title=title("listings_by_month"))
    )
    out["listings_by_month"] = render_svg(
        finish(chart), title=tx["listings_by_month"], description=describe("listings_by_month")
    )

    def grouped(key: str, section: str, kinds: tuple[str, ...], label: Any, what: str) -> str:
        domain = [label(k) for k in kinds]
        vals = [
            {"month": m, "measure": label(k), "n": stats[section]["by_month"][m][k]}
            for m in months
            for k in kinds
        ]
        if months and not any(v["n"] for v in vals):
            # a chart of zeros says nothing a sentence does not
            return f'<p class="empty">{tx["none_in_period"].format(what=what)}</p>'

        ch = (
            alt.Chart(alt.Data(values=vals))
            .mark_bar()
            .encode(
                x=x_month,
                xOffset=alt.XOffset("measure:N", sort=domain),
                y=alt.Y(
                    "n:Q", title=tx["count"], axis=counts(max((v["n"] for v in vals), default=0))
                ),
                color=alt.Color(
                    "measure:N",
                    title=tx["measure"],
                    scale=alt.Scale(domain=domain, range=_PALETTE[: len(domain)]),
                    legend=alt.Legend(orient="bottom", direction="vertical"),
                ),
                tooltip=["month:O", "measure:N", "n:Q"],
            )
            .properties(width=CHART_WIDTH, height=200, title=title(key))
        )
        return render_svg(finish(ch), title=tx[key], description=describe(key))

    out["objections_by_outcome"] = grouped(
        "objections_by_outcome",
        "objections",
        OBJECTION_MONTHLY,
        lambda k: tx[k],
        "异议" if lang == "zh" else "objections",
    )
    out["repairs_by_decision"] = grouped(
        "repairs_by_decision",
        "repairs",
        REPAIR_MONTHLY,
        lambda k: _repair_label(tx, k),
        "信用修复申请" if lang == "zh" else "credit repair applications",
    )

    # active listings by province
    pvals = [
        {"province": p[lang], "n": p["active_listings"]}
        for p in stats["provinces"]
        if p["active_listings"]
    ]
    total = sum(int(v["n"]) for v in pvals)
    top = max((int(v["n"]) for v in pvals), default=0)
    chart = (
        alt.Chart(alt.Data(values=pvals))
        .mark_bar(color=_PALETTE[0])
        .encode(
            x=alt.X("n:Q", title=tx["active_listings"], axis=counts(top)),
            y=alt.Y("province:N", title=tx["province"], sort="-x"),
            tooltip=["province:N", "n:Q"],
        )
        .properties(width=360, height=alt.Step(18), title=title("active_by_province"))
    )
    out["active_by_province"] = render_svg(
        finish(chart),
        title=tx["active_by_province"],
        description=tx["describe_province"].format(
            title=tx["active_by_province"], as_of=date, total=total
        ),
    )
    return out
