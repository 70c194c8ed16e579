"""The loader's checks of what a pack says about the registry's inputs and outputs beyond its
record types and lists: the national publication formats (``formats/``) a source may send,
and what is published of a listed person (``publication.yaml``)."""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import PolicyError
from .model import FormatSpec, Pack


def check_format(pack: Pack, fmt: FormatSpec, f: str, basis: Any) -> None:
    """A format maps to one record type's columns and values, from sources competent for it."""
    from ..ingest.validate import COMMON

    e = f"format '{fmt.id}'"
    basis(f, e, fmt.legal_basis)
    rt = pack.record_types.get(fmt.record_type)
    if rt is None:
        raise PolicyError(f, e, f"record type {fmt.record_type!r} is unknown", "name one")
    for src in fmt.sources:
        if src not in pack.sources or fmt.record_type not in pack.sources[src].competent_for:
            raise PolicyError(
                f, e, f"source {src!r} is not competent for {fmt.record_type}", "name one that is"
            )
    targets = set(COMMON) | set(rt.fields)
    seen: set[str] = set()
    unconditional: set[str] = set()
    set_by: set[str] = set()  # columns a cell's presence sets (``sets``)
    filled: set[str] = set()  # columns a cell fills (not only a date made from a year)
    for col in fmt.columns:
        where = f"{e}, column {col.header[0]!r}"
        if not col.header or not all(h.strip() for h in col.header):
            raise PolicyError(f, where, "a column needs its header", "write the header")
        for k, v in (col.sets or {}).items():
            _check_value(pack, fmt, f, where, k, v, targets, "sets")
            set_by.add(k)
        if col.to is None:
            continue
        if col.to not in targets or col.to in ("record_type", "source_record_id"):
            raise PolicyError(
                f, where, f"{col.to!r} is no column of {fmt.record_type}", "map to one of it"
            )
        if (
            col.to in filled
            and col.date_of_year is None  # fills its column only when nothing else did
            and (col.when is None or col.to in unconditional)
        ):
            raise PolicyError(
                f, where, f"{col.to!r} is mapped twice", "map it once, or each under a when"
            )
        seen.add(col.to)
        if col.date_of_year is None:
            filled.add(col.to)
        if col.when is None and col.date_of_year is None:
            unconditional.add(col.to)
        spec = rt.fields.get(col.to)
        allowed = rt.statuses if col.to == "status" else (spec.values if spec else None)
        for published, value in (col.values or {}).items():
            if allowed is not None and value not in allowed:
                raise PolicyError(
                    f, where, f"{published!r} maps to {value!r}", f"use one of {allowed}"
                )
        if col.scale is not None:
            try:
                Decimal(col.scale)
            except InvalidOperation:
                raise PolicyError(
                    f, where, f"scale {col.scale!r} is no number", "e.g. 10000"
                ) from None
        if col.contains and col.values is None:
            raise PolicyError(f, where, "contains without values", "list the published values")
        if col.date_of_year is not None and not (
            col.to == "decided_on" or (spec is not None and spec.type == "date")
        ):
            raise PolicyError(f, where, f"date_of_year fills {col.to!r}", "map it to a date")
        if col.pattern is not None:
            try:
                re.compile(col.pattern)
            except re.error as exc:
                raise PolicyError(f, where, f"pattern does not compile: {exc}", "fix it") from None
    for k, v in fmt.constants.items():
        if k not in targets or k in seen:
            raise PolicyError(f, e, f"constant {k!r} is no free column", "set a column once")
        spec = rt.fields.get(k)
        allowed = rt.statuses if k == "status" else (spec.values if spec else None)
        if allowed is not None and v not in allowed:
            raise PolicyError(f, e, f"constant {k}: {v!r}", f"use one of {allowed}")
    for k, v in fmt.defaults.items():
        if k not in seen and k not in set_by:
            raise PolicyError(f, e, f"default {k!r} is for no column", "name a mapped column")
        spec = rt.fields.get(k)
        allowed = (
            ["organisation", "person"]
            if k == "subject_kind"
            else (rt.statuses if k == "status" else (spec.values if spec else None))
        )
        if allowed is not None and v not in allowed:
            raise PolicyError(f, e, f"default {k}: {v!r}", f"use one of {allowed}")
    for k, template in fmt.compose.items():
        if k not in targets:
            raise PolicyError(f, e, f"compose {k!r} is no column of {fmt.record_type}", "name one")
        try:
            named = [n for _lit, n, _spec, _conv in string.Formatter().parse(template) if n]
        except ValueError as exc:
            raise PolicyError(f, e, f"compose {k}: {exc}", "write {column} for a value") from None
        for name in named:
            if name not in seen and name not in fmt.constants:
                raise PolicyError(
                    f, e, f"compose {k} uses {name!r}, which no column fills", "name one"
                )
    headers = {h for col in fmt.columns for h in col.header}
    for k in fmt.example:
        if k not in headers:
            raise PolicyError(f, e, f"example column {k!r} is no header of the format", "use one")
    for k in fmt.id_from:
        if k not in seen and k not in fmt.constants and k not in fmt.compose:
            raise PolicyError(f, e, f"id_from names {k!r}, which no column fills", "name one")


def _check_value(
    pack: Pack, fmt: FormatSpec, f: str, where: str, k: str, v: str, targets: set[str], what: str
) -> None:
    """A value a format writes into column ``k`` is one the column may hold."""
    rt = pack.record_types[fmt.record_type]
    if k not in targets:
        raise PolicyError(f, where, f"{what} {k!r} is no column of {fmt.record_type}", "name one")
    spec = rt.fields.get(k)
    allowed = rt.statuses if k == "status" else (spec.values if spec else None)
    if allowed is not None and v not in allowed:
        raise PolicyError(f, where, f"{what} {k}: {v!r}", f"use one of {allowed}")


def check_person_records(pack: Pack) -> None:
    """The record types published of a person exist and are about persons; the withheld
    fields are theirs."""
    shown = pack.publication.person_records
    where = ("publication.yaml", "person_records")
    for rt_id in shown.record_types:
        rt = pack.record_types.get(rt_id)
        if rt is None:
            raise PolicyError(
                *where, f"record type {rt_id!r} is unknown", "name a record type of this pack"
            )
        if "person" not in rt.subject_kinds:
            raise PolicyError(
                *where,
                f"{rt_id} is not a record type of persons",
                "name a record type whose subject_kinds include person",
            )
    known = {f for t in shown.record_types for f in pack.record_types[t].fields}
    for fname in shown.withheld_fields:
        if fname not in known:
            raise PolicyError(
                *where,
                f"withheld field {fname!r} is no field of {', '.join(shown.record_types)}",
                "name a field of the published record types",
            )
