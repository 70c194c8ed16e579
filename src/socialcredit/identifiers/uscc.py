"""Unified Social Credit Code (GB 32100-2015), with the checks python-stdnum leaves out.

python-stdnum's ``cn.uscc`` checks the length, the alphabet and the final check character, but
demands digits in positions 1-8 (so authorities A, N and Y fail) and does not check the embedded
organisation code (GB 11714-1997) nor the authority and entity-type codes. We use its check
character computation and add the rest, each failure with its own reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import mul

import numpy as np
from stdnum import numdb
from stdnum.cn import uscc as stdnum_uscc

from ..errors import InvalidIdentifier

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

#: Registration authority (position 1) -> entity types allowed in position 2 (GB 32100-2015, annex).
AUTHORITY_TYPES: dict[str, dict[str, str]] = {
    "1": {"1": "state organ", "2": "public institution", "3": "mass organisation", "9": "other"},
    "2": {"1": "resident foreign news agency", "9": "other"},
    "3": {
        "1": "law firm",
        "2": "notary office",
        "3": "grassroots legal service",
        "4": "judicial expertise institution",
        "5": "arbitration commission",
        "9": "other",
    },
    "4": {"1": "foreign cultural centre", "9": "other"},
    "5": {
        "1": "social organisation",
        "2": "private non-enterprise unit",
        "3": "foundation",
        "9": "other",
    },
    "6": {
        "1": "foreign tourism office",
        "2": "Hong Kong, Macao or Taiwan tourism office",
        "9": "other",
    },
    "7": {"1": "religious venue", "2": "religious college", "9": "other"},
    "8": {"1": "grassroots trade union", "9": "other"},
    "9": {"1": "enterprise", "2": "individual business", "3": "farmers' cooperative"},
    "A": {"1": "military public institution", "9": "other"},
    "N": {
        "1": "group collective",
        "2": "village collective",
        "3": "township collective",
        "9": "other",
    },
    "Y": {"1": "other"},
}

AUTHORITY_NAMES = {
    "1": "establishment administration",
    "2": "foreign affairs",
    "3": "justice administration",
    "4": "culture",
    "5": "civil affairs",
    "6": "tourism",
    "7": "religious affairs",
    "8": "trade unions",
    "9": "market regulation",
    "A": "military establishment",
    "N": "agriculture",
    "Y": "other",
}

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOC = numdb.get("cn/loc")


def org_code_check(base8: str) -> str:
    """Check character of a GB 11714-1997 organisation code from its first eight characters."""
    if len(base8) != 8:
        raise ValueError("an organisation code's base has 8 characters")
    total = sum(map(mul, map(_ORG_VALUES.index, base8), _ORG_WEIGHTS))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31, GB 32100 (after GB/T 17710)


def uscc_check(first17: str) -> str:
    """The check character; the same result as python-stdnum's ``calc_check_digit`` (tested),
    computed without its per-call overhead because every point-of-service check reads a code."""
    if len(first17) != 17:
        raise ValueError("a USCC's check is computed from 17 characters")
    total = sum(map(mul, map(_VALUES.__getitem__, first17), _WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


@lru_cache(maxsize=8192)
def region_known(division: str) -> bool:
    """Whether a 6-digit administrative division is in python-stdnum's GB/T 2260 table.

    A province-level ("110000") or prefecture-level ("440300") code is accepted when its
    province is known; the table lists counties, not every aggregate.
    """
    if not division.isdigit() or len(division) != 6:
        return False
    parts = list(_LOC.info(division))
    province_known = bool(parts and parts[0][1])
    if division.endswith("0000"):
        return province_known
    if division.endswith("00"):
        return province_known
    return province_known and len(parts) > 1 and bool(parts[1][1])


@dataclass(frozen=True, slots=True)
class Uscc:
    code: str

    @property
    def authority(self) -> str:
        return self.code[0]

    @property
    def entity_type(self) -> str:
        return self.code[1]

    @property
    def division(self) -> str:
        return self.code[2:8]

    @property
    def organisation_code(self) -> str:
        """The embedded GB 11714 code, in its usual ``XXXXXXXX-X`` form."""
        return f"{self.code[8:16]}-{self.code[16]}"

    def describe(self) -> dict[str, str]:
        return {
            "authority": AUTHORITY_NAMES[self.authority],
            "entity_type": AUTHORITY_TYPES[self.authority][self.entity_type],
            "division": self.division,
            "organisation_code": self.organisation_code,
        }


def parse_uscc(value: str) -> Uscc:
    """Validate a USCC and return it compacted; raise InvalidIdentifier with the reason."""
    code = (value or "").strip().upper()
    # the quick path is for plain ASCII only: ``isalnum`` is true of full-width digits too,
    # which python-stdnum's compact maps to ASCII (written with a space or without, alike)
    if len(code) != 18 or not (code.isascii() and code.isalnum()):
        code = stdnum_uscc.compact(value or "")
    if len(code) != 18:
        raise InvalidIdentifier(value, f"a USCC has 18 characters, this has {len(code)}")
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        raise InvalidIdentifier(
            value, f"character {bad[0]!r} is not used in a USCC (no I, O, Z, S or V)"
        )
    if code[0] not in AUTHORITY_TYPES:
        raise InvalidIdentifier(value, f"{code[0]!r} is not a registration authority code")
    if code[1] not in AUTHORITY_TYPES[code[0]]:
        raise InvalidIdentifier(
            value,
            f"entity type {code[1]!r} does not exist under authority {code[0]!r} "
            f"({AUTHORITY_NAMES[code[0]]})",
        )
    if not code[2:8].isdigit():
        raise InvalidIdentifier(value, "positions 3-8 must be the 6-digit administrative division")
    if not region_known(code[2:8]):
        raise InvalidIdentifier(value, f"{code[2:8]} is not a known administrative division")
    if org_code_check(code[8:16]) != code[16]:
        raise InvalidIdentifier(
            value,
            f"the embedded organisation code {code[8:16]}-{code[16]} fails its check "
            f"(expected {org_code_check(code[8:16])})",
        )
    if uscc_check(code[:17]) != code[17]:
        raise InvalidIdentifier(
            value, f"check character is {code[17]!r}, expected {uscc_check(code[:17])!r}"
        )
    return Uscc(code)


def build_uscc(authority: str, entity_type: str, division: str, org_base8: str) -> str:
    """Compose a valid USCC from its parts (for generated data and tests)."""
    first17 = authority + entity_type + division + org_base8 + org_code_check(org_base8)
    return first17 + uscc_check(first17)


_BYTE_VALUE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(ALPHABET):
    _BYTE_VALUE[ord(_c)] = _i
_BYTE_ORG_VALUE = np.zeros(256, np.int32)
for _i, _c in enumerate(_ORG_VALUES):
    _BYTE_ORG_VALUE[ord(_c)] = _i
_PAIR_OK = np.zeros((256, 256), bool)
for _a, _types in AUTHORITY_TYPES.items():
    for _t in _types:
        _PAIR_OK[ord(_a), ord(_t)] = True
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode(), np.uint8)
#: per 6-digit division: 1 known, 0 not, -1 not looked up yet (filled as batches meet them)
_DIVISION_KNOWN = np.full(1_000_000, -1, np.int8)


def valid_many(rows: np.ndarray) -> np.ndarray:
    """Which of many codes (a numpy array of 18-byte strings, dtype ``S18``) are canonical valid
    USCCs, every check of ``parse_uscc`` vectorised. False means "not certainly": the caller
    reads those one by one with ``parse_uscc`` (lower case, spaces, hyphens, or a real error),
    so this accepts only what ``parse_uscc`` accepts (tested)."""
    if rows.dtype != np.dtype("S18"):
        raise ValueError("valid_many reads an array of dtype S18")
    # one row per character position: every step below is elementwise over whole rows
    m = np.ascontiguousarray(
        np.frombuffer(np.ascontiguousarray(rows).tobytes(), np.uint8).reshape(-1, 18).T
    )
    v = _BYTE_VALUE[m]
    ok = (v.max(axis=0) != 255) & _PAIR_OK[m[0], m[1]] & (v[2:8].max(axis=0) < 10)
    division = np.zeros(len(rows), np.int32)
    for j in range(2, 8):
        division = division * 10 + np.minimum(v[j], 9)
    known = _DIVISION_KNOWN[division]
    unseen = np.unique(division[ok & (known < 0)])
    if len(unseen):
        for d in unseen.tolist():
            _DIVISION_KNOWN[d] = region_known(f"{d:06d}")
        known = _DIVISION_KNOWN[division]
    ok &= known == 1
    org_total = np.zeros(len(rows), np.int32)
    for j, w in enumerate(_ORG_WEIGHTS):
        org_total += _BYTE_ORG_VALUE[m[8 + j]] * w
    c = 11 - org_total % 11
    ok &= m[16] == np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), 48 + c))
    total = np.zeros(len(rows), np.int32)
    for j, w in enumerate(_WEIGHTS):
        total += v[j].astype(np.int32) * w
    ok &= m[17] == _ALPHABET_BYTES[(31 - total % 31) % 31]
    return np.asarray(ok, dtype=bool)
