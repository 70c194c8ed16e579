"""Read agency files (CSV, JSON Lines) into numbered rows, never dropping one silently.

A row that cannot be parsed (bad JSON, more cells than the header) comes out as a ``RowProblem``
carrying its row number, so the ingest report can name it. A file that cannot be read at all
(missing, unknown format, undecodable) raises ``FileUnreadable``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput


class FileUnreadable(InvalidInput):
    code = "file_unreadable"


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    field: str
    reason: str


Row = tuple[int, dict[str, Any] | RowProblem]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM); agencies' GB18030/GBK exports are read as such."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileUnreadable(
            f"{path}: neither UTF-8 nor GB18030 text; save the file as UTF-8 and resubmit"
        ) from None


def read_rows(path: Path | str, fmt: str | None = None) -> Iterator[Row]:
    p = Path(path)
    kind = fmt or FORMATS.get(p.suffix.lower())
    if kind is None:
        raise FileUnreadable(f"{p}: unknown file type {p.suffix!r}; use .csv or .jsonl")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FileUnreadable(f"{p}: cannot be read ({exc.strerror})") from None
    text = _decode(data, p)
    return read_text(text, kind)


def read_upload(data: bytes, file_name: str) -> Iterator[Row]:
    """Rows of a file sent over the web, its format from its name as for a file on disk."""
    p = Path(file_name or "upload")
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise FileUnreadable(f"{p.name}: unknown file type {p.suffix!r}; use .csv or .jsonl")
    return read_text(_decode(data, p), kind)


def read_text(text: str, kind: str) -> Iterator[Row]:
    if kind == "csv":
        return _csv_rows(text)
    return _jsonl_rows(text)


def _jsonl_rows(text: str) -> Iterator[Row]:
    for n, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, RowProblem(n, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield n, RowProblem(n, "(line)", "a line must hold one JSON object")
            continue
        yield n, obj


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        return
    dupes = {f for f in reader.fieldnames if reader.fieldnames.count(f) > 1}
    if dupes:
        raise FileUnreadable(f"the header names {sorted(dupes)} more than once")
    for rec in reader:
        n = reader.line_num  # row number as a spreadsheet shows it (header = 1)
        if None in rec:
            yield n, RowProblem(n, "(row)", "more cells than the header has columns")
            continue
        yield n, {k: v for k, v in rec.items() if k is not None}
