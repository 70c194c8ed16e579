"""Public records written in a national publication format (``socialcredit export --format``).

The registry publishes in the formats it reads: the public records of the format's record type
at a moment (exactly those ``opendata.public_records`` gives: records within their publicity,
a person only while on an active black list, and then masked), one row each, under the format's
first spelling of each header, with each value written the way the format publishes it: a
mapped value by the first published wording that maps to it, an amount scaled back (yuan to
万元, exactly), dates as ``YYYY-MM-DD``.

**Nothing is written changed.** Each organisation's row is read back through the format's own
mapping, as ``ingest --format`` would read it, and written only when it gives the record it
came from: the same status, dates, references, authority and fields (and the legal basis, when
the format has a column for it: a format without one sets its own). A record the format cannot
carry (a penalty's severity when the standard has no such column, a status it has no word for)
is left out and counted by what it would lose. So a file exported and ingested into an empty
registry gives the same public records. A person's row is published masked and cannot be
read back; it is written as published and counted apart.

The file is UTF-8 with a byte-order mark, every cell through ``opendata.spreadsheet_cell``
(a cell a spreadsheet would run as a formula is neutralised; such a row then does not read back
and is left out, never published altered).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnknownEntity
from ..ingest.formats import Mapped
from ..ingest.readers import RowProblem
from ..ingest.validate import COMMON, HINTS
from ..policy.model import FormatColumn, FormatSpec
from .opendata import public_records, spreadsheet_cell, write_csv

if TYPE_CHECKING:
    from ..bootstrap import Registry

#: the record's values compared with what its row reads back as
_COMPARED = ("subject_id", "authority", "decision_ref", "decided_on", "status")


@dataclass
class Exported:
    format: str
    path: Path
    written: int = 0
    persons_masked: int = 0
    #: records left out, by what the format could not carry (a field, or "status: revoked")
    left_out: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "file": str(self.path),
            "written": self.written,
            "persons_masked": self.persons_masked,
            "left_out": sum(self.left_out.values()),
            "left_out_by_reason": dict(self.left_out.most_common()),
        }


def header(spec: FormatSpec) -> list[str]:
    """The file's header: each published column once, by its first spelling, in order."""
    return list(dict.fromkeys(col.header[0] for col in spec.columns))


def published(col: FormatColumn, value: str) -> str:
    """A record's value as the format publishes it."""
    if col.values:
        return next((k for k, v in col.values.items() if v == value), value)
    if col.scale is not None:
        amount = Decimal(value) / Decimal(col.scale)
        return format(amount.normalize(), "f")
    return value


def _values(rec: dict[str, Any]) -> dict[str, str]:
    out = {k: str(v) for k, v in rec["fields"].items() if v not in (None, "")}
    out.update(
        subject_id=rec["subject"],
        subject_name=rec["name"],
        subject_kind=rec["subject_kind"],
        authority=rec["authority"],
        decision_ref=rec["decision_ref"],
        decided_on=rec["decided_on"],
        legal_basis=rec["legal_basis"],
        status=rec["status"],
    )
    return out


def row_of(spec: FormatSpec, rec: dict[str, Any]) -> dict[str, str]:
    """The cells of one public record under ``header(spec)``."""
    values = _values(rec)
    out = dict.fromkeys(header(spec), "")
    for col in spec.columns:
        h = col.header[0]
        if out[h] or col.to is None or col.date_of_year:
            continue  # a cell is filled once; a date made from a year is not written back
        if col.when and any(values.get(k) != v for k, v in col.when.items()):
            continue
        v = values.get(col.to)
        if not v or (col.pattern and not re.search(col.pattern, v)):
            continue
        out[h] = published(col, v)
    return out


def _lost(spec: FormatSpec, rec: dict[str, Any], back: dict[str, Any] | RowProblem) -> list[str]:
    """What the record would lose through this row (empty: it reads back whole)."""
    if isinstance(back, RowProblem):
        return [back.field]
    mine = _values(rec)
    lost = [k for k in _COMPARED if str(back.get(k, "")) != mine.get(k, "")]
    if "legal_basis" not in spec.constants and back.get("legal_basis") != mine["legal_basis"]:
        lost.append("legal_basis")
    theirs = {k: str(v) for k, v in back.items() if k not in COMMON and k not in HINTS}
    theirs.pop("record_type", None)
    fields = {k: str(v) for k, v in rec["fields"].items() if v not in (None, "")}
    lost += sorted(k for k in fields.keys() | theirs.keys() if fields.get(k) != theirs.get(k))
    if lost == ["status"]:
        return [f"status: {rec['status']}"]
    return lost


def export(reg: Registry, name: str, out_dir: Path, at: datetime | None = None) -> Exported:
    """Write ``<out_dir>/<name>.csv``: the public records of the format's record type at ``at``."""
    spec = reg.pack.formats.get(name)
    if spec is None:
        raise UnknownEntity(
            f"unknown format {name!r} (known: {', '.join(sorted(reg.pack.formats)) or 'none'})"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{spec.id}.csv"
    result = Exported(spec.id, path)
    cols = header(spec)
    reader = Mapped(spec, path, reg.pack)

    def rows() -> Any:
        for rec in public_records(reg, at, record_type=spec.record_type):
            row = row_of(spec, rec)
            if rec["subject_kind"] == "person":
                result.persons_masked += 1
                yield row
                continue
            cells = [spreadsheet_cell(row[h]) for h in cols]
            lost = _lost(spec, rec, reader.read_back(cols, cells))
            if lost:
                result.left_out[", ".join(lost)] += 1
                continue
            result.written += 1
            yield row

    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        write_csv(rows(), fh, fieldnames=cols)
    tmp.replace(path)
    return result
