"""Deterministic resolution: a row without a code linked where the law gives the mapping.

GB 32100-2015 embeds each organisation's GB 11714-1997 organisation code in its USCC
(positions 9-17), so a legacy organisation code names at most one registered subject: the one
whose USCC carries it. That is the only mapping the register holds. The 15-digit business
registration numbers of the old registers (GS 15-2006: authority division, sequence, an
ISO 7064 MOD 11,10 check digit) map to no code in our data: no event and no table carries one,
so such a number is checked and reported but never used to link. A name alone never links.

A link needs all of: a legacy code whose check character is right, exactly one registered
organisation carrying it, and the row's name agreeing with that organisation's name once both
are normalised (the legal form aside, the branch not). Anything short of that stays in the
review queue, with a reason that says which step failed and names the candidate, if any.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from stdnum.iso7064 import mod_11_10

from ..db import subjects
from ..errors import InvalidIdentifier
from ..identifiers.uscc import ALPHABET, org_code_check
from . import normalise

METHOD = "legacy_organisation_code"

_ORG_BODY = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_organisation_code(value: str) -> str:
    """A GB 11714-1997 organisation code in its ``XXXXXXXX-X`` form; InvalidIdentifier with the
    reason when it is malformed or its check character is wrong.

    Written with or without the hyphen, in full-width or with spaces, as clerks type it.
    """
    raw = normalise.fold(value or "").upper()
    if len(raw) != 9:
        raise InvalidIdentifier(
            value, f"an organisation code has 9 characters, this has {len(raw)}"
        )
    body, check = raw[:8], raw[8]
    bad = [c for c in body if c not in _ORG_BODY]
    if bad:
        raise InvalidIdentifier(value, f"character {bad[0]!r} is not used in an organisation code")
    expected = org_code_check(body)
    if check != expected:
        raise InvalidIdentifier(
            value, f"check character is {check!r}, expected {expected!r} (GB 11714-1997)"
        )
    return f"{body}-{check}"


def check_registration_number(value: str) -> str | None:
    """Why a 15-digit old business registration number is not well formed, or None."""
    raw = normalise.fold(value or "")
    if len(raw) != 15 or not raw.isdigit():
        return "an old business registration number has 15 digits"
    if not mod_11_10.is_valid(raw):
        return f"check digit is {raw[-1]!r}, expected {mod_11_10.calc_check_digit(raw[:-1])!r}"
    return None


def embeddable(code: str) -> bool:
    """Whether a valid organisation code can sit in a USCC at all (whose alphabet has no I, O,
    S, V or Z): one that cannot names no registered subject."""
    return all(c in ALPHABET for c in code.replace("-", ""))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A registered organisation whose USCC embeds the code, under the name it was registered."""

    subject_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome for one row: ``subject_id`` when linked (with ``resolved_by`` for the
    record's payload), otherwise ``reason`` for the review queue."""

    subject_id: str | None
    reason: str
    outcome: str  # resolved, no_code, person, bad_code, unknown_code, ambiguous, name_mismatch
    candidates: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved_by(self) -> dict[str, Any]:
        return {"method": METHOD, "evidence": self.evidence}


NOT_RESOLVED = "the subject must be resolved from the name and other details"


def legacy_code_of(hints: Mapping[str, str]) -> str | None:
    """The row's legacy organisation code when it is valid, else None."""
    value = hints.get("subject_legacy_code")
    if not value:
        return None
    try:
        return parse_organisation_code(value)
    except InvalidIdentifier:
        return None


def candidates(conn: Connection, codes: Iterable[str]) -> dict[str, list[Candidate]]:
    """Registered organisations by the organisation code their USCC embeds (indexed column
    ``subjects.organisation_code``)."""
    wanted = sorted(set(codes))
    out: dict[str, list[Candidate]] = {}
    for i in range(0, len(wanted), 500):
        q = (
            select(subjects.c.organisation_code, subjects.c.subject_id, subjects.c.name)
            .where(subjects.c.organisation_code.in_(wanted[i : i + 500]))
            .where(subjects.c.kind == "organisation")
            .order_by(subjects.c.subject_id)
        )
        for r in conn.execute(q):
            out.setdefault(r.organisation_code, []).append(Candidate(r.subject_id, r.name))
    return out


def resolve(
    subject_name: str,
    hints: Mapping[str, str],
    found: Mapping[str, Sequence[Candidate]],
    *,
    record_type: str = "",
    subject_kinds: Collection[str] = ("organisation", "person"),
) -> Resolution:
    """Link a row that came without a code, or say why not.

    ``found`` holds the registered organisations by organisation code (see ``candidates``),
    including any a caller knows are being registered ahead of this row; ``subject_kinds`` are
    the kinds the row's record type may be about.
    """
    notes = _registration_note(hints)
    if hints.get("subject_kind") == "person":
        return _queued(
            "person",
            "no subject_id; a natural person is never linked from a name and address alone",
            notes,
        )
    if "organisation" not in subject_kinds:
        return _queued(
            "person",
            f"no subject_id; a {record_type or 'record of this type'} is about a natural "
            "person, who is never linked from a name and address alone",
            notes,
        )
    raw = hints.get("subject_legacy_code")
    if not raw:
        return _queued("no_code", "no subject_id and no legacy organisation code", notes)
    try:
        code = parse_organisation_code(raw)
    except InvalidIdentifier as exc:
        return _queued(
            "bad_code",
            f"no subject_id; legacy organisation code {raw} was not used: {exc.reason}",
            notes,
        )
    found_here = list(found.get(code, ()))
    if not found_here and not embeddable(code):
        return _queued(
            "unknown_code",
            f"no subject_id; legacy organisation code {code} is valid, but no USCC can embed it "
            "(a USCC has no I, O, S, V or Z)",
            notes,
        )
    if not found_here:
        return _queued(
            "unknown_code",
            f"no subject_id; legacy organisation code {code} is valid, but no registered "
            "organisation's USCC embeds it",
            notes,
        )
    if len(found_here) > 1:
        listed = ", ".join(f"{c.name} ({c.subject_id})" for c in found_here)
        return _queued(
            "ambiguous",
            f"no subject_id; legacy organisation code {code} is embedded in "
            f"{len(found_here)} registered codes: {listed}",
            notes,
            tuple(c.subject_id for c in found_here),
        )
    (c,) = found_here
    row_name, registered = normalise.org_name(subject_name), normalise.org_name(c.name)
    if row_name.key != registered.key:
        return _queued(
            "name_mismatch",
            f"no subject_id; legacy organisation code {code} belongs to {c.name} "
            f"({c.subject_id}), but the row names {subject_name}",
            notes,
            (c.subject_id,),
        )
    return Resolution(
        subject_id=c.subject_id,
        reason=f"legacy organisation code {code} is embedded in {c.subject_id} ({c.name})",
        outcome="resolved",
        candidates=(c.subject_id,),
        evidence={
            "legacy_organisation_code": code,
            "uscc": c.subject_id,
            "registered_name": c.name,
            "row_name": subject_name,
            "name_key": registered.base,
            "branch": registered.branch,
            "normaliser_version": normalise.VERSION,
        },
    )


def _registration_note(hints: Mapping[str, str]) -> str:
    value = hints.get("subject_registration_no")
    if not value:
        return ""
    problem = check_registration_number(value)
    if problem:
        return f"; old registration number {value} was not used: {problem}"
    return (
        f"; old registration number {value} is well formed, but the register holds no mapping "
        "from old registration numbers to codes"
    )


def _queued(outcome: str, head: str, notes: str, cands: tuple[str, ...] = ()) -> Resolution:
    return Resolution(None, f"{head}{notes}: {NOT_RESOLVED}", outcome, cands)
