"""The loader's checks of what a pack says about the registry's inputs and outputs beyond its
record types and lists: the national publication formats (``formats/``) a source may send,
and what is published of a listed person (``publication.yaml``)."""

from __future__ import annotations

import re
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
    for col in fmt.columns:
        where = f"{e}, column {col.header[0]!r}"
        if not col.header or not all(h.strip() for h in col.header):
            raise PolicyError(f, where, "a column needs its header", "write the header")
        if col.to is None:
            continue
        if col.to not in targets or col.to in ("record_type", "source_record_id"):
            raise PolicyError(
                f, where, f"{col.to!r} is no column of {fmt.record_type}", "map to one of it"
            )
        if col.to in seen and (col.when is None or col.to in unconditional):
            raise PolicyError(
                f, where, f"{col.to!r} is mapped twice", "map it once, or each under a when"
            )
        seen.add(col.to)
        if col.when is None:
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
        if k not in seen:
            raise PolicyError(f, e, f"default {k!r} is for no column", "name a mapped column")
        spec = rt.fields.get(k)
        allowed = (
            ["organisation", "person"]
            if k == "subject_kind"
            else (rt.statuses if k == "status" else (spec.values if spec else None))
        )
        if allowed is not None and v not in allowed:
            raise PolicyError(f, e, f"default {k}: {v!r}", f"use one of {allowed}")
    for k in fmt.id_from:
        if k not in seen and k not in fmt.constants:
            raise PolicyError(f, e, f"id_from names {k!r}, which no column fills", "name one")


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
