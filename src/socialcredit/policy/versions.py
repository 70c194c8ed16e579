"""The pack's rules over time: which entries each version changes, and what changed between two.

A version is named by the day it takes effect (``versions/<YYYY-MM-DD>/``); the rules outside
``versions/`` are ``base``. The rules *in force on a day* are the base with every version that
took effect by then laid over it, entry by entry. ``diff`` compares the rules of two versions or
two days key by key, so that a reader sees exactly which figures a new instrument changed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..errors import InvalidInput
from .model import BASE_VERSION, Pack


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
