"""Identifiers of subjects: the Unified Social Credit Code and the resident identity number.

Pure functions: validate with a reason, normalise, protect (keyed hash, encryption), mask.
"""

from __future__ import annotations

from .resident_id import ResidentId, looks_like_resident_id, parse_resident_id
from .uscc import Uscc, parse_uscc

__all__ = ["ResidentId", "Uscc", "looks_like_resident_id", "parse_resident_id", "parse_uscc"]
