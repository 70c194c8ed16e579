"""Files in the national publication formats, read through the pack's mappings (``formats/``).

A source sends its file as it publishes it: a CSV (UTF-8 or GBK) or an Excel workbook, the
header somewhere in its first rows (titles and notes above it are passed over), the headers
spelt with spaces, full-width brackets or line breaks. The format's mapping (pack data, one
YAML file per format) names each column and where its value goes; this module turns each row
into a row of the interchange format, which ingest then validates like any other, and names a
problem by the source's own column and the row number the source sees (Excel's for a
workbook).

Nothing here knows a format: a new variant is a new YAML file.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..policy.model import FormatColumn, FormatSpec, Pack
from .readers import FileUnreadable, RowProblem, decode

#: How far down a file its header may stand (titles, notes and merged cells above it).
HEADER_SEARCH = 20

_SPACE = re.compile(r"\s+")
_DATES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日.*$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


#: a note a platform adds after a header; only these are dropped (a unit in brackets, as in
#: 罚款金额（万元）, is part of the header: dropping it could read yuan as 万元)
_NOTE = re.compile(r"\((?:必填|选填|可选|非必填|必录|选录|注|说明|备注)[^()]*\)$")


def _spellings(text: Any) -> set[str]:
    """A file's header and the same without a trailing note in brackets (罚款金额（万元）（必填）
    is also 罚款金额（万元）, 处罚决定日期（必填） also 处罚决定日期)."""
    key = header_key(text)
    out = {key}
    while _NOTE.search(key):
        key = _NOTE.sub("", key)
        if key:
            out.add(key)
    return out


def header_key(text: Any) -> str:
    """A header as compared: full-width folded (NFKC), no spaces or line breaks, and a note
    in brackets at its end kept (``罚款金额（万元）`` = ``罚款金额 (万元)``)."""
    s = unicodedata.normalize("NFKC", str(text or ""))
    return _SPACE.sub("", s).strip("*＊:：")


def read_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's rows as cells of text, each with the row number the source sees."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        yield from _xlsx(path)
        return
    if suffix in (".json", ".jsonl", ".ndjson"):
        yield from _json(path)
        return
    if suffix != ".csv":
        raise FileUnreadable(
            f"{path.name}: a national format is read from .csv, .xlsx, .json or .jsonl"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileUnreadable(f"{path}: cannot be read ({exc.strerror})") from None
    import csv
    import io

    text = decode(data, path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    n = 0
    try:
        for n, cells in enumerate(reader, start=1):
            yield n, [c.strip() for c in cells]
    except csv.Error as exc:
        raise FileUnreadable(
            f"{path.name}: not a readable CSV table at row {n + 1} ({exc})"
        ) from None


def _json(path: Path) -> Iterator[tuple[int, list[str]]]:
    """A JSON array of objects (or an object holding one, as ``{"data": [...]}``), or JSON
    Lines: a header row of the keys, then each object's values in that order. Row numbers are
    the objects' (JSON Lines: their lines)."""
    import json

    try:
        text = decode(path.read_bytes(), path.name)
    except OSError as exc:
        raise FileUnreadable(f"{path}: cannot be read ({exc.strerror})") from None
    objects: list[tuple[int, Any]] = []
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(text)
            if isinstance(doc, dict):
                doc = next((v for v in doc.values() if isinstance(v, list)), [doc])
            if not isinstance(doc, list):
                raise FileUnreadable(f"{path.name}: a JSON file of records is an array of objects")
            objects = list(enumerate(doc, start=1))
        else:
            for n, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    objects.append((n, json.loads(line)))
    except json.JSONDecodeError as exc:
        raise FileUnreadable(f"{path.name}: not JSON ({exc.msg}, line {exc.lineno})") from None
    keys: list[str] = []
    for _n, obj in objects:
        if isinstance(obj, dict):
            keys += [k for k in obj if k not in keys]
    yield 0, keys
    for n, obj in objects:
        if not isinstance(obj, dict):
            yield n, []
            continue
        yield n, [_cell_text(obj.get(k)) for k in keys]


def _xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        # openpyxl raises many kinds for a damaged or foreign file: each is the same answer
        raise FileUnreadable(f"{path.name}: not a readable Excel workbook ({exc})") from None
    try:
        sheet = wb.worksheets[0]
        for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield n, [_cell_text(v) for v in row]
    finally:
        wb.close()


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a number stored by Excel as 12.0
    return str(v).strip()


Columns = list[tuple[int, FormatColumn]]


def _positions(spec: FormatSpec, header: list[str]) -> Columns | None:
    """Which cell of the header row each of the format's columns is in; None if a required
    column is missing."""
    keys = [_spellings(h) for h in header]
    found: Columns = []
    for col in spec.columns:
        wanted = {header_key(h) for h in col.header}
        at = next((i for i, k in enumerate(keys) if k & wanted), None)
        if at is None:
            if col.required:
                return None
            continue
        found.append((at, col))
    return found


def find_header(spec: FormatSpec, rows: list[tuple[int, list[str]]]) -> tuple[int, Columns] | None:
    """The header row (its index among ``rows``) and the columns it holds, or None."""
    for i, (_n, cells) in enumerate(rows[:HEADER_SEARCH]):
        found = _positions(spec, cells)
        if found:
            return i, found
    return None


def sources_of(pack: Pack, spec: FormatSpec) -> list[str]:
    """The sources that may send a file in this format: those it names, else every source
    competent for its record type."""
    return spec.sources or [
        sid for sid, src in pack.sources.items() if spec.record_type in src.competent_for
    ]


def choose(pack: Pack, path: Path) -> FormatSpec:
    """``--format auto``: the format whose required headers the file has; where several have
    them (a court's files share 案号, 执行法院, 被执行人姓名/名称), the one that reads the most of
    the file's columns, and a tie is for the source to settle with ``--format``."""
    head = list(_first_rows(path))
    fits: list[tuple[int, FormatSpec]] = []
    for spec in pack.formats.values():
        found = find_header(spec, head)
        if found is not None:
            fits.append((len({at for at, _col in found[1]}), spec))
    if not fits:
        raise InvalidInput(
            f"{path.name}: no format of the pack has its headers in this file's first "
            f"{HEADER_SEARCH} rows (known: {', '.join(sorted(pack.formats)) or 'none'})"
        )
    fits.sort(key=lambda f: -f[0])
    best = [spec for n, spec in fits if n == fits[0][0]]
    if len(best) > 1:
        raise InvalidInput(
            f"{path.name}: the headers fit several formats equally "
            f"({', '.join(m.id for m in best)}); name one with --format"
        )
    return best[0]


def _first_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    for k, row in enumerate(read_table(path)):
        if k >= HEADER_SEARCH:
            return
        yield row


def convert(
    col: FormatColumn, raw: str, order: list[str] | None = None
) -> tuple[str | None, str | None]:
    """(value, problem) for one cell under its column's rules; ``order``: the field's values,
    lightest first, for a cell that lists several."""
    value = raw.strip()
    if not value:
        return "", None
    if col.pattern:
        m = re.search(col.pattern, unicodedata.normalize("NFKC", value))
        if m is None:
            if col.unmatched == "skip":
                return "", None  # the other entry for this column takes it
            return None, "does not have the expected form"
        value = m.group(1) if m.groups() else m.group(0)
    if col.values is not None:
        found = _values_in(col, value)
        if not found:
            if col.unknown == "empty":
                return "", None
            if col.contains:
                return None, f"{value!r} holds none of {', '.join(col.values)}"
            return None, f"{value!r} is not one of {', '.join(col.values)}"
        order = order or list(dict.fromkeys(col.values.values()))
        value = max(found, key=lambda v: order.index(v) if v in order else -1)
    if col.date_of_year:
        return _date_of_year(col.date_of_year, value)
    if col.date:
        d = parse_date(value)
        if d is None:
            return None, f"{value!r} is not a date (e.g. 2026-03-01, 2026/3/1, 2026年3月1日)"
        value = d.isoformat()
    if col.scale is not None:
        try:
            amount = Decimal(unicodedata.normalize("NFKC", value).replace(",", ""))
        except InvalidOperation:
            return None, f"{value!r} is not a number"
        scaled = amount * Decimal(col.scale)
        value = format(scaled.normalize(), "f") if scaled == scaled.to_integral() else str(scaled)
    return value, None


def _date_of_year(rule: str, value: str) -> tuple[str | None, str | None]:
    """``+1-04-01`` of the year in ``value`` (2024, 2024年度): 2025-04-01."""
    m = re.search(r"(?<!\d)(\d{4})(?!\d)", unicodedata.normalize("NFKC", value))
    if m is None:
        return None, f"{value!r} is not a year (e.g. 2024, 2024年度)"
    sign, rest = rule[0], rule[1:]
    years, month, day = (int(x) for x in rest.split("-"))
    try:
        d = date(int(m.group(1)) + (years if sign == "+" else -years), month, day)
    except ValueError:
        return None, f"{value!r} is not a year (e.g. 2024, 2024年度)"
    return d.isoformat(), None


def _values_in(col: FormatColumn, value: str) -> list[str]:
    """The values a cell names: the whole cell as one published value, or (with ``split``)
    published values one after another with the separators between them and nothing else.
    Published values may hold a separator themselves (以伪造证据、暴力、威胁等方法…), so they are
    found longest first rather than by splitting."""
    assert col.values is not None
    mapped = col.values.get(value) or col.values.get(header_key(value))
    if mapped is not None:
        return [mapped]
    if col.contains:
        key = header_key(value)
        for published, to in col.values.items():
            if header_key(published) in key:
                return [to]
    if not col.split:
        return []
    rest, found = value, []
    for published in sorted(col.values, key=len, reverse=True):
        if published in rest:
            found.append(col.values[published])
            rest = rest.replace(published, " ")
    leftover = re.sub(f"[\\s{re.escape(col.split)}]", "", rest)
    return found if found and not leftover else []


def template_fields(template: str) -> list[str]:
    """The values a ``compose`` template is written from."""
    return [f for _lit, f, _spec, _conv in string.Formatter().parse(template) if f]


def compose(template: str, values: dict[str, Any]) -> str:
    """A ``compose`` template filled from a row's values; empty when one of them is missing (the
    row is then reported for the composed column like any row that lacks it)."""
    wanted = template_fields(template)
    if not all(values.get(f) for f in wanted):
        return ""
    return template.format_map({f: values[f] for f in wanted})


def parse_date(text: str) -> date | None:
    s = unicodedata.normalize("NFKC", text).strip()
    for pat in _DATES:
        m = pat.match(s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


class Mapped:
    """The rows of a file in a national format, as interchange rows, with the way back from an
    interchange field to the source's column for the report."""

    def __init__(self, spec: FormatSpec, path: Path, pack: Pack) -> None:
        self.spec = spec
        self.path = path
        self.column_of: dict[str, str] = {}  # filled from the file's header when it is read
        self.header_of: dict[int, str] = {}
        fields = pack.record_types[spec.record_type].fields
        self.orders = {k: list(f.values) for k, f in fields.items() if f.values}

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        table = read_table(self.path)
        head = []
        for row in table:
            head.append(row)
            if len(head) >= HEADER_SEARCH:
                break
        found = find_header(self.spec, head)
        if found is None:
            missing = [c.header[0] for c in self.spec.columns if c.required]
            raise InvalidInput(
                f"{self.path.name}: no header of format {self.spec.id} in the first "
                f"{HEADER_SEARCH} rows (it needs {', '.join(missing)})"
            )
        at, cols = found
        # problems are named by the file's own header text, as the source wrote it
        header_cells = head[at][1]
        self.header_of = {id(col): header_cells[i].strip() for i, col in cols}
        for i, col in cols:
            if col.to:
                self.column_of.setdefault(col.to, header_cells[i].strip())

        def rest() -> Iterator[tuple[int, list[str]]]:
            yield from head[at + 1 :]
            yield from table

        for n, cells in rest():
            if not any(c.strip() for c in cells):
                continue  # an empty row (or the end of a sheet's formatting)
            yield n, self._row(n, cells, cols)

    def read_back(self, header: list[str], cells: list[str]) -> dict[str, Any] | RowProblem:
        """One row of cells under ``header`` as ingest would read it (an export checks that
        what it writes reads back to the record it came from)."""
        cols = _positions(self.spec, header)
        if cols is None:
            raise InvalidInput(f"the header lacks a required column of {self.spec.id}")
        self.header_of = {id(col): header[i] for i, col in cols}
        row: dict[str, Any] | RowProblem = self._row(0, cells, cols)
        return row

    def _row(self, n: int, cells: list[str], cols: Columns) -> Any:
        out: dict[str, Any] = {"record_type": self.spec.record_type, **self.spec.constants}
        # columns read under a condition come after those that set what they depend on, and a
        # date made from a year after the columns that may carry the date itself
        ordered = sorted(
            cols, key=lambda item: (item[1].when is not None, item[1].date_of_year is not None)
        )
        defaulted = False
        for i, col in ordered:
            if col.when and not defaulted:
                for k, v in self.spec.defaults.items():
                    if not out.get(k):
                        out[k] = v
                defaulted = True
            if col.when and any(out.get(k) != v for k, v in col.when.items()):
                continue
            raw = cells[i] if i < len(cells) else ""
            value, problem = convert(col, raw, self.orders.get(col.to or ""))
            if problem is not None:
                return RowProblem(n, self.header_of.get(id(col), col.header[0]), problem)
            if not value:
                continue
            if col.to is not None and not (col.date_of_year and out.get(col.to)):
                out[col.to] = value
            out.update(col.sets or {})
        for k, v in self.spec.defaults.items():
            if not out.get(k):
                out[k] = v
        for k, template in self.spec.compose.items():
            if not out.get(k):
                out[k] = compose(template, out)
        parts = [str(out.get(k, "")) for k in self.spec.id_from]
        if not all(parts):
            named = [self.source_column(k) for k in self.spec.id_from if not out.get(k)]
            return RowProblem(n, "/".join(named), "missing: it identifies the record")
        out["source_record_id"] = "|".join(parts)
        return out

    def source_column(self, field: str) -> str:
        """The source's name for an interchange field, for the report: the file's header, or
        the format's name for it when the file lacks the column."""
        if field in self.column_of:
            return self.column_of[field]
        named = next((c.header[0] for c in self.spec.columns if c.to == field), None)
        return named or field
