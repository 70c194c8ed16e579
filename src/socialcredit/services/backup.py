"""Backup and restore: the event log and the attachment blobs, in one consistent file.

Everything else the registry holds is a projection of the log, so a backup is the log (every
column of every event, hashes included, redactions as they stand) and the blobs that events
name by digest. It is read inside one snapshot (PostgreSQL REPEATABLE READ; an SQLite read
transaction in WAL mode), so the service may keep writing: the backup is the log up to the head
it saw first. The file is gzip-compressed JSON Lines (a header, the events in order, the blobs,
and an end line carrying counts and a SHA-256 over every line before it), written under a
temporary name and renamed when complete: a file with the final name is whole.

Restore goes into an empty database: it loads the events and blobs, sets the chain head,
verifies the whole chain, and replays every event into the projections, all in one transaction.
A truncated or altered backup, or a chain that does not verify, restores nothing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select

from ..bulk import write_many
from ..db import SCHEMA_REVISION, blobs, chain_head, events
from ..errors import InvalidInput
from ..events.store import INSERT_EVENT, StoredEvent, verify
from ..projections import projector

if TYPE_CHECKING:
    from ..bootstrap import Registry

FORMAT = "socialcredit-backup"
VERSION = 1
_CHUNK = 5000
_EVENT_COLUMNS = (
    "seq",
    "event_id",
    "type",
    "at",
    "actor",
    "subject_id",
    "payload",
    "payload_digest",
    "prev_hash",
    "hash",
    "batch_seq",  # absent from backups before schema 0015: none of their events is a fact
)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class BackupSummary:
    path: str
    events: int
    blobs: int
    head_seq: int
    head_hash: str
    bytes: int
    sha256: str  # of the lines before the end line, as the end line states it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _snapshot(reg: Registry) -> Connection:
    conn = reg.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    return conn


def backup(reg: Registry, path: Path, progress: Progress | None = None) -> BackupSummary:
    """Write the log and the blobs to ``path`` (gzip JSON Lines) from one snapshot."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    n_events = n_blobs = 0
    conn = _snapshot(reg)
    try:
        head = conn.execute(select(chain_head.c.seq, chain_head.c.hash)).first()
        head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, "")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as f:

            def line(obj: dict[str, Any], counted: bool = True) -> None:
                text = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
                if counted:
                    digest.update(text.encode("utf-8"))
                f.write(text)

            line(
                {
                    "kind": "header",
                    "format": FORMAT,
                    "version": VERSION,
                    "schema_revision": SCHEMA_REVISION,
                    "head_seq": head_seq,
                    "head_hash": head_hash,
                    "pack_digest": reg.pack.digest,
                    "taken_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                }
            )
            for row in _events(conn, head_seq):
                line({"kind": "event", **row})
                n_events += 1
                if progress and n_events % _CHUNK == 0:
                    progress(_CHUNK)
            if progress and n_events % _CHUNK:
                progress(n_events % _CHUNK)
            for b in conn.execute(select(blobs).order_by(blobs.c.sha256)):
                line(
                    {
                        "kind": "blob",
                        "sha256": b.sha256,
                        "subject_id": b.subject_id,
                        "stored_at": b.stored_at.isoformat(),
                        "content": base64.b64encode(b.content).decode("ascii"),
                    }
                )
                n_blobs += 1
            line(
                {"kind": "end", "events": n_events, "blobs": n_blobs, "sha256": digest.hexdigest()},
                counted=False,
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        conn.rollback()
        conn.close()
    if n_events != head_seq:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(
            f"the log holds {n_events} events up to its head at {head_seq}: it has gaps; "
            "run `socialcredit audit verify`"
        )
    os.replace(tmp, path)
    return BackupSummary(
        str(path),
        n_events,
        n_blobs,
        head_seq,
        head_hash,
        path.stat().st_size,
        digest.hexdigest(),
    )


def _events(conn: Connection, head_seq: int) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = conn.execute(
            select(events)
            .where((events.c.seq > last) & (events.c.seq <= head_seq))
            .order_by(events.c.seq)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        for r in rows:
            d = {c: getattr(r, c) for c in _EVENT_COLUMNS}
            d["at"] = r.at.isoformat(timespec="microseconds")
            yield d
        last = rows[-1].seq


@dataclass(frozen=True)
class RestoreSummary:
    path: str
    events: int
    blobs: int
    head_seq: int
    projected: int
    chain_ok: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, text in enumerate(f, start=1):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError:
                    raise InvalidInput(
                        f"{path}: line {n} is not JSON: the backup is damaged"
                    ) from None
                yield text, obj
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"{path}: cannot be read as a backup ({exc})") from None


def restore(reg: Registry, path: Path, progress: Progress | None = None) -> RestoreSummary:
    """Load a backup into the registry's database, which must hold no events yet."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path}: no such backup file")
    lines = _lines(path)
    first = next(lines, None)
    if first is None or first[1].get("kind") != "header" or first[1].get("format") != FORMAT:
        raise InvalidInput(f"{path}: not a socialcredit backup (no header line)")
    header = first[1]
    if header.get("version") != VERSION:
        raise InvalidInput(f"{path}: backup format version {header.get('version')} is unknown")
    if str(header.get("schema_revision", "")) > SCHEMA_REVISION:
        raise InvalidInput(
            f"{path}: taken at schema revision {header['schema_revision']}, newer than this "
            f"program's {SCHEMA_REVISION}: restore with the newer program"
        )
    digest = hashlib.sha256(first[0].encode("utf-8"))
    n_events = n_blobs = projected = 0
    end: dict[str, Any] | None = None
    with reg.engine.connect().execution_options(registry_write=True) as conn, conn.begin():
        if conn.execute(select(func.count()).select_from(events)).scalar_one():
            raise InvalidInput(
                "the database already holds events: restore goes into an empty database "
                "(set SOCIALCREDIT_DATABASE_URL to a new one)"
            )
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal projected
            if not batch:
                return
            write_many(conn, INSERT_EVENT, batch)
            projector.apply(
                conn,
                [
                    StoredEvent(
                        r["seq"],
                        r["event_id"],
                        r["type"],
                        r["at"],
                        r["actor"],
                        r["subject_id"],
                        r["payload"],
                    )
                    for r in batch
                ],
            )
            projected += len(batch)
            if progress:
                progress(len(batch))
            batch.clear()

        for text, obj in lines:
            kind = obj.get("kind")
            if kind == "end":
                end = obj
                break
            digest.update(text.encode("utf-8"))
            if kind == "event":
                row: dict[str, Any] = {
                    c: obj.get(c) if c == "batch_seq" else obj[c] for c in _EVENT_COLUMNS
                }
                row["at"] = datetime.fromisoformat(row["at"])
                if row["seq"] != n_events + 1:
                    raise InvalidInput(
                        f"{path}: event {n_events + 1} is missing (the next is {row['seq']})"
                    )
                batch.append(row)
                n_events += 1
                if len(batch) >= _CHUNK:
                    flush()
            elif kind == "blob":
                flush()
                conn.execute(
                    insert(blobs).values(
                        sha256=obj["sha256"],
                        subject_id=obj["subject_id"],
                        stored_at=datetime.fromisoformat(obj["stored_at"]),
                        content=base64.b64decode(obj["content"]),
                    )
                )
                n_blobs += 1
            else:
                raise InvalidInput(f"{path}: unknown line kind {kind!r}")
        flush()
        if end is None:
            raise InvalidInput(f"{path}: the backup ends without its end line: it is truncated")
        if (end.get("events"), end.get("blobs"), end.get("sha256")) != (
            n_events,
            n_blobs,
            digest.hexdigest(),
        ):
            raise InvalidInput(
                f"{path}: the content does not match its end line (events {n_events} of "
                f"{end.get('events')}, blobs {n_blobs} of {end.get('blobs')}, or the digest "
                "differs): the backup was altered or damaged"
            )
        if n_events:
            conn.execute(
                insert(chain_head).values(id=1, seq=header["head_seq"], hash=header["head_hash"])
            )
        report = verify(conn)
        if not report.ok:
            raise InvalidInput(f"{path}: the restored log does not verify: {report.problem}")
    if reg._check_index is not None:
        reg._check_index.invalidate()
    return RestoreSummary(str(path), n_events, n_blobs, header["head_seq"], projected, report.ok)
