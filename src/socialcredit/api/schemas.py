"""Request and response models of the HTTP API, as published in /openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

List = list  # a field below is named `list`


class Names(RootModel[dict[str, str]]):
    """A text in each of the pack's languages: ``{"zh": …, "en": …}`` under the default pack,
    ``{"en": …}`` under a pack written in English alone."""


class Dispute(BaseModel):
    objection_id: str
    filed_at: str = Field(description="When the subject objected.")
    deadline: str = Field(description="When the objection is to be decided at the latest.")


class ListingRef(BaseModel):
    listing_id: str
    list: str
    list_name: Names
    decision_ref: str | None
    legal_basis: List[str]
    since: str = Field(description="When the listing became active (after its notice period).")
    until: str = Field(description="When it ends at the latest (its maximum duration).")
    disputed: bool = Field(
        default=False,
        description="The subject's objection to this listing is open (not yet decided): the "
        "listing applies unless the list's policy suspends it, and is marked in dispute.",
    )
    dispute: Dispute | None = None


class Upcoming(BaseModel):
    list: str
    decision_ref: str | None
    activates_at: str


class CheckAnswer(BaseModel):
    subject: str = Field(description="The USCC, or the masked resident ID number.")
    measure: str
    measure_name: Names
    kind: Literal["sanction", "incentive"]
    implementing_agency: str
    measure_legal_basis: list[str]
    as_of: str
    rules: dict[str, str] = Field(
        description="What the answer was computed under: the pack, its release and the "
        "version of the rules in force on the day asked about."
    )
    restricted: bool
    applies: bool
    outcome: Literal["restricted", "allowed", "eligible", "not_eligible", "unknown_subject"]
    listings: list[ListingRef]
    how_to_resolve: Names | None
    notified_not_yet_active: list[Upcoming] | None = None
    suspended: List[ListingRef] | None = Field(
        default=None, description="Listings suspended while an objection is open."
    )
    blocked_by: List[ListingRef] | None = Field(
        default=None,
        description="An incentive withheld: the subject's active listings on black lists that "
        "the measure's rules name (its listing on the red list is in listings).",
    )
    note: str | None = None
    merged_into: str | None = Field(
        default=None,
        description="The code asked about was merged into the organisation with this code "
        "(one organisation registered twice); the answer is that organisation's.",
    )


class BatchCheckIn(BaseModel):
    measure: str = Field(examples=["restrict_air_travel"])
    subjects: list[str] = Field(min_length=1, max_length=10_000)
    as_of: str | None = Field(default=None, description="YYYY-MM-DD or YYYY-MM-DDTHH:MM")


class BatchCheckOut(BaseModel):
    measure: str
    as_of: str
    results: list[CheckAnswer]


class RecordsIn(BaseModel):
    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=10_000, description="Rows in the interchange format."
    )
    file_name: str | None = None


class Reject(BaseModel):
    row: int
    field: str
    reason: str


class IngestOut(BaseModel):
    source: str
    file: str | None
    rows: int
    accepted: int
    amended: int
    unchanged: int
    rejected: int
    queued_for_review: int
    subjects_registered: int
    listings_proposed: int
    listings_notified: int
    listings_ended: int
    barred: int
    batches: int
    rejects: list[Reject]
    rejects_not_shown: int


class UploadOut(IngestOut):
    format: str = Field(description="The national format the file was read in.")


class ErrorOut(BaseModel):
    error: str
    message: str
    detail: Any = None


class ChainOut(BaseModel):
    ok: bool
    events_checked: int
    head_seq: int
    first_bad_seq: int | None
    problem: str | None


class SignIn(BaseModel):
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    token: str
    expires_at: str
    role: str


class AttachmentIn(BaseModel):
    name: str = Field(max_length=200)
    content_base64: str = Field(max_length=7_000_000, description="at most 5 MB once decoded")


class ObjectionIn(BaseModel):
    subject: str = Field(max_length=40)
    listing_id: str | None = Field(default=None, max_length=40)
    record: str | None = Field(
        default=None,
        max_length=200,
        description="SOURCE/SOURCE_RECORD_ID of the record objected to",
    )
    grounds: str = Field(min_length=1, max_length=10_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=5)


class StatementIn(BaseModel):
    subject: str = Field(max_length=40)
    listing_id: str | None = Field(default=None, max_length=40)
    record: str | None = Field(
        default=None,
        max_length=200,
        description="SOURCE/SOURCE_RECORD_ID of the record it stands beside",
    )
    statement: str = Field(
        min_length=1,
        max_length=5000,
        description="The subject's own words; the pack sets how long a statement may be "
        "(characters in Chinese, words otherwise).",
    )


class StatementFiled(BaseModel):
    id: str
    status: Literal["shown"]
    statement: str
    listing_id: str | None
    record: str | None
    replaces: str | None = Field(description="The statement this one takes the place of.")
    legal_basis: List[str]


class StatementRefusalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Told to the subject.")


class StatementEnded(BaseModel):
    id: str
    status: Literal["refused", "withdrawn"]
    reason: str | None = None


class DecisionIn(BaseModel):
    outcome: Literal["corrected", "rejected", "withdrawn"]
    reason: str = Field(min_length=1, max_length=10_000)


class RepairIn(BaseModel):
    subject: str = Field(max_length=40)
    listing_id: str | None = Field(default=None, max_length=40)
    record: str | None = Field(
        default=None,
        max_length=200,
        description="SOURCE/SOURCE_RECORD_ID whose publicity should end",
    )
    evidence: str = Field(min_length=1, max_length=10_000)


class RepairDecisionIn(BaseModel):
    approve: bool
    reason: str = Field(min_length=1, max_length=10_000)


class ReviewDecisionIn(BaseModel):
    action: Literal["resolve", "reject"]
    subject: str | None = Field(
        default=None, max_length=40, description="USCC or resident ID the row is about (resolve)"
    )
    reason: str | None = Field(
        default=None, max_length=2000, description="why it cannot be resolved (reject)"
    )


class MergeDecisionIn(BaseModel):
    action: Literal["merge", "keep_apart"]
    survivor: str | None = Field(default=None, max_length=40, description="the USCC that stays")
    reason: str = Field(min_length=1, max_length=2000)


class LinkUndoIn(BaseModel):
    record: str = Field(max_length=200, description="SOURCE/SOURCE_RECORD_ID of the linked record")
    reason: str = Field(min_length=1, max_length=2000)


class SearchList(BaseModel):
    list: str
    kind: Literal["red", "black"]
    name: Names


class SearchHit(BaseModel):
    subject: str = Field(description="The organisation's USCC.")
    name: str
    division: str | None = Field(description="Administrative division code of its registration.")
    lists: List[SearchList] = Field(description="Lists it is on now.")


class SearchOut(BaseModel):
    query: str = Field(description="The query as searched (spaces collapsed).")
    results: List[SearchHit]
    more: bool = Field(description="More organisations match than are shown: type more.")
    too_short: bool = Field(description="Nothing found and the name part is under two characters.")


class ListOut(BaseModel):
    id: str
    name: Names
    kind: Literal["red", "black"]
    legal_basis: List[str]
    requires_ruling: bool
    notice_period: str = Field(description="A duration of the pack, e.g. 7d, 15wd, 3m.")
    duration: str
    maximum_duration: str
    measures: List[str] = Field(description="Measures linked to this list.")
    how_to_resolve: Names


class MeasureOut(BaseModel):
    id: str
    name: Names
    kind: Literal["sanction", "incentive"]
    implementing_agency: str
    lists: List[str]
    targets: List[str]
    legal_basis: List[str]


class HealthOut(BaseModel):
    ok: bool
    pack: str
    pack_version: str


class ObjectionFiled(BaseModel):
    id: str
    status: Literal["open"]
    deadline: str
    deadline_rule: str
    calendar_announced: bool
    suspends_listing: bool
    suspension_refused: str | None = Field(
        default=None,
        description="Why this objection does not suspend the listing although the list's rule "
        "suspends on objection (the listing was suspended before; new evidence is needed).",
    )
    listing_id: str | None
    record: str | None
    note: str | None


class ObjectionDecided(BaseModel):
    id: str
    status: Literal["corrected", "rejected", "withdrawn"]
    reason: str
    listings_ended: List[str]


class RepairApplied(BaseModel):
    id: str
    status: Literal["pending", "ineligible"]
    eligible: bool
    listing_id: str | None
    record: str | None
    decision_deadline: str | None
    legal_basis: List[str]
    reasons: List[str] | None = Field(
        default=None, description="Why the application is not eligible (only then)."
    )


class RepairDecided(BaseModel):
    id: str
    status: Literal["approved", "rejected"]
    reason: str
    listing_ended: bool
    publicity_ended: bool
    reapply_from: str | None


class LenderOut(BaseModel):
    lender: str = Field(description="The lender's id, to name in a consent.")
    name: str


class ConsentIn(BaseModel):
    subject: str = Field(max_length=40)
    lender: str = Field(max_length=64, description="A lender's id (GET /v1/lenders).")
    purpose: str = Field(max_length=64, examples=["loan_application"])
    until: str | None = Field(
        default=None,
        max_length=40,
        description="YYYY-MM-DD or YYYY-MM-DDTHH:MM; at most the pack's maximum period away "
        "(the default).",
    )


class SourceConsentIn(BaseModel):
    subject: str = Field(max_length=40)
    source: str = Field(max_length=64, examples=["hrss"])
    record_types: list[str] = Field(min_length=1, max_length=20)
    until: str | None = Field(default=None, max_length=40)


class ConsentOut(BaseModel):
    consent_id: str
    grantee_kind: Literal["lender", "source"]
    grantee: str
    grantee_name: str
    purpose: str
    purpose_text: Names | None
    record_types: list[str]
    granted_at: str | None
    until: str | None
    revoked_at: str | None
    status: Literal["active", "expired", "revoked"]
    subject: str | None = Field(
        default=None, description="For a lender: the subject of an active consent."
    )


class ScoreIn(BaseModel):
    subject: str = Field(max_length=40)
    applicant: dict[str, str | int | float] = Field(
        default_factory=dict,
        description="Not read: a subject is scored on its file in the registry. A key that "
        "names prohibited data is refused (422).",
        max_length=50,
    )


class ScoreOut(BaseModel):
    model: str
    subject: str
    score: int | None = Field(
        description="The score; none when the file is too thin to score (enough_history)."
    )
    cutoff: int
    approved: bool | None = Field(
        description="Whether the score reaches the cut-off; none when there is no score."
    )
    enough_history: bool = Field(
        True,
        description="False when a person's file holds too few months of payment or loan "
        "records to score: the answer is 'not enough history', never a low score.",
    )
    history_needed: int | None = Field(
        None, description="How many more months of history the model needs, when too thin."
    )
    points_by_feature: dict[str, int]
    inputs: dict[str, Any] = Field(description="The values the scorecard read.")
    reasons: list[dict[str, Any]] = Field(
        description="Why not higher: first each active listing that declines financing "
        "(lending.yaml declines_when_listed), then the inputs that lowered the score most "
        "(adverse-action reasons)."
    )
    declined_by_listing: list[str] = Field(
        [],
        description="The active listings that decline the application whatever the score.",
    )
    to_improve: dict[str, Any] | None = Field(
        description="The smallest change that would raise the score to the cut-off, if any."
    )
    scored_at: str
    use: Names
    legal_basis: list[str]


class ReportVerified(BaseModel):
    report_id: str
    issued_at: str | None
    valid: bool
    sha256: str
