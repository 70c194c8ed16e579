"""Validate one interchange row against the policy pack and the source's competence.

Checks, in order: prohibited fields (refused before anything else, values never kept), record
type, competence of the source, the common columns, the record type's own columns. Every problem
is reported with its field and a reason a clerk can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import InvalidIdentifier
from ..identifiers.schemes import scheme as identifier_scheme
from ..policy.model import FieldSpec, Pack, RecordType
from ..policy.prohibited import prohibited_category
from .readers import RowProblem

#: The common columns of the interchange format, in their documented order.
COLUMNS = (
    "source_record_id",
    "record_type",
    "subject_id",
    "subject_name",
    "authority",
    "decision_ref",
    "decided_on",
    "legal_basis",
    "status",
)
REQUIRED = tuple(c for c in COLUMNS if c != "subject_id")
IDENTITY = ("subject_id",)
HINTS = (
    "subject_legacy_code",
    "subject_registration_no",
    "subject_address",
    "subject_legal_representative",
    "subject_kind",
)
#: Optional: the reference of the source's decision that ends the listings resting on this record
#: (a row whose new status is an exit status); carried on the listing-ended event.
EXIT = ("exit_decision_ref",)
#: Optional: the source's own version of the record (a whole number that grows with each
#: change); a row with an older version than the one on file is refused, a newer one wins even
#: over a later decision date (a corrected date).
VERSION = ("record_version",)
COMMON = frozenset(REQUIRED + IDENTITY + HINTS + EXIT + VERSION)


@dataclass(frozen=True, slots=True)
class ValidRow:
    row: int
    source: str
    source_record_id: str
    record_type: str
    subject_id: str
    subject_name: str
    authority: str
    decision_ref: str
    decided_on: date
    legal_basis: str
    status: str
    fields: dict[str, str]
    hints: dict[str, str] = field(default_factory=dict)
    exit_decision_ref: str | None = None
    record_version: int | None = None

    def content(self) -> dict[str, Any]:
        """What the source says about the subject, in the form events carry it."""
        out: dict[str, Any] = {
            "record_type": self.record_type,
            "subject_name": self.subject_name,
            "authority": self.authority,
            "decision_ref": self.decision_ref,
            "decided_on": self.decided_on.isoformat(),
            "legal_basis": self.legal_basis,
            "status": self.status,
            "fields": self.fields,
        }
        if self.record_version is not None:  # absent, the content (and its hash) is as before
            out["record_version"] = self.record_version
        return out


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).strip()


#: Numbers as agencies write them: digits, an optional sign and decimal part; no exponent (a
#: value like 1e999999999 would be a million-digit amount, or overflow).
_NUMBER = re.compile(r"[+-]?[0-9]{1,24}(\.[0-9]{1,10})?")


def _unstorable(v: str) -> str | None:
    """Text no database column can hold as it is: a NUL character, or half of a UTF-16 pair."""
    if "\x00" in v:
        return "contains a NUL character"
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (text that is not valid Unicode)"
    return None


def validate_row(
    pack: Pack, source: str, n: int, raw: dict[str, Any], today: date
) -> ValidRow | list[RowProblem]:
    problems: list[RowProblem] = []
    # 1. prohibited categories first: a row carrying such a value is refused whole and the value
    #    is never kept (an empty column of that name holds nothing and is ignored)
    for key, value in raw.items():
        category = prohibited_category(str(key))
        if category and _text(value):
            problems.append(
                RowProblem(
                    n,
                    str(key),
                    f"field in a prohibited category ({category}): the registry never collects it; "
                    "remove the column and resubmit",
                )
            )
    if problems:
        return problems
    values = {str(k): _text(v) for k, v in raw.items()}
    for key, v in values.items():
        unstorable = _unstorable(v)
        if unstorable:
            problems.append(RowProblem(n, key, unstorable))
    if problems:
        return problems
    rtype = values.get("record_type", "")
    rt: RecordType | None = pack.record_types.get(rtype)
    if not rtype:
        return [RowProblem(n, "record_type", "missing")]
    if rt is None:
        known = ", ".join(sorted(pack.record_types))
        return [RowProblem(n, "record_type", f"unknown record type {rtype!r} (known: {known})")]
    src = pack.sources.get(source)
    if src is None or rtype not in src.competent_for:
        return [
            RowProblem(
                n,
                "record_type",
                f"source {source!r} is not competent for {rtype!r}"
                + (f" (it may submit: {', '.join(src.competent_for)})" if src else ""),
            )
        ]
    for col in REQUIRED:
        if not values.get(col):
            problems.append(RowProblem(n, col, "missing (required for every record)"))
    decided_on: date | None = None
    if values.get("decided_on"):
        decided_on = _date(values["decided_on"])
        if decided_on is None:
            problems.append(
                RowProblem(n, "decided_on", f"{values['decided_on']!r} is not a date (YYYY-MM-DD)")
            )
        elif decided_on > today:
            problems.append(RowProblem(n, "decided_on", f"{decided_on} is in the future"))
        elif decided_on < pack.intake.earliest_date:
            problems.append(RowProblem(n, "decided_on", _too_early(decided_on, pack)))
    status = values.get("status", "")
    if status and status not in rt.statuses:
        problems.append(
            RowProblem(
                n,
                "status",
                f"{status!r} is not a status of {rtype} (allowed: {', '.join(rt.statuses)})",
            )
        )
    if values.get("subject_kind") and values["subject_kind"] not in ("organisation", "person"):
        problems.append(RowProblem(n, "subject_kind", "must be organisation or person"))
    fields: dict[str, str] = {}
    for key, v in values.items():
        if key in COMMON:
            continue
        spec = rt.fields.get(key)
        if spec is None:
            if v:
                problems.append(
                    RowProblem(
                        n,
                        key,
                        f"not a field of {rtype} (a closed list: "
                        f"{', '.join(rt.fields) or 'none'}); remove it",
                    )
                )
            continue
        if not v:
            continue
        err, norm = _check_value(spec, v, pack)
        if not err and spec.type == "date":
            d = date.fromisoformat(norm)
            if d < pack.intake.earliest_date:
                err = _too_early(d, pack)
            elif spec.past and d > today:
                err = f"{d} is in the future (it is the date of something that has happened)"
        if err:
            problems.append(RowProblem(n, key, err))
        else:
            fields[key] = norm
    for key, spec in rt.fields.items():
        if not values.get(key) and (spec.required or status in spec.required_when_status):
            when = "" if spec.required else f" when status is {status}"
            problems.append(RowProblem(n, key, f"missing (required for {rtype}{when})"))
    version = None
    raw_version = (values.get("record_version") or "").strip()
    if raw_version:
        if raw_version.isascii() and raw_version.isdigit() and len(raw_version) <= 18:
            version = int(raw_version)
        else:
            problems.append(
                RowProblem(
                    n, "record_version", "a whole number (0 or more), growing with each change"
                )
            )
    if problems or decided_on is None:
        return problems
    return ValidRow(
        row=n,
        source=source,
        source_record_id=values["source_record_id"],
        record_type=rtype,
        subject_id=values.get("subject_id", ""),
        subject_name=values["subject_name"],
        authority=values["authority"],
        decision_ref=values["decision_ref"],
        decided_on=decided_on,
        legal_basis=values["legal_basis"],
        status=status,
        fields=fields,
        hints={k: values[k] for k in HINTS if values.get(k)},
        exit_decision_ref=values.get("exit_decision_ref") or None,
        record_version=version,
    )


def _too_early(d: date, pack: Pack) -> str:
    return (
        f"{d} is before {pack.intake.earliest_date}, the earliest date a record can carry "
        "(a placeholder date? send the decision's own date)"
    )


def _date(v: str) -> date | None:
    try:
        return date.fromisoformat(v[:10]) if len(v) in (10,) else None
    except ValueError:
        return None


def _check_value(spec: FieldSpec, v: str, pack: Pack) -> tuple[str | None, str]:
    if spec.type == "person_id":
        ids = pack.meta.ids.person
        if ids is None:  # the loader refuses such a field; a pack built in code may not
            return "the pack declares no person identifier", v
        try:
            return None, identifier_scheme(ids.scheme, ids.stdnum, ids.pattern, ids.example).parse(
                v
            ).number
        except InvalidIdentifier as exc:
            return f"not a valid {ids.name.en}: {exc.reason}", v
    if spec.type == "enum":
        assert spec.values is not None
        if v not in spec.values:
            return f"{v!r} is not allowed (one of: {', '.join(spec.values)})", v
        return None, v
    if spec.type == "date":
        d = _date(v)
        return (None, d.isoformat()) if d else (f"{v!r} is not a date (YYYY-MM-DD)", v)
    if spec.type == "boolean":
        low = v.lower()
        if low in ("true", "1", "yes", "false", "0", "no"):
            return None, "true" if low in ("true", "1", "yes") else "false"
        return f"{v!r} is not true or false", v
    if spec.type in ("decimal", "integer"):
        if not _NUMBER.fullmatch(v):
            return f"{v!r} is not a number (write digits, e.g. 250000 or 1234.50)", v
        try:
            num = Decimal(v)
        except InvalidOperation:
            return f"{v!r} is not a number", v
        if not num.is_finite():
            return f"{v!r} is not a number", v
        if spec.type == "integer" and num != num.to_integral_value():
            return f"{v!r} is not a whole number", v
        if spec.minimum is not None and num < Decimal(str(spec.minimum)):
            return f"{v} is below the minimum {spec.minimum:g}", v
        if spec.maximum is not None and num > Decimal(str(spec.maximum)):
            return f"{v} is above the maximum {spec.maximum:g}", v
        norm = str(int(num)) if spec.type == "integer" else format(num.normalize(), "f")
        return None, norm
    if len(v) > 2000:
        return "longer than 2000 characters", v
    return None, v
