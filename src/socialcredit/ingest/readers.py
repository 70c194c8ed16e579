"""Read agency files (CSV, JSON Lines) into numbered rows, never dropping one silently.

A file that cannot be read at all raises ``FileUnreadable`` (an ``InvalidInput``) naming the
file, the line and what to do. Otherwise every row comes out, numbered, either as a dict or as a
``RowProblem(row, field, reason)`` that the ingest report shows: bad JSON, more cells than the
header, a quote never closed, a cell too long, a character no database can store. Only rows
that hold nothing (blank lines, rows of empty cells) are skipped, and the numbers of the rows
after them do not move.

Encodings. UTF-8, with or without a byte-order mark, is the interchange format. A file with a
UTF-16 or UTF-32 byte-order mark is read as such. A file without a mark that is not UTF-8 is read
as GB18030 (a superset of GBK, which is what Excel on a Chinese Windows writes for "CSV"), unless
another line of it is UTF-8 Chinese: then the file mixes encodings, or is damaged, and is
refused naming both lines rather than read as mojibake. A file that is neither is refused naming
the line and the byte. A file that is mostly NUL bytes (UTF-16 without its mark) is refused.
A GBK file whose bytes happen to be valid UTF-8 as a whole (possible only for a handful of
characters and nothing else) cannot be told apart and is read as UTF-8.

Row numbers. A CSV row is numbered as a spreadsheet shows it: the header row (the first that
holds anything) and every record after it count one, blank ones too, and a quoted cell spanning
several lines is still one row. A JSON Lines row is numbered by its line (``\\r``, ``\\n`` and
``\\r\\n`` all end a line).

Compression. ``rows.csv.gz`` (any accepted type, gzip-compressed) is read as ``rows.csv``; a
gzip file cut short or damaged is refused whole with one error and nothing of it is read, and
one that expands beyond ``MAX_EXPANDED`` is refused rather than filling the memory.

Limits, so that a hostile or broken file is reported instead of stalling ingest: a cell holds at
most ``MAX_CELL`` characters (a longer one is nearly always a quote left open), a header at most
``MAX_COLUMNS`` columns, each name at most ``MAX_NAME`` characters. JSON numbers are kept as the
text the agency wrote, so that no amount is rounded through a float and no long integer fails
to convert; a JSON row is flat like a CSV row (no objects or arrays as values), and ``NaN`` or
``Infinity`` are not JSON.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

#: The most characters one cell (or JSON value) may hold.
MAX_CELL = 100_000
#: The most columns a CSV header may have.
MAX_COLUMNS = 1_000
#: The most characters a column (or JSON field) name may have.
MAX_NAME = 200


class FileUnreadable(InvalidInput):
    code = "file_unreadable"


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    field: str
    reason: str


Row = tuple[int, dict[str, Any] | RowProblem]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
#: and each of them compressed with gzip (``rows.csv.gz``)
KINDS = frozenset(FORMATS.values())

# the csv module's own cell limit (131,072 characters) aborts the whole file with csv.Error; it
# is raised (process-wide, once) so that a long cell is read and reported as its row's problem.
# The file is in memory already, so this bounds nothing that was not bounded before.
_CSV_PARSE_LIMIT = 2**31 - 1

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
_BREAK = re.compile(r"\r\n|\r|\n")
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_rows(path: Path | str, fmt: str | None = None) -> Iterator[Row]:
    p = Path(path)
    kind = fmt or FORMATS.get(_suffix(p))
    if kind not in KINDS:
        raise FileUnreadable(f"{p}: unknown file type {fmt or p.suffix!r}; use .csv or .jsonl")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FileUnreadable(f"{p}: cannot be read ({exc.strerror})") from None
    return read_text(decode(_plain(data, p), str(p)), kind, str(p))


def read_upload(data: bytes, file_name: str) -> Iterator[Row]:
    """Rows of a file sent over the web, its format from its name as for a file on disk."""
    p = Path(file_name or "upload")
    kind = FORMATS.get(_suffix(p))
    if kind is None:
        raise FileUnreadable(f"{p.name}: unknown file type {p.suffix!r}; use .csv or .jsonl")
    return read_text(decode(_plain(data, p), p.name), kind, p.name)


#: The most bytes a compressed file may expand to (it is read whole, as a plain file is).
MAX_EXPANDED = 2**32


def _suffix(p: Path) -> str:
    """The file's type: ``.csv`` for ``rows.csv`` and for ``rows.csv.gz``."""
    if p.suffix.lower() == ".gz":
        return Path(p.stem).suffix.lower()
    return p.suffix.lower()


def _plain(data: bytes, p: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (``.gz``): a file cut short or damaged
    is refused whole, naming it, and nothing of it is read."""
    if p.suffix.lower() != ".gz":
        return data
    import zlib

    inflate = zlib.decompressobj(wbits=31)  # gzip header and trailer
    out = bytearray()
    try:
        rest = data
        while rest:
            out += inflate.decompress(rest, MAX_EXPANDED + 1 - len(out))
            if len(out) > MAX_EXPANDED:
                raise FileUnreadable(
                    f"{p.name}: expands to more than {MAX_EXPANDED:,} bytes; split the file"
                )
            rest = inflate.unconsumed_tail
            if inflate.eof and inflate.unused_data:  # another gzip member follows
                rest = inflate.unused_data
                inflate = zlib.decompressobj(wbits=31)
        if not inflate.eof:
            raise FileUnreadable(
                f"{p.name}: the gzip file ends before its data does (cut short in transfer?); "
                "nothing was read: send it again"
            )
    except zlib.error as exc:
        raise FileUnreadable(
            f"{p.name}: not a readable gzip file ({exc}); nothing was read"
        ) from None
    return bytes(out)


def read_text(text: str, kind: str, name: str = "the file") -> Iterator[Row]:
    if kind == "csv":
        return _csv_rows(text, name)
    if kind == "jsonl":
        return _jsonl_rows(text)
    raise FileUnreadable(f"{name}: unknown file type {kind!r}; use .csv or .jsonl")


# -- encodings ----------------------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """The text of an agency file, by the rules of the module docstring; ``name`` is for messages."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                return _text_file(body.decode(codec), name)
            except UnicodeDecodeError as exc:
                line, col = _where(body[: exc.start].decode(codec, "replace"))
                raise FileUnreadable(
                    f"{name}: starts with a {label} byte-order mark but line {line} is not "
                    f"{label} (column {col}); save the file as UTF-8 and resubmit"
                ) from None
    nuls = data.count(b"\x00")
    if nuls and nuls * 10 >= len(data):
        raise FileUnreadable(
            f"{name}: {nuls:,} of its {len(data):,} bytes are NUL: it is not a text file, or it "
            "is UTF-16 without a byte-order mark; save it as UTF-8 and resubmit"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    line, col = _where(data[:bad_at].decode("utf-8", "replace"))
    found = f"line {line} is not UTF-8 (byte 0x{data[bad_at]:02x} at column {col})"
    utf8_line = _utf8_chinese_line(data)
    if utf8_line is not None:
        raise FileUnreadable(
            f"{name}: {found} but line {utf8_line} is: the file mixes UTF-8 with another "
            f"encoding (GBK/GB18030?) or is damaged at line {line}; save the whole file as "
            "UTF-8 and resubmit"
        )
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileUnreadable(
            f"{name}: {found}, and the file is not GBK/GB18030 either; "
            "save it as UTF-8 and resubmit"
        ) from None


def _text_file(text: str, name: str) -> str:
    nuls = text.count("\x00")
    if nuls and nuls * 10 >= len(text):
        raise FileUnreadable(
            f"{name}: {nuls:,} of its {len(text):,} characters are NUL: it is not a text file; "
            "save it as UTF-8 and resubmit"
        )
    return text


def _where(prefix: str) -> tuple[int, int]:
    """Line and column (from 1) just after ``prefix``."""
    line, start = 1, 0
    for m in _BREAK.finditer(prefix):
        line, start = line + 1, m.end()
    return line, len(prefix) - start + 1


def _utf8_chinese_line(data: bytes) -> int | None:
    """The first line that is valid UTF-8 holding Chinese: GBK text (two bytes a character) is
    that by accident only for a character or two, never for two CJK characters in a row."""
    for n, raw in enumerate(data.splitlines(), start=1):  # \r, \n, \r\n as _where counts them
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if len(_CJK.findall(line)) >= 2:
            return n
    return None


def _short(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:40] + "…")


def _cell_problem(value: str) -> str | None:
    if len(value) > MAX_CELL:
        return (
            f"{len(value):,} characters long (a cell holds at most {MAX_CELL:,}); "
            "is a closing quote missing?"
        )
    if "\x00" in value:
        return "contains a NUL character (0x00), which cannot be stored; remove it"
    if _SURROGATE.search(value):
        return "contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not text"
    return None


def _blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


# -- JSON Lines ---------------------------------------------------------------------------------


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Constant(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Duplicate(k)
            seen.add(k)
    return obj


def _constant(name: str) -> Any:
    raise _Constant(f"{name} is not a JSON number")


def _jsonl_rows(text: str) -> Iterator[Row]:
    for n, line in enumerate(io.StringIO(text, newline=None), start=1):
        if line.strip():
            yield n, _json_row(n, line)


def _json_row(n: int, line: str) -> dict[str, Any] | RowProblem:
    try:
        obj = json.loads(
            line,
            object_pairs_hook=_object,
            parse_int=str,
            parse_float=str,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        return RowProblem(n, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
    except _Duplicate as exc:
        field = exc.key if len(exc.key) <= MAX_NAME and not _cell_problem(exc.key) else "(line)"
        return RowProblem(n, field, f"the field {_short(exc.key)} appears more than once")
    except _Constant as exc:
        return RowProblem(n, "(line)", f"not valid JSON: {exc}")
    except RecursionError:
        return RowProblem(n, "(line)", "not valid JSON: nested too deeply")
    if not isinstance(obj, dict):
        return RowProblem(n, "(line)", "a line must hold one JSON object")
    for key, value in obj.items():
        if len(key) > MAX_NAME or _cell_problem(key):
            return RowProblem(
                n, "(line)", f"the field name {_short(key)} is not a name (at most {MAX_NAME})"
            )
        if isinstance(value, dict | list):
            return RowProblem(
                n, key, "must be text, a number, true, false or null: a row is flat like a CSV row"
            )
        problem = _cell_problem(value) if isinstance(value, str) else None
        if problem:
            return RowProblem(n, key, problem)
    return obj


# -- CSV ----------------------------------------------------------------------------------------


def _csv_rows(text: str, name: str) -> Iterator[Row]:
    if csv.field_size_limit() < _CSV_PARSE_LIMIT:
        csv.field_size_limit(_CSV_PARSE_LIMIT)
    # A line after the last that no file holds: read as a row of its own, unless a quote is
    # still open, when it lands in that row's cell. The csv module alone would end the open
    # cell at the end of the file and say nothing of the rows it swallowed.
    end = "\x00end\x00"
    while end in text:
        end += "\x00"
    lines = io.StringIO(text, newline="")
    reader = csv.reader(itertools.chain(lines, [end]), strict=False)
    names: list[str] | None = None
    n = 0
    last_line = 0
    try:
        for cells in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if cells == [end]:
                return
            n += 1
            open_at = next((i for i, c in enumerate(cells) if end in c), None)
            if open_at is not None:
                cells = [c.replace(end, "") for c in cells]
                if _blank(cells):
                    return
                where = f"lines {first_line} to {last_line - 1}"
                if names is None:
                    raise FileUnreadable(
                        f"{name}: the header (row {n}) opens a quote it never closes "
                        f"({where}); close it and resubmit"
                    )
                field = names[open_at] if open_at < len(names) and names[open_at] else "(row)"
                yield (
                    n,
                    RowProblem(
                        n,
                        field,
                        f"a quote opened in this row is never closed: {where} of the file were "
                        "read into this cell; close the quote and resubmit those rows",
                    ),
                )
                return
            if _blank(cells):
                continue
            if names is None:
                names = _header(cells, n, name)
                continue
            yield n, _csv_row(n, names, cells)
    except csv.Error as exc:  # not expected with strict=False and the limit raised; kept clear
        raise FileUnreadable(f"{name}: row {n + 1} cannot be read as CSV ({exc})") from None


def _header(cells: list[str], n: int, name: str) -> list[str]:
    names = [c.replace("\ufeff", "").strip() for c in cells]
    if len(names) > MAX_COLUMNS:
        raise FileUnreadable(
            f"{name}: the header (row {n}) has {len(names):,} columns (at most {MAX_COLUMNS:,}); "
            "is the file separated by commas?"
        )
    seen: dict[str, int] = {}
    for i, col in enumerate(names, start=1):
        problem = _cell_problem(col)
        if len(col) > MAX_NAME or problem:
            raise FileUnreadable(
                f"{name}: column {i} of the header (row {n}) is not a column name: "
                f"{problem or f'{len(col):,} characters long (at most {MAX_NAME})'}"
            )
        if col and col in seen:
            raise FileUnreadable(
                f"{name}: the header (row {n}) names {_short(col)} in columns {seen[col]} and "
                f"{i}; give each column its own name"
            )
        seen.setdefault(col, i)
    return names


def _csv_row(n: int, names: list[str], cells: list[str]) -> dict[str, Any] | RowProblem:
    if len(cells) > len(names) and not _blank(cells[len(names) :]):
        filled = max(i for i, c in enumerate(cells, start=1) if c.strip())
        return RowProblem(
            n, "(row)", f"has {filled:,} cells but the header has {len(names):,} columns"
        )
    row: dict[str, Any] = {}
    for i, col in enumerate(names):
        value = cells[i] if i < len(cells) else None
        if not col:
            if value and value.strip():
                return RowProblem(
                    n, f"(column {i + 1})", "a value in a column whose header has no name"
                )
            continue
        problem = _cell_problem(value) if value else None
        if problem:
            return RowProblem(n, col, problem)
        row[col] = value
    return row
