"""The rules of lists, read from the policy pack."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from ..policy.durations import Duration
from ..policy.model import ExitRule, ListDef, Pack


@dataclass(frozen=True, slots=True)
class NamedPerson:
    """A natural person a record names beside its subject (a ``person_id`` field)."""

    subject_id: str
    minor_at_decision: bool | None = None


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the list rules need to know of a record and its subject."""

    record_key: str
    record_type: str
    status: str
    subject_id: str
    subject_kind: str
    decided_on: date
    decision_ref: str
    fields: dict[str, str] = field(default_factory=dict)
    #: a natural person's age at the decision date, derived at ingest from the ID number (the
    #: birth date itself is never kept); None for an organisation
    minor_at_decision: bool | None = None
    #: the persons the record names, by their ``person_id`` field
    named: dict[str, NamedPerson] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        if name == "decision_ref":
            return self.decision_ref
        v = self.fields.get(name)
        return v if v not in (None, "") else None


def entry_matches(ld: ListDef, rec: RecordFacts) -> bool:
    e = ld.entry_for(rec.record_type)
    if e is None or rec.status not in e.status:
        return False
    if rec.subject_kind not in ld.subject_kinds:
        return False
    return all(rec.value(f) in values for f, values in e.where.items())


def listed(ld: ListDef, rec: RecordFacts) -> RecordFacts | None:
    """Whom a listing on ``ld`` grounded on ``rec`` is about: the record's subject; or, for a
    list of the persons a record names (``entry.subject_field``, e.g. the person a unit's
    consumption-restriction order names, 法释〔2015〕17号 Art. 3 para. 2), that person, and only
    when the record is about a unit and names one (None otherwise). Nobody else: the list's
    legal basis names that person, not relatives or other officers."""
    f = subject_field(ld, rec.record_type)
    if f is None:
        return rec
    person = rec.named.get(f)
    if person is None or rec.subject_kind != "organisation":
        return None
    return RecordFacts(
        record_key=rec.record_key,
        record_type=rec.record_type,
        status=rec.status,
        subject_id=person.subject_id,
        subject_kind="person",
        decided_on=rec.decided_on,
        decision_ref=rec.decision_ref,
        fields=rec.fields,
        minor_at_decision=person.minor_at_decision,
    )


def ground(ld: ListDef, rec: RecordFacts) -> str | None:
    """The entry criterion that matched, for the listing's explanation (first where-field value)."""
    e = ld.entry_for(rec.record_type) or ld.entry
    for f in e.where:
        return rec.value(f)
    return None


def subject_field(ld: ListDef, record_type: str) -> str | None:
    """The ``person_id`` field whose person a record of this type lists, if the list lists
    the persons records name (``entry.subject_field``)."""
    e = ld.entry_for(record_type)
    return e.subject_field if e is not None else None


def notice_period(ld: ListDef, rec: RecordFacts) -> str:
    """The notice period of a listing grounded on ``rec``: none when its authority served or
    published the listing itself (``served_when``), else its entry's own, else the list's."""
    if ld.served_when is not None and rec.value(ld.served_when.field) is not None:
        return "0d"
    e = ld.entry_for(rec.record_type)
    return e.notice_period if e is not None and e.notice_period is not None else ld.notice_period


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def bar(ld: ListDef, rec: RecordFacts) -> str | None:
    """A reason the subject may not be listed despite meeting the entry criteria, or None."""
    for b in ld.bars:
        if b.kind == "minor_at_decision" and rec.subject_kind == "person" and rec.minor_at_decision:
            return "minor_at_decision"
    return None


@lru_cache(maxsize=64)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(p)


def listing_decision(ld: ListDef, rec: RecordFacts) -> tuple[str | None, str | None]:
    """(decision reference, why the listing must wait). A ruling list waits for a valid ruling."""
    if ld.decision_ref is None:
        return rec.decision_ref, None
    ref = rec.value(ld.decision_ref.field)
    ref = ref.strip() if ref is not None else None
    if not ref:  # a blank reference is no reference, whatever the pattern accepts
        if ld.requires_ruling:
            return (
                None,
                f"no {ld.decision_ref.field} yet: {ld.decision_ref.description} is required",
            )
        return rec.decision_ref, None
    if not _pattern(ld.decision_ref.pattern).match(ref):
        if ld.requires_ruling:
            return None, (
                f"{ld.decision_ref.field} {ref!r} is not a valid reference: expected "
                f"{ld.decision_ref.description}"
            )
        return rec.decision_ref, None
    return ref, None


def duration(ld: ListDef, rec: RecordFacts) -> Duration:
    d = ld.duration
    chosen = Duration.parse(d.default)
    for fname, table in d.by_field.items():
        v = rec.value(fname)
        if v is not None and v in table:
            chosen = Duration.parse(table[v])
    # the term the decision itself sets wins over the pack's term for its ground: the pack
    # fills in only where the decision is silent (its range is the field's, checked at intake)
    if d.from_field:
        v = rec.value(d.from_field)
        if v is not None:
            chosen = Duration(int(float(v)), d.from_field_unit)
    cap = Duration.parse(d.maximum)
    return cap if _longer(chosen, cap) else chosen


def _longer(a: Duration, b: Duration) -> bool:
    days = {"d": 1, "wd": 1.4, "m": 30.44, "y": 365.25}
    return a.amount * days[a.unit] > b.amount * days[b.unit]


def status_exit(ld: ListDef, status: str) -> ExitRule | None:
    for x in ld.exit:
        if x.trigger == "record_status" and status in x.status:
            return x
    return None


def exit_rule(ld: ListDef, trigger: str) -> ExitRule | None:
    for x in ld.exit:
        if x.trigger == trigger:
            return x
    return None


def status_at(
    at: datetime,
    proposed_at: datetime,
    notified_at: datetime | None,
    activates_at: datetime | None,
    until: datetime | None,
    ended_at: datetime | None,
) -> str | None:
    """The lifecycle state of a listing at a moment, from its timestamps (all in one time base).

    Activation after the notice period and expiry at the maximum duration follow from time alone,
    so an answer never depends on whether a sweep has run yet.
    """
    if at < proposed_at:
        return None
    if ended_at is not None and ended_at <= at:
        return "ended"
    if until is not None and until <= at:
        return "ended"
    if activates_at is not None and activates_at <= at:
        return "active"
    if notified_at is not None and notified_at <= at:
        return "notified"
    return "proposed"


def lists_for_record_type(pack: Pack, record_type: str) -> list[ListDef]:
    return [ld for ld in pack.lists.values() if ld.entry_for(record_type) is not None]
