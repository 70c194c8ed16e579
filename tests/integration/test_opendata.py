"""Open-data downloads: the same public information as the public profile, streamed, on SQLite
and PostgreSQL; CSV, JSON Lines and FollowTheMoney."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from followthemoney import model
from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import reads, subjects
from socialcredit.errors import UnknownEntity
from socialcredit.identifiers import parse_resident_id
from socialcredit.services import ingest, listings, opendata, views
from tests.fixtures.rows import (
    MINOR,
    ORG,
    ORG2,
    PERSON,
    abnormal,
    judgment,
    numbered,
    penalty,
    tax_rating,
)

ADULT2 = "110105197005050037"  # a person with a judgment but on no list
ORG2_NAME = "深圳某某贸易有限公司"
PERSON_MASKED = "**************002X"
ADULT2_MASKED = "**************0037"
MINOR_MASKED = "**************0010"

NOTICE = "2026-02-15T12:00"  # the judgment debtors' listings notified, not yet active
ACTIVE = "2026-03-02T12:00"  # after the month of notice
LATER = "2028-06-01T12:00"  # the person's two-year listing has ended
MOMENTS = ("2026-02-01T09:00", NOTICE, ACTIVE, LATER, "2031-06-01T12:00")


def at(text: str) -> datetime:
    return parse_moment(text)


def run(reg: Registry, rows: list[dict[str, Any]], source: str) -> ingest.IngestSummary:
    return ingest.ingest(reg, numbered(rows), source, actor=f"test:{source}")


def build(reg: Registry) -> None:
    """Organisations with records and red and black listings, a listed person, a person with a
    judgment but no listing, and a minor (barred from lists)."""
    run(
        reg,
        [
            judgment(),  # ORG: judgment debtors, active 2026-03-01 09:00 after notice
            judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2"),
            judgment("BJ-9", MINOR, conduct="evades_enforcement"),
            judgment("BJ-10", ADULT2, conduct=None, listing_ref=None, subject_name="李四"),
            judgment("BJ-11", ORG2, conduct=None, listing_ref=None, subject_name=ORG2_NAME),
        ],
        "court",
    )
    run(
        reg,
        [
            abnormal("AB-1", ORG2, subject_name=ORG2_NAME),  # black list, no notice period
            penalty("P-1", ORG2, subject_name=ORG2_NAME),  # serious list after 10 working days
            penalty("P-2", ORG, severity="minor", decided_on="2025-01-10"),
        ],
        "samr",
    )
    run(reg, [tax_rating("TX-1")], "tax")  # red list, no notice period


def codes(reg: Registry) -> dict[str, str]:
    """Every subject of the store and the code the public looks it up by."""
    persons = {
        reg.protector.subject_key(parse_resident_id(c).number): c for c in (PERSON, MINOR, ADULT2)
    }
    with reg.engine.connect() as conn:
        rows = conn.execute(select(subjects.c.subject_id, subjects.c.kind)).all()
    out = {
        r.subject_id: (persons[r.subject_id] if r.kind == "person" else r.subject_id) for r in rows
    }
    assert len(out) == 5
    return out


def display(reg: Registry, sid: str) -> str:
    """How the public sees a subject: its USCC, or a person's masked number."""
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(subjects.c.kind, subjects.c.id_masked).where(subjects.c.subject_id == sid)
        ).one()
    return str(row.id_masked) if row.kind == "person" else sid


def canon(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


RECORD_KEYS = (
    "record_type",
    "record_type_name",
    "authority",
    "decision_ref",
    "decided_on",
    "status",
    "publicity_until",
    "fields",
)
LISTING_KEYS = (
    "list",
    "list_name",
    "kind",
    "decision_ref",
    "legal_basis",
    "since",
    "until",
    "how_to_resolve",
)


def everything(reg: Registry, moment: datetime) -> str:
    """All three exports at a moment as one text, to search for what must never be there."""
    buf = io.StringIO()
    opendata.write_csv(opendata.public_records(reg, moment), buf)
    opendata.write_csv(opendata.public_listings(reg, moment), buf)
    opendata.write_jsonl(opendata.public_records(reg, moment), buf)
    opendata.write_jsonl(opendata.ftm_entities(reg, moment), buf)
    return buf.getvalue()


def test_exports_show_exactly_what_the_public_profile_shows(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(reg)
    subject_codes = codes(reg)
    for text in MOMENTS:
        moment = at(text)
        want_records: Counter[tuple[str, ...]] = Counter()
        want_listings: Counter[tuple[str, ...]] = Counter()
        names: dict[str, str] = {}
        for sid in subject_codes:
            try:
                p = views.subject_profile(reg, sid, display(reg, sid), moment)
            except UnknownEntity:
                continue
            names[p["subject"]] = p["name"]
            for r in p["records"]:
                want_records[(p["subject"], *(canon(r[k]) for k in RECORD_KEYS))] += 1
            for lst in p["listings"]:
                want_listings[(p["subject"], *(canon(lst[k]) for k in LISTING_KEYS))] += 1

        got_records = list(opendata.public_records(reg, moment))
        got_listings = list(opendata.public_listings(reg, moment))
        assert (
            Counter((r["subject"], *(canon(r[k]) for k in RECORD_KEYS)) for r in got_records)
            == want_records
        ), text
        assert (
            Counter((r["subject"], *(canon(r[k]) for k in LISTING_KEYS)) for r in got_listings)
            == want_listings
        ), text
        for row in got_records + got_listings:
            assert row["name"] == names[row["subject"]]
        assert all(tuple(r) == opendata.RECORD_COLUMNS for r in got_records)
        assert all(tuple(r) == opendata.LISTING_COLUMNS for r in got_listings)

        # batches of two rows: persons looked up across batch boundaries, same answer
        monkeypatch.setattr(opendata, "BATCH", 2)
        assert list(opendata.public_records(reg, moment)) == got_records
        assert list(opendata.public_listings(reg, moment)) == got_listings
        monkeypatch.setattr(opendata, "BATCH", 1000)

    # the moments were chosen to show something: records of all kinds, listings of both kinds
    active = list(opendata.public_listings(reg, at(ACTIVE)))
    assert {r["kind"] for r in active} == {"red", "black"}
    assert {r["subject_kind"] for r in opendata.public_records(reg, at(ACTIVE))} == {
        "organisation",
        "person",
    }


def test_persons_only_while_black_listed_and_masked(reg: Registry) -> None:
    build(reg)
    for text in MOMENTS:
        dump = everything(reg, at(text))
        # the number never, in any form; the name never in clear
        for number in (PERSON, ADULT2, MINOR, "110105491231002"):
            assert number not in dump
        assert "张三" not in dump and "李四" not in dump and "李*" not in dump
        # a person on no black list never appears
        assert ADULT2_MASKED not in dump and MINOR_MASKED not in dump
        # the listed person appears only while the listing is active
        assert (PERSON_MASKED in dump) is (text == ACTIVE), text

    (rec,) = [r for r in opendata.public_records(reg, at(ACTIVE)) if r["subject_kind"] == "person"]
    assert rec["subject"] == PERSON_MASKED and rec["name"] == "张*" and rec["division"] is None
    assert rec["record_type"] == "court_judgment"
    assert "amount_yuan" not in rec["fields"] and rec["fields"]["dishonest_conduct"]
    (lst,) = [r for r in opendata.public_listings(reg, at(ACTIVE)) if r["subject_kind"] == "person"]
    assert lst["subject"] == PERSON_MASKED and lst["name"] == "张*" and lst["kind"] == "black"
    assert lst["until"] == "2028-03-01T09:00:00+08:00"
    # an organisation keeps its amounts and its division
    org = [r for r in opendata.public_records(reg, at(ACTIVE)) if r["subject"] == ORG]
    assert any(r["fields"].get("amount_yuan") == "250000" for r in org)
    assert {r["division"] for r in org} == {"110000"}


def test_a_person_in_a_download_is_a_recorded_read(reg: Registry) -> None:
    build(reg)
    person_key = reg.protector.subject_key(parse_resident_id(PERSON).number)

    def open_data_reads() -> list[Any]:
        with reg.engine.connect() as conn:
            return list(conn.execute(select(reads).where(reads.c.kind == "open_data")))

    list(opendata.public_records(reg, at(NOTICE)))  # no person is public then
    assert open_data_reads() == []
    list(opendata.public_records(reg, at(ACTIVE)))
    list(opendata.public_listings(reg, at(ACTIVE)))
    list(opendata.ftm_entities(reg, at(ACTIVE)))
    rows = open_data_reads()
    assert [r.subject_id for r in rows] == [person_key] * 3  # once per export, only them
    assert {json.loads(r.detail)["export"] for r in rows} == {"records", "listings", "ftm"}
    assert all(r.reader == "public" for r in rows)


def test_listing_is_published_once_active_not_during_notice(
    reg: Registry, clock: FixedClock
) -> None:
    build(reg)

    def judgment_debtors(moment: datetime | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in opendata.public_listings(reg, moment)
            if r["list"] == "dishonest_judgment_debtors"
        ]

    assert judgment_debtors() == []  # notified today
    assert judgment_debtors(at(NOTICE)) == []
    assert judgment_debtors(at("2026-03-01T08:59")) == []
    clock.set(at(ACTIVE))
    listings.advance(reg, "test")
    shown = judgment_debtors()
    assert sorted(r["subject"] for r in shown) == sorted([ORG, PERSON_MASKED])
    (org,) = [r for r in shown if r["subject"] == ORG]
    assert org["since"] == "2026-03-01T09:00:00+08:00" and org["kind"] == "black"
    assert org["decision_ref"] == "（2026）京0105执1234号之一"
    assert org["authority"] == "北京市朝阳区人民法院"
    assert any("法释〔2017〕7号" in c for c in org["legal_basis"])
    assert org["list_name"]["zh"] == "失信被执行人名单" and org["how_to_resolve"]["en"]
    # the red list and the abnormal operations list had no notice period
    assert {r["list"] for r in opendata.public_listings(reg, at("2026-02-01T09:00"))} == {
        "a_level_taxpayers",
        "abnormal_operations",
    }


def test_csv_has_a_bom_and_round_trips(reg: Registry, tmp_path: Path) -> None:
    build(reg)
    for export, columns in (
        (opendata.public_records, opendata.RECORD_COLUMNS),
        (opendata.public_listings, opendata.LISTING_COLUMNS),
    ):
        rows = list(export(reg, at(ACTIVE)))
        assert rows
        path = tmp_path / "out.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            assert opendata.write_csv(iter(rows), f) == len(rows)
        assert path.read_bytes().startswith(b"\xef\xbb\xbf" + columns[0].encode())
        assert "北京某某科技有限公司".encode() in path.read_bytes()
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            back = list(reader)
        assert tuple(reader.fieldnames or ()) == columns
        assert len(back) == len(rows)
        for row, got in zip(rows, back, strict=True):
            for k, v in row.items():
                if isinstance(v, dict | list):
                    assert json.loads(got[k]) == v
                else:
                    assert got[k] == ("" if v is None else str(v)), k

    # an empty export still has its header when the columns are given
    buf = io.StringIO()
    assert opendata.write_csv(iter([]), buf, opendata.RECORD_COLUMNS) == 0
    assert buf.getvalue() == "\ufeff" + ",".join(opendata.RECORD_COLUMNS) + "\r\n"


def test_jsonl_round_trips(reg: Registry) -> None:
    build(reg)
    rows = list(opendata.public_records(reg, at(ACTIVE)))
    buf = io.StringIO()
    assert opendata.write_jsonl(rows, buf) == len(rows)
    lines = buf.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert "北京某某科技有限公司" in buf.getvalue()  # not \u-escaped


def ftm_lines(reg: Registry, moment: datetime) -> list[dict[str, Any]]:
    buf = io.StringIO()
    opendata.write_jsonl(opendata.ftm_entities(reg, moment), buf)
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_ftm_entities_validate_and_link(reg: Registry) -> None:
    build(reg)
    moment = at(ACTIVE)
    entities = ftm_lines(reg, moment)
    for d in entities:
        proxy = model.get_proxy(d, cleaned=False)  # values re-validated and normalised
        proxy.schema.validate({"properties": d["properties"]})  # required present, values valid
        assert proxy.id == d["id"]
        assert {k: sorted(v) for k, v in proxy.properties.items()} == {
            k: sorted(v) for k, v in d["properties"].items()
        }, d["schema"]  # nothing was dropped or changed by cleaning: the values were valid
    by_id = {d["id"]: d for d in entities}
    assert len(by_id) == len(entities)

    sanctions = [d for d in entities if d["schema"] == "Sanction"]
    targets = [d for d in entities if d["schema"] != "Sanction"]
    black = [r for r in opendata.public_listings(reg, moment) if r["kind"] == "black"]
    assert len(sanctions) == len(black) and sanctions
    for s in sanctions:
        (target,) = s["properties"]["entity"]
        assert target in by_id and by_id[target]["schema"] in ("Company", "Person")
    for t in targets:
        assert t.get("target") is True and t["properties"]["topics"] == ["sanction"]
    # red-list subjects only on a red list are not in the screening file; ORG is listed black
    assert {d["schema"] for d in targets} == {"Company", "Person"}

    org = by_id[opendata.ftm_id("organisation", ORG)]
    assert org["schema"] == "Company"
    p = org["properties"]
    assert p["name"] == ["北京某某科技有限公司"] and p["registrationNumber"] == [ORG]
    assert p["uscCode"] == [ORG] and p["jurisdiction"] == ["cn"] and p["address"] == ["北京市"]
    org2 = by_id[opendata.ftm_id("organisation", ORG2)]["properties"]
    assert org2["name"] == [ORG2_NAME] and org2["address"] == ["广东省深圳市"]

    (person,) = [d for d in targets if d["schema"] == "Person"]
    assert person["properties"]["name"] == ["张*"]
    assert not {"idNumber", "passportNumber", "birthDate", "nationalId"} & set(person["properties"])
    line = json.dumps(entities, ensure_ascii=False)
    assert PERSON not in line and "张三" not in line and ADULT2_MASKED not in line

    (debt,) = [
        s
        for s in sanctions
        if s["properties"]["entity"] == [org["id"]]
        and s["properties"]["programId"] == ["dishonest_judgment_debtors"]
    ]
    sp = debt["properties"]
    assert sp["program"] == ["失信被执行人名单", "List of dishonest judgment debtors"]
    assert sp["authority"] == ["北京市朝阳区人民法院"]
    assert sp["authorityId"] == ["（2026）京0105执1234号之一"]
    assert sp["startDate"] == ["2026-03-01"] and sp["endDate"] == ["2031-03-01"]
    assert sp["listingDate"] == ["2026-02-01"]
    assert any("法释〔2017〕7号" in r for r in sp["reason"]) and sp["provisions"]

    # during the notice period the listing is not there, and the person not at all
    early = ftm_lines(reg, at(NOTICE))
    assert not [d for d in early if d["schema"] == "Person"]
    assert debt["id"] not in {d["id"] for d in early}


def test_ftm_ids_are_stable(reg: Registry) -> None:
    build(reg)
    first = [d["id"] for d in ftm_lines(reg, at(ACTIVE))]
    again = [d["id"] for d in ftm_lines(reg, at(ACTIVE))]
    assert first == again and len(set(first)) == len(first)
    # the same subject and listing keep their ids at another moment
    later = {d["id"] for d in ftm_lines(reg, at("2027-01-01T12:00"))}
    org_id = opendata.ftm_id("organisation", ORG)
    assert org_id in first and org_id in later
    assert org_id == model.make_entity("Company").make_id("socialcredit", "organisation", ORG)
    sanctions = {d["id"] for d in ftm_lines(reg, at(ACTIVE)) if d["schema"] == "Sanction"}
    assert sanctions and sanctions <= later  # all still active then, under the same ids


def test_exports_are_generators(reg: Registry) -> None:
    import inspect

    for export in (opendata.public_records, opendata.public_listings, opendata.ftm_entities):
        assert inspect.isgenerator(export(reg))
