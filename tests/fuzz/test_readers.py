"""Fuzzing the agency-file readers (CSV, JSON Lines) with hypothesis.

Whatever bytes an agency uploads, the reader either raises ``FileUnreadable`` with a message a
clerk can act on, or yields numbered rows, each a row or a ``RowProblem`` naming its row: no
other exception, no hang, no row lost without a word. Valid files round-trip in every encoding
the readers accept (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK) and with any mix of
newlines. The runs are derandomised so that CI sees the same examples every time.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import time
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from socialcredit.errors import InvalidInput
from socialcredit.ingest.readers import (
    MAX_CELL,
    MAX_COLUMNS,
    MAX_NAME,
    FileUnreadable,
    RowProblem,
    decode,
    read_rows,
    read_text,
    read_upload,
)
from socialcredit.ingest.validate import validate_row
from socialcredit.policy import load_pack
from tests.fixtures.rows import judgment

#: A longer, random campaign: SOCIALCREDIT_FUZZ_EXAMPLES=20000 pytest tests/fuzz/test_readers.py
LONG = int(os.environ.get("SOCIALCREDIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG or 200,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=LONG or 80)

HEADER = ["source_record_id", "record_type", "subject_name", "decision_ref", "amount_yuan"]
#: Text an agency file holds: ASCII, the Chinese of names and documents (all of it in GBK, as an
#: agency's Excel export would be), and what makes CSV hard: quotes, commas, newlines, formulas.
CJK = "中国北京市朝阳区人民法院有限公司科技某某张三（）《》〔〕、，。：；“”执号第条"
CELL = st.lists(
    st.sampled_from([*"abcXYZ019 -+=@'\t", *CJK, '"', ",", "\n", "\r", "\r\n", ";"]),
    max_size=12,
).map("".join)
NEWLINES = ("\r\n", "\n", "\r")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le+bom", "utf-16-be+bom", "gb18030")


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le+bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be+bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


def drain(data: bytes, kind: str) -> list[tuple[int, dict[str, Any] | RowProblem]] | None:
    """All rows of ``data``, checked for the readers' promises; None if the file is refused."""
    started = time.monotonic()
    try:
        rows = list(read_upload(data, f"upload.{kind}"))
    except FileUnreadable as exc:
        assert exc.message.strip() and len(exc.message) < 600, exc.message
        assert isinstance(exc, InvalidInput) and exc.status == 422
        return None
    assert time.monotonic() - started < 20
    last = 0
    for n, item in rows:
        assert isinstance(n, int) and n > last, "row numbers increase"
        last = n
        if isinstance(item, RowProblem):
            assert item.row == n
            assert item.field and item.reason and len(item.reason) < 600
            assert len(item.field) <= MAX_NAME
            continue
        assert isinstance(item, dict)
        for k, v in item.items():
            assert isinstance(k, str)
            assert v is None or isinstance(v, str | bool)
            for s in (k, v) if isinstance(v, str) else (k,):
                assert "\x00" not in s, "PostgreSQL cannot store NUL"
                assert len(s) <= MAX_CELL
                s.encode("utf-8")  # no lone surrogates: both databases need UTF-8
    return rows


def csv_text(rows: list[list[str]], newlines: list[str], quote_all: bool = False) -> str:
    """CSV as a spreadsheet writes it, each row ending with its own newline. (The csv module's
    writer, given a lone ``\r`` as terminator, leaves a cell holding ``\n`` unquoted.)"""

    def cell(c: str) -> str:
        if quote_all or any(ch in c for ch in ',"\r\n'):
            return '"' + c.replace('"', '""') + '"'
        return c

    return "".join(
        ",".join(cell(c) for c in row) + newlines[i % len(newlines)] for i, row in enumerate(rows)
    )


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


# -- arbitrary bytes ----------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=600), kind=st.sampled_from(["csv", "jsonl"]))
@example(data=b"", kind="csv")
@example(data=b"\xef\xbb\xbf", kind="csv")
@example(data=b"\xff\xfe", kind="jsonl")
@example(data=b'a,b\n"1,2\n3,4\n', kind="csv")
@example(data=b"a,a\n1,2\n", kind="csv")
@example(data=b"a\x00,b\n1,2\n", kind="csv")
@example(data=b'{"a": "\\u0000"}\n', kind="jsonl")
@example(data=b'{"a": "\\ud800"}\n', kind="jsonl")
@example(data=b'{"a": 1, "a": 2}\n', kind="jsonl")
@example(data=b"[" * 100_000, kind="jsonl")
@example(data=b"1" * 5000, kind="jsonl")
@example(data=b'{"a": NaN}', kind="jsonl")
def test_any_bytes_give_rows_or_a_clear_error(data: bytes, kind: str) -> None:
    drain(data, kind)


# -- valid files, mutated ----------------------------------------------------------------------

TABLES = st.lists(st.lists(CELL, min_size=len(HEADER), max_size=len(HEADER)), max_size=6)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[list[str]], bytes, str]:
    rows = draw(TABLES)
    newlines = draw(st.lists(st.sampled_from(NEWLINES), min_size=1, max_size=3))
    encoding = draw(st.sampled_from(ENCODINGS))
    text = csv_text([HEADER, *rows], newlines, draw(st.booleans()))
    data = encode(text, encoding)
    if encoding == "gb18030":
        assume(not is_utf8(data))  # an ASCII file (or 某某) is UTF-8 too: see the readers
    return rows, data, encoding


@st.composite
def mutated(draw: st.DrawFn, files: st.SearchStrategy[tuple[Any, bytes, str]]) -> bytes:
    _, data, _ = draw(files)
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(buf)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        piece = draw(
            st.sampled_from([b'"', b"\x00", b"\r", b"\n", b",", b"\xff", b"\xd6\xd0", b"{", b"]"])
            | st.binary(min_size=1, max_size=4)
        )
        if op == "insert":
            buf[pos:pos] = piece
        elif op == "delete":
            del buf[pos : pos + len(piece)]
        elif op == "replace":
            buf[pos : pos + len(piece)] = piece
        else:
            del buf[pos:]
    return bytes(buf)


@FUZZ
@given(data=mutated(csv_files()))
def test_a_mutated_csv_gives_rows_or_a_clear_error_and_loses_no_row(data: bytes) -> None:
    rows = drain(data, "csv")
    if rows is None:
        return
    # nothing lost: every record after the header that holds anything comes out, as a row or
    # as a problem (counted here with the csv module on the text the reader decoded)
    csv.field_size_limit(2**31 - 1)
    records = list(csv.reader(io.StringIO(decode(data, "upload.csv"), newline="")))
    while records and blank(records[0]):
        records.pop(0)
    assert len(rows) == sum(1 for r in records[1:] if not blank(r))


@FUZZ
@given(file=csv_files())
def test_a_valid_csv_round_trips_in_every_encoding_and_newline(
    file: tuple[list[list[str]], bytes, str],
) -> None:
    table, data, _ = file
    rows = drain(data, "csv")
    assert rows is not None
    expected = [(n, dict(zip(HEADER, r, strict=True))) for n, r in enumerate(table, start=2)]
    assert rows == [(n, r) for n, r in expected if not blank(list(r.values()))]


JSON_SCALAR = st.none() | st.booleans() | CELL
JSON_OBJECT = st.dictionaries(st.sampled_from([*HEADER, "备注", ""]), JSON_SCALAR, max_size=5)
JUNK_LINES = st.sampled_from(
    [
        "not json",
        "[1, 2]",
        '"a string"',
        "42",
        "null",
        '{"a": ',
        '{"a": {"b": 1}}',
        '{"a": [1]}',
        '{"a": 1, "a": 2}',
        '{"a": NaN}',
        '{"a": -Infinity}',
        '{"a": "\\u0000"}',
        '{"a": "\\udc00"}',
        "[" * 50_000 + "]" * 50_000,
        '{"a": 1, "b": "' + "x" * (MAX_CELL + 1) + '"}',
    ]
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[list[Any], bytes]:
    """Lines: an object, a junk line or a blank one; their text joined with mixed newlines."""
    lines = draw(st.lists(JSON_OBJECT | JUNK_LINES | st.just(""), max_size=8))
    newlines = draw(st.lists(st.sampled_from(NEWLINES), min_size=1, max_size=3))
    encoding = draw(st.sampled_from(ENCODINGS))
    out = []
    for i, line in enumerate(lines):
        text = line if isinstance(line, str) else json.dumps(line, ensure_ascii=draw(st.booleans()))
        newline = newlines[i % len(newlines)]
        if not text and out and out[-1].endswith("\r") and newline.startswith("\n"):
            newline = "\r"  # "\r" then "\n" would be one newline, not an empty line
        out.append(text + newline)
    data = encode("".join(out), encoding)
    if encoding == "gb18030":
        assume(not is_utf8(data))
    return lines, data


@FUZZ
@given(file=jsonl_files())
def test_every_json_line_is_a_row_or_a_problem_on_its_line(file: tuple[list[Any], bytes]) -> None:
    lines, data = file
    rows = drain(data, "jsonl")
    assert rows is not None
    expected = [(n, line) for n, line in enumerate(lines, start=1) if line != ""]
    assert [n for n, _ in rows] == [n for n, _ in expected]
    for (_, got), (_, line) in zip(rows, expected, strict=True):
        if isinstance(line, dict):
            assert got == line
        else:
            assert isinstance(got, RowProblem), line[:40]


@FEW
@given(data=mutated(st.tuples(st.none(), jsonl_files().map(lambda f: f[1]), st.none())))
def test_a_mutated_jsonl_gives_rows_or_a_clear_error(data: bytes) -> None:
    drain(data, "jsonl")


# -- encodings ---------------------------------------------------------------------------------

AGENCY_CSV = (
    "source_record_id,record_type,subject_name,authority\n"
    "P-1,administrative_penalty,北京某某科技有限公司,北京市朝阳区市场监督管理局\n"
    "P-2,administrative_penalty,深圳某某贸易有限公司,深圳市市场监督管理局\n"
)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_same_file_in_every_accepted_encoding_reads_the_same(encoding: str) -> None:
    rows = drain(encode(AGENCY_CSV, encoding), "csv")
    assert rows == list(read_text(AGENCY_CSV, "csv"))
    assert rows is not None and rows[0][1]["subject_name"] == "北京某某科技有限公司"  # type: ignore[index]


def test_gbk_is_read_as_gb18030() -> None:
    # what Excel on a Chinese Windows writes for "CSV (comma delimited)"
    rows = drain(AGENCY_CSV.encode("gbk"), "csv")
    assert rows == list(read_text(AGENCY_CSV, "csv"))


def test_a_file_mixing_utf8_and_gbk_is_refused_naming_the_line() -> None:
    lines = AGENCY_CSV.splitlines(keepends=True)
    data = lines[0].encode() + lines[1].encode("utf-8") + lines[2].encode("gbk")
    with pytest.raises(FileUnreadable, match=r"line 3.*(GBK|GB18030).*UTF-8") as exc:
        list(read_upload(data, "penalties.csv"))
    assert "line 2" in exc.value.message  # the UTF-8 line it was told apart from


def test_utf8_with_a_broken_byte_is_refused_not_read_as_gbk() -> None:
    lines = AGENCY_CSV.encode("utf-8").splitlines(keepends=True)
    lines[2] = lines[2][:30] + b"\xff" + lines[2][30:]
    with pytest.raises(FileUnreadable, match=r"line 3.*0xff") as exc:
        list(read_upload(b"".join(lines), "penalties.csv"))
    assert "UTF-8" in exc.value.message


def test_neither_utf8_nor_gb18030_is_refused_with_the_line() -> None:
    data = b"source_record_id,record_type\nP-1,x\nP-2,y\nP-3,\x80\x80\x80\n"
    with pytest.raises(FileUnreadable, match=r"line 4.*save it as UTF-8"):
        list(read_upload(data, "penalties.csv"))


def test_utf16_without_a_bom_is_refused_as_such() -> None:
    with pytest.raises(FileUnreadable, match="UTF-16"):
        list(read_upload(AGENCY_CSV.encode("utf-16-le"), "penalties.csv"))


def test_a_broken_utf16_file_is_refused() -> None:
    with pytest.raises(FileUnreadable, match="UTF-16"):
        list(read_upload(codecs.BOM_UTF16_LE + b"a\x00b", "penalties.csv"))


# -- CSV structure ------------------------------------------------------------------------------


def rows_of(text: str, kind: str = "csv") -> list[tuple[int, Any]]:
    out = drain(text.encode("utf-8"), kind)
    assert out is not None
    return out


def refused(text: str) -> None:
    list(read_upload(text.encode("utf-8"), "f.csv"))


def test_empty_and_header_only_files_have_no_rows() -> None:
    for text in ("", "\n\n", "\ufeff", "a,b", "a,b\r\n", "a,b\n\n,\n"):
        assert rows_of(text) == [], repr(text)
    for text in ("", "\n", "\r\n\r\n"):
        assert rows_of(text, "jsonl") == []


def test_blank_lines_and_empty_rows_are_skipped_but_keep_their_row_numbers() -> None:
    text = "\n\na,b\n1,2\n\n,\n  , \n3,4\n"
    assert rows_of(text) == [(4, {"a": "1", "b": "2"}), (8, {"a": "3", "b": "4"})]


def test_row_numbers_count_spreadsheet_rows_not_lines() -> None:
    text = 'a,b\n"line one\nline two",2\n3,4\n'
    assert rows_of(text) == [(2, {"a": "line one\nline two", "b": "2"}), (3, {"a": "3", "b": "4"})]


def test_duplicate_header_names_are_refused() -> None:
    with pytest.raises(FileUnreadable, match=r"'a'.*columns 1 and 3"):
        refused("a,b,a\n1,2,3\n")


def test_header_names_lose_surrounding_spaces_and_stray_marks() -> None:
    assert rows_of("\ufeff a ,b\t\n1,2\n") == [(2, {"a": "1", "b": "2"})]


def test_trailing_empty_columns_are_ignored_filled_ones_reported() -> None:
    assert rows_of("a,b,,\n1,2,,\n") == [(2, {"a": "1", "b": "2"})]
    [(n, problem)] = rows_of("a,b,,\n1,2,x,\n")
    assert n == 2 and isinstance(problem, RowProblem)
    assert problem.field == "(column 3)" and "no name" in problem.reason


def test_more_cells_than_header_is_a_problem_fewer_are_missing() -> None:
    rows = rows_of("a,b\n1,2,3\n1\n1,2,,\n")
    assert isinstance(rows[0][1], RowProblem) and "3 cells" in rows[0][1].reason
    assert rows[1:] == [(3, {"a": "1", "b": None}), (4, {"a": "1", "b": "2"})]


def test_an_unterminated_quote_is_a_problem_naming_the_lines_it_swallowed() -> None:
    text = 'a,b\n1,2\n"3,4\n5,6\n7,8\n'
    rows = rows_of(text)
    assert rows[0] == (2, {"a": "1", "b": "2"})
    (n, problem) = rows[1]
    assert n == 3 and isinstance(problem, RowProblem)
    assert problem.field == "a"
    assert "quote" in problem.reason and "lines 3 to 5" in problem.reason
    assert len(rows) == 2
    # a quote left open in the header: no column can be trusted
    with pytest.raises(FileUnreadable, match="quote"):
        refused('a,"b\n1,2\n')


def test_a_nul_in_a_cell_is_a_problem_of_that_cell() -> None:
    rows = rows_of("a,b\n1,x\x00y\n3,4\n")
    assert rows[0] == (2, RowProblem(2, "b", rows[0][1].reason))
    assert "NUL" in rows[0][1].reason
    assert rows[1] == (3, {"a": "3", "b": "4"})


def test_a_huge_cell_is_a_problem_and_is_read_in_bounded_time() -> None:
    big = "x" * 10_000_000  # 10 MB in one cell
    for cell in (big, f'"{big}"', f'"{big[:5_000_000]}\n{big[:5_000_000]}"'):
        started = time.monotonic()
        rows = rows_of(f"a,b\n1,{cell}\n3,4\n")
        assert time.monotonic() - started < 10
        assert rows[0][0] == 2 and isinstance(rows[0][1], RowProblem)
        assert rows[0][1].field == "b" and "characters" in rows[0][1].reason
        assert rows[1] == (3, {"a": "3", "b": "4"})
    # the same in JSON Lines
    rows = rows_of('{"a": "' + big + '"}\n{"a": "1"}\n', "jsonl")
    assert isinstance(rows[0][1], RowProblem) and rows[0][1].field == "a"
    assert rows[1] == (2, {"a": "1"})


def test_a_huge_header_is_refused_and_many_cells_are_a_problem() -> None:
    with pytest.raises(FileUnreadable, match="columns"):
        refused(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n1\n")
    with pytest.raises(FileUnreadable, match="characters"):
        refused("a," + "b" * 1000 + "\n1,2\n")
    started = time.monotonic()
    rows = rows_of("a,b\n" + ",".join("1" * 200_000) + "\n")
    assert time.monotonic() - started < 10
    assert isinstance(rows[0][1], RowProblem)


# -- JSON Lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("{", "(line)", "not valid JSON"),
        ("[1]", "(line)", "one JSON object"),
        ('{"a": {"b": 1}}', "a", "text, a number"),
        ('{"a": 1, "a": 2}', "a", "more than once"),
        ('{"a": NaN}', "(line)", "NaN"),
        ('{"a": "\\u0000"}', "a", "NUL"),
        ('{"a": "\\udc00"}', "a", "surrogate"),
        ("[" * 100_000, "(line)", "nested"),
        ('{"' + "k" * 300 + '": 1}', "(line)", "name"),
    ],
)
def test_a_bad_json_line_is_a_problem_of_that_line(line: str, field: str, words: str) -> None:
    rows = rows_of(f'{{"a": "1"}}\n{line}\n{{"a": "3"}}\n', "jsonl")
    assert rows[0] == (1, {"a": "1"}) and rows[2] == (3, {"a": "3"})
    (n, problem) = rows[1]
    assert n == 2 and isinstance(problem, RowProblem), problem
    assert problem.field == field and words in problem.reason, problem


def test_json_numbers_keep_the_text_the_agency_wrote() -> None:
    line = '{"a": 12345678901234567890.12, "b": 1e5, "c": 7, "d": true, "e": null, "f": %s}'
    rows = rows_of(line % ("9" * 5000) + "\n", "jsonl")
    assert rows == [
        (
            1,
            {
                "a": "12345678901234567890.12",
                "b": "1e5",
                "c": "7",
                "d": True,
                "e": None,
                "f": "9" * 5000,
            },
        )
    ]


def test_json_lines_split_on_any_newline_but_not_inside_strings() -> None:
    text = '{"a": "1"}\r{"a": "2"}\r\n{"a": "3\u2028x"}\n{"a": "4"}'
    assert [r for _, r in rows_of(text, "jsonl")] == [
        {"a": "1"},
        {"a": "2"},
        {"a": "3\u2028x"},
        {"a": "4"},
    ]


def test_a_huge_exponent_does_not_crash_validation() -> None:
    [(n, row)] = rows_of(json.dumps(judgment(amount_yuan="1e999999999")) + "\n", "jsonl")
    assert isinstance(row, dict)
    result = validate_row(load_pack(), "court", n, row, date(2026, 3, 1))
    assert isinstance(result, list)
    assert [(p.field, "not a number" in p.reason) for p in result] == [("amount_yuan", True)]


@pytest.mark.parametrize("bad", ["a\x00b", "a\udc00b"])
def test_text_no_column_can_hold_is_a_row_problem(bad: str) -> None:
    result = validate_row(load_pack(), "court", 7, judgment(authority=bad), date(2026, 3, 1))
    assert isinstance(result, list) and [(p.row, p.field) for p in result] == [(7, "authority")]


# -- files --------------------------------------------------------------------------------------


def test_read_rows_refuses_what_it_cannot_open(tmp_path: Any) -> None:
    with pytest.raises(FileUnreadable, match="unknown file type"):
        read_rows(tmp_path / "x.xlsx")
    with pytest.raises(FileUnreadable, match="cannot be read"):
        read_rows(tmp_path / "missing.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FileUnreadable, match="cannot be read"):
        read_rows(tmp_path / "folder.csv")
    with pytest.raises(FileUnreadable, match="unknown file type"):
        read_rows(tmp_path / "x.csv", fmt="xml")
    path = tmp_path / "x.csv"
    path.write_bytes(AGENCY_CSV.encode("gbk"))
    assert list(read_rows(path)) == list(read_text(AGENCY_CSV, "csv"))


def test_a_gzip_file_reads_as_the_file_it_holds(tmp_path: Any) -> None:
    import gzip

    from socialcredit.ingest.readers import read_rows

    plain = "source_record_id,subject_name\nA-1,北京某某科技有限公司\nA-2,深圳某某贸易有限公司\n"
    (tmp_path / "rows.csv").write_text(plain, encoding="utf-8")
    packed = gzip.compress(plain.encode("utf-8"))
    (tmp_path / "rows.csv.gz").write_bytes(packed)
    want = list(read_rows(tmp_path / "rows.csv"))
    assert list(read_rows(tmp_path / "rows.csv.gz")) == want and len(want) == 2
    # two gzip members one after the other (what `cat a.gz b.gz` makes) are one file
    half = plain.encode("utf-8")
    (tmp_path / "two.csv.gz").write_bytes(gzip.compress(half[:40]) + gzip.compress(half[40:]))
    assert list(read_rows(tmp_path / "two.csv.gz")) == want


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_gzip_file_is_refused_whole(tmp_path: Any, damage: str) -> None:
    import gzip

    from socialcredit.ingest.readers import FileUnreadable, read_rows

    packed = gzip.compress(("a,b\n" + "x,y\n" * 5000).encode())
    data = {
        "truncated": packed[: len(packed) // 2],
        "garbage": b"\x1f\x8b\x08\x00" + os.urandom(200),
        "empty": b"",
    }[damage]
    f = tmp_path / "rows.csv.gz"
    f.write_bytes(data)
    with pytest.raises(FileUnreadable, match=r"rows\.csv\.gz: .*nothing was read"):
        read_rows(f)


def test_a_gzip_file_that_expands_too_far_is_refused(tmp_path: Any, monkeypatch: Any) -> None:
    import gzip

    from socialcredit.ingest import readers

    monkeypatch.setattr(readers, "MAX_EXPANDED", 10_000)
    f = tmp_path / "bomb.csv.gz"
    f.write_bytes(gzip.compress(b"a,b\n" + b"x,y\n" * 100_000))  # 400 kB from about 1 kB
    with pytest.raises(readers.FileUnreadable, match="expands to more than"):
        readers.read_rows(f)
