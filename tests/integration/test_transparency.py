"""Transparency statistics and charts, on SQLite and PostgreSQL, counted by hand."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import DateTime, literal, select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment, to_utc_naive
from socialcredit.errors import InvalidInput
from socialcredit.services import ingest, listings, objections, repairs, subjects, transparency
from tests.fixtures.rows import ORG, ORG2, PERSON, abnormal, judgment, numbered, penalty

DJD = "dishonest_judgment_debtors"
ABN = "abnormal_operations"
SID = "serious_illegal_dishonest"


def run(reg: Registry, rows: list[dict[str, Any]], source: str) -> None:
    ingest.ingest(reg, numbered(rows), source, actor=f"test:{source}")


def at(text: str) -> datetime:
    return parse_moment(text)


def listing_id(reg: Registry, subject: str, list_id: str) -> str:
    (item,) = [x for x in subjects.subject_file(reg, subject)["listings"] if x["list"] == list_id]
    return str(item["id"])


def minor(rid: str, subject: str, **extra: Any) -> dict[str, Any]:
    """A general penalty: no listing, but a record whose publicity may be repaired after 3 months."""
    return penalty(
        rid, subject, severity="general", field="other", decided_on="2026-01-10", **extra
    )


def build(reg: Registry, clock: FixedClock) -> None:
    """The story the counts below follow (times in Beijing time, the pack's zone).

    2026-02-01 09:00  ORG and PERSON judgments (dishonest list, one month of notice: active from
                      03-01 09:00); ORG2 abnormal operations (no notice: active at once)
    2026-02-10/12     ORG2 objects to its abnormal listing, then withdraws
    2026-03-01        ORG applies to repair a penalty's publicity too early: ineligible
    2026-03-02/10     ORG objects to its dishonest listing; corrected on 03-10: the listing ends
    2026-04-01 07:00  PERSON objects (still 31 March in UTC: must count in April)
    2026-05-01        the objection is past its deadline: the sweep escalates it;
                      ORG and ORG2 apply for repair, now eligible
    2026-05-20        ORG's repair approved
    2026-06-01 07:30  ORG2's repair rejected (still 31 May in UTC: must count in June)
    """
    run(
        reg,
        [
            judgment(),
            judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2"),
        ],
        "court",
    )
    run(reg, [abnormal("AB-1", ORG2), minor("P-5", ORG), minor("P-6", ORG2)], "samr")

    clock.set(at("2026-02-10"))
    o1 = objections.file_objection(
        reg, ORG2, listing_id=listing_id(reg, ORG2, ABN), grounds="at the address", actor="s"
    )
    clock.set(at("2026-02-12"))
    objections.decide_objection(reg, o1["id"], outcome="withdrawn", reason="moved", actor="s")

    clock.set(at("2026-03-01"))
    early = repairs.apply_for_repair(reg, ORG, record="samr/P-5", evidence="paid", actor="s")
    assert not early["eligible"]

    clock.set(at("2026-03-02"))
    o2 = objections.file_objection(
        reg, ORG, listing_id=listing_id(reg, ORG, DJD), grounds="paid", actor="s"
    )
    clock.set(at("2026-03-10"))
    objections.decide_objection(reg, o2["id"], outcome="corrected", reason="receipt", actor="c")

    clock.set(at("2026-04-01T07:00"))
    objections.file_objection(
        reg, PERSON, listing_id=listing_id(reg, PERSON, DJD), grounds="not me", actor="s"
    )

    clock.set(at("2026-05-01"))
    assert listings.advance(reg, "sweep").escalated == 1
    run(reg, [minor("P-5", ORG, performed_on="2026-02-01")], "samr")
    run(reg, [minor("P-6", ORG2, performed_on="2026-02-01")], "samr")
    ok = repairs.apply_for_repair(reg, ORG, record="samr/P-5", evidence="paid", actor="s")
    ok2 = repairs.apply_for_repair(reg, ORG2, record="samr/P-6", evidence="paid", actor="s")
    assert ok["eligible"] and ok2["eligible"]

    clock.set(at("2026-05-20"))
    repairs.decide_repair(reg, ok["id"], approve=True, reason="performed", actor="r")
    clock.set(at("2026-06-01T07:30"))
    repairs.decide_repair(reg, ok2["id"], approve=False, reason="harm remains", actor="r")
    clock.set(at("2026-06-15"))


def lists_month(stats: dict[str, Any], month: str) -> dict[str, dict[str, int]]:
    """The lists with any movement in a month."""
    return {
        lid: c
        for lid, c in stats["listings"]["by_month"][month].items()
        if c["entered"] or c["ended"]
    }


def province(stats: dict[str, Any], code: str | None) -> dict[str, Any]:
    (p,) = [p for p in stats["provinces"] if p["code"] == code]
    return p


def test_counts_per_month_outcome_and_province(reg: Registry, clock: FixedClock) -> None:
    build(reg, clock)
    s = transparency.statistics(reg)
    assert s["as_of"] == "2026-06-15T00:00:00+08:00" and s["timezone"] == "Asia/Shanghai"
    assert s["months"] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]

    assert lists_month(s, "2026-02") == {ABN: {"entered": 1, "ended": 0}}
    assert lists_month(s, "2026-03") == {DJD: {"entered": 2, "ended": 1}}
    for m in ("2026-04", "2026-05", "2026-06"):
        assert lists_month(s, m) == {}
    assert s["listings"]["totals"][DJD] == {"entered": 2, "ended": 1, "active": 1}
    assert s["listings"]["totals"][ABN] == {"entered": 1, "ended": 0, "active": 1}
    assert s["listings"]["totals"][SID] == {"entered": 0, "ended": 0, "active": 0}
    assert s["listings"]["ended_by_reason"][DJD] == {"corrected": 1}
    assert s["listings"]["active"] == 2

    om = s["objections"]["by_month"]
    zero = {"filed": 0, "escalated": 0, "corrected": 0, "rejected": 0, "withdrawn": 0}
    assert om["2026-02"] == {**zero, "filed": 1, "withdrawn": 1}
    assert om["2026-03"] == {**zero, "filed": 1, "corrected": 1}
    assert om["2026-04"] == {**zero, "filed": 1}
    assert om["2026-05"] == {**zero, "escalated": 1}
    assert om["2026-06"] == zero
    assert s["objections"]["by_outcome"] == {
        "open": 0,
        "escalated": 1,
        "corrected": 1,
        "rejected": 0,
        "withdrawn": 1,
    }
    assert s["objections"]["filed"] == 3

    rm = s["repairs"]["by_month"]
    assert rm["2026-03"] == {"applied": 1, "ineligible": 1, "approved": 0, "rejected": 0}
    assert rm["2026-05"] == {"applied": 2, "ineligible": 0, "approved": 1, "rejected": 0}
    assert rm["2026-06"] == {"applied": 0, "ineligible": 0, "approved": 0, "rejected": 1}
    assert s["repairs"]["by_decision"] == {
        "pending": 0,
        "ineligible": 1,
        "approved": 1,
        "rejected": 1,
    }

    # ORG and PERSON are in Beijing (11), ORG2 in Shenzhen, Guangdong (44)
    assert [p["code"] for p in s["provinces"]] == ["11", "44"]
    assert province(s, "11") == {
        "code": "11",
        "zh": "北京",
        "en": "Beijing",
        "active_listings": 1,  # the person: the organisation's listing was corrected
        "active_by_list": {DJD: 1},
        # fewer than five objections in a province are not shown (as on /supervision)
        "objections": None,
        "objections_pending": None,
    }
    assert province(s, "44") == {
        "code": "44",
        "zh": "广东",
        "en": "Guangdong",
        "active_listings": 1,
        "active_by_list": {ABN: 1},
        "objections": None,
        "objections_pending": 0,  # a zero points at no one and is shown
    }
    # numbers only: the person counts, and no identity of anyone is in the statistics
    dump = json.dumps(s, ensure_ascii=False)
    for identity in (PERSON, PERSON[:4], ORG, ORG2, "张三", "北京某某科技有限公司"):
        assert identity not in dump


def test_tables_carry_the_charts_figures(reg: Registry, clock: FixedClock) -> None:
    build(reg, clock)
    s = transparency.statistics(reg)
    zh, en = s["tables"]["zh"], s["tables"]["en"]
    assert set(zh) == set(en) == set(transparency.CHART_KEYS)
    assert zh["listings_by_month"] == {
        "caption": "各名单每月列入与移出数量",
        "columns": ["月份", "名单", "列入", "移出"],
        "rows": [
            ["2026-02", "经营异常名录", 1, 0],
            ["2026-03", "失信被执行人名单", 2, 1],
        ],
    }
    assert en["listings_by_month"]["rows"][1] == [
        "2026-03",
        "List of dishonest judgment debtors",
        2,
        1,
    ]
    assert en["objections_by_outcome"]["columns"][:3] == ["Month", "Filed", "Escalated (overdue)"]
    assert en["objections_by_outcome"]["rows"] == [
        ["2026-02", 1, 0, 0, 0, 1],
        ["2026-03", 1, 0, 1, 0, 0],
        ["2026-04", 1, 0, 0, 0, 0],
        ["2026-05", 0, 1, 0, 0, 0],
    ]
    assert zh["repairs_by_decision"]["rows"] == [
        ["2026-03", 1, 1, 0, 0],
        ["2026-05", 2, 0, 1, 0],
        ["2026-06", 0, 0, 0, 1],
    ]
    assert en["active_by_province"]["caption"] == "Active listings by province (as of 2026-06-15)"
    assert en["active_by_province"]["rows"] == [
        ["11", "Beijing", 1, "fewer than 5", "fewer than 5"],
        ["44", "Guangdong", 1, "fewer than 5", 0],
    ]
    assert zh["active_by_province"]["rows"][0][3] == "少于5"
    assert zh["active_by_province"]["rows"][1][1] == "广东"


def test_a_moment_before_an_event_excludes_it(reg: Registry, clock: FixedClock) -> None:
    build(reg, clock)

    def stats(text: str) -> dict[str, Any]:
        return transparency.statistics(reg, at(text))

    # activation at the end of the notice period, 2026-03-01 09:00
    before, after = stats("2026-03-01T08:59"), stats("2026-03-01T09:00")
    assert before["months"][-1] == "2026-03"
    assert lists_month(before, "2026-03") == {}
    assert before["listings"]["totals"][DJD]["active"] == 0
    assert lists_month(after, "2026-03") == {DJD: {"entered": 2, "ended": 0}}
    assert after["provinces"][0]["active_listings"] == 2

    # the corrected objection, decided 2026-03-10 00:00, ends ORG's listing
    before = stats("2026-03-09T23:59")
    assert lists_month(before, "2026-03") == {DJD: {"entered": 2, "ended": 0}}
    assert before["objections"]["by_outcome"]["open"] == 1
    assert before["objections"]["by_month"]["2026-03"]["corrected"] == 0
    assert stats("2026-03-10")["objections"]["by_month"]["2026-03"]["corrected"] == 1

    # filed 2026-04-01 07:00 Beijing time, 2026-03-31 23:00 UTC: April, and only from then
    before, after = stats("2026-04-01T06:59"), stats("2026-04-01T07:00")
    assert before["objections"]["by_month"]["2026-04"]["filed"] == 0
    assert before["objections"]["by_month"]["2026-03"]["filed"] == 1
    assert after["objections"]["by_month"]["2026-04"]["filed"] == 1
    assert after["objections"]["by_month"]["2026-03"]["filed"] == 1
    assert after["objections"]["by_outcome"]["open"] == 1

    # escalated by the sweep on 2026-05-01
    assert stats("2026-04-30T23:59")["objections"]["by_outcome"]["escalated"] == 0
    assert stats("2026-05-01")["objections"]["by_outcome"]["escalated"] == 1

    # the rejection at 2026-06-01 07:30 Beijing time (31 May in UTC) counts in June, from then
    before, after = stats("2026-06-01T07:29"), stats("2026-06-01T07:30")
    assert before["repairs"]["by_decision"] == {
        "pending": 1,
        "ineligible": 1,
        "approved": 1,
        "rejected": 0,
    }
    assert before["repairs"]["by_month"]["2026-05"]["rejected"] == 0
    assert before["repairs"]["by_month"]["2026-06"]["rejected"] == 0
    assert after["repairs"]["by_month"]["2026-05"]["rejected"] == 0
    assert after["repairs"]["by_month"]["2026-06"]["rejected"] == 1

    # before anything happened there is nothing to count
    empty = stats("2026-01-31")
    assert empty["months"] == [] and empty["provinces"] == []
    assert empty["objections"]["filed"] == 0 and empty["repairs"]["applied"] == 0
    assert all(r == [] for t in empty["tables"]["en"].values() for r in [t["rows"]])


def test_active_listings_equal_entered_less_ended(reg: Registry, clock: FixedClock) -> None:
    build(reg, clock)
    for text in ("2026-02-15", "2026-03-05", "2026-03-20", "2028-03-02", "2031-06-01"):
        s = transparency.statistics(reg, at(text))
        for lid, c in s["listings"]["totals"].items():
            assert c["entered"] - c["ended"] == c["active"], (text, lid)
        assert sum(p["active_listings"] for p in s["provinces"]) == s["listings"]["active"]
    # the person's two-year term runs out on 2028-03-01 09:00 without any event
    s = transparency.statistics(reg, at("2028-03-02"))
    assert s["listings"]["by_month"]["2028-03"][DJD] == {"entered": 0, "ended": 1}
    assert s["listings"]["ended_by_reason"][DJD] == {"corrected": 1, "expired": 1}


def test_month_is_exact_in_any_time_zone_on_both_databases(reg: Registry) -> None:
    cases = [
        # (UTC instant, zone, local month)
        ("2026-01-31T18:29:59", "Asia/Kolkata", "2026-01"),  # +05:30: 23:59:59 local
        ("2026-01-31T18:30:00", "Asia/Kolkata", "2026-02"),
        ("2026-02-28T16:00:00", "Asia/Shanghai", "2026-03"),
        ("2026-10-31T22:59:59", "Europe/Berlin", "2026-10"),  # CET after the autumn change
        ("2026-10-31T23:00:00", "Europe/Berlin", "2026-11"),
        ("2026-03-31T21:59:59", "Europe/Berlin", "2026-03"),  # CEST
        ("2026-03-31T22:00:00", "Europe/Berlin", "2026-04"),
    ]
    with reg.engine.connect() as conn:
        for utc, zone, month in cases:
            value = literal(to_utc_naive(datetime.fromisoformat(utc + "+00:00")), DateTime)
            got = conn.execute(select(transparency._month(conn, value, zone))).scalar_one()
            assert got == month, (utc, zone)


@pytest.mark.parametrize(
    ("lang", "titles"),
    [
        (
            "zh",
            [
                "各名单每月列入与移出数量",
                "每月异议提出与处理结果",
                "每月信用修复申请与决定",
                "各省份在列名单数量",
            ],
        ),
        (
            "en",
            [
                "Listings entered and ended per month, by list",
                "Objections filed and decided per month, by outcome",
                "Credit repair applications and decisions per month",
                "Active listings by province",
            ],
        ),
    ],
)
def test_charts_are_accessible_svg_in_either_language(
    reg: Registry, clock: FixedClock, lang: str, titles: list[str]
) -> None:
    build(reg, clock)
    s = transparency.statistics(reg)
    out = transparency.charts(s, lang)
    assert list(out) == list(transparency.CHART_KEYS)
    for (key, svg), title in zip(out.items(), titles, strict=True):
        assert svg.startswith("<svg"), key
        root = ET.fromstring(svg)  # well-formed, to inline in the page
        assert root.get("role") == "img" and root.get("aria-label") == title
        assert root[0].tag.endswith("title") and root[1].tag.endswith("desc")
        assert f'role="img" aria-label="{title}"' in svg
        assert f"<title>{title}</title>" in svg and "<desc>" in svg
        assert svg.count(title) >= 3  # the label, the <title> and the drawn title
        assert s["tables"][lang][key]["caption"].startswith(title)
    assert (
        ">北京<" in out["active_by_province"]
        if lang == "zh"
        else ">Beijing<" in out["active_by_province"]
    )


def test_charts_of_an_empty_registry_and_unknown_language(reg: Registry) -> None:
    s = transparency.statistics(reg)
    assert s["months"] == [] and s["listings"]["active"] == 0
    out = transparency.charts(s, "en")
    assert all(svg.startswith("<svg") and "no data yet" in svg for svg in list(out.values())[:3])
    with pytest.raises(InvalidInput, match="language"):
        transparency.charts(s, "fr")


def test_a_period_of_twelve_months_and_each_charts_figures_as_csv(
    reg: Registry, clock: FixedClock
) -> None:
    """The page shows twelve months by default, every one of them (a month with nothing at
    zero), and each chart's figures download as the CSV of its table."""
    import csv
    import io

    from fastapi.testclient import TestClient

    from socialcredit.api.app import create_app

    build(reg, clock)
    full = transparency.statistics(reg)
    year = transparency.period(full, 12)
    assert year["months"][0] == "2025-07" and year["months"][-1] == "2026-06"
    assert len(year["months"]) == 12
    assert year["listings"]["by_month"]["2025-07"]["dishonest_judgment_debtors"] == {
        "entered": 0,
        "ended": 0,
    }
    # the same counts where there are any; the totals stay the registry's
    assert year["listings"]["by_month"]["2026-03"] == full["listings"]["by_month"]["2026-03"]
    assert year["listings"]["totals"] == full["listings"]["totals"]
    three = transparency.period(full, 12)
    assert (
        three["tables"]["en"]["listings_by_month"]["rows"]
        == full["tables"]["en"]["listings_by_month"]["rows"]
    )  # zero rows are left out of tables
    with TestClient(create_app(reg)) as client:
        page = client.get("/transparency", params={"lang": "en"}).text
        assert "/transparency/listings_by_month.csv?months=12" in page
        r = client.get("/transparency/listings_by_month.csv", params={"lang": "zh"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert rows[0] == ["月份", "名单", "列入", "移出"]
        assert rows[1:] == [
            ["2026-02", "经营异常名录", "1", "0"],
            ["2026-03", "失信被执行人名单", "2", "1"],
        ]
        assert client.get("/transparency/nothing.csv").status_code == 404
        assert client.get("/transparency", params={"months": "all"}).status_code == 200
