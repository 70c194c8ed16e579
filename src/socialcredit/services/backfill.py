"""Backfill: an empty registry loaded from large files by several processes at once.

An ordinary ingest takes the rows of a file one batch after another in one process: each batch
reads what the store already holds about its subjects (their records, open listings,
registrations) and writes what follows. What one row brings depends only on what the store
holds about the subjects it names, so rows that share no subject can be ingested apart. A
backfill:

1. **partitions** the rows by the subjects they name (``backfill_partition``): a row's keys are its subject's code, the
   ID numbers of the persons it names, and the organisation code a unified code embeds or a
   codeless row gives as its legacy code (the one the deterministic resolution links by); rows
   that share a key are kept together (union-find over the keys), and each group goes whole to
   one of ``workers`` shards;
2. **ingests** each shard with the ordinary ``ingest`` (the same validation, resolution, list
   rules, notices, grades, batches and Merkle roots: the code path is one) into a store of its
   own, in worker processes (``engine="local"``) or Spark tasks (``engine="spark"``), all at
   the same moment and with the registry's own keys and pack;
3. **merges** the shards into the registry's log and projections, one transaction a shard: the
   facts keep their leaves (a leaf covers a fact's id, type, subject and payload digest, not its
   number), their numbers move after the log's head, and each batch event is chained anew after
   the head with the first number of its facts moved likewise, so every root, proof and the
   chain verify as if the batches had been ingested here one after another. On SQLite the
   projections are copied table to table inside SQLite (``INSERT ... SELECT`` from the
   attached shard); on PostgreSQL with ``COPY``.

The result is what an ordinary ingest of the same rows gives, shard after shard, with the same
batch boundaries: a test holds the two equal, table by table. A backfill loads an **empty
registry** only (no subjects, records or consents yet), as bulk loaders of other databases do:
a shard cannot see what another process would have written to the store meanwhile. A registry
that holds records takes the ordinary ``ingest``.

A failure in a shard stops the backfill before anything is merged; a failure during the merge
leaves the shards merged before it (whole batches, with a chain that verifies) and says how to
finish: the ordinary ingest of the same files changes nothing already recorded and records the
rest.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, func, insert, select, update

from ..bulk import write_many
from ..clock import FixedClock, ensure_aware, to_utc_naive
from ..db import chain_head, consents, events, metadata, records, subjects
from ..errors import (
    InvalidInput,
    StorageFull,
    UnknownEntity,
    is_storage_full,
)
from ..events.chain import at_text, canonical
from ..events.store import lock_head
from ..ingest.readers import Row, RowProblem, read_rows
from .backfill_partition import partition, staged_rows
from .ingest import IngestSummary, ingest, open_format

if TYPE_CHECKING:
    from ..bootstrap import Registry
    from ..ingest.formats import Mapped

Progress = Callable[[int], None]

#: Tables a shard writes that the merge does not copy: the chain's head (the merge moves it),
#: the store's key fingerprint and schema version (the registry's own).
_NOT_COPIED = frozenset({"chain_head", "store_keys", "alembic_version", "events"})
#: Content-addressed tables: two shards may hold the same row.
_SHARED_ROWS = frozenset({"blobs"})
#: rows a merge moves to PostgreSQL at once
_MERGE_CHUNK = 20_000


@dataclass
class BackfillSummary:
    """One ingest summary a file (the shards' added up), and how the work went."""

    files: list[IngestSummary]
    engine: str
    shards: int
    rows_per_shard: list[int]
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self, max_rejects: int | None = None) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "shards": self.shards,
            "rows_per_shard": self.rows_per_shard,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "files": [s.as_dict(max_rejects) for s in self.files],
        }


# --- 1. partition: in backfill_partition. 2. ingest each shard ---------------------------


@dataclass(frozen=True)
class _Job:
    shard: int
    url: str
    registry: type[Registry]  # the class, which a worker process imports by name
    settings: Any
    pack: Any
    at: datetime
    actor: str
    files: list[tuple[str, str, str, str]]  # (file name, source, upload id, staged rows' path)
    batch_size: int


def _shard_ingest(job: _Job, progress: Progress | None = None) -> list[dict[str, Any]]:
    """One shard: its rows through the ordinary ingest, into a store of its own."""
    settings = dataclasses.replace(
        job.settings, database_url=job.url, check_file_path=None, open_data_path=None
    )
    reg = job.registry(settings, clock=FixedClock(job.at), pack=job.pack)
    _disposable(reg.engine)
    try:
        out = []
        for file_name, source, upload_id, path in job.files:
            s = ingest(
                reg,
                staged_rows(Path(path)),
                source,
                actor=job.actor,
                file_name=file_name,
                batch_size=job.batch_size,
                progress=progress,
                upload_id=upload_id,
            )
            out.append(_summary_state(s))
        return out
    finally:
        reg.close()


def _disposable(engine: Any) -> None:
    """A shard's store is thrown away if its process fails: it need not survive a power cut,
    so it is never synced to disk (``synchronous=OFF``)."""

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA secure_delete=OFF")  # nothing is deleted from a shard
        cur.close()

    engine.dispose()  # connections opened before (the migrations') take it too


def _summary_state(s: IngestSummary) -> dict[str, Any]:
    d = dataclasses.asdict(s)
    d["rejects"] = [(r.row, r.field, r.reason) for r in s.rejects]
    return d


def _worker(job: _Job, results: Any, parent: int) -> None:
    """A worker process: progress and the result (or the failure) go back on ``results``. It
    stops at its next batch if the backfill that started it is gone (killed: nothing would
    merge its work)."""

    def batch_done(n: int) -> None:
        if os.getppid() != parent:
            raise SystemExit(f"backfill shard {job.shard}: the backfill process is gone")
        results.put(("rows", job.shard, n))

    try:
        got = _shard_ingest(job, batch_done)
        results.put(("done", job.shard, got))
    except BaseException as exc:  # the parent reports it; nothing of this shard is merged
        traceback.print_exc()
        kind = "full" if is_storage_full(exc) else "failed"
        results.put((kind, job.shard, f"{type(exc).__name__}: {exc}"))


def _run_local(jobs: list[_Job], progress: Progress | None) -> list[list[dict[str, Any]]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no engine, lock or thread of this process
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(job, results, os.getpid()), daemon=True) for job in jobs
    ]
    for p in procs:
        p.start()
    out: dict[int, list[dict[str, Any]]] = {}
    try:
        while len(out) < len(jobs):
            try:
                kind, shard, value = results.get(timeout=1.0)
            except queue.Empty:
                dead = [
                    j.shard
                    for j, p in zip(jobs, procs, strict=True)
                    if j.shard not in out and not p.is_alive() and p.exitcode not in (0, None)
                ]
                if dead:
                    raise InvalidInput(
                        f"backfill shard {dead[0]} stopped (exit code "
                        f"{procs[dead[0]].exitcode}) before it finished; nothing was merged"
                    ) from None
                continue
            if kind == "rows":
                if progress:
                    progress(value)
            elif kind == "done":
                out[shard] = value
            elif kind == "full":
                raise StorageFull(
                    f"backfill shard {shard} ran out of space in the work directory; nothing "
                    f"was merged (free space there or give --work-dir elsewhere): {value}"
                )
            else:
                raise InvalidInput(f"backfill shard {shard} failed; nothing was merged: {value}")
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
    return [out[j.shard] for j in jobs]


def _run_spark(jobs: list[_Job]) -> list[list[dict[str, Any]]]:
    """Each shard a Spark task (local mode here; on a cluster the work directory must be one
    every executor reaches)."""
    from .. import spark

    sc = spark.session().sparkContext
    got = sc.parallelize(jobs, len(jobs)).map(lambda j: (j.shard, _shard_ingest(j))).collect()
    by = dict(got)
    return [by[j.shard] for j in jobs]


# --- 3. merge -----------------------------------------------------------------------------


def _event_rows(
    rows: list[dict[str, Any]], offset: int, head: tuple[int, str]
) -> tuple[list[dict[str, Any]], tuple[int, str]]:
    """A shard's chained events moved after ``head``: their numbers by ``offset``, the first
    number of the facts their payload commits to likewise, chained anew (digest and hash)."""
    from ..events.chain import event_hash, payload_digest

    seq_h, prev = head
    out = []
    for r in rows:
        payload = json.loads(r["payload"])
        if isinstance(payload.get("facts"), dict):
            payload["facts"]["first"] += offset
        text = canonical(payload)
        digest = payload_digest(text)
        seq = r["seq"] + offset
        h = event_hash(
            prev,
            seq,
            r["event_id"],
            r["type"],
            r["at"],
            r["actor"],
            r["subject_id"],
            "sha256:" + digest,
        )
        out.append(
            {
                **r,
                "seq": seq,
                "payload": text,
                "payload_digest": digest,
                "prev_hash": prev,
                "hash": h,
                "batch_seq": None,
            }
        )
        prev, seq_h = h, seq
    return out, (seq_h, prev)


def _columns(name: str) -> list[str]:
    return [c.name for c in metadata.tables[name].columns]


def _copy(
    conn: Connection, shard: Any, sqlite: bool, name: str, where: str = "", **moved: int
) -> None:
    """A shard's table into the registry's: its rows (``where``), the columns in ``moved``
    shifted by their value. SQLite: table to table inside SQLite, from the attached shard;
    PostgreSQL: the shard's rows as SQLite holds them (dates and times as ISO text, booleans
    as 0 and 1, which PostgreSQL reads) sent with ``COPY``."""
    names = _columns(name)
    cols = ", ".join(f'"{c}"' for c in names)
    sel = ", ".join(f'"{c}" + {moved[c]}' if c in moved else f'"{c}"' for c in names)
    if sqlite:
        verb = "INSERT OR IGNORE" if name in _SHARED_ROWS else "INSERT"
        conn.exec_driver_sql(
            f'{verb} INTO main."{name}" ({cols}) SELECT {sel} FROM shard."{name}" {where}'
        )
        return
    cur = shard.execute(f'SELECT {sel} FROM "{name}" {where}')
    if name in _SHARED_ROWS:  # few rows, some perhaps there already
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        table = metadata.tables[name]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if rows:
            conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    pg: Any = raw.cursor()
    try:
        with pg.copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
            while chunk := cur.fetchmany(_MERGE_CHUNK):
                for r in chunk:
                    copy.write_row(r)
    finally:
        pg.close()


def _merge_shard(reg: Registry, path: Path, at: datetime) -> None:
    """One shard's log and projections into the registry's, in one transaction."""
    import sqlite3

    sqlite = reg.engine.dialect.name == "sqlite"
    shard = sqlite3.connect(path)
    try:
        with reg.engine.connect().execution_options(registry_write=True) as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            if sqlite:  # outside a transaction, as SQLite requires
                raw.execute("ATTACH DATABASE ? AS shard", (str(path),))
            try:
                with conn.begin():
                    _merge_into(conn, shard, sqlite, at)
            finally:
                if sqlite:
                    raw.execute("DETACH DATABASE shard")
    finally:
        shard.close()


def _merge_into(conn: Connection, shard: Any, sqlite: bool, at: datetime) -> None:
    head = lock_head(conn)
    last = conn.execute(select(events.c.at).where(events.c.seq == head[0])).scalar_one_or_none()
    if last is not None and last > at:
        raise InvalidInput(
            f"the log gained events after the backfill began (the last at {at_text(last)}); "
            "this shard was not merged: the ordinary ingest of the same files records the rest"
        )
    offset = head[0]
    names = _columns("events")
    chained = [
        dict(zip(names, r, strict=True))
        for r in shard.execute(
            f"SELECT {', '.join(names)} FROM events WHERE batch_seq IS NULL ORDER BY seq"
        )
    ]
    for r in chained:
        r["at"] = datetime.fromisoformat(r["at"])
    moved, new_head = _event_rows(chained, offset, head)
    _copy(
        conn, shard, sqlite, "events", "WHERE batch_seq IS NOT NULL", seq=offset, batch_seq=offset
    )
    write_many(conn, insert(events), moved)
    for name in metadata.tables:
        if name not in _NOT_COPIED:
            _copy(conn, shard, sqlite, name)
    conn.execute(
        update(chain_head).where(chain_head.c.id == 1).values(seq=new_head[0], hash=new_head[1])
    )


# --- the whole ------------------------------------------------------------------------------


def _require_empty(reg: Registry) -> None:
    with reg.engine.connect() as conn:
        held = {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for name, t in (("subjects", subjects), ("records", records), ("consents", consents))
        }
    if any(held.values()):
        what = ", ".join(f"{n:,} {name}" for name, n in held.items() if n)
        raise InvalidInput(
            f"backfill loads an empty registry, and this one holds {what}: a shard could not "
            "see them. Use socialcredit ingest (the same rules, one process)"
        )


@dataclass(frozen=True)
class BackfillFile:
    """A file to load, the source that sends it, and its format (a national format of the
    pack, ``auto``, or None for the interchange format)."""

    path: Path
    source: str
    fmt: str | None = None


def backfill(
    reg: Registry,
    files: list[BackfillFile],
    *,
    actor: str,
    workers: int = 2,
    engine: str = "local",
    batch_size: int = 5000,
    work_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> BackfillSummary:
    """Load ``files`` into an empty registry with ``workers`` shards; each shard takes its
    rows of the files in the order given. ``progress(stage, rows)``: rows partitioned (stage
    ``read``) and ingested (``ingest``)."""
    if engine not in ("local", "spark"):
        raise InvalidInput(f"unknown engine {engine!r} (local or spark)")
    if workers < 1:
        raise InvalidInput("workers must be at least 1")
    if not files:
        raise InvalidInput("no file to backfill")
    for f in files:
        if f.source not in reg.pack.sources:
            raise UnknownEntity(
                f"unknown source {f.source!r} (known: {', '.join(sorted(reg.pack.sources))})"
            )
    _require_empty(reg)
    mapped: list[Mapped | None] = []
    sources: list[tuple[str, Iterator[Row]]] = []
    for f in files:
        if f.fmt is None:
            sources.append((f.path.name, read_rows(f.path)))
            mapped.append(None)
        else:
            opened = open_format(reg, f.path, f.source, f.fmt)
            sources.append((f.path.name, opened.rows()))
            mapped.append(opened)
    at = ensure_aware(reg.now())
    seconds: dict[str, float] = {}
    base = work_dir or _default_work_dir(reg)
    base.mkdir(parents=True, exist_ok=True)
    _remove_stale(base)
    work = Path(tempfile.mkdtemp(prefix="backfill-", dir=base))
    (work / "owner.pid").write_text(str(os.getpid()))
    try:
        t0 = time.perf_counter()
        try:
            parts = partition(
                reg.pack,
                sources,
                workers,
                work,
                (lambda n: progress("read", n)) if progress else None,
            )
        except OSError as exc:
            if is_storage_full(exc):
                raise StorageFull(
                    f"the work directory {base} is full; nothing was loaded (free space there "
                    "or give --work-dir elsewhere)"
                ) from exc
            raise
        seconds["partition"] = time.perf_counter() - t0
        uploads = [uuid.uuid4().hex for _ in files]  # one upload a file, whatever its shards
        jobs = [
            _Job(
                shard=s,
                url=f"sqlite:///{work / f'shard{s}.db'}",
                registry=type(reg),
                settings=reg.settings,
                pack=reg.pack,
                at=at,
                actor=actor,
                files=[
                    (files[fi].path.name, files[fi].source, uploads[fi], str(p))
                    for fi, p in enumerate(parts.paths[s])
                ],
                batch_size=batch_size,
            )
            for s in range(workers)
        ]
        t1 = time.perf_counter()
        if engine == "spark":
            states = _run_spark(jobs)
        else:
            states = _run_local(jobs, (lambda n: progress("ingest", n)) if progress else None)
        seconds["ingest"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        for done, job in enumerate(jobs):
            try:
                _merge_shard(reg, Path(job.url.removeprefix("sqlite:///")), to_utc_naive(at))
            except Exception as exc:
                if not is_storage_full(exc):
                    raise
                raise StorageFull(
                    f"the store ran out of space while merging shard {job.shard}: that shard "
                    f"was rolled back whole, the {done} merged before it are kept (whole "
                    "batches, the chain verifies). Free space, then run socialcredit ingest of "
                    "the same files: it records the rest and changes nothing already there"
                ) from exc
            if progress:
                progress("merge", parts.rows[job.shard])
        if reg.engine.dialect.name == "sqlite":
            with reg.engine.connect() as conn:  # the merges' write-ahead log back into the file
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds["merge"] = time.perf_counter() - t2
        out = []
        for fi, f in enumerate(files):
            total = _add_up(f.source, f.path.name, [st[fi] for st in states])
            m = mapped[fi]
            if m is not None:
                total.rejects = [
                    RowProblem(p.row, m.source_column(p.field), p.reason) for p in total.rejects
                ]
            out.append(total)
        return BackfillSummary(out, engine, workers, parts.rows, seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale(base: Path) -> None:
    """The work directories of backfills whose process is gone (killed before it could clean
    up after itself)."""
    for d in base.glob("backfill-*"):
        try:
            pid = int((d / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass  # another user's process, alive


def _default_work_dir(reg: Registry) -> Path:
    """Beside an SQLite file (the shards are as large as what they load), else the system's
    temporary directory."""
    url = reg.settings.database_url
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///")).resolve().parent
    return Path(tempfile.gettempdir())


def _add_up(source: str, file_name: str, states: list[dict[str, Any]]) -> IngestSummary:
    total = IngestSummary(source=source, file_name=file_name, upload_id=states[0]["upload_id"])
    for st in states:
        for k, v in st.items():
            if isinstance(v, int) and not isinstance(v, bool):
                setattr(total, k, getattr(total, k) + v)
        total.rejects.extend(RowProblem(*r) for r in st["rejects"])
        total.queued_items.extend(st["queued_items"])
    total.rejects.sort(key=lambda r: r.row)
    return total
