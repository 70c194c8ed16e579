"""The database schema (SQLAlchemy Core) and engine set-up for SQLite (WAL) and PostgreSQL.

Two kinds of table: the event log (``events`` and its ``chain_head``), which is the source of
truth and is only ever appended to; and projections, which only the projector writes and which
``socialcredit rebuild`` can drop and replay from the log. Alembic migrations under
``migrations/`` create them; this module is their single description in code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)

metadata = MetaData()

#: The newest Alembic revision under migrations/versions (a test keeps the two in step).
SCHEMA_REVISION = "0018"

events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("subject_id", String(64), nullable=True),
    Column("payload", Text, nullable=False),
    Column("payload_digest", String(64)),
    # a chained event: the hash of the chained event before it; a fact: empty
    Column("prev_hash", String(64), nullable=False),
    # a chained event: its chain hash; a fact: its Merkle leaf (events/batches.py)
    Column("hash", String(64), nullable=False),
    # a fact: the batch event that commits to it; a chained event: null
    Column("batch_seq", BigInteger, nullable=True),
    Index("ix_events_subject", "subject_id", "seq"),
    # the chain without its facts, for the sampled check (``audit verify --sample``)
    Index(
        "ix_events_chained",
        "seq",
        sqlite_where=text("batch_seq IS NULL"),
        postgresql_where=text("batch_seq IS NULL"),
    ),
)

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    # an organisation's registration division (from its USCC); NULL for a person, whose
    # division is part of the ID number (no quasi-identifier in clear, DESIGN.md section 7)
    Column("division", String(6)),
    # the province (two digits), for statistics: an organisation's and a person's
    Column("province", String(2)),
    Column("organisation_code", String(10)),
    Column("id_cipher", Text),
    # the ID number as the pack's publication rule masks it (publication.yaml): the last four
    # characters at most
    Column("id_masked", String(32)),
    Column("known_from", String(32), nullable=False),
    Column("registered_at", DateTime, nullable=False),
    # an organisation's name as searched (``name_index.normalise``); NULL for a person, who is
    # never found by name. On PostgreSQL a pg_trgm GIN index serves searches of 3+ characters.
    Column("name_key", Text),
    # set when a reviewer merged this subject into another (subjects-merged): its records and
    # listings are the survivor's from then on; its own events stay in the log
    Column("merged_into", String(64)),
    Index("ix_subjects_organisation_code", "organisation_code"),
)

#: Organisation names by pairs of characters (see ``projections/name_index.py``).
name_grams = Table(
    "name_grams",
    metadata,
    Column("gram", String(8), primary_key=True),
    Column("name_len", Integer, primary_key=True, autoincrement=False),
    Column("subject_id", String(64), primary_key=True),
)

records = Table(
    "records",
    metadata,
    Column("record_key", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("source_record_id", String(128), nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("authority", Text, nullable=False),
    Column("decision_ref", Text, nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("fields", Text, nullable=False),
    Column("publicity_until", Date, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("retracted_at", DateTime),
    Column("retraction_reason", Text),
    # a natural person's record: whether the person was a minor at the decision date (derived
    # at ingest, the birth date is not kept); NULL for an organisation or when not known
    Column("minor_at_decision", Boolean),
    # the source's own version of the record, when it sends one (record_version)
    Column("record_version", BigInteger),
    UniqueConstraint("source", "source_record_id", name="uq_records_source_id"),
    Index("ix_records_subject", "subject_id"),
)

listings = Table(
    "listings",
    metadata,
    Column("listing_id", String(32), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("list_id", String(64), nullable=False),
    Column("record_key", String(32), nullable=False),
    Column("ground", String(64)),
    Column("decision_ref", Text),
    Column("status", String(16), nullable=False),
    Column("pending_reason", Text),
    Column("proposed_at", DateTime, nullable=False),
    Column("notified_at", DateTime),
    Column("activates_at", DateTime),
    Column("until", DateTime),
    Column("duration", String(16)),
    Column("activated_at", DateTime),
    Column("ended_at", DateTime),
    Column("end_reason", String(32)),
    Column("exit_due_by", DateTime),
    Index("ix_listings_subject", "subject_id"),
    Index("ix_listings_record", "record_key"),
    Index("ix_listings_status", "status"),
    Index("ix_listings_status_activates", "status", "activates_at"),
    Index("ix_listings_status_until", "status", "until"),
)

notices = Table(
    "notices",
    metadata,
    Column("notice_id", String(32), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("listing_id", String(32)),
    Column("kind", String(32), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_notices_subject", "subject_id"),
)

review_queue = Table(
    "review_queue",
    metadata,
    Column("item_id", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("source_record_id", String(128), nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("row", Text, nullable=False),
    Column("queued_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    #: the probabilistic model's finding (review-item-evaluated), JSON; NULL until evaluated
    Column("resolution", Text),
    UniqueConstraint("source", "source_record_id", name="uq_review_source_id"),
)

#: A reviewer's judgement that a queued row is not about a subject (from undoing a link), which
#: every later run of the model honours until a reviewer lifts it.
resolution_judgements = Table(
    "resolution_judgements",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("source_record_id", String(128), primary_key=True),
    Column("subject_id", String(64), primary_key=True),
    Column("verdict", String(16), nullable=False),  # different
    Column("reason", Text, nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("lifted_at", DateTime),
    Column("lifted_by", String(128)),
    Column("lift_reason", Text),
)

#: Pairs of registered organisations the model takes for one (``resolve dedupe``), for a
#: reviewer to merge or keep apart.
merge_proposals = Table(
    "merge_proposals",
    metadata,
    Column("proposal_id", String(32), primary_key=True),
    Column("subject_a", String(64), nullable=False),
    Column("subject_b", String(64), nullable=False),
    Column("match_probability", Float, nullable=False),
    Column("finding", Text, nullable=False),
    Column("proposed_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # open, merged, kept_apart
    Column("survivor", String(64)),
    Column("decided_by", String(128)),
    Column("reason", Text),
    Column("decided_at", DateTime),
    Index("ix_merge_proposals_status", "status"),
)

#: What sources say of an organisation besides its name, from rows that name it by its code:
#: its address and legal representative as last reported. Resolution compares rows without a
#: code against these. Organisations only: a person's address is not kept.
subject_details = Table(
    "subject_details",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("address", Text),
    Column("legal_representative", Text),
    Column("source", String(32), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_subject_details_legal_rep", "legal_representative"),
    Index("ix_subject_details_address", "address"),
)

ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("batch_id", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("file_name", Text),
    Column("at", DateTime, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("amended", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("queued", Integer, nullable=False),
    Column("rejects", Text, nullable=False),
    # the upload the batch belongs to, and whether it was the upload's last (an upload cut off
    # midway has none); NULL for batches before schema 0014
    Column("upload_id", String(32)),
    Column("last", Boolean),
    Index("ix_ingest_batches_source_upload", "source", "upload_id"),
)

#: A purge's permission to redact one event to exactly one payload, written just before the
#: UPDATE and deleted after it: the log's guard (migration 0014) allows no other rewrite.
redaction_grants = Table(
    "redaction_grants",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", Text, nullable=False),
)

#: The fingerprint of the ID keys the store was written with (``IdProtector.fingerprint``):
#: a process whose keys differ refuses person data instead of answering wrongly.
store_keys = Table(
    "store_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("fingerprint", String(64), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
)

#: The rejected rows of an upload (row, field, reason), for the source to correct and resend.
#: Not a projection and not in the log (which keeps the upload's counts and this report's
#: SHA-256): written with the batch, deleted when ``keep_until`` has passed (intake.yaml).
reject_reports = Table(
    "reject_reports",
    metadata,
    Column("batch_id", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("file_name", Text),
    Column("at", DateTime, nullable=False),
    Column("keep_until", Date, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_reject_reports_keep_until", "keep_until"),
)

source_tokens = Table(
    "source_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

objections = Table(
    "objections",
    metadata,
    Column("objection_id", String(32), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("listing_id", String(32)),
    Column("record_key", String(32)),
    Column("grounds", Text, nullable=False),
    Column("attachments", Text, nullable=False),
    Column("filed_by", String(128), nullable=False),
    Column("filed_at", DateTime, nullable=False),
    Column("deadline", DateTime, nullable=False),
    Column("calendar_announced", Boolean, nullable=False),
    Column("suspends", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("escalated_at", DateTime),
    Column("decided_at", DateTime),
    Column("outcome", String(16)),
    Column("reason", Text),
    Column("decided_by", String(128)),
    Index("ix_objections_subject", "subject_id"),
    Index("ix_objections_listing", "listing_id"),
    Index("ix_objections_status", "status"),
)

#: A subject's own statements beside records and listings about it (at most one in force per
#: entry: a new one takes the place of the last).
statements = Table(
    "statements",
    metadata,
    Column("statement_id", String(32), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("listing_id", String(32)),
    Column("record_key", String(32)),
    Column("statement", Text, nullable=False),
    Column("filed_by", String(128), nullable=False),
    Column("filed_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # shown, replaced, refused, withdrawn
    Column("ended_at", DateTime),
    Column("reason", Text),
    Column("decided_by", String(128)),
    Index("ix_statements_subject", "subject_id"),
)

#: A screening principal's "not this one": a result it marked as not the counterparty of a
#: query, left out of that principal's later results for the same query.
screening_judgements = Table(
    "screening_judgements",
    metadata,
    Column("principal_id", String(32), primary_key=True),
    Column("query_key", String(64), primary_key=True),
    Column("entity_id", String(120), primary_key=True),
    Column("verdict", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("judged_at", DateTime, nullable=False),
    Column("lifted_at", DateTime),
)

repairs = Table(
    "repairs",
    metadata,
    Column("repair_id", String(32), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("listing_id", String(32)),
    Column("record_key", String(32)),
    Column("evidence", Text, nullable=False),
    Column("applied_by", String(128), nullable=False),
    Column("applied_at", DateTime, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decision_deadline", DateTime),
    Column("decided_at", DateTime),
    Column("reason", Text),
    Column("decided_by", String(128)),
    Column("reapply_from", DateTime),
    Index("ix_repairs_subject", "subject_id"),
    Index("ix_repairs_listing", "listing_id"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("email", Text),
    Column("webhook_url", Text),
    Column("webhook_secret_cipher", Text),
    Column("since", DateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("notice_id", String(32), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("target", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_error", Text),
    Column("delivered_at", DateTime),
)

principals = Table(
    "principals",
    metadata,
    Column("principal_id", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("username", String(128), unique=True),
    Column("scope", Text, nullable=False),
    Column("token_hash", String(64), unique=True),
    Column("password_hash", Text),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("principal_id", String(32), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

reads = Table(
    "reads",
    metadata,
    Column("read_id", String(40), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("reader", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    # the log's row that holds the read (a fact since schema 0015; before, the batch event)
    Column("log_seq", BigInteger, nullable=True),
    Index("ix_reads_subject", "subject_id", "at"),
)

grades = Table(
    "grades",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("method", String(64), primary_key=True),
    Column("level", String(8), nullable=False),
    Column("points", Float, nullable=False),
    Column("assigned_at", DateTime, nullable=False),
    Index("ix_grades_method_level", "method", "level"),
)

inspection_plans = Table(
    "inspection_plans",
    metadata,
    Column("plan_id", String(128), primary_key=True),
    Column("seed", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("published_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
)

#: Consents a subject gave: to a lender to read its file, or to a source to share records.
consents = Table(
    "consents",
    metadata,
    Column("consent_id", String(36), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("grantee_kind", String(16), nullable=False),
    Column("grantee", String(64), nullable=False),
    Column("grantee_name", Text, nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("record_types", Text, nullable=False),
    Column("granted_at", DateTime, nullable=False),
    Column("until", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Index("ix_consents_grantee", "grantee", "subject_id"),
    Index("ix_consents_subject", "subject_id"),
)

#: Attachments, content-addressed: an event names a file by its SHA-256, the bytes live here
#: (not a projection: a rebuild leaves them; a purge deletes a person's).
blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("stored_at", DateTime, nullable=False),
)

#: Tables that are projections of the event log, in the order a rebuild clears them.
PROJECTIONS: tuple[Table, ...] = (
    subjects,
    name_grams,
    records,
    listings,
    notices,
    review_queue,
    subject_details,
    resolution_judgements,
    merge_proposals,
    ingest_batches,
    source_tokens,
    objections,
    statements,
    screening_judgements,
    repairs,
    contacts,
    deliveries,
    principals,
    sessions,
    reads,
    grades,
    inspection_plans,
    consents,
)


SQLITE_CACHE_MIB = 64  # page cache per connection
SQLITE_MMAP_MIB = 4096  # address space, not memory: pages come from the OS's cache


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings the registry relies on.

    SQLite: WAL journal, foreign keys, a busy timeout, and write transactions that take the write
    lock at BEGIN (``BEGIN IMMEDIATE``) so that two appenders never read the same chain head.
    Each connection keeps up to ``SQLITE_CACHE_MIB`` of pages (SQLite's default is 2 MiB) and
    reads the file through a memory map of up to ``SQLITE_MMAP_MIB``: inserts into the indexes
    of a store of millions of records otherwise read their pages back with a system call each.
    PostgreSQL: the chain head row is locked with ``SELECT ... FOR UPDATE`` instead.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # deleted content is overwritten, not left in free pages (a purged name must not
            # be readable with `strings` from the file)
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}")
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_MIB * 2**20}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            write = conn.get_execution_options().get("registry_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)
