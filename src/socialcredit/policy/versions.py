"""The pack's rules over time: loading a version, which entries each version changes, and what
changed between two.

A version is named by the day it takes effect (``versions/<YYYY-MM-DD>/``); the rules outside
``versions/`` are ``base``. The rules *in force on a day* are the base with every version that
took effect by then laid over it, entry by entry. ``diff`` compares the rules of two versions or
two days key by key, so that a reader sees exactly which figures a new instrument changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, PolicyError
from .model import BASE_VERSION, Basis, Pack, PackVersion, Publicity, RecordType, VersionFile


def in_force(pack: Pack, when: str) -> dict[str, Any]:
    """The rules in force at ``when``: ``base``, a version's name, or a day (YYYY-MM-DD);
    entries by "record_types/<id>", as plain data."""
    if when == BASE_VERSION:
        day = None
    else:
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise InvalidInput(
                f"{when!r} is neither base, a version's name nor a day (YYYY-MM-DD); "
                f"versions: {', '.join(v.name for v in pack.versions) or 'none'}"
            ) from None
    rules = {f"record_types/{k}": v.model_dump(mode="json") for k, v in pack.record_types.items()}
    for v in pack.versions:
        if day is not None and v.effective_from <= day:
            rules.update(
                {
                    f"record_types/{k}": rt.model_dump(mode="json")
                    for k, rt in v.record_types.items()
                }
            )
    return rules


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{path}.{k}" if path else str(k))
        return out or {path: {}}
    return {path: value}


def diff(pack: Pack, a: str, b: str) -> list[dict[str, Any]]:
    """Every entry whose rules differ between ``a`` and ``b``, key by key, with the basis of
    the versions that took effect in between."""
    ra, rb = in_force(pack, a), in_force(pack, b)
    out = []
    for entry in sorted(set(ra) | set(rb)):
        fa, fb = _flat(ra.get(entry, {})), _flat(rb.get(entry, {}))
        changes = [
            {"key": k, "from": fa.get(k), "to": fb.get(k)}
            for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k)
        ]
        if changes:
            out.append({"entry": entry, "changes": changes})
    return out


def between(pack: Pack, a: str, b: str) -> list[dict[str, Any]]:
    """The versions that take effect after ``a`` and by ``b`` (what ``diff`` shows)."""
    lo = date.min if a == BASE_VERSION else date.fromisoformat(a)
    hi = date.min if b == BASE_VERSION else date.fromisoformat(b)
    lo, hi = min(lo, hi), max(lo, hi)
    return [
        {"version": v.name, "legal_basis": pack.cite(v.legal_basis), "note": v.note}
        for v in pack.versions
        if lo < v.effective_from <= hi
    ]


def listing(pack: Pack) -> list[dict[str, Any]]:
    """The base and each version: its effective day, the entries it changes, its basis."""
    return [
        {"version": BASE_VERSION, "effective_from": None, "changes": [], "legal_basis": []},
        *(
            {
                "version": v.name,
                "effective_from": v.effective_from.isoformat(),
                "changes": [f"record_types/{k}" for k in v.record_types],
                "legal_basis": pack.cite(v.legal_basis),
                "note": v.note,
            }
            for v in pack.versions
        ),
    ]


#: what a version may change in a record type (intake still validates rows by the pack's
#: fields and statuses, so a version may not change them)
_VERSIONED = frozenset({"publicity", "retention", "repair", "note"})


def load_version(pack: Pack, files: dict[str, str], root: Path, vdir: Path) -> PackVersion:
    """One ``versions/<YYYY-MM-DD>/`` directory: its version.yaml and, per record type it
    changes, the keys it changes (``id`` and any of publicity, retention, repair), laid over
    the pack's entry; checked as the whole pack is, with those entries in place."""
    from .load import BASIS_FIX, _check, _entries, _parse, _read_yaml, _rel

    rel = _rel(vdir / "version.yaml", root)
    if not (vdir / "version.yaml").is_file():
        raise PolicyError(rel, f"version {vdir.name}", "missing", "add version.yaml")
    vf = _parse(VersionFile, _read_yaml(vdir / "version.yaml", root), rel, f"version {vdir.name}")
    if vdir.name != vf.effective_from.isoformat():
        raise PolicyError(
            rel,
            f"version {vdir.name}",
            f"effective_from {vf.effective_from} differs from the directory's name",
            "name the directory by the date the version takes effect (YYYY-MM-DD)",
        )
    for other in ("lists", "measures", "grading", "sources", "formats"):
        if (vdir / other).exists():
            raise PolicyError(
                _rel(vdir / other, root),
                f"version {vdir.name}",
                f"a version changes record types only (not yet {other})",
                "change the entry in the pack itself, or leave it out of the version",
            )
    vfiles = dict(files)
    rts: dict[str, RecordType] = {}
    for p in sorted((vdir / "record_types").glob("*.yaml")):
        for item in _entries(p, root):
            rid = str(item.get("id"))
            where, entry = _rel(p, root), f"record type '{rid}'"
            base = pack.record_types.get(rid)
            if base is None:
                raise PolicyError(where, entry, "is not in the pack", "version existing types")
            keys = sorted(set(item) - _VERSIONED - {"id"})
            if keys:
                raise PolicyError(
                    where,
                    entry,
                    f"a version changes publicity, retention and repair, not {keys}",
                    "write only the keys the new instrument changes; the rest is the pack's",
                )
            # the keys the version names replace the pack's; the others are the pack's own
            merged = {**base.model_dump(mode="json", exclude_none=True), **item}
            rts[rid] = _parse(RecordType, merged, where, entry)
            vfiles[f"record_types/{rid}"] = where
    version = PackVersion(
        name=vdir.name,
        effective_from=vf.effective_from,
        legal_basis=vf.legal_basis,
        record_types=rts,
        note=vf.note,
    )
    _check(pack.model_copy(update={"record_types": {**pack.record_types, **rts}}), vfiles, root)
    if not vf.legal_basis or any(b.cite not in pack.citations for b in vf.legal_basis):
        raise PolicyError(rel, f"version {vdir.name}", "legal_basis must cite", BASIS_FIX)
    return version


def publicity_term(pub: Publicity, fields: Mapping[str, Any]) -> str:
    """The publicity duration a rule gives a record with these field values ("3m", "0d")."""
    text = pub.default
    for fname, table in pub.by_field.items():
        v = fields.get(fname)
        if v in table:
            text = table[v]
    return text


def governing_publicity(
    pack: Pack,
    record_type: str,
    decided_on: date,
    fields: Mapping[str, Any],
    ends: Callable[[str, date], date],
) -> tuple[date, str, Basis, bool]:
    """The day a record's publicity ends, by the rules in force on its decision date unless a
    later version is lighter for the subject (Administrative Penalty Law Art. 37, 从旧兼从轻):
    the lighter rule applies from the day it takes effect. ``ends(term, decided_on)`` counts a
    term from the decision date (in the pack's calendar and zone). Returns the day, the name of
    the version that governed, its basis, and whether it was the lighter later one."""
    rt, version = pack.record_type_at(record_type, decided_on)
    until = ends(publicity_term(rt.publicity, fields), decided_on)
    basis: Basis = rt.publicity.basis
    lenient = False
    for v in pack.later_versions(record_type, decided_on):
        term = publicity_term(v.record_types[record_type].publicity, fields)
        lighter = max(ends(term, decided_on), v.effective_from)
        if lighter < until:
            until, version, basis, lenient = lighter, v.name, v.legal_basis, True
    return until, version, basis, lenient


def governing_retention(
    pack: Pack,
    record_type: str,
    decided_on: date,
    after: Callable[[str], datetime],
) -> tuple[datetime, str]:
    """The moment a natural person's data in a record may be purged: its retention (counted
    by ``after(term)`` from the end of its publicity) by the rules in force on its decision
    date, unless a later version keeps it for less, which applies from the day it takes
    effect (a shorter retention is lighter for the subject, Art. 37 as for publicity).
    Returns the moment and the name of the version that governed."""
    rt, version = pack.record_type_at(record_type, decided_on)
    ends = after(rt.retention.after_publicity)
    for v in pack.later_versions(record_type, decided_on):
        later = after(v.record_types[record_type].retention.after_publicity)
        effective = datetime.combine(v.effective_from, datetime.min.time(), tzinfo=later.tzinfo)
        lighter = max(later, effective)
        if lighter < ends:
            ends, version = lighter, v.name
    return ends, version


def without_version(pack: Pack, name: str) -> Pack:
    """The pack as it was before version ``name`` was added to it."""
    if pack.version(name) is None:
        raise InvalidInput(
            f"no version {name!r} in pack {pack.meta.id} "
            f"(versions: {', '.join(v.name for v in pack.versions) or 'none'})"
        )
    return pack.model_copy(update={"versions": [v for v in pack.versions if v.name != name]})
