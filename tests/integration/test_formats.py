"""Files in the national publication formats, read through the pack's mappings: the 双公示
penalty file as a market regulator publishes it (a title row above the header, headers with
spaces and full-width brackets, amounts in 万元, dates written four ways, several penalty kinds
in one cell), as UTF-8 and GBK CSV and as an Excel workbook; a provincial variant added as one
YAML file with no Python; problems named by the source's own column and row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, text

from socialcredit.bootstrap import Registry
from socialcredit.db import listings, records, review_queue, subjects
from socialcredit.errors import InvalidInput
from socialcredit.policy import load_pack
from socialcredit.policy.load import default_pack_path
from socialcredit.services import ingest
from tests.fixtures.rows import ORG, ORG2, PERSON

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
PENALTIES = FIXTURE / "double_publicity_penalty.csv"
LEGAL_REPS = ("110101198001010053", "310101197001010013")  # not to be kept


def _check(
    reg: Registry,
    summary: ingest.IngestSummary,
    rows: dict[str, int],
    date_header: str = "处罚决定日期",
) -> None:
    """What the sample file must give, whatever it was saved as (``rows``: each reject's row
    number as the source shows it; problems named by the file's own header text)."""
    assert (summary.accepted, summary.queued, summary.rejected) == (3, 1, 1), summary.as_dict()
    problems = {(p.field, p.row) for p in summary.rejects}
    assert problems == {(date_header, rows["bad date"])}
    with reg.engine.connect() as conn:
        org = conn.execute(select(records).where(records.c.subject_id == ORG)).one()
        fields = json.loads(org.fields)
        # 0.5 万元 in yuan, exactly; the heaviest of 罚款、没收违法所得; the date read
        assert fields["fine_yuan"] == "5000" and fields["penalty_kind"] == "confiscation"
        assert (org.decided_on.isoformat(), org.status) == ("2026-01-10", "in_force")
        assert fields["severity"] == "general"
        person = conn.execute(
            select(subjects.c.kind).where(
                subjects.c.subject_id == reg.protector.subject_key(PERSON)
            )
        ).scalar_one()
        assert person == "person"
        (queued,) = conn.execute(select(review_queue.c.subject_name)).scalars()
        assert queued == "上海某某贸易有限公司"
        # a kind the record type does not name (拘留) leaves the field empty, the penalty kept
        other = conn.execute(
            select(records.c.fields).where(records.c.subject_id == "91440300123456788M")
        ).scalar_one()
        assert "penalty_kind" not in json.loads(other)
        dump = " ".join(
            str(r)
            for table in ("events", "records", "subjects", "review_queue", "subject_details")
            for r in conn.execute(text(f"SELECT * FROM {table}"))
        )
    # an organisation row's legal representative's ID number is never kept
    assert not [n for n in LEGAL_REPS if n in dump]


def test_the_penalty_standard_from_csv(reg: Registry) -> None:
    s, used = ingest.ingest_format(reg, PENALTIES, "samr", "auto", actor="samr")
    assert used == "double_publicity_penalty"
    _check(reg, s, {"bad date": 7})


def test_the_penalty_standard_from_gbk(reg: Registry, tmp_path: Path) -> None:
    gbk = tmp_path / "处罚.csv"
    gbk.write_bytes(PENALTIES.read_text(encoding="utf-8").encode("gb18030"))
    s, _ = ingest.ingest_format(reg, gbk, "samr", "double_publicity_penalty", actor="samr")
    _check(reg, s, {"bad date": 7})


def test_the_penalty_standard_from_excel(reg: Registry, tmp_path: Path) -> None:
    """A workbook as a platform exports it: a merged title row, a blank row, numbers stored as
    numbers, a date stored as a date; problems carry Excel's row numbers."""
    import csv
    from datetime import datetime

    from openpyxl import Workbook

    rows = list(csv.reader(PENALTIES.read_text(encoding="utf-8").splitlines()))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(rows[0])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=10)
    ws.append([])
    ws.append(rows[2])
    header = rows[2]
    for row in rows[3:]:
        cells: list[object] = list(row)
        amount = header.index("罚款金额（万元）")
        if cells and cells[amount]:
            cells[amount] = float(str(cells[amount]))  # a number, as Excel keeps it
        if cells and cells[0] == "北京某某科技有限公司":
            cells[header.index("处罚决定日期")] = datetime(2026, 1, 10)
        ws.append(cells)
    book = tmp_path / "处罚.xlsx"
    wb.save(book)
    s, used = ingest.ingest_format(reg, book, "samr", "auto", actor="samr")
    assert used == "double_publicity_penalty"
    _check(reg, s, {"bad date": 7})


def test_a_file_without_a_format_s_headers_is_refused_whole(reg: Registry, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("名称,金额\n某公司,1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no format of the pack"):
        ingest.ingest_format(reg, other, "samr", "auto", actor="samr")
    with pytest.raises(InvalidInput, match="no header of format double_publicity_penalty"):
        ingest.ingest_format(reg, other, "samr", "double_publicity_penalty", actor="samr")
    with pytest.raises(InvalidInput, match="not by source 'court'"):
        ingest.ingest_format(reg, PENALTIES, "court", "double_publicity_penalty", actor="court")


def test_a_provincial_variant_is_one_yaml_file(tmp_path: Path) -> None:
    """Another platform's wording of the same standard (当事人名称, 处罚种类, amounts in yuan):
    one more file in the pack, no change to the program."""
    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    std = yaml.safe_load((pack / "formats" / "double_publicity_penalty.yaml").read_text("utf-8"))
    variant = {
        "id": "provincial_penalty_variant",
        "name": {
            "zh": "行政处罚（某省平台）",
            "en": "Administrative penalties (a provincial platform)",
        },
        "legal_basis": std["legal_basis"],
        "record_type": "administrative_penalty",
        "columns": [
            {"header": ["当事人名称"], "to": "subject_name", "required": True},
            {"header": ["当事人统一社会信用代码"], "to": "subject_id"},
            {"header": ["决定书文号"], "to": "decision_ref", "required": True},
            {"header": ["作出处罚决定的日期"], "to": "decided_on", "date": True, "required": True},
            {"header": ["处罚依据"], "to": "legal_basis", "required": True},
            {"header": ["处罚种类"], "to": "penalty_kind", "values": {"罚款": "fine"}},
            {"header": ["罚款金额（元）"], "to": "fine_yuan"},
            {"header": ["作出处罚决定的机关名称"], "to": "authority", "required": True},
        ],
        "constants": {"status": "in_force", "severity": "general"},
        "id_from": ["decision_ref"],
    }
    (pack / "formats" / "provincial_penalty_variant.yaml").write_text(
        yaml.safe_dump(variant, allow_unicode=True), encoding="utf-8"
    )
    loaded = load_pack(pack)
    assert set(loaded.formats) == set(load_pack().formats) | {"provincial_penalty_variant"}

    from socialcredit.config import Settings
    from tests.conftest import TEST_KEYS

    env = dict(TEST_KEYS, SOCIALCREDIT_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    reg = Registry(Settings.from_env(env), pack=loaded)
    try:
        f = tmp_path / "province.csv"
        f.write_text(
            "当事人名称,当事人统一社会信用代码,决定书文号,作出处罚决定的日期,处罚依据,处罚种类,"
            "罚款金额（元）,作出处罚决定的机关名称\n"
            f"北京某某科技有限公司,{ORG},京朝市监罚〔2026〕201号,2026.2.3,《价格法》第四十二条,"
            "罚款,2500.50,北京市朝阳区市场监督管理局\n",
            encoding="utf-8",
        )
        s, used = ingest.ingest_format(reg, f, "samr", "auto", actor="samr")
        assert used == "provincial_penalty_variant" and s.accepted == 1, s.as_dict()
        with reg.engine.connect() as conn:
            row = conn.execute(select(records.c.fields, records.c.decided_on)).one()
        assert json.loads(row.fields)["fine_yuan"] == "2500.5"  # yuan as written, normalised
        assert row.decided_on.isoformat() == "2026-02-03"
    finally:
        reg.close()


@pytest.mark.parametrize(
    ("column", "said"),
    [
        ({"header": ["X"], "to": "no_such_field"}, "no column of administrative_penalty"),
        ({"header": ["X"], "to": "field_of_law", "values": {"罚": "jail"}}, "maps to 'jail'"),
        ({"header": ["X"], "to": "performed_on", "scale": "lots"}, "scale 'lots'"),
        ({"header": ["X"], "to": "penalty_kind"}, "mapped twice"),
        ({"header": ["X"], "to": "exit_decision_ref", "contains": True}, "contains without"),
        ({"header": ["X"], "sets": {"status": "jailed"}}, "sets status: 'jailed'"),
        ({"header": ["X"], "sets": {"no_such": "x"}}, "sets 'no_such' is no column"),
        (
            {"header": ["X"], "to": "exit_decision_ref", "date_of_year": "+1-04-01"},
            "date_of_year fills 'exit_decision_ref'",
        ),
    ],
)
def test_a_mapping_is_checked_like_the_rest_of_the_pack(
    tmp_path: Path, column: dict[str, object], said: str
) -> None:
    from socialcredit.errors import PolicyError

    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    f = pack / "formats" / "double_publicity_penalty.yaml"
    spec = yaml.safe_load(f.read_text("utf-8"))
    spec["columns"].append(column)
    f.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match=said):
        load_pack(pack)


SPC = FIXTURE / "spc_dishonest.csv"


def test_the_spc_list_of_dishonest_debtors(reg: Registry) -> None:
    """A published entry is the court's listing: its case number is the listing decision, so
    the debtor's listing is notified at once; the grounds are read by their published wording;
    a masked ID number keys no one (review); the age and sex shown are never kept."""
    s, used = ingest.ingest_format(reg, SPC, "court", "auto", actor="court")
    assert used == "spc_dishonest"
    assert (s.accepted, s.queued, s.rejected, s.listings_notified) == (2, 1, 1, 2), s.as_dict()
    assert [(p.field, p.row) for p in s.rejects] == [("失信被执行人行为具体情形", 6)]
    with reg.engine.connect() as conn:
        person = conn.execute(
            select(records.c.fields, records.c.status).where(
                records.c.subject_id == reg.protector.subject_key(PERSON)
            )
        ).one()
        org = conn.execute(select(records.c.fields).where(records.c.subject_id == ORG)).one()
        dump = " ".join(str(r) for r in conn.execute(text("SELECT payload FROM events")))
    fields = json.loads(person.fields)
    assert person.status == "unperformed"
    assert fields["dishonest_conduct"] == "evades_enforcement"
    assert fields["listing_decision_ref"] == "（2026）京0105执1234号"
    # of 违反财产报告制度 and 有履行能力而拒不履行…, the one further down Art. 1
    assert json.loads(org.fields)["dishonest_conduct"] == "breaches_asset_reporting"
    assert '"age"' not in dump and "男" not in dump
    # a published entry is the court's listing served and in effect: it restricts at once,
    # without the registry's own month (the list's served_when, SPC provisions Art. 5-6)
    from socialcredit.services import checks

    answer = checks.answer(reg, ORG, "restrict_air_travel")
    assert answer["restricted"] is True, answer
    assert json.loads(org.fields)["published_on"]


def test_the_spc_detail_records_as_json(reg: Registry) -> None:
    s, used = ingest.ingest_format(
        reg, FIXTURE / "spc_dishonest.json", "court", "auto", actor="court"
    )
    assert used == "spc_dishonest" and (s.accepted, s.listings_notified) == (1, 1), s.as_dict()


def test_the_licence_standard(reg: Registry) -> None:
    f = FIXTURE / "double_publicity_licence.csv"
    s, used = ingest.ingest_format(reg, f, "samr", "auto", actor="samr")
    assert used == "double_publicity_licence" and (s.accepted, s.rejected) == (2, 0), s.as_dict()
    with reg.engine.connect() as conn:
        got = {
            r.subject_id: (r.status, json.loads(r.fields))
            for r in conn.execute(select(records.c.subject_id, records.c.status, records.c.fields))
        }
        dump = " ".join(str(r) for r in conn.execute(text("SELECT payload FROM events")))
    assert got[ORG][0] == "valid" and got[ORG][1]["valid_until"] == "2031-01-04"
    assert got[ORG][1]["licence_no"] == "JY11105001234567"
    assert got["91440300708461136T"][0] == "revoked"  # 注销
    assert LEGAL_REPS[0] not in dump


def test_headers_with_notes_and_odd_spacing(reg: Registry, tmp_path: Path) -> None:
    """Platforms add notes after headers (（必填）) and spaces inside them; a unit in brackets
    stays part of the header."""
    text = PENALTIES.read_text(encoding="utf-8")
    text = text.replace("处罚决定日期,", "处罚决定日期（必填）,").replace(
        "罚款金额（万元）,", "罚款 金额（万元）（选填）,"
    )
    f = tmp_path / "messy.csv"
    f.write_text(text, encoding="utf-8")
    s, used = ingest.ingest_format(reg, f, "samr", "auto", actor="samr")
    assert used == "double_publicity_penalty"
    _check(reg, s, {"bad date": 7}, date_header="处罚决定日期（必填）")


def _listings(reg: Registry) -> dict[str, tuple[str, str]]:
    with reg.engine.connect() as conn:
        return {
            r.subject_id: (r.list_id, r.status)
            for r in conn.execute(
                select(listings.c.subject_id, listings.c.list_id, listings.c.status)
            )
        }


def test_the_market_regulator_s_abnormal_operations_list(reg: Registry) -> None:
    """The causes read by the phrase each cannot be written without, whatever the platform's
    wording; a removal date ends the listing; a row with a registration number only goes to
    review; a reference made from the authority and the date where none is published."""
    f = FIXTURE / "samr_abnormal.csv"
    s, used = ingest.ingest_format(reg, f, "samr", "auto", actor="samr")
    assert used == "samr_abnormal"
    assert (s.accepted, s.queued, s.rejected) == (2, 1, 2), s.as_dict()
    assert sorted((p.field, p.row) for p in s.rejects) == [
        ("列入日期", 8),  # 2025-13-01
        ("列入经营异常名录原因", 7),  # no cause of Art. 17 in its words
    ]
    with reg.engine.connect() as conn:
        got = {
            r.subject_id: r
            for r in conn.execute(
                select(
                    records.c.subject_id,
                    records.c.status,
                    records.c.fields,
                    records.c.decision_ref,
                    records.c.decided_on,
                )
            )
        }
        (queued,) = conn.execute(select(review_queue.c.subject_name)).scalars()
    assert queued == "北京某某咨询有限公司"
    org = got[ORG]
    assert (org.status, json.loads(org.fields)["cause"]) == ("listed", "annual_report_missing")
    assert org.decision_ref == "北京市朝阳区市场监督管理局列入经营异常名录（2025-07-01）"
    other = got["91440300708461136T"]
    assert other.status == "removed"
    assert json.loads(other.fields) == {
        "cause": "unreachable_at_address",
        "removed_on": "2025-01-10",
    }
    listed = _listings(reg)
    assert listed[ORG][0] == "abnormal_operations" and listed[ORG][1] != "ended"
    assert "91440300708461136T" not in listed or listed["91440300708461136T"][1] == "ended"


def test_a_published_a_level_list(reg: Registry, tmp_path: Path) -> None:
    """纳税人识别号 as the code, or as the older number holding the organisation code (the same
    subject under its old number); the rating year; a list without dates is dated the 1st of
    April after the year it rates; as CSV and as the workbook it is published as."""
    from openpyxl import Workbook

    from tests.fixtures.rows import judgment, numbered

    ingest.ingest(
        reg,
        numbered([judgment("R-1", subject=ORG2, subject_name="深圳某某贸易有限公司")]),
        "court",
        actor="court",
    )
    src = FIXTURE / "tax_a_level.csv"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    import csv

    with src.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    xlsx = tmp_path / "A级纳税人.xlsx"
    book.save(xlsx)
    for f in (src, xlsx):
        s, used = ingest.ingest_format(reg, f, "tax", "auto", actor="tax")
        assert used == "tax_a_level"
        assert (s.rejected, s.queued) == (1, 0), s.as_dict()
        assert [(p.field, p.row) for p in s.rejects] == [("评价年度", 6)]
    with reg.engine.connect() as conn:
        got = {
            r.subject_id: r
            for r in conn.execute(
                select(
                    records.c.subject_id,
                    records.c.authority,
                    records.c.fields,
                    records.c.decision_ref,
                    records.c.decided_on,
                ).where(records.c.record_type == "tax_credit_rating")
            )
        }
    assert set(got) == {ORG, ORG2, "91310115MA1KNYTP4X"}
    assert json.loads(got[ORG].fields) == {"tax_year": "2024", "level": "A"}
    assert got[ORG].decided_on.isoformat() == "2025-04-01"
    assert got[ORG].decision_ref == "国家税务总局北京市朝阳区税务局2024年度纳税信用A级纳税人名单"
    late = got["91310115MA1KNYTP4X"]  # no authority in the row, rated 2023
    assert (late.authority, late.decided_on.isoformat()) == ("税务机关", "2024-04-01")
    listed = _listings(reg)
    assert listed[ORG] == ("a_level_taxpayers", "active")
    assert listed[ORG2][0] == "a_level_taxpayers"


@pytest.mark.parametrize(
    ("compose", "said"),
    [
        ({"decision_ref": "{authority}-{nowhere}"}, "uses 'nowhere', which no column fills"),
        ({"no_such": "{authority}"}, "compose 'no_such' is no column"),
        ({"decision_ref": "{authority"}, "compose decision_ref"),
    ],
)
def test_a_composed_value_is_made_of_mapped_columns(
    tmp_path: Path, compose: dict[str, str], said: str
) -> None:
    from socialcredit.errors import PolicyError

    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    f = pack / "formats" / "samr_abnormal.yaml"
    spec = yaml.safe_load(f.read_text("utf-8"))
    spec["compose"] = compose
    f.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match=said):
        load_pack(pack)


def test_the_market_regulator_s_serious_violation_list(reg: Registry, tmp_path: Path) -> None:
    """A published listing decision places the enterprise on the list the registry keeps for
    serious violations, at once (the regulator notified and heard it: no notice period of the
    registry's own), and procurement checks answer restricted with that decision as basis; a
    removal date ends it; a row without the decision's number is refused naming the column."""
    from socialcredit.services import checks

    f = FIXTURE / "samr_serious_violation.csv"
    s, used = ingest.ingest_format(reg, f, "samr", "auto", actor="samr")
    assert used == "samr_serious_violation"
    assert (s.accepted, s.rejected) == (2, 1), s.as_dict()
    assert [(p.field, p.row) for p in s.rejects] == [("列入决定书文号", 4)]
    listed = _listings(reg)
    assert listed[ORG][0] == "serious_illegal_dishonest"
    assert ORG2 not in listed  # removed on 2026-01-05, before this file reached the registry
    answer = checks.answer(reg, ORG, "exclude_government_procurement")
    assert answer["restricted"] is True
    [listing] = answer["listings"]
    assert listing["list"] == "serious_illegal_dishonest"
    assert listing["decision_ref"] == "京市监严列〔2025〕12号"
    with reg.engine.connect() as conn:
        rec = conn.execute(
            select(records.c.status, records.c.fields).where(records.c.subject_id == ORG2)
        ).one()
    assert rec.status == "removed" and json.loads(rec.fields)["removed_on"] == "2026-01-05"

    # the regulator's removal, sent later, ends the listing
    removal = f.read_text("utf-8").replace(
        "京市监严列〔2025〕12号,,,",
        "京市监严列〔2025〕12号,履行完毕,2026-01-30,北京市市场监督管理局",
    )
    later = tmp_path / "removal.csv"
    later.write_text(removal, encoding="utf-8")
    s, _ = ingest.ingest_format(reg, later, "samr", "samr_serious_violation", actor="samr")
    assert s.as_dict()["listings_ended"] == 1, s.as_dict()
    assert checks.answer(reg, ORG, "exclude_government_procurement")["restricted"] is False


@pytest.mark.parametrize("name", sorted(load_pack().formats))
def test_each_format_s_example_reads_as_a_valid_row(name: str) -> None:
    """The example ``formats show`` prints is a row the format reads without a problem."""
    from datetime import date
    from pathlib import Path as P

    from socialcredit.ingest.formats import Mapped, sources_of
    from socialcredit.ingest.validate import ValidRow, validate_row

    pack = load_pack()
    spec = pack.formats[name]
    assert spec.example, f"{name} has no example"
    row = Mapped(spec, P(f"{name}.csv"), pack).read_back(
        list(spec.example), list(spec.example.values())
    )
    assert isinstance(row, dict), row
    got = validate_row(pack, sources_of(pack, spec)[0], 1, row, date(2026, 12, 7))
    assert isinstance(got, ValidRow), got
    assert got.record_type == spec.record_type
