"""Pydantic models of a policy pack. Unknown keys are refused everywhere (``extra="forbid"``).

Cross-entry rules (a list's record type exists, a citation exists, a measure reaches only the
listed subject, no prohibited field) are checked by ``load.py`` after parsing, where the file
and entry of a problem are known.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from .durations import Duration


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: the languages the registry's pages and notices are written in (the web catalogues): a
#: pack's texts may be in any of them
LANGUAGES = ("zh", "en")


class Text(RootModel[dict[str, str]]):
    """A text of the pack in each of its languages: ``{zh: …, en: …}``, or ``{en: …}`` in a pack
    whose ``languages`` are English alone. The loader checks that every text has each language
    its pack declares (``pack.yaml`` ``languages``)."""

    model_config = ConfigDict(frozen=True)

    def in_(self, lang: str) -> str:
        """The text in ``lang``, or in the first language it has."""
        return self.root.get(lang) or next(iter(self.root.values()), "")

    def joined(self) -> str:
        """Every language's text, once each: 失信被执行人名单 / List of dishonest judgment debtors."""
        return " / ".join(dict.fromkeys(self.root.values()))

    @property
    def zh(self) -> str:
        return self.in_("zh")

    @property
    def en(self) -> str:
        return self.in_("en")

    @field_validator("root")
    @classmethod
    def _langs(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("a text needs at least one language, e.g. {en: ...}")
        for k, text in v.items():
            if not isinstance(k, str) or len(k) != 2 or not k.isascii() or not k.islower():
                raise ValueError(f"{k!r} is not a language code (two letters: zh, en, fr)")
            if not text.strip():
                raise ValueError(f"the {k} text is empty")
        return v


class Ceilings(Strict):
    """What a legal document allows at most, as data beside it: an entry of the pack that
    cites the document may not go beyond it (the loader refuses a 99-year listing term, or a
    list of judgment debtors without the bar on minors)."""

    article: str  # where the document sets them
    duration: str | None = None  # the longest a list citing it may last
    publicity: str | None = None  # the longest a record citing it may be shown
    retention: str | None = None  # the longest a record citing it may be kept after publicity
    bars: list[Literal["minor_at_decision"]] = Field(default_factory=list)  # a list must keep

    _v_durations = field_validator("duration", "publicity", "retention")(
        classmethod(lambda cls, v: v if v is None else _duration(v))
    )


class Citation(Strict):
    """A legal document: title in the original, an English gloss, issuer, number, year, and
    the ceilings it sets."""

    title: str
    gloss: str
    issuer: str
    number: str | None = None
    year: int
    in_force: date | None = None
    uncertain: bool = False
    ceilings: Ceilings | None = None
    note: str | None = None

    @field_validator("title", "issuer")
    @classmethod
    def _named(cls, v: str) -> str:
        # a blank citation is no legal basis: whatever cites it would load without one
        if not v.strip():
            raise ValueError("must name the document and who issued it, not be blank")
        return v


class LegalBasis(Strict):
    """A reference to a citation and the article that applies."""

    cite: str
    article: str | None = None
    uncertain: bool = False
    note: str | None = None


Basis = list[LegalBasis]


def _duration(value: object) -> str:
    Duration.parse(str(value))
    return str(value)


class FieldSpec(Strict):
    #: ``person_id``: the resident ID number of a natural person the record names beside its
    #: subject (the person an order names for a unit). It keys that person and is never kept in
    #: the record: ingest registers the person as a subject of their own (the number encrypted,
    #: as for every person) and drops the field and its ``name_field`` from what is stored.
    type: Literal["string", "date", "decimal", "integer", "enum", "boolean", "person_id"] = "string"
    name_field: str | None = None
    values: list[str] | None = None
    required: bool = False
    required_when_status: list[str] = Field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    #: a date of something that has happened (a judgment performed, a removal): not after the
    #: day the row is submitted; other dates (a licence's expiry) may be in the future
    past: bool = False
    description: str | None = None


class Publicity(Strict):
    """How long a record is shown to the public, from its decision date."""

    default: str
    by_field: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: not published at all when, on its decision date, the subject has an active listing on
    #: one of these lists (a commendation conferred on a subject under "no honours")
    not_while_listed: list[str] = Field(default_factory=list)
    basis: Basis = Field(default_factory=list)
    note: str | None = None

    _v_default = field_validator("default")(classmethod(lambda cls, v: _duration(v)))


class Retention(Strict):
    """How long a natural person's data in a record is kept after its publicity ends; then the
    purge redacts it from the log (the chain stays verifiable) and from every table."""

    after_publicity: str
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("after_publicity")(classmethod(lambda cls, v: _duration(v)))


class RecordRepair(Strict):
    """Credit repair of a record: its publicity ends early once the minimum has been shown and
    the obligations are met (the record itself remains in the file)."""

    minimum_shown: Publicity  # reuses the shape: a default and values by field
    obligations_field: str | None = None
    obligations_status: list[str] = Field(default_factory=list)
    obligations_text: Text
    decision_deadline: str
    reapply_after: str
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("decision_deadline", "reapply_after")(
        classmethod(lambda cls, v: _duration(v))
    )


class ConsentRule(Strict):
    """Records of this type about these kinds of subject are accepted only while the subject
    consents to the submitting source sharing them."""

    required_for: list[Literal["organisation", "person"]]
    legal_basis: Basis
    note: str | None = None


class RecordType(Strict):
    id: str
    name: Text
    legal_basis: Basis
    subject_kinds: list[Literal["organisation", "person"]]
    statuses: list[str]
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    publicity: Publicity
    retention: Retention
    repair: RecordRepair | None = None
    consent: ConsentRule | None = None
    note: str | None = None


class Entry(Strict):
    record_type: str
    status: list[str]
    where: dict[str, list[str]] = Field(default_factory=dict)
    #: the listed subject is the natural person the record names in this ``person_id`` field
    #: (its legal basis names that person), not the record's subject
    subject_field: str | None = None
    #: this entry's own notice period, where it differs from the list's (an authority's
    #: published listing decision, notified and heard by the authority itself: 0d), with why
    notice_period: str | None = None
    notice_basis: Basis = Field(default_factory=list)

    _v = field_validator("notice_period")(
        classmethod(lambda cls, v: None if v is None else _duration(v))
    )


class ServedWhen(Strict):
    """A record that carries ``field`` was served or published by its own authority (a court's
    listing as the SPC publishes it): its listing takes effect without a notice period of the
    registry's own."""

    field: str
    legal_basis: Basis


class DecisionRef(Strict):
    """Where a listing's decision reference comes from, and what a valid one looks like."""

    field: str
    pattern: str
    description: str


class Bar(Strict):
    kind: Literal["minor_at_decision"]
    legal_basis: Basis


class ListDuration(Strict):
    default: str
    maximum: str
    from_field: str | None = None
    from_field_unit: Literal["y", "m", "d"] = "y"
    by_field: dict[str, dict[str, str]] = Field(default_factory=dict)
    basis: Basis = Field(default_factory=list)
    note: str | None = None

    _v = field_validator("default", "maximum")(classmethod(lambda cls, v: _duration(v)))


class ExitRule(Strict):
    trigger: Literal["record_status", "expiry", "superseded"]
    status: list[str] = Field(default_factory=list)
    deadline: str
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("deadline")(classmethod(lambda cls, v: _duration(v)))


class ObjectionRule(Strict):
    """How objections to a listing on this list are handled."""

    deadline: str  # the source must answer within this, from the filing
    suspends: bool  # whether an open objection suspends the listing
    #: how many objections may suspend the same listing; a further one suspends only when it
    #: brings evidence not attached before (``suspends_again_with_new_evidence``). Without this
    #: a subject kept a listing suspended for ever by withdrawing and refiling.
    suspensions: int = Field(default=1, ge=1)
    suspends_again_with_new_evidence: bool = True
    #: once escalated (the source let its deadline pass), a reviewer decides within this; if
    #: none does, the objection stays open (``stays``) or resolves in the subject's favour
    #: (``corrected``: the listing ends), as the pack's law says, with its basis
    review_deadline: str | None = None
    if_undecided: Literal["stays", "corrected"] = "stays"
    if_undecided_basis: Basis = Field(default_factory=list)
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("deadline")(classmethod(lambda cls, v: _duration(v)))
    _v_review = field_validator("review_deadline")(
        classmethod(lambda cls, v: None if v is None else _duration(v))
    )


class RepairRule(Strict):
    """Credit repair: early removal from the list after the subject corrected its conduct."""

    minimum_served: str  # since the listing became active
    obligations_field: str | None = None  # a field of the grounding record that must be set
    obligations_status: list[str] = Field(default_factory=list)  # or a status it must have
    obligations_text: Text
    no_repeat_within: str | None = None  # no other listing on this list began within this window
    decision_deadline: str
    reapply_after: str
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("minimum_served", "decision_deadline", "reapply_after")(
        classmethod(lambda cls, v: _duration(v))
    )


class ListDef(Strict):
    id: str
    name: Text
    kind: Literal["red", "black"]
    legal_basis: Basis
    subject_kinds: list[Literal["organisation", "person"]]
    requires_ruling: bool
    decision_ref: DecisionRef | None = None
    entry: Entry
    #: other records that place a subject on the same list, each by its own entry (e.g. the
    #: regulator's published listing decisions beside the penalties the list's rules read)
    also: list[Entry] = Field(default_factory=list)
    bars: list[Bar] = Field(default_factory=list)
    notice_period: str
    notice_basis: Basis = Field(default_factory=list)
    served_when: ServedWhen | None = None
    duration: ListDuration
    exit: list[ExitRule]
    objection: ObjectionRule
    repair: RepairRule | None = None
    how_to_resolve: Text
    note: str | None = None

    _v = field_validator("notice_period")(classmethod(lambda cls, v: _duration(v)))

    def entries(self) -> list[Entry]:
        """Every way onto the list: ``entry``, then ``also``."""
        return [self.entry, *self.also]

    def entry_for(self, record_type: str) -> Entry | None:
        """The entry a record of this type is read under, or None."""
        return next((e for e in self.entries() if e.record_type == record_type), None)


class Measure(Strict):
    id: str
    name: Text
    kind: Literal["sanction", "incentive"]
    implementing_agency: str
    legal_basis: Basis
    lists: list[str]
    targets: list[str]
    responsible_persons_basis: Basis = Field(default_factory=list)
    #: an incentive withheld while the subject has an active listing on one of these (black)
    #: lists, whatever its red listing says; ``blocked_by_basis`` cites the rule
    blocked_by: list[str] = Field(default_factory=list)
    blocked_by_basis: Basis = Field(default_factory=list)
    note: str | None = None


class RecordMatch(Strict):
    """Which records an indicator counts: type, status, and field values."""

    type: str
    status: list[str] = Field(default_factory=list)
    where: dict[str, list[str]] = Field(default_factory=dict)


class ListingMatch(Strict):
    list: str


class Indicator(Strict):
    """One factor of a grade: points per matching record (or active listing), within a window
    counted from the record's decision date, optionally fading linearly to nothing over it."""

    id: str
    name: Text
    record: RecordMatch | None = None
    listing: ListingMatch | None = None
    points: float
    window: str | None = None
    decay: Literal["none", "linear"] = "none"
    cap: float | None = None  # the most this indicator may add or deduct in total
    #: the indicator counts nothing while the subject has an active listing on one of these
    #: lists (commendations do not raise the grade of a subject under "no honours")
    unless_listed: list[str] = Field(default_factory=list)
    legal_basis: Basis
    note: str | None = None


class Override(Strict):
    """A condition that sets the level directly (``level``) or caps it (``at_most``)."""

    id: str
    name: Text
    record: RecordMatch | None = None
    listing: ListingMatch | None = None
    window: str | None = None
    level: str | None = None
    at_most: str | None = None
    min_points: float | None = None
    unless: list[str] = Field(default_factory=list)  # ids of level overrides that take precedence
    legal_basis: Basis
    note: str | None = None


class LevelThreshold(Strict):
    level: str
    min: float | None = None  # None: the lowest level, whatever the points


class InspectionShares(Strict):
    """ "Double random, one public": the share of each level drawn for random inspection."""

    shares: dict[str, float]
    inspectors_per_subject: int = 2
    legal_basis: Basis
    note: str | None = None


class Publication(Strict):
    """Which levels of a grading method are published on the public profile, and on what basis."""

    levels: list[str]
    legal_basis: Basis


class OfficialRating(Strict):
    """The competent authority's own rating of what a method grades (a tax bureau's annual
    tax credit rating): where one is on file it is the subject's rating, and the registry's
    result by its own method is shown as a different thing, never in its place."""

    record_type: str
    status: list[str]
    level_field: str
    points_field: str | None = None
    legal_basis: Basis


class GradingMethod(Strict):
    id: str
    name: Text
    legal_basis: Basis
    subject_kinds: list[Literal["organisation", "person"]]
    start: float
    indicators: list[Indicator]
    levels: list[LevelThreshold]  # from the best level down
    special_levels: list[str] = Field(default_factory=list)  # reached only by an override
    overrides: list[Override] = Field(default_factory=list)
    inspection: InspectionShares | None = None
    publication: Publication | None = None  # absent: grades are for supervision, never public
    official: OfficialRating | None = None
    note: str | None = None


class Source(Strict):
    id: str
    name: Text
    competent_for: list[str]


class ConsentPolicy(Strict):
    """What a subject may consent to: a lender reading its file for one of these purposes, for
    at most ``maximum_period``."""

    purposes: dict[str, Text]
    maximum_period: str
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("maximum_period")(classmethod(lambda cls, v: _duration(v)))


class LenderReportPolicy(Strict):
    """What a lender's report covers: the file of the last ``history``, and payment behaviour
    (records of ``payment_types``) summarised over each of ``windows``."""

    history: str
    payment_types: list[str]
    windows: list[str]
    legal_basis: Basis
    note: str | None = None

    _v = field_validator("history")(classmethod(lambda cls, v: _duration(v)))

    @field_validator("windows")
    @classmethod
    def _windows(cls, v: list[str]) -> list[str]:
        for w in v:
            _duration(w)
        return v


class ListedDecline(Strict):
    """Lists whose active listing declines a lending score's applicant whatever the score, the
    listing given as the first reason (a financing restriction the list's measures carry)."""

    lists: list[str]
    legal_basis: Basis
    note: str | None = None


class ScorePolicy(Strict):
    """The lending score: its id (which no record type, list, measure or grade may name), the
    scorecard model for each kind of subject, and the one use it may serve."""

    id: str
    models: dict[Literal["organisation", "person"], str]
    use: Text
    legal_basis: Basis
    declines_when_listed: ListedDecline | None = None
    note: str | None = None


class LendingPolicy(Strict):
    consent: ConsentPolicy
    report: LenderReportPolicy
    score: ScorePolicy


class Threshold(Strict):
    """On a candidate pair's match probability: link at or above ``upper``, review from
    ``lower``, unresolved below."""

    upper: float
    lower: float
    #: the best candidate links only if the next is at least this much less likely
    margin: float = 0.0


class ResolutionPolicy(Strict):
    persons: Threshold
    organisations: Threshold
    legal_basis: Basis
    note: str | None = None


class PersonIdMask(Strict):
    """How much of a natural person's ID number public outputs show: the last ``keep_last``
    characters (0 to 4), never any part of the division (1-6) or the birth date (7-14)."""

    keep_last: int = Field(default=4, ge=0, le=4)


class PersonRecords(Strict):
    """Which records of a listed person are public, and which of their fields are withheld.
    Absent: none (a pack publishes a person's records only where it says so)."""

    record_types: list[str] = Field(default_factory=list)
    withheld_fields: list[str] = Field(default_factory=list)


class PublicationPolicy(Strict):
    """What the registry publishes of a natural person (``publication.yaml``)."""

    person_id: PersonIdMask = Field(default_factory=lambda: PersonIdMask(keep_last=4))
    person_records: PersonRecords = Field(default_factory=lambda: PersonRecords())
    #: the record types in the order a public profile shows them, each in a section of its own
    #: with its count (the others follow in the pack's order)
    profile_sections: list[str] = Field(default_factory=list)
    legal_basis: Basis = Field(default_factory=list)
    note: str | None = None


class RejectReports(Strict):
    """How long the report of an upload's rejected rows is kept (a duration such as ``3m``)."""

    retention: str = "3m"

    _v = field_validator("retention")(classmethod(lambda cls, v: _duration(v)))


class RecordObjections(Strict):
    """Objections to a record that grounds no listing, which no list's rule covers
    (``objections.yaml``); each list sets its own in its ``objection`` block."""

    deadline: str = "15wd"
    #: a correction (a record retracted, a listing ended by objection, repair or an undone
    #: link) is told to everyone who read the subject's file within this period before it
    notify_readers_within: str = "12m"
    #: as for lists (``ObjectionRule``): a reviewer's deadline once escalated, and what an
    #: objection no one decides by then comes to
    review_deadline: str | None = None
    if_undecided: Literal["stays", "corrected"] = "stays"
    if_undecided_basis: Basis = Field(default_factory=list)
    legal_basis: Basis = Field(default_factory=list)
    note: str | None = None

    _v = field_validator("deadline", "notify_readers_within")(
        classmethod(lambda cls, v: _duration(v))
    )
    _v_review = field_validator("review_deadline")(
        classmethod(lambda cls, v: None if v is None else _duration(v))
    )


class StatementPolicy(Strict):
    """A subject's own statement beside a record or listing about it (``statements.yaml``):
    shown wherever the entry is shown, in the subject's words, marked as theirs. The length is
    counted in characters for a text in Chinese and in words otherwise."""

    max_chars: int = Field(default=200, ge=20, le=2000)
    max_words: int = Field(default=100, ge=10, le=1000)
    legal_basis: Basis = Field(default_factory=list)
    note: str | None = None


class Labels(Strict):
    """What a person reads for the record types' fields and values (``labels.yaml``), by
    name; presentation only."""

    fields: dict[str, Text] = Field(default_factory=dict)
    values: dict[str, Text] = Field(default_factory=dict)


class IntakePolicy(Strict):
    """What the registry keeps of what it refused (``intake.yaml``): rejected rows are not
    records, so they go to a per-upload report with a retention, not to the permanent log."""

    reject_reports: RejectReports = Field(default_factory=lambda: RejectReports(retention="3m"))
    #: no decision (and no date in a record) is older than this: a row dated before it (a
    #: 0001-01-01 left by a default value) is refused rather than kept as a decision
    earliest_date: date = date(1949, 10, 1)
    legal_basis: Basis = Field(default_factory=list)
    note: str | None = None


class CalendarSpec(Strict):
    #: a country of the ``holidays`` package whose public holidays are not working days;
    #: absent: the pack's jurisdiction
    country: str | None = None
    announced_years: list[int] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)
    extra_holidays: list[date] = Field(default_factory=list)


class FormatColumn(Strict):
    """One column of a national publication format and where its value goes."""

    #: the header as published, and its variants (compared without spaces, with half-width
    #: brackets and full-width characters folded: ``罚款金额（万元）`` = ``罚款金额(万元)``)
    header: list[str]
    #: an interchange column or a field of the record type; absent: read to validate only and
    #: never stored (e.g. the age a published list shows)
    to: str | None = None
    required: bool = False
    #: a date written as 2026-03-01, 2026/3/1, 2026.3.1, 20260301 or 2026年3月1日
    date: bool = False
    #: a decimal factor, exact (no float): "10000" turns 万元 into yuan
    scale: str | None = None
    #: published values to the record type's values (after trimming); a value not listed is a
    #: problem of the row, named by its column
    values: dict[str, str] | None = None
    #: text taken from the cell with this pattern (its first group), e.g. an id in a longer text
    pattern: str | None = None
    #: a cell that does not match ``pattern``: a problem of the row, or skipped (when one
    #: column holds either of two things, e.g. 身份证号码/组织机构代码: two entries with the same
    #: header, each taking what matches it)
    unmatched: Literal["problem", "skip"] = "problem"
    #: a published value that ``values`` does not list: a problem of the row, or left empty
    #: (for a descriptive field a row is worth more without it than rejected whole)
    unknown: Literal["problem", "empty"] = "problem"
    #: a cell may list several values (e.g. 罚款、没收违法所得): split at these characters and
    #: keep the heaviest, the last in the record type's order of the field's values
    split: str | None = None
    #: the column is read only for rows whose mapped values are these, e.g. a person's ID
    #: column used for ``subject_id`` only when ``subject_kind`` is ``person`` (an organisation
    #: row's legal representative's number is then never kept)
    when: dict[str, str] | None = None
    #: with ``values``: a cell that is none of them exactly takes the value of the first of them
    #: (in the file's order) that it contains, for wording that varies around a fixed phrase
    #: (未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告的 and 未按期公示年度报告 both hold
    #: 年度报告): put the most specific first
    contains: bool = False
    #: a cell that holds a value also sets these columns, e.g. a 移出日期 sets ``status: removed``
    sets: dict[str, str] | None = None
    #: the cell is a year (2024, 2024年度) and the value is a date of it, written ``+1-04-01``:
    #: the 1st of April of the year after; it fills ``to`` only when no other column did (a
    #: date the file carries wins)
    date_of_year: str | None = Field(default=None, pattern=r"^[+-]\d{1,2}-\d{2}-\d{2}$")


class FormatSpec(Strict):
    """A national publication format as pack data (``formats/*.yaml``): a source's file as it
    publishes it, mapped to records of one type. No Python per format."""

    id: str
    name: Text
    legal_basis: Basis
    record_type: str
    #: the sources that publish in this format (default: those competent for the record type)
    sources: list[str] = Field(default_factory=list)
    columns: list[FormatColumn]
    #: values the format does not carry, set for every row (each with its reason in the file)
    constants: dict[str, str] = Field(default_factory=dict)
    #: values for a row whose column is missing or empty, e.g. ``subject_kind: organisation``
    #: when a file has no 行政相对人类别
    defaults: dict[str, str] = Field(default_factory=dict)
    #: the columns whose values, joined, identify the record at its source
    id_from: list[str] = Field(default_factory=lambda: ["decision_ref"])
    #: values a row's columns may leave empty, written from its other values, e.g. a
    #: reference for a published list that numbers no decisions:
    #: ``decision_ref: "{authority}列入经营异常名录（{decided_on}）"``; the file shows how it is made
    compose: dict[str, str] = Field(default_factory=dict)
    #: one row as the source publishes it, by header: what ``formats show`` prints
    example: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


class IdentifierSpec(Strict):
    """How the pack's subjects of one kind are identified: one of ``scheme`` (a number this
    package reads itself: ``uscc``, ``cn_resident_id``), ``stdnum`` (a python-stdnum module,
    e.g. ``eu.vat``), or ``pattern`` (a regular expression over the number with spaces, dots,
    dashes and slashes removed, in upper case); ``pattern`` may follow a ``stdnum`` check."""

    name: Text
    scheme: Literal["uscc", "cn_resident_id"] | None = None
    stdnum: str | None = None
    pattern: str | None = None
    #: a valid number, shown in help and checked by the loader against the scheme
    example: str | None = None
    legal_basis: Basis = Field(default_factory=list)


class Identifiers(Strict):
    """The numbers that identify subjects (``pack.yaml`` ``identifiers:``). ``person`` absent:
    the registry holds no person by number under this pack (its lists reach organisations)."""

    organisation: IdentifierSpec
    person: IdentifierSpec | None = None


#: the numbers of a pack that declares none: the Chinese ones
CN_IDENTIFIERS = Identifiers(
    organisation=IdentifierSpec(
        name=Text({"zh": "统一社会信用代码", "en": "Unified Social Credit Code"}),
        scheme="uscc",
    ),
    person=IdentifierSpec(
        name=Text({"zh": "公民身份号码", "en": "Resident identity number"}),
        scheme="cn_resident_id",
    ),
)


class PackMeta(Strict):
    id: str
    version: str
    title: Text
    #: where the pack's law applies: an ISO 3166-1 alpha-2 code (CN, GB) or EU; the country of
    #: the FollowTheMoney export
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    #: the languages of the pack's texts, the first the default of pages and notices; every
    #: text of the pack is given in each of them
    languages: list[str] = Field(default_factory=lambda: ["zh", "en"], min_length=1)
    #: absent: the Chinese numbers (the USCC and the resident identity number); a pack of
    #: another jurisdiction declares its own
    identifiers: Identifiers | None = None
    note: str | None = None

    @property
    def calendar_country(self) -> str:
        return self.calendar.country or self.jurisdiction

    @property
    def ids(self) -> Identifiers:
        return self.identifiers or CN_IDENTIFIERS


class PackVersion(Strict):
    """The rules as a later instrument changed them, from ``effective_from``: the entries of
    ``versions/<YYYY-MM-DD>/`` replace the pack's entries of the same id (whole), the others
    stay as they were. ``version.yaml`` there names the instrument."""

    name: str  # the directory's name: the date it takes effect
    effective_from: date
    legal_basis: Basis
    record_types: dict[str, RecordType] = Field(default_factory=dict)
    lists: dict[str, ListDef] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    note: str | None = None


class VersionFile(Strict):
    """``versions/<date>/version.yaml``."""

    effective_from: date
    legal_basis: Basis
    note: str | None = None


#: the name of the rules a pack holds outside ``versions/``
BASE_VERSION = "base"


class Pack(Strict):
    meta: PackMeta
    citations: dict[str, Citation]
    record_types: dict[str, RecordType]
    lists: dict[str, ListDef]
    measures: dict[str, Measure]
    sources: dict[str, Source]
    grading: dict[str, GradingMethod] = Field(default_factory=dict)
    lending: LendingPolicy | None = None  # absent: the registry shares no file with lenders
    resolution: ResolutionPolicy | None = None  # absent: no probabilistic resolution
    # absent: the most protective publication (the last four characters of an ID number)
    publication: PublicationPolicy = Field(default_factory=PublicationPolicy)
    intake: IntakePolicy = Field(default_factory=IntakePolicy)
    record_objections: RecordObjections = Field(default_factory=RecordObjections)
    statements: StatementPolicy = Field(default_factory=StatementPolicy)
    labels: Labels = Field(default_factory=Labels)
    formats: dict[str, FormatSpec] = Field(default_factory=dict)
    versions: list[PackVersion] = Field(default_factory=list)  # by effective date
    digest: str  # sha256 of the pack's files, recorded with every event batch

    def record_type_at(self, record_type: str, on: date) -> tuple[RecordType, str]:
        """The record type as the rules in force on ``on`` define it, and the version's name."""
        for v in reversed(self.versions):
            if v.effective_from <= on and record_type in v.record_types:
                return v.record_types[record_type], v.name
        return self.record_types[record_type], BASE_VERSION

    def later_versions(self, record_type: str, after: date) -> list[PackVersion]:
        """The versions that change ``record_type`` and take effect after ``after``."""
        return [
            v for v in self.versions if v.effective_from > after and record_type in v.record_types
        ]

    def version(self, name: str) -> PackVersion | None:
        return next((v for v in self.versions if v.name == name), None)

    def rules_on(self, on: date) -> dict[str, str]:
        """What an answer about ``on`` was computed under: the pack, its release and the
        version of the rules in force that day."""
        name = BASE_VERSION
        for v in self.versions:
            if v.effective_from <= on:
                name = v.name
        return {"pack": self.meta.id, "release": self.meta.version, "version": name}

    def cite(self, basis: Basis) -> list[str]:
        """Human-readable citations: 《title》 number, article."""
        out = []
        # a title in Chinese takes its number in full-width brackets, one in a Latin script
        # in plain ones: 《…》（法释〔2017〕7号）, Procurement Act 2023 (2023 c. 54)
        wide = self.meta.languages[0] == "zh"
        for b in basis:
            c = self.citations[b.cite]
            number = (f"（{c.number}）" if wide else f" ({c.number})") if c.number else ""
            text = c.title + number
            if b.article:
                text += f" {b.article}"
            out.append(text)
        return out
