"""Every event the registry records, in the past tense, with the fields its payload carries.

An event is one fact that happened; projections are folds over them. Payloads are plain JSON
(canonical form, see ``chain.canonical``) and never hold a resident ID number in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUBJECT_REGISTERED = "subject-registered"
"""subject_id, kind, name, known_from; for an organisation division and organisation_code; for a
natural person province, id_cipher and id_masked (events written before schema 0014 also held
the person's division and birth date: ``quasi-identifiers-redacted`` removed them)"""

RECORD_ACCEPTED = "record-accepted"
"""record_key, source, source_record_id, record_type, subject_id, subject_name, authority,
decision_ref, decided_on, legal_basis, status, fields, publicity_until, content_hash; and
resolved_by ({method, evidence}) when the row carried no code and the registry linked it to its
subject: by a rule of law (a legacy organisation code with an agreeing name) or by the
probabilistic model (method ``probabilistic``: model, match_probability, item_id); and
subject_details ({address, legal_representative}, what the source says of an organisation it
names by its code: read by resolution, not part of the content hash)"""

RECORD_AMENDED = "record-amended"
"""record_key and the same fields as record-accepted (resolved_by included), as they now stand;
previous_status"""

ROW_QUEUED = "row-queued-for-review"
"""item_id, source, source_record_id, record_type, subject_name, reason, row"""

REVIEW_ITEM_RESOLVED = "review-item-resolved"
"""item_id, subject_id (the key, never a resident ID in clear), record_key, decided_by: a reviewer
named the queued row's subject, or (method ``probabilistic``, with model and match_probability)
the model linked it at or above the policy's upper threshold; the row was ingested for it in the
same transaction"""

REVIEW_ITEM_EVALUATED = "review-item-evaluated"
"""item_id, decision (review: candidates between the thresholds; unresolved: none reaches the
lower one), model, thresholds {upper, lower, margin}, candidates [{subject_id, name,
match_probability, match_weight, explanation [{comparison, level, bayes_factor}]}], decided_by,
ambiguous: true when the best candidate reached the upper threshold but another is within
the margin of it, and judged_different: the subjects left out because a reviewer judged the row
is not theirs: the probabilistic model's finding on a queued row, shown to the reviewer who
decides it"""

LINK_UNDONE = "link-undone"
"""record_key, record (SOURCE/SOURCE_RECORD_ID), subject_id (the subject the record is taken
from), item_id, reason, decided_by: a reviewer undid a link; the record leaves the subject's file
(its events stay in the log), the subject is told, listings resting on it end, and the row is
back in the review queue as item_id"""

REVIEW_ITEM_REJECTED = "review-item-rejected"
"""item_id, reason, decided_by: a reviewer closed the queued row as not resolvable"""

MERGE_PROPOSED = "merge-proposed"
"""proposal_id, subject_a, subject_b, match_probability, model, candidates-style explanation
[{comparison, level, bayes_factor}], decided_by: the model takes two registered organisations for
one (``resolve dedupe``); a reviewer decides"""

JUDGEMENT_LIFTED = "judgement-lifted"
"""source, source_record_id, subject_id, reason, decided_by: a reviewer lifted the judgement
that the row is not about the subject (made when its link was undone); later runs of the model
may propose or link the row to it again"""

MERGE_KEPT_APART = "merge-kept-apart"
"""proposal_id, reason, decided_by: a reviewer found the two are different organisations"""

SUBJECTS_MERGED = "subjects-merged"
"""proposal_id (or null), survivor, merged, reason, decided_by: a reviewer merged ``merged`` into
``survivor``: its records and listings are the survivor's from then on, its file is read as part
of the survivor's, and rows naming its code are recorded for the survivor; every event of both
stays in the log. Recorded under the survivor's subject_id"""

BATCH_INGESTED = "batch-ingested"
"""batch_id, upload_id (one per upload, however many batches), last (the upload's last batch:
an upload cut off midway has none), source, file_name, accepted, amended, unchanged, rejected, queued, rejects_digest (the
SHA-256 of the batch's rejects report, kept in ``reject_reports`` for the pack's retention and
not in the log; batches before schema 0014 carried the rejects here), pack_digest, and facts
({first, count, chunk, chunks, root}: the Merkle commitment to the batch's facts, the events
right before it that name it as their batch; ``events/batches.py``). Batches before schema
0015 had no facts: their rows were chained events of their own, written before this one"""

LISTING_PROPOSED = "listing-proposed"
"""listing_id, subject_id, list_id, record_key, ground, pending_reason"""

LISTING_NOTIFIED = "listing-notified"
"""listing_id, notice_id, decision_ref, activates_at, until, duration, body (the notice text)"""

LISTING_ACTIVATED = "listing-activated"
"""listing_id, effective_at (= the activates_at of the notice; the event may be recorded later)"""

LISTING_ENDED = "listing-ended"
"""listing_id, reason (performed, expired, superseded, revoked, removed, barred), effective_at,
exit_due_by, record_key, and decision_ref when a source's decision (a record amended to an exit
status) ended it"""

SOURCE_TOKEN_ISSUED = "source-token-issued"
"""token_hash (sha256 of the token; the token itself is shown once and never stored), source, label"""

SOURCE_TOKEN_REVOKED = "source-token-revoked"
"""token_hash"""

RECORD_RETRACTED = "record-retracted"
"""record_key, reason, objection_id: an objection found the record wrong; it stops counting"""

OBJECTION_FILED = "objection-filed"
"""objection_id, subject_id, listing_id, record_key, grounds, attachments (name, sha256, size),
filed_by, deadline, calendar_announced, suspends"""

OBJECTION_ESCALATED = "objection-escalated"
"""objection_id, deadline: the source did not answer in time; a reviewer takes it over"""

OBJECTION_DECIDED = "objection-decided"
"""objection_id, outcome (corrected, rejected, withdrawn), reason, decided_by, notice_id, body"""

STATEMENT_FILED = "statement-filed"
"""statement_id, subject_id, listing_id, record_key, statement (the subject's words), filed_by,
replaces (the statement it takes the place of, or None)"""

STATEMENT_REFUSED = "statement-refused"
"""statement_id, reason, refused_by: a reviewer found it names a third party (or other data the
registry may not show); the subject sees the reason"""

STATEMENT_WITHDRAWN = "statement-withdrawn"
"""statement_id, withdrawn_by"""

CORRECTIONS_SENT = "corrections-sent"
"""subject_id, what (record_retracted, listing_ended, record_unlinked, publicity_ended), entry,
recipients (principal_id, reader, notice_id, body): a correction of the subject's file, told
to those who read it in the pack's period; it supersedes reports issued before it"""

SCREENING_JUDGED = "screening-judged"
"""principal_id, query_key, entity_id, verdict (false_positive), reason: a screening principal
marked a result as not its counterparty; its later results for that query leave it out"""

SCREENING_JUDGEMENT_LIFTED = "screening-judgement-lifted"
"""principal_id, query_key, entity_id"""

REPAIR_APPLIED = "repair-applied"
"""repair_id, subject_id, listing_id, evidence, applied_by, eligible, reasons, decision_deadline"""

REPAIR_DECIDED = "repair-decided"
"""repair_id, approved, reason, decided_by, reapply_from, notice_id, body"""

CONTACT_SET = "contact-set"
"""subject_id, email, webhook_url, webhook_secret_cipher: where the subject's notices go"""

NOTICE_DELIVERED = "notice-delivered"
"""notice_id, channel (email, webhook), target, attempt: proof of service"""

NOTICE_DELIVERY_FAILED = "notice-delivery-failed"
"""notice_id, channel, target, attempt, error, next_attempt_at (None when given up)"""

PRINCIPAL_CREATED = "principal-created"
"""principal_id, role (agency, reviewer, subject, auditor), name, username, scope (measures an
agency may check; the subject an account speaks for), token_hash, password_hash (argon2)"""

PRINCIPAL_REVOKED = "principal-revoked"
"""principal_id"""

SESSION_OPENED = "session-opened"
"""token_hash, principal_id, expires_at: a person signed in with a password"""

SESSION_CLOSED = "session-closed"
"""token_hash, reason (signed-out): the session ends at once, on the pages and the API"""

READS_RECORDED = "reads-recorded"
"""the batch event of identified reads: count, and facts (the Merkle commitment to the
``read-recorded`` facts before it). Before schema 0015: reads: [{read_id, subject_id, at,
reader, kind (check, file, export), detail}] in the payload itself. Who looked at a subject's
data and why; checks are recorded in batches so that answering stays fast"""

READ_RECORDED = "read-recorded"
"""read_id, subject_id, at, reader, kind (check, file, export), detail: one identified read, a
fact of a ``reads-recorded`` batch. Its row of the log names no subject (the subject is in the
payload): a read is not a change to the subject's file, and must not send the subject's checks
to the exact path or fill the file's replay"""

PUBLIC_READS_COUNTED = "public-reads-counted"
"""reads: [{read_id, subject_id, at, day, count}]: anonymous reads of listed persons' public
entries, counted per subject, day and process (``read_id`` names the three; a later count for
the same id replaces the earlier one): the public is counted, not recorded one by one"""

PERSONAL_DATA_PURGED = "personal-data-purged"
"""subject_id, seqs (the events whose personal fields were redacted), redacted_digests (what
each redacted payload became), fields, principal_ids (the person's accounts, closed),
review_items (queued rows that were linked to the person), reason: the retention the policy
sets has passed. The redacted events keep the digest their hash covers, so the chain still
verifies; ``audit verify`` checks that every redacted event is named here and is what it
became."""

QUASI_IDENTIFIERS_REDACTED = "quasi-identifiers-redacted"
"""seqs (the subject-registered events redacted), fields, minor_records (record keys whose
person was a minor at the decision date, as the removed birth date showed), reason: the upgrade
to schema 0014 removed natural persons' division and birth date from the log. Like a purge, it
names every event it redacted, and ``audit verify`` accepts those redactions only."""

RECORD_PUBLICITY_ENDED = "record-publicity-ended"
"""record_key, repair_id, ended_on: an approved repair ends the record's publicity early"""

GRADE_ASSIGNED = "grade-assigned"
"""subject_id, method, level, points, previous_level: a new record, listing or decision changed
the subject's grade (the explanation is computed on demand from the file as of any moment)"""

INSPECTION_PLAN_PUBLISHED = "inspection-plan-published"
"""plan_id, seed, digest, plan: the drawn plan as printed, so that anyone can re-run the draw
from the same registry, plan and seed and compare digests ("one public")"""

CONSENT_GRANTED = "consent-granted"
"""consent_id, subject_id, grantee_kind (lender: may read the subject's file; source: may submit
records of ``record_types`` about the subject), grantee (a lender's principal id or a source id),
grantee_name, purpose, record_types, until, granted_by"""

CONSENT_REVOKED = "consent-revoked"
"""consent_id, revoked_by: the subject withdrew the consent; it stops at once"""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a service wants recorded; the store gives it its sequence number and hash."""

    type: str
    payload: dict[str, Any]
    subject_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
