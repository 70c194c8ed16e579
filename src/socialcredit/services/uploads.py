"""Uploads: what an agency's file became, batch by batch, and the report of the rows it refused.

An upload is ingested in batches, each committed on its own; its batches carry one upload id and
the last one says so (``ingest``), so an upload cut off midway shows as such. Rejected rows are
not records: they go to a report per batch (row, field, reason; never the rejected values),
kept for the retention the pack's ``intake.yaml`` sets and then deleted, while the log keeps
the batch's counts and the report's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, insert, select

from ..clock import iso
from ..db import ingest_batches, reject_reports
from ..errors import InvalidInput
from ..events.chain import canonical
from ..ingest.readers import RowProblem
from ..policy.durations import Duration, add_duration

if TYPE_CHECKING:
    from ..bootstrap import Registry

#: The file types an upload in a national format may be.
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".json", ".jsonl")


def write_report(
    reg: Registry,
    uow: Any,
    batch_id: str,
    source: str,
    file_name: str | None,
    rejects: list[RowProblem],
) -> str | None:
    """Keep a batch's rejects apart from the log, in the batch's transaction; their digest."""
    if not rejects:
        return None
    body = canonical([{"row": r.row, "field": r.field, "reason": r.reason} for r in rejects])
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    start = datetime.combine(reg.now().astimezone(reg.tz).date(), time(0, 0), tzinfo=reg.tz)
    keep = Duration.parse(reg.pack.intake.reject_reports.retention)
    uow.execute(
        insert(reject_reports).values(
            batch_id=batch_id,
            source=source,
            file_name=file_name,
            at=uow.at,
            keep_until=add_duration(start, keep, reg.calendar, reg.tz).at.date(),
            rejected=len({r.row for r in rejects}),
            digest=digest,
            body=body,
        )
    )
    return digest


def expire_reports(reg: Registry) -> int:
    """Delete the rejects reports whose retention (intake.yaml) has passed; how many."""
    today = reg.now().astimezone(reg.tz).date()
    with reg.engine.begin() as conn:
        return int(
            conn.execute(delete(reject_reports).where(reject_reports.c.keep_until < today)).rowcount
        )


@contextmanager
def temporary_file(file_name: str) -> Iterator[Path]:
    """A temporary path with the upload's file type, for a file sent over HTTP or through the
    console; removed afterwards."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InvalidInput(f"file_name must end in one of {', '.join(UPLOAD_SUFFIXES)}")
    with tempfile.TemporaryDirectory(prefix="socialcredit-upload-") as tmp:
        yield Path(tmp) / f"upload{suffix}"


def recent(reg: Registry, source: str, limit: int = 10) -> list[dict[str, Any]]:
    """A source's latest uploads, each with its totals over its batches and whether it ran to
    its end: an upload cut off midway (the connection dropped, the server stopped) kept the
    batches it committed, and the source sees that here and sends the file again (rows already
    in count as unchanged)."""
    b = ingest_batches.c
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                b.upload_id,
                func.min(b.file_name).label("file_name"),
                func.min(b.at).label("started"),
                func.max(b.at).label("ended"),
                func.count().label("batches"),
                func.sum(b.accepted).label("accepted"),
                func.sum(b.amended).label("amended"),
                func.sum(b.unchanged).label("unchanged"),
                func.sum(b.rejected).label("rejected"),
                func.sum(b.queued).label("queued"),
                func.max(case((b.last.is_(True), 1), else_=0)).label("complete"),
            )
            .where((b.source == source) & b.upload_id.is_not(None))
            .group_by(b.upload_id)
            .order_by(func.max(b.at).desc(), b.upload_id)
            .limit(limit)
        ).all()
    return [
        {
            "upload_id": r.upload_id,
            "file_name": r.file_name,
            "started": iso(r.started, reg.tz),
            "ended": iso(r.ended, reg.tz),
            "batches": int(r.batches),
            "accepted": int(r.accepted),
            "amended": int(r.amended),
            "unchanged": int(r.unchanged),
            "rejected": int(r.rejected),
            "queued": int(r.queued),
            "complete": bool(r.complete),
        }
        for r in rows
    ]


def rejects_of(reg: Registry, source: str, upload_id: str) -> list[dict[str, Any]]:
    """The rejected rows of one of the source's uploads (row, field, reason), from the
    rejects reports of its batches, while their retention lasts."""
    b = ingest_batches.c
    with reg.engine.connect() as conn:
        bodies = conn.execute(
            select(reject_reports.c.body)
            .join(ingest_batches, b.batch_id == reject_reports.c.batch_id)
            .where((b.source == source) & (b.upload_id == upload_id))
            .order_by(b.at, b.batch_id)
        ).scalars()
        return [item for body in bodies for item in json.loads(body)]
