"""Identifiers of subjects: the Unified Social Credit Code and the resident identity number.

Pure functions: validate with a reason, normalise, protect (keyed hash, encryption), mask.
"""

from __future__ import annotations

from .resident_id import ResidentId, parse_resident_id
from .uscc import Uscc, parse_uscc

__all__ = ["ResidentId", "Uscc", "looks_like_resident_id", "parse_resident_id", "parse_uscc"]


def looks_like_resident_id(value: str) -> bool:
    """A resident ID is 15 digits, or 17 digits and a check character; a USCC is 18 of 31 symbols.

    Both are 18 characters long, so the shape decides: resident IDs are digits (and a final X)
    and carry a birth date; a USCC almost always starts with a letter-or-digit authority code
    followed by a division. We try the resident ID form only when the first 17 are digits and
    the USCC reading fails.
    """
    v = value.strip().upper()
    return (len(v) == 15 and v.isdigit()) or (
        len(v) == 18 and v[:17].isdigit() and v[17] in "0123456789X"
    )
