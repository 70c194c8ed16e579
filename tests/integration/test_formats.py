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
from socialcredit.db import records, review_queue, subjects
from socialcredit.errors import InvalidInput
from socialcredit.policy import load_pack
from socialcredit.policy.load import default_pack_path
from socialcredit.services import ingest
from tests.fixtures.rows import ORG, PERSON

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
