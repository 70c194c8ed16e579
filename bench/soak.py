# ruff: noqa: T201  (a soak run reports progress and results on stdout)
"""Soak: minutes of mixed traffic against PostgreSQL and several server processes, then a verdict.

Usage:
    python bench/soak.py [--minutes 10] [--entities 5000] [--postgres-url URL]
                         [--out bench/results] [--rate-scale 1.0] [--keep]

Not a test and not a benchmark of peak throughput: the traffic is paced so that the machine is
busy but not saturated, for as long as asked, and the run ends with a verdict on four things:
zero errors, zero lost writes, a chain that verifies with counts that add up, and flat memory.

Set-up (not timed against the run):

1. ``generate(N, dir, seed)`` (5,000 entities by default) and a fresh PostgreSQL schema
   ``soak_<random>`` (reached through ``?options=-csearch_path%3D<schema>``, as ``core.py`` and
   the tests do; dropped at the end unless ``--keep``). PostgreSQL from ``--postgres-url`` or
   SOCIALCREDIT_BENCH_POSTGRES_URL.
2. In this process, with the live system clock (as in production): samr.csv, tax.csv and
   court.jsonl through ``services.ingest.ingest``; then the credentials, made through the
   services the CLI calls (``sources.issue_token`` = ``socialcredit sources token``,
   ``access.create_principal`` = ``socialcredit principals add``): a token each for the court
   and samr sources, one agency token per check traffic kind (so that the reads each kind
   leaves can be counted apart), a reviewer token, and subject accounts with a username and
   password for organisations that hold a listing (they sign in over HTTP).
3. ``socialcredit stats`` (the CLI, as a subprocess) gives the counts before the run.
4. The servers, as real processes with the settings in their environment
   (SOCIALCREDIT_MODE=production, the id keys, SOCIALCREDIT_CHECK_FILE shared by all of them,
   SOCIALCREDIT_OPEN_DATA_DIR in the temporary directory): ``socialcredit serve-checks --workers
   2`` (Granian: a main process, two workers and the reads recorder) and two ``socialcredit
   serve`` processes on two ports (the full API, each with its own background sweep). Each runs
   in its own process group, and every group is stopped at the end, also on errors.

Traffic (asyncio + httpx in this one process; every rate below is per client and is multiplied
by ``--rate-scale``; each client waits for its answer before the next request, and a client
that falls behind does not catch up in a burst):

| kind | clients | rate per client | request |
|---|---:|---:|---|
| check_fast | 4 | 10/s | GET /v1/checks on serve-checks |
| check_bulk | 1 | 0.5/s | POST /v1/checks/bulk on serve-checks, 1,000 codes (JSON, or text/plain every other) |
| check_api | 2 | 4/s | GET /v1/checks on the API, the two processes in turn |
| check_api_batch | 1 | 0.5/s | POST /v1/checks on the API, 50 codes |
| search_* | 4 | 0.5/s | public name search, in turn the page (/search), its htmx fragment and /v1/search |
| profile_page | (search) | | /org/{uscc} of a result, after about one search in three |
| ingest | 2 | 1/3 s | POST /v1/records, court and samr: 8 new records and 2 amendments a request |
| objection_* | 2 | 1/5 s | a subject reads its file, objects to a listing, and the source, a reviewer (after reading the inbox) or the subject (withdrawing) decides |

Codes are drawn from the register (those ``resolve_code`` cannot read are left out and counted),
a third from subjects with a listing or a record written during the run. A public search is a
2–3 character piece of an organisation's name, or its USCC or legacy code. The public search is
rate limited per client address and per process (``api/ratelimit.py``; default 1 a second,
burst 30): each search client sends from its own loopback address (127.0.0.11, .12, …: four
people, not one scraper) and stays below the limit; a 429 is counted apart, not as an error.

What is counted:

- **Errors**, per kind: a connection error or timeout, a 5xx, an unexpected 4xx (anything but
  the status the request should get; a 429 on a search is counted apart), and a 2xx whose
  content is not what the request asked for (an ingest that did not accept or amend every row).
- **Lost writes**: every write a client saw acknowledged (2xx) is logged by the client: records
  by (source, source_record_id) with the status and amount of the last acknowledged version,
  objections by id with the status of the last acknowledged filing or decision. After the
  servers have stopped, each is looked up in the store; one missing, or with an older version,
  is a lost write. The reads of checks (each single and batch check, and each bulk answer that a
  listing concerns, is recorded for the subject's self-view) are counted per agency token and
  compared with what the store holds after a graceful stop; reads of a subject's file the same.
  A write whose request failed (no answer, 5xx) is "in doubt": reported, with whether it landed.
- **Consistency**: ``socialcredit audit verify`` passes, and ``socialcredit stats`` after the
  run gives records = before + the new records acknowledged (amendments add none).
- **Memory**: every 10 s, VmRSS of each server process and all its descendants (from
  /proc/PID/status), summed per server. Flat means: the median of the last minute's samples is
  within 10% of the median of the first minute's, for each server and for the sum. The slope
  (least squares, MB a minute) over the run and over its second half is reported too. RSS counts
  the shared check file in each process that maps it.
- Latency per kind (median, p99 nearest-rank, max), achieved rates, the CPU the servers used,
  the machine's load average and CPU busy share (other jobs included), server log lines that
  look like errors.

Results: ``<out>/soak.md`` and ``<out>/soak.json``. Progress every 30 s on stdout.
``--render JSON`` writes soak.md again from the soak.json of an earlier run. Exit status 0 when
the verdict passes, 1 when it does not.

Caveats: the load generator, PostgreSQL and the servers share the machine (on the recorded
runs, 2 vCPUs that other jobs also used: see the load average); latency includes the client's
own scheduling delay. PostgreSQL is whatever the URL names (the dev cluster runs with fsync
off). A run shorter than two minutes has overlapping first and last minutes, so its memory
verdict says little; ``--minutes 1`` is for trying the script out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from core import (  # bench/core.py: the same keys, URL helpers and machine description
    HASH_KEY,
    _dist_version,
    cpu_model,
    mem_total,
    pg_info,
    pg_schema_url,
    redact,
)
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

import socialcredit
from socialcredit.bootstrap import Registry
from socialcredit.config import Settings
from socialcredit.db import listings, objections, reads, records
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services.access import create_principal
from socialcredit.services.ingest import ingest
from socialcredit.services.sources import issue_token
from socialcredit.services.subjects import is_resident_number, resolve_code

FILES = (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court"))
#: measures an agency token of the run may check (their lists: dishonest judgment debtors,
#: serious illegal and dishonest entities, abnormal operations)
MEASURES = ("restrict_air_travel", "exclude_government_procurement", "increased_inspection")
BLACK_LISTS = ("dishonest_judgment_debtors", "serious_illegal_dishonest", "abnormal_operations")
SAMPLE_EVERY = 10.0  # seconds between memory samples
PROGRESS_EVERY = 30.0
FLAT_WITHIN = 0.10  # memory: last-minute median within 10% of the first minute's
TIMEOUT = 60.0
KEEPALIVE_EXPIRY = 3.0  # below uvicorn's timeout_keep_alive (5 s): see new_client
BULK_CODES = 1000
BATCH_CODES = 50
NEW_ROWS = 8
AMENDED_ROWS = 2
OBJECTION_SUBJECTS = 24
PASSWORD = "soak-password-0123456789"
#: which agency token each check kind uses (its reads are counted per token)
CHECK_READERS = {
    "check_fast": "soak check-server single",
    "check_bulk": "soak check-server bulk",
    "check_api": "soak api single",
    "check_api_batch": "soak api batch",
}


@dataclass(frozen=True)
class Load:
    kind: str
    clients: int
    rate: float  # cycles a second per client, before --rate-scale
    what: str


LOADS = (
    Load("check_fast", 4, 10.0, "GET /v1/checks on serve-checks"),
    Load("check_bulk", 1, 0.5, f"POST /v1/checks/bulk on serve-checks, {BULK_CODES:,} codes"),
    Load("check_api", 2, 4.0, "GET /v1/checks on the API (two processes in turn)"),
    Load("check_api_batch", 1, 0.5, f"POST /v1/checks on the API, {BATCH_CODES} codes"),
    Load("search", 4, 0.5, "public search: /search page, its htmx fragment, /v1/search"),
    Load("ingest", 2, 1 / 3, f"POST /v1/records: {NEW_ROWS} new + {AMENDED_ROWS} amended rows"),
    Load("objection", 2, 1 / 5, "file, objection, decision (source, reviewer or withdrawal)"),
)

#: kinds of request in the report, in order, with the route they hit
KINDS = {
    "check_fast": "GET /v1/checks (serve-checks)",
    "check_bulk": "POST /v1/checks/bulk (serve-checks)",
    "check_api": "GET /v1/checks (API)",
    "check_api_batch": "POST /v1/checks (API)",
    "search_page": "GET /search (page)",
    "search_fragment": "GET /search (htmx fragment)",
    "search_api": "GET /v1/search",
    "profile_page": "GET /org/{uscc}",
    "session": "POST /v1/sessions",
    "ingest": "POST /v1/records",
    "subject_file": "GET /v1/file/{code} (subject)",
    "objection_file": "POST /v1/objections",
    "objection_inbox": "GET /v1/objections (reviewer)",
    "objection_decide": "POST /v1/objections/{id}/decision",
}
SEARCH_KINDS = ("search_page", "search_fragment", "search_api")


# -- measuring --------------------------------------------------------------------------------


@dataclass
class KindStats:
    name: str
    requests: int = 0
    ok: int = 0
    units: int = 0  # codes checked, rows written
    lat_ms: list[float] = field(default_factory=list)
    rate_limited: int = 0
    server_errors: int = 0
    conn_errors: int = 0
    unexpected_4xx: int = 0
    bad_answers: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.server_errors + self.conn_errors + self.unexpected_4xx + self.bad_answers

    def note(self, message: str) -> None:
        if len(self.messages) < 5:
            self.messages.append(message[:400])


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, int(-(-p * len(s) // 100)))  # ceil(p/100 * n)
    return s[min(k, len(s)) - 1]


class Recorder:
    """Sends a request, times it and sorts its outcome into the kind's counters."""

    def __init__(self) -> None:
        self.kinds = {k: KindStats(k) for k in KINDS}

    async def call(
        self,
        kind: str,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        expect: int = 200,
        **kw: Any,
    ) -> httpx.Response | None:
        st = self.kinds[kind]
        st.requests += 1
        t0 = time.perf_counter()
        try:
            r = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            st.conn_errors += 1
            st.note(f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        st.lat_ms.append((time.perf_counter() - t0) * 1000)
        st.statuses[r.status_code] += 1
        if r.status_code == expect:
            st.ok += 1
            return r
        if r.status_code == 429 and kind in SEARCH_KINDS:
            st.rate_limited += 1
            return None
        if r.status_code >= 500:
            st.server_errors += 1
        else:
            st.unexpected_4xx += 1
        st.note(f"{method} {url} -> {r.status_code}: {r.text[:300]}")
        return None

    def bad(self, kind: str, message: str) -> None:
        st = self.kinds[kind]
        st.bad_answers += 1
        st.note(message)


# -- processes --------------------------------------------------------------------------------


def proc_children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(d))
    return out


def proc_tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children.get(p, ()))
    return seen


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(f[2]) == pgid and f[0] != "Z":
            out.append(int(d))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid: int) -> int:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    stop_seconds: float | None = None
    exit_code: int | None = None
    killed: int = 0  # processes of the group still alive after the graceful stop
    killed_commands: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str], cwd: Path) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole at the end
            )

    def stop(self, grace: float = 90.0) -> None:
        """SIGTERM to the leader (a graceful stop: uvicorn and Granian finish their requests,
        flush the check reads; serve-checks lets its recorder drain the spool), then SIGKILL to
        whatever is left of the group."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        t0 = time.monotonic()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.exit_code = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        else:
            self.exit_code = self.proc.returncode
        deadline = time.monotonic() + 10  # children that outlive the leader get a moment
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.stop_seconds = time.monotonic() - t0
        left = group_members(pgid)  # the leader if it did not stop, children that outlived it
        self.killed = len(left)
        self.killed_commands = [cmdline(p) for p in left]
        if left:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.exit_code = self.proc.wait(timeout=10)

    def notable_log_lines(self, limit: int = 20) -> tuple[int, list[str]]:
        """Lines of its log that look like an error (tracebacks, ERROR, exceptions)."""
        pat = re.compile(r"Traceback|ERROR|Error:|Exception|exception|failed|CRITICAL")
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return 0, []
        hits = [ln for ln in lines if pat.search(ln)]
        return len(hits), hits[:limit]


def wait_healthy(server: Server, timeout: float = 180.0) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}: "
                + server.log.read_text(errors="replace")[-2000:]
            )
        try:
            if httpx.get(server.url + "/healthz", timeout=5).status_code == 200:
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{server.name} not healthy after {timeout:.0f}s")


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socialcredit", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def cli_stats(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    r = cli(env, cwd, "stats")
    if r.returncode != 0:
        raise RuntimeError(f"socialcredit stats failed ({r.returncode}): {r.stderr[-2000:]}")
    return dict(json.loads(r.stdout))


# -- set-up -----------------------------------------------------------------------------------


@dataclass
class Subject:
    code: str
    name: str
    kind: str
    subject_id: str
    legacy_code: str | None = None


@dataclass
class Account:
    code: str
    username: str
    label: str
    listings: dict[str, str]  # listing_id -> source of its record


@dataclass
class World:
    """What the clients know: servers, credentials, the register's codes."""

    checks_url: str
    api_urls: list[str]
    tokens: dict[str, str]  # court, samr, reviewer, and one per check kind
    orgs: list[Subject]
    codes: list[str]  # every resolvable code
    hot: list[str]  # codes of subjects with a listing (grows with the run's records)
    accounts: list[Account]
    tz: ZoneInfo
    run_id: str


def setup_registry(
    url: str, enc_key: str, data: Path, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ingest the generated files and make the credentials; returns (setup report, world parts)."""
    settings = Settings.from_env(
        {
            "SOCIALCREDIT_DATABASE_URL": url,
            "SOCIALCREDIT_ID_HASH_KEY": HASH_KEY,
            "SOCIALCREDIT_ID_ENCRYPTION_KEY": enc_key,
        }
    )
    reg = Registry(settings)  # the live system clock
    try:
        report: dict[str, Any] = {"ingest": {}}
        t_all = time.perf_counter()
        for name, source in FILES:
            t0 = time.perf_counter()
            summary = ingest(reg, read_rows(data / name), source, actor="soak", file_name=name)
            d = summary.as_dict(max_rejects=0)
            d.pop("rejects")
            d.pop("rejects_not_shown")
            d["seconds"] = time.perf_counter() - t0
            report["ingest"][name] = d
            print(f"setup: ingest {name}: {d}", flush=True)
        report["ingest_seconds"] = time.perf_counter() - t_all

        subjects: list[Subject] = []
        unresolvable: list[dict[str, str]] = []
        with (data / "subjects.jsonl").open(encoding="utf-8") as f:
            for line in f:
                s = json.loads(line)
                try:
                    ref = resolve_code(reg, s["subject_id"])
                except Exception as exc:  # a package bug must not stop the run: report it
                    unresolvable.append(
                        {"code": s["subject_id"], "error": f"{type(exc).__name__}: {exc}"}
                    )
                    continue
                subjects.append(
                    Subject(
                        s["subject_id"], s["name"], s["kind"], ref.subject_id, s.get("legacy_code")
                    )
                )
        report["unresolvable_register_codes"] = unresolvable
        by_id = {s.subject_id: s for s in subjects}
        with reg.engine.connect() as conn:
            rows = conn.execute(
                select(
                    listings.c.listing_id,
                    listings.c.subject_id,
                    listings.c.list_id,
                    records.c.source,
                )
                .join(records, records.c.record_key == listings.c.record_key)
                .where(listings.c.status != "ended")
            ).all()
        listed: dict[str, dict[str, str]] = {}
        for r in rows:
            listed.setdefault(r.subject_id, {})
            if r.list_id in BLACK_LISTS and r.source in ("court", "samr"):
                listed[r.subject_id][r.listing_id] = r.source
        hot = [by_id[sid].code for sid in listed if sid in by_id]
        rng = random.Random(seed)
        candidates = sorted(
            sid
            for sid, ls in listed.items()
            if ls and sid in by_id and by_id[sid].kind == "organisation"
        )
        chosen = rng.sample(candidates, min(OBJECTION_SUBJECTS, len(candidates)))

        tokens = {
            "court": issue_token(reg, "court", "soak court gateway", "soak:operator"),
            "samr": issue_token(reg, "samr", "soak samr gateway", "soak:operator"),
            "reviewer": str(
                create_principal(reg, "reviewer", "soak reviewer", actor="soak:operator")["token"]
            ),
        }
        for kind, name in CHECK_READERS.items():
            tokens[kind] = str(
                create_principal(
                    reg, "agency", name, actor="soak:operator", measures=list(MEASURES)
                )["token"]
            )
        accounts = []
        for i, sid in enumerate(chosen):
            s = by_id[sid]
            name = f"soak subject {i}"
            create_principal(
                reg,
                "subject",
                name,
                actor="soak:operator",
                subject=s.code,
                username=f"soak-{i}",
                password=PASSWORD,
            )
            accounts.append(Account(s.code, f"soak-{i}", f"subject:{name}", listed[sid]))
        report["register"] = {
            "subjects": len(subjects) + len(unresolvable),
            "resolvable": len(subjects),
            "with_open_listing": len(hot),
            "subject_accounts": len(accounts),
        }
        parts = {
            "tokens": tokens,
            "orgs": [s for s in subjects if s.kind == "organisation"],
            "codes": [s.code for s in subjects],
            "hot": hot,
            "accounts": accounts,
            "tz": reg.tz,
        }
        return report, parts
    finally:
        reg.close()


# -- traffic ----------------------------------------------------------------------------------


@dataclass
class Ledger:
    """Writes the clients saw acknowledged, and those whose outcome they could not know."""

    records: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    new_records: int = 0
    amendments: int = 0
    objections: dict[str, str] = field(default_factory=dict)  # id -> expected status
    decisions: int = 0
    reads: Counter[str] = field(default_factory=Counter)  # reader label -> checks recorded
    file_reads: Counter[str] = field(default_factory=Counter)
    in_doubt_records: list[tuple[str, str]] = field(default_factory=list)
    in_doubt_objections: list[str] = field(default_factory=list)
    skipped_objections: int = 0


async def paced(rate: float, stop_at: float, step: Callable[[int], Awaitable[None]]) -> None:
    """Run ``step(k)`` about ``rate`` times a second until ``stop_at`` (monotonic)."""
    interval = 1.0 / rate
    await asyncio.sleep(random.uniform(0, interval))
    nxt = time.monotonic()
    k = 0
    while time.monotonic() < stop_at:
        await step(k)
        k += 1
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            nxt = time.monotonic()  # behind: carry on at the pace, no burst to catch up


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_client(token: str | None = None, local_address: str | None = None) -> httpx.AsyncClient:
    """A client that keeps connections open, but drops one idle for KEEPALIVE_EXPIRY seconds:
    less than the 5 s after which uvicorn closes an idle connection, so a request never races
    the server's close on a connection it is just closing (a browser retries such a request;
    httpx does not, and it would be counted as a connection error that the server did not
    cause)."""
    limits = httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
    transport = httpx.AsyncHTTPTransport(local_address=local_address, limits=limits)
    return httpx.AsyncClient(
        timeout=TIMEOUT, headers=auth(token) if token else {}, transport=transport
    )


class Traffic:
    def __init__(self, world: World, rec: Recorder, ledger: Ledger, seed: int) -> None:
        self.w = world
        self.rec = rec
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.seq = 0

    def code(self) -> str:
        pool = self.w.hot if self.w.hot and self.rng.random() < 1 / 3 else self.w.codes
        return self.rng.choice(pool)

    def codes(self, n: int) -> list[str]:
        return [self.code() for _ in range(n)]

    # checks

    async def check_fast(self, i: int, stop_at: float, rate: float) -> None:
        label = "agency:" + CHECK_READERS["check_fast"]
        async with new_client(self.w.tokens["check_fast"]) as c:

            async def step(_k: int) -> None:
                code, measure = self.code(), self.rng.choice(MEASURES)
                if is_resident_number(code):  # a person's number never goes in a URL
                    body = {"measure": measure, "subjects": [code]}
                    url = self.w.checks_url + "/v1/checks/bulk"
                    r = await self.rec.call("check_fast", c, "POST", url, json=body)
                else:
                    params = {"subject": code, "measure": measure}
                    r = await self.rec.call(
                        "check_fast", c, "GET", self.w.checks_url + "/v1/checks", params=params
                    )
                if r is not None:
                    self.rec.kinds["check_fast"].units += 1
                    self.ledger.reads[label] += 1

            await paced(rate, stop_at, step)

    async def check_bulk(self, i: int, stop_at: float, rate: float) -> None:
        label = "agency:" + CHECK_READERS["check_bulk"]
        url = self.w.checks_url + "/v1/checks/bulk"
        async with new_client(self.w.tokens["check_bulk"]) as c:

            async def step(k: int) -> None:
                codes = self.codes(BULK_CODES)
                measure = self.rng.choice(MEASURES)
                if k % 2:
                    r = await self.rec.call(
                        "check_bulk",
                        c,
                        "POST",
                        url,
                        params={"measure": measure},
                        content="\n".join(codes).encode(),
                        headers={"content-type": "text/plain"},
                    )
                else:
                    r = await self.rec.call(
                        "check_bulk", c, "POST", url, json={"measure": measure, "subjects": codes}
                    )
                if r is not None:
                    body = r.json()
                    if body.get("count") != len(codes) or len(body.get("outcomes", ())) != len(
                        codes
                    ):
                        self.rec.bad(
                            "check_bulk", f"bulk answered {body.get('count')} of {len(codes)}"
                        )
                    self.rec.kinds["check_bulk"].units += len(codes)
                    self.ledger.reads[label] += len(body.get("answers", ()))

            await paced(rate, stop_at, step)

    async def check_api(self, i: int, stop_at: float, rate: float) -> None:
        label = "agency:" + CHECK_READERS["check_api"]
        async with new_client(self.w.tokens["check_api"]) as c:

            async def step(k: int) -> None:
                base = self.w.api_urls[(k + i) % len(self.w.api_urls)]
                code, measure = self.code(), self.rng.choice(MEASURES)
                if is_resident_number(code):  # a person's number never goes in a URL
                    body = {"measure": measure, "subjects": [code]}
                    r = await self.rec.call("check_api", c, "POST", base + "/v1/checks", json=body)
                else:
                    params = {"subject": code, "measure": measure}
                    r = await self.rec.call(
                        "check_api", c, "GET", base + "/v1/checks", params=params
                    )
                if r is not None:
                    self.rec.kinds["check_api"].units += 1
                    self.ledger.reads[label] += 1

            await paced(rate, stop_at, step)

    async def check_api_batch(self, i: int, stop_at: float, rate: float) -> None:
        label = "agency:" + CHECK_READERS["check_api_batch"]
        async with new_client(self.w.tokens["check_api_batch"]) as c:

            async def step(k: int) -> None:
                base = self.w.api_urls[(k + i) % len(self.w.api_urls)]
                codes = self.codes(BATCH_CODES)
                body = {"measure": self.rng.choice(MEASURES), "subjects": codes}
                r = await self.rec.call(
                    "check_api_batch", c, "POST", base + "/v1/checks", json=body
                )
                if r is not None:
                    n = len(r.json().get("results", ()))
                    if n != len(codes):
                        self.rec.bad("check_api_batch", f"batch answered {n} of {len(codes)}")
                    self.rec.kinds["check_api_batch"].units += n
                    self.ledger.reads[label] += n

            await paced(rate, stop_at, step)

    # public search

    def query(self) -> str:
        org = self.rng.choice(self.w.orgs)
        r = self.rng.random()
        if r < 0.1:
            return org.code
        if r < 0.15 and org.legacy_code:
            return org.legacy_code
        n = self.rng.choice((2, 2, 3))
        start = self.rng.randrange(max(1, len(org.name) - n + 1))
        return org.name[start : start + n]

    async def search(self, i: int, stop_at: float, rate: float) -> None:
        # one loopback address per client: a person at their own address, below the limit
        async with new_client(local_address=f"127.0.0.{11 + i}") as c:

            async def step(k: int) -> None:
                base = self.w.api_urls[(k + i) % len(self.w.api_urls)]
                mode = (k // len(self.w.api_urls)) % 3
                q = self.query()
                found: list[str] = []
                if mode == 0:
                    r = await self.rec.call(
                        "search_page", c, "GET", base + "/search", params={"q": q}
                    )
                    if r is not None:
                        found = re.findall(r'href="/org/([0-9A-Z]{18})', r.text)
                elif mode == 1:
                    r = await self.rec.call(
                        "search_fragment",
                        c,
                        "GET",
                        base + "/search",
                        params={"q": q},
                        headers={"HX-Request": "true"},
                    )
                    if r is not None:
                        found = re.findall(r'href="/org/([0-9A-Z]{18})', r.text)
                else:
                    r = await self.rec.call(
                        "search_api", c, "GET", base + "/v1/search", params={"q": q}
                    )
                    if r is not None:
                        found = [x["subject"] for x in r.json().get("results", ())]
                if found and self.rng.random() < 1 / 3:
                    await self.rec.call("profile_page", c, "GET", f"{base}/org/{found[0]}")

            await paced(rate, stop_at, step)

    # ingest

    def today(self) -> dt.date:
        return dt.datetime.now(self.w.tz).date()

    def new_row(self, source: str) -> dict[str, str]:
        self.seq += 1
        org = self.rng.choice(self.w.orgs)
        decided = self.today() - dt.timedelta(days=self.rng.randint(1, 60))
        srid = f"SOAK-{self.w.run_id}-{source}-{self.seq:07d}"
        if source == "court":
            row = {
                "source_record_id": srid,
                "record_type": "court_judgment",
                "subject_id": org.code,
                "subject_name": org.name,
                "authority": "北京市朝阳区人民法院",
                "decision_ref": f"（{decided.year}）京0105执{70000 + self.seq}号",
                "decided_on": decided.isoformat(),
                "legal_basis": "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
                "status": "unperformed",
                "amount_yuan": f"{self.rng.randint(1000, 5_000_000)}",
            }
            if self.rng.random() < 0.7:  # a listing decision: the subject is listed
                row["dishonest_conduct"] = self.rng.choice(
                    ("able_but_refuses", "evades_enforcement", "breaches_asset_reporting")
                )
                row["listing_decision_ref"] = row["decision_ref"].replace("号", "号之一")
            return row
        return {
            "source_record_id": srid,
            "record_type": "administrative_penalty",
            "subject_id": org.code,
            "subject_name": org.name,
            "authority": "北京市朝阳区市场监督管理局",
            "decision_ref": f"京朝市监罚〔{decided.year}〕{70000 + self.seq}号",
            "decided_on": decided.isoformat(),
            "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
            "status": "in_force",
            "severity": self.rng.choice(("minor", "general", "general", "serious")),
            "penalty_kind": "fine",
            "fine_yuan": f"{self.rng.randint(1000, 900_000)}",
            "field_of_law": self.rng.choice(("food", "product_quality", "consumer", "other")),
        }

    def amend(self, row: dict[str, str]) -> dict[str, str]:
        new = dict(row)
        if new["record_type"] == "court_judgment" and new["status"] == "unperformed":
            new["status"] = "performed"
            new["performed_on"] = self.today().isoformat()
        elif new["record_type"] == "court_judgment":
            new["amount_yuan"] = str(int(new["amount_yuan"]) + 1)
        else:
            new["fine_yuan"] = str(int(new["fine_yuan"]) + 100)
        return new

    @staticmethod
    def expected(row: dict[str, str]) -> dict[str, str]:
        amount = "amount_yuan" if row["record_type"] == "court_judgment" else "fine_yuan"
        return {"status": row["status"], amount: row[amount]}

    async def ingest(self, i: int, stop_at: float, rate: float) -> None:
        source = ("court", "samr")[i % 2]
        mine: dict[str, dict[str, str]] = {}  # acknowledged rows of this client, by srid
        async with new_client(self.w.tokens[source]) as c:

            async def step(k: int) -> None:
                rows = [self.new_row(source) for _ in range(NEW_ROWS)]
                old = self.rng.sample(sorted(mine), min(AMENDED_ROWS, len(mine)))
                amended = [self.amend(mine[s]) for s in old]
                batch = rows + amended
                base = self.w.api_urls[(k + i) % len(self.w.api_urls)]
                body = {"rows": batch, "file_name": f"soak-{source}-{k}.json"}
                r = await self.rec.call("ingest", c, "POST", base + "/v1/records", json=body)
                if r is None:
                    for row in batch:  # no answer: may or may not have been written
                        mine.pop(row["source_record_id"], None)
                        self.ledger.in_doubt_records.append((source, row["source_record_id"]))
                        self.ledger.records.pop((source, row["source_record_id"]), None)
                    return
                s = r.json()
                rejected_rows = {x["row"] for x in s.get("rejects", ())}
                if (
                    s["accepted"] != len(rows)
                    or s["amended"] != len(amended)
                    or s["rejected"]
                    or s["queued_for_review"]
                ):
                    self.rec.bad(
                        "ingest",
                        f"asked {len(rows)} new + {len(amended)} amended, got accepted "
                        f"{s['accepted']}, amended {s['amended']}, unchanged {s['unchanged']}, "
                        f"rejected {s['rejected']}, queued {s['queued_for_review']}: "
                        f"{s.get('rejects', [])[:2]}",
                    )
                    if s["queued_for_review"]:  # which rows went to the queue is not said
                        for row in batch:
                            mine.pop(row["source_record_id"], None)
                            self.ledger.in_doubt_records.append((source, row["source_record_id"]))
                        return
                self.rec.kinds["ingest"].units += len(batch)
                for n, row in enumerate(batch, start=1):
                    if n in rejected_rows:
                        continue
                    key = (source, row["source_record_id"])
                    if n <= len(rows):
                        self.ledger.new_records += 1
                        if row.get("listing_decision_ref"):
                            self.w.hot.append(row["subject_id"])
                    else:
                        self.ledger.amendments += 1
                    self.ledger.records[key] = self.expected(row)
                    mine[row["source_record_id"]] = row

            await paced(rate, stop_at, step)

    # objections

    async def objection(self, i: int, stop_at: float, rate: float, accounts: list[Account]) -> None:
        if not accounts:
            return
        blocked: set[str] = set()  # listings whose objection could not be decided
        async with new_client() as c, new_client(self.w.tokens["reviewer"]) as reviewer:
            sessions: dict[str, str] = {}  # signed in at the subject's first cycle
            sources = {
                "court": new_client(self.w.tokens["court"]),
                "samr": new_client(self.w.tokens["samr"]),
            }
            try:

                async def step(k: int) -> None:
                    a = accounts[k % len(accounts)]
                    base = self.w.api_urls[(k + i) % len(self.w.api_urls)]
                    if a.code not in sessions:
                        r = await self.rec.call(
                            "session",
                            c,
                            "POST",
                            base + "/v1/sessions",
                            json={"username": a.username, "password": PASSWORD},
                        )
                        if r is None:
                            self.ledger.skipped_objections += 1
                            return
                        sessions[a.code] = r.json()["token"]
                    token = sessions[a.code]
                    me = auth(token)
                    r = await self.rec.call(
                        "subject_file", c, "GET", f"{base}/v1/file/{a.code}", headers=me
                    )
                    if r is None:
                        return
                    self.ledger.file_reads[a.label] += 1
                    open_now = [
                        x["id"]
                        for x in r.json().get("listings", ())
                        if x["id"] in a.listings
                        and x["status"] != "ended"
                        and x["id"] not in blocked
                    ]
                    if not open_now:
                        self.ledger.skipped_objections += 1
                        return
                    lid = self.rng.choice(open_now)
                    att = base64.b64encode(f"soak receipt {k}".encode()).decode()
                    body = {
                        "subject": a.code,
                        "listing_id": lid,
                        "grounds": f"soak objection {k}: the judgment was performed",
                        "attachments": [{"name": "receipt.txt", "content_base64": att}]
                        if k % 2
                        else [],
                    }
                    r = await self.rec.call(
                        "objection_file",
                        c,
                        "POST",
                        base + "/v1/objections",
                        json=body,
                        headers=me,
                        expect=201,
                    )
                    if r is None:
                        blocked.add(lid)  # an objection may be open on it: do not retry
                        return
                    oid = r.json()["id"]
                    self.ledger.objections[oid] = "open"
                    await asyncio.sleep(self.rng.uniform(0.2, 1.0))
                    p = self.rng.random()
                    if p < 0.45:
                        decider, outcome = sources[a.listings[lid]], "rejected"
                    elif p < 0.85:
                        decider, outcome = reviewer, "rejected"
                        await self.rec.call(
                            "objection_inbox", reviewer, "GET", base + "/v1/objections"
                        )
                    else:
                        decider, outcome = c, "withdrawn"
                    r = await self.rec.call(
                        "objection_decide",
                        decider,
                        "POST",
                        f"{base}/v1/objections/{oid}/decision",
                        json={"outcome": outcome, "reason": f"soak decision {k}"},
                        headers=me if decider is c else None,
                    )
                    if r is None:
                        blocked.add(lid)
                        self.ledger.in_doubt_objections.append(oid)
                        return
                    self.ledger.objections[oid] = outcome
                    self.ledger.decisions += 1

                await paced(rate, stop_at, step)
            finally:
                for s in sources.values():
                    await s.aclose()


# -- sampling ---------------------------------------------------------------------------------


@dataclass
class Sampler:
    servers: list[Server]
    t0: float
    samples: list[dict[str, Any]] = field(default_factory=list)

    def sample(self) -> dict[str, Any]:
        children = proc_children()
        s: dict[str, Any] = {"t": round(time.monotonic() - self.t0, 1), "rss_mb": {}}
        for srv in self.servers:
            assert srv.proc is not None
            pids = proc_tree(srv.proc.pid, children)
            s["rss_mb"][srv.name] = round(sum(rss_kb(p) for p in pids) / 1024, 1)
            s.setdefault("processes", {})[srv.name] = len(pids)
            s.setdefault("cpu_ticks", {})[srv.name] = sum(cpu_ticks(p) for p in pids)
        s["rss_mb"]["total"] = round(sum(s["rss_mb"].values()), 1)
        s["client_rss_mb"] = round(rss_kb(os.getpid()) / 1024, 1)
        s["load1"] = os.getloadavg()[0]
        s["machine_cpu"] = machine_cpu()
        self.samples.append(s)
        return s


def memory_summary(samples: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    end = samples[-1]["t"]
    out: dict[str, Any] = {"criterion": f"last-minute median within {FLAT_WITHIN:.0%} of first"}
    flat = True
    for name in [*names, "total"]:
        first = [s["rss_mb"][name] for s in samples if s["t"] < 60]
        last = [s["rss_mb"][name] for s in samples if s["t"] >= end - 60]
        f, lst = statistics.median(first), statistics.median(last)
        change = (lst - f) / f if f else 0.0
        ts = [s["t"] / 60 for s in samples]
        ys = [s["rss_mb"][name] for s in samples]
        half = [(t, y) for t, y in zip(ts, ys, strict=True) if t >= ts[-1] / 2]
        out[name] = {
            "first_minute_median_mb": f,
            "last_minute_median_mb": lst,
            "change": change,
            "min_mb": min(ys),
            "max_mb": max(ys),
            "slope_mb_per_min": slope(ts, ys),
            "slope_second_half_mb_per_min": slope([t for t, _ in half], [y for _, y in half]),
            "flat": abs(change) <= FLAT_WITHIN,
        }
        flat = flat and abs(change) <= FLAT_WITHIN
    out["flat"] = flat
    return out


def slope(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2 or max(xs) == min(xs):
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


# -- the run ----------------------------------------------------------------------------------


async def run_traffic(
    world: World,
    servers: list[Server],
    minutes: float,
    scale: float,
    seed: int,
) -> tuple[Recorder, Ledger, Sampler, float]:
    rec = Recorder()
    ledger = Ledger()
    traffic = Traffic(world, rec, ledger, seed)
    t0 = time.monotonic()
    stop_at = t0 + minutes * 60
    sampler = Sampler(servers, t0)
    sampler.sample()
    health = new_client()

    async def check_server_health() -> None:
        """The check file's version and overlay, beside the memory sample (not counted)."""
        try:
            r = await health.get(world.checks_url + "/healthz")
            h = r.json()
            sampler.samples[-1]["check_file"] = {
                "version": h.get("file_version"),
                "log_head": h.get("log_head"),
                "overlay": h.get("overlay"),
            }
        except (httpx.HTTPError, ValueError) as exc:
            sampler.samples[-1]["check_file"] = {"error": f"{type(exc).__name__}: {exc}"}

    await check_server_health()

    tasks = []
    for load in LOADS:
        rate = load.rate * scale
        for i in range(load.clients):
            if load.kind == "objection":
                mine = world.accounts[i :: load.clients]  # disjoint subjects per client
                tasks.append(traffic.objection(i, stop_at, rate, mine))
            else:
                tasks.append(getattr(traffic, load.kind)(i, stop_at, rate))

    async def sample_loop() -> None:
        nxt = t0 + SAMPLE_EVERY
        while nxt <= stop_at + 0.5:
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            sampler.sample()
            await check_server_health()
            nxt += SAMPLE_EVERY

    async def progress_loop() -> None:
        last: dict[str, int] = {k: 0 for k in KINDS}
        t_last = t0
        while time.monotonic() < stop_at:
            await asyncio.sleep(min(PROGRESS_EVERY, max(0.0, stop_at - time.monotonic())))
            now = time.monotonic()
            parts = []
            for k, st in rec.kinds.items():
                if st.requests:
                    parts.append(f"{k} {(st.requests - last[k]) / (now - t_last):.1f}/s")
                last[k] = st.requests
            t_last = now
            errors = sum(st.errors for st in rec.kinds.values())
            limited = sum(st.rate_limited for st in rec.kinds.values())
            s = sampler.samples[-1]
            print(
                f"[{now - t0:5.0f}s] {', '.join(parts)} | errors {errors}, 429 {limited}, "
                f"rss {s['rss_mb']['total']:.0f} MB, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    sampling = asyncio.create_task(sample_loop())
    progress = asyncio.create_task(progress_loop())
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    progress.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await progress
    await sampling
    if sampler.samples[-1]["t"] < elapsed - 1:
        sampler.sample()
        await check_server_health()
    await health.aclose()
    return rec, ledger, sampler, elapsed


def verify(engine: Any, ledger: Ledger, spool: Path) -> dict[str, Any]:
    """Look up every acknowledged write in the store, after the servers have stopped."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        stored = {
            (r.source, r.source_record_id): r
            for r in conn.execute(
                select(
                    records.c.source, records.c.source_record_id, records.c.status, records.c.fields
                ).where(records.c.source_record_id.like("SOAK-%"))
            )
        }
        missing, stale = [], []
        for key, want in ledger.records.items():
            row = stored.get(key)
            if row is None:
                missing.append("/".join(key))
                continue
            have = {"status": row.status, **json.loads(row.fields)}
            if any(have.get(k) != v for k, v in want.items()):
                stale.append(
                    {
                        "record": "/".join(key),
                        "expected": want,
                        "stored": {k: have.get(k) for k in want},
                    }
                )
        out["records"] = {
            "acknowledged": len(ledger.records),
            "new_acknowledged": ledger.new_records,
            "amendments_acknowledged": ledger.amendments,
            "missing": missing[:20],
            "missing_count": len(missing),
            "stale": stale[:20],
            "stale_count": len(stale),
            "soak_records_in_store": len(stored),
        }
        in_doubt = sorted(set(ledger.in_doubt_records))
        out["records_in_doubt"] = {
            "count": len(in_doubt),
            "landed": sum(1 for k in in_doubt if k in stored),
        }
        ids = list(ledger.objections) + ledger.in_doubt_objections
        found: dict[str, str] = {}
        for chunk in range(0, len(ids), 500):
            for r in conn.execute(
                select(objections.c.objection_id, objections.c.status).where(
                    objections.c.objection_id.in_(ids[chunk : chunk + 500])
                )
            ):
                found[r.objection_id] = r.status
        o_missing = [oid for oid in ledger.objections if oid not in found]
        o_wrong = [
            {"id": oid, "expected": st, "stored": found[oid]}
            for oid, st in ledger.objections.items()
            if oid in found and found[oid] != st
        ]
        out["objections"] = {
            "acknowledged": len(ledger.objections),
            "decisions_acknowledged": ledger.decisions,
            "missing": o_missing[:20],
            "missing_count": len(o_missing),
            "wrong_status": o_wrong[:20],
            "wrong_status_count": len(o_wrong),
            "in_doubt": len(ledger.in_doubt_objections),
            "skipped_cycles": ledger.skipped_objections,
            "total_in_store": conn.execute(
                select(func.count()).select_from(objections)
            ).scalar_one(),
        }
        counts = {
            (r.reader, r.kind): int(r.n)
            for r in conn.execute(
                select(reads.c.reader, reads.c.kind, func.count().label("n")).group_by(
                    reads.c.reader, reads.c.kind
                )
            )
        }
    check_reads = {}
    for label, n in sorted(ledger.reads.items()):
        have = counts.get((label, "check"), 0)
        check_reads[label] = {"acknowledged": n, "recorded": have, "missing": max(0, n - have)}
    file_reads = {
        "acknowledged": sum(ledger.file_reads.values()),
        "recorded": sum(counts.get((lbl, "file"), 0) for lbl in ledger.file_reads),
    }
    file_reads["missing"] = max(0, file_reads["acknowledged"] - file_reads["recorded"])
    left = list(spool.glob("*")) if spool.is_dir() else []
    out["reads"] = {
        "checks": check_reads,
        "checks_missing": sum(v["missing"] for v in check_reads.values()),
        "files": file_reads,
        "spool_files_left": len(left),
    }
    out["lost_writes"] = (
        out["records"]["missing_count"]
        + out["records"]["stale_count"]
        + out["objections"]["missing_count"]
        + out["objections"]["wrong_status_count"]
        + out["reads"]["checks_missing"]
        + file_reads["missing"]
    )
    return out


def kinds_report(rec: Recorder, elapsed: float) -> dict[str, Any]:
    out = {}
    for k, st in rec.kinds.items():
        if not st.requests:
            continue
        out[k] = {
            "route": KINDS[k],
            "requests": st.requests,
            "ok": st.ok,
            "per_s": st.requests / elapsed,
            "units": st.units,
            "units_per_s": st.units / elapsed,
            "median_ms": statistics.median(st.lat_ms) if st.lat_ms else None,
            "p99_ms": pct(st.lat_ms, 99),
            "max_ms": max(st.lat_ms) if st.lat_ms else None,
            "errors": st.errors,
            "server_errors": st.server_errors,
            "connection_errors": st.conn_errors,
            "unexpected_4xx": st.unexpected_4xx,
            "bad_answers": st.bad_answers,
            "rate_limited_429": st.rate_limited,
            "statuses": {str(s): n for s, n in sorted(st.statuses.items())},
            "first_errors": st.messages,
        }
    return out


# -- report -----------------------------------------------------------------------------------


def fmt(v: float | None, spec: str = ",.1f") -> str:
    return "–" if v is None else format(v, spec)


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    pg = m.get("postgresql", {})
    v = res["verdict"]
    lines = [
        "# Soak run",
        "",
        f"- Date: {res['date']} (finished {res['finished']})",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); RAM {m['ram_total']}",
        f"- Python {m['python']}; socialcredit {m['socialcredit']}; PostgreSQL "
        f"{pg.get('server_version')} (fsync={pg.get('fsync')}, synchronous_commit="
        f"{pg.get('synchronous_commit')}, shared_buffers={pg.get('shared_buffers')})",
        f"- Load average (1 min) before set-up {res['load']['before']:.2f}; during the run "
        f"median {res['load']['median']:.2f}, min {res['load']['min']:.2f}, max "
        f"{res['load']['max']:.2f}; machine CPU busy {res['load']['machine_cpu_busy']:.0%} "
        "(every process on the machine, other jobs included)",
        f"- Data: `generate({res['data']['entities']:,}, seed={res['data']['seed']})`, ingested "
        f"in {res['setup']['ingest_seconds']:.1f}s with the live clock; "
        f"{res['setup']['register']['resolvable']:,} resolvable register codes "
        f"({len(res['setup']['unresolvable_register_codes'])} left out), "
        f"{res['setup']['register']['with_open_listing']:,} with an open listing, "
        f"{res['setup']['register']['subject_accounts']} subject accounts",
        "- Servers: "
        + "; ".join(f"`{s['command']}` (port {s['port']})" for s in res["servers"])
        + "; "
        "SOCIALCREDIT_MODE=production, one shared SOCIALCREDIT_CHECK_FILE, live clock",
        f"- Traffic: {res['minutes']:g} minutes asked, {res['elapsed_s']:.0f}s run, rate scale "
        f"{res['rate_scale']:g}; clients: "
        + ", ".join(f"{x['kind']} {x['clients']}×{x['rate']:.2g}/s" for x in res["loads"]),
        "",
        "## Verdict",
        "",
        f"**{'PASS' if v['pass'] else 'FAIL'}**",
        "",
        "| Criterion | Result | |",
        "|---|---|---|",
    ]
    for name, (ok, detail) in v["criteria"].items():
        lines.append(f"| {name} | {'yes' if ok else '**no**'} | {detail} |")
    lines += [
        "",
        "## Requests by kind",
        "",
        "Latency in ms from the client (median, p99 nearest-rank, max); units are codes checked or "
        "rows written. Errors = connection errors + 5xx + unexpected 4xx + wrong 2xx answers; "
        "429 counted apart.",
        "",
        "| Kind | Route | Requests | /s | Units/s | Median | p99 | Max | Errors | 429 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, r in res["kinds"].items():
        lines.append(
            f"| {k} | `{r['route']}` | {r['requests']:,} | {r['per_s']:.2f} | "
            f"{fmt(r['units_per_s'] if r['units'] else None)} | {fmt(r['median_ms'])} | {fmt(r['p99_ms'])} | "
            f"{fmt(r['max_ms'])} | {r['errors']} | {r['rate_limited_429']} |"
        )
    errs = [(k, r) for k, r in res["kinds"].items() if r["first_errors"]]
    if errs:
        lines += ["", "First error messages:", ""]
        for k, r in errs:
            for msg in r["first_errors"]:
                lines.append(f"- {k}: `{msg}`")
    w = res["writes"]
    rc, ob, rd = w["records"], w["objections"], w["reads"]
    lines += [
        "",
        "## Writes",
        "",
        f"- Records: {rc['acknowledged']:,} acknowledged ({rc['new_acknowledged']:,} new, "
        f"{rc['amendments_acknowledged']:,} amendments); missing {rc['missing_count']}, older "
        f"version than acknowledged {rc['stale_count']}; in doubt {w['records_in_doubt']['count']} "
        f"(landed {w['records_in_doubt']['landed']})",
        f"- Objections: {ob['acknowledged']:,} filed and acknowledged, {ob['decisions_acknowledged']:,} "
        f"decisions; missing {ob['missing_count']}, wrong status {ob['wrong_status_count']}; "
        f"in doubt {ob['in_doubt']}; {ob['total_in_store']:,} in the store",
        '- Check reads (the subject\'s "who looked"), after a graceful stop: '
        + "; ".join(
            f"{lbl.removeprefix('agency:')} {x['recorded']:,} of {x['acknowledged']:,}"
            for lbl, x in rd["checks"].items()
        )
        + f"; spool files left {rd['spool_files_left']}",
        f"- File reads by subjects: {rd['files']['recorded']:,} of {rd['files']['acknowledged']:,}",
        f"- **Lost writes: {w['lost_writes']}**",
    ]
    if rc["missing"] or rc["stale"] or ob["missing"] or ob["wrong_status"]:
        lines.append(
            f"- First lost: {json.dumps([*rc['missing'][:3], *rc['stale'][:3], *ob['missing'][:3], *ob['wrong_status'][:3]], ensure_ascii=False)}"
        )
    c = res["consistency"]
    lines += [
        "",
        "## Consistency",
        "",
        f"- `socialcredit audit verify`: exit {c['audit_verify']['exit']}: "
        f"{c['audit_verify']['output']}",
        f"- `socialcredit stats` before: records {c['before']['records']:,}, subjects "
        f"{c['before']['subjects']:,}, events {c['before']['events']:,}, active listings "
        f"{c['before']['listings_active']:,}",
        f"- after: records {c['after']['records']:,}, subjects {c['after']['subjects']:,}, events "
        f"{c['after']['events']:,}, active listings {c['after']['listings_active']:,}",
        f"- subjects {c['after']['subjects'] - c['before']['subjects']:+,}: organisations of "
        "the register that had no record before one of the run's new records named them",
        f"- records expected after = {c['before']['records']:,} + {c['new_records']:,} new "
        f"(+ {c['in_doubt_landed']} in doubt that landed) = {c['records_expected']:,}: "
        f"{'consistent' if c['records_consistent'] else '**not consistent**'}",
    ]
    mem = res["memory"]
    lines += [
        "",
        "## Memory (VmRSS of each server process and its descendants, sampled every "
        f"{SAMPLE_EVERY:.0f} s; {len(res['samples'])} samples)",
        "",
        f"Criterion: {mem['criterion']}.",
        "",
        "| Server | First minute (MB) | Last minute (MB) | Change | Min | Max | Slope MB/min | "
        "Slope, 2nd half | Flat |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, x in mem.items():
        if not isinstance(x, dict):
            continue
        lines.append(
            f"| {name} | {x['first_minute_median_mb']:,.1f} | {x['last_minute_median_mb']:,.1f} | "
            f"{x['change']:+.1%} | {x['min_mb']:,.1f} | {x['max_mb']:,.1f} | "
            f"{fmt(x['slope_mb_per_min'], '+.2f')} | {fmt(x['slope_second_half_mb_per_min'], '+.2f')} | "
            f"{'yes' if x['flat'] else '**no**'} |"
        )
    samples = res["samples"]
    step = max(1, len(samples) // 12)
    lines += [
        "",
        "Samples (every "
        + (f"{step * SAMPLE_EVERY:.0f} s" if step > 1 else f"{SAMPLE_EVERY:.0f} s")
        + "): t s → total MB (load): "
        + ", ".join(
            f"{s['t']:.0f} → {s['rss_mb']['total']:,.0f} ({s['load1']:.1f})"
            for s in samples[::step]
        ),
        "",
        "## Servers",
        "",
        "| Server | Processes | CPU s used | Share of the run (1 core = 100%) | Stop | Exit | Killed | "
        "Log lines like errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in res["servers"]:
        lines.append(
            f"| {s['name']} | {s['processes']} | {s['cpu_seconds']:.0f} | {s['cpu_share']:.0%} | "
            f"{fmt(s['stop_seconds'])} s | {s['exit_code']} | {s['killed']} | {s['log_errors']} |"
        )
    for s in res["servers"]:
        for ln in s["log_excerpt"][:5]:
            lines.append(f"- {s['name']} log: `{ln[:300]}`")
        for cmd in s["killed_commands"]:
            lines.append(f"- {s['name']}: killed after the leader had stopped: `{cmd}`")
    cf = [x["check_file"] for x in samples if "version" in x.get("check_file", {})]
    if cf:
        lines.append("")
        versions = sorted({x["version"] for x in cf if x["version"] is not None})
        lines.append(
            f"- Check server: {len(versions)} check file version(s) mapped during the run "
            f"({versions[0] if versions else None} … {versions[-1] if versions else None}); "
            f"overlay {cf[0]['overlay']} → {cf[-1]['overlay']} subjects; log head "
            f"{cf[0]['log_head']} → {cf[-1]['log_head']}"
        )
    lines += [
        "",
        f"Load generator (this process): {res['client']['cpu_seconds']:.0f} CPU s "
        f"({res['client']['cpu_share']:.0%} of one core), RSS {res['client']['rss_mb']:.0f} MB.",
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in [*res["notes"], *derived_notes(res)]],
        "",
    ]
    return "\n".join(lines)


def derived_notes(res: dict[str, Any]) -> list[str]:
    """What a reader should know to weigh the figures, read off the results."""
    notes = []
    asked = {ld["kind"]: ld["clients"] * ld["rate"] for ld in res["loads"]}
    short = [
        f"{k} {res['kinds'][k]['per_s']:.1f}/s of {asked[k]:.1f}/s"
        for k in ("check_fast", "check_api", "check_api_batch", "check_bulk")
        if k in res["kinds"] and res["kinds"][k]["per_s"] < 0.95 * asked[k]
    ]
    if short:
        notes.append(
            "each client waits for its answer before the next request, so with the machine this "
            "loaded the check clients fell short of the rates asked: " + ", ".join(short)
        )
    total = res["memory"]["total"]
    s2 = total["slope_second_half_mb_per_min"]
    if s2 is not None and s2 > 0:
        per = ", ".join(
            f"{name} {x['slope_second_half_mb_per_min']:+.2f}"
            for name, x in res["memory"].items()
            if isinstance(x, dict) and name != "total" and x["slope_second_half_mb_per_min"]
        )
        notes.append(
            f"memory still rose slowly in the second half of the run: {s2:+.2f} MB/min in total "
            f"({per}); within the criterion, but only a longer run would show whether it levels "
            "off"
        )
    cf = [x["check_file"] for x in res["samples"] if "version" in x.get("check_file", {})]
    if cf and len({x["version"] for x in cf}) == 1:
        notes.append(
            f"the check file was not recompiled during the run: the overlay of subjects touched "
            f"since it was compiled reached {cf[-1]['overlay']:,}, below the 5,000 that trigger a "
            "recompile (services/checks.py), so the recompile-and-remap path was not exercised"
        )
    notes.append(
        f"clients drop a connection idle for {KEEPALIVE_EXPIRY:g} s, less than the 5 s after "
        "which uvicorn closes it: with httpx's default (5 s, the same as uvicorn's), a request "
        "sent as the server closes an idle connection fails with 'Server disconnected without "
        "sending a response'; browsers retry such a "
        "request, httpx does not"
    )
    if any(x["exit_code"] == -15 for x in res["servers"]):
        notes.append(
            "exit -15 of `socialcredit serve` is uvicorn's graceful stop on SIGTERM: it re-raises "
            "the signal once shut down"
        )
    spikes = [
        f"{name} {x['max_mb']:,.0f} MB"
        for name, x in res["memory"].items()
        if isinstance(x, dict)
        and name.startswith("serve-")
        and name != "serve-checks"
        and x["max_mb"] > 1.2 * x["last_minute_median_mb"]
    ]
    if spikes:
        notes.append(
            "the API processes peaked early in the run (" + ", ".join(spikes) + ") while the "
            "subjects signed in: each password check (argon2, memory_cost 64 MiB) allocates "
            "64 MiB for its duration"
        )
    return notes


# -- main -------------------------------------------------------------------------------------


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="minutes of traffic (10)")
    p.add_argument("--entities", type=int, default=5000, help="subjects to generate (5000)")
    p.add_argument("--seed", type=int, default=0, help="data and traffic seed (0)")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"),
        help="SQLAlchemy URL of a PostgreSQL database (or SOCIALCREDIT_BENCH_POSTGRES_URL)",
    )
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="results directory")
    p.add_argument(
        "--rate-scale", type=float, default=1.0, help="multiply every client's rate (1.0)"
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the schema and the temporary directory"
    )
    p.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only write soak.md again from a soak.json of an earlier run (to --out)",
    )
    args = p.parse_args(argv)
    if args.render:
        res = json.loads(args.render.read_text())
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "soak.md").write_text(markdown(res))
        print(f"wrote {args.out / 'soak.md'} from {args.render}")
        return 0
    if not args.postgres_url:
        p.error("--postgres-url (or SOCIALCREDIT_BENCH_POSTGRES_URL) is required")
    if args.minutes <= 0 or args.rate_scale <= 0:
        p.error("--minutes and --rate-scale must be positive")

    # SIGTERM (e.g. kill of a nohup run) unwinds like Ctrl-C, so every server is stopped
    signal.signal(signal.SIGTERM, _interrupt)

    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_total": mem_total(),
        "python": platform.python_version(),
        "socialcredit": getattr(socialcredit, "__version__", None) or _dist_version(),
        "postgresql": pg_info(args.postgres_url),
        "httpx": httpx.__version__,
    }
    print(f"machine: {machine}; load average {os.getloadavg()}", flush=True)
    run_id = uuid.uuid4().hex[:8]
    schema = f"soak_{run_id}"
    url = pg_schema_url(args.postgres_url, schema)
    enc_key = Fernet.generate_key().decode()
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    tmp = Path(tempfile.mkdtemp(prefix="socialcredit-soak-"))
    servers: list[Server] = []
    notes: list[str] = []
    schema_made = False
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        schema_made = True
        print(f"schema {schema}; temporary directory {tmp}", flush=True)
        data = tmp / "data"
        t0 = time.perf_counter()
        gen = generate(args.entities, data, seed=args.seed)
        t_gen = time.perf_counter() - t0
        print(f"generate: {args.entities:,} entities, {gen.files} in {t_gen:.1f}s", flush=True)
        setup, parts = setup_registry(url, enc_key, data, args.seed)

        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
        env.update(
            {
                "SOCIALCREDIT_DATABASE_URL": url,
                "SOCIALCREDIT_MODE": "production",
                "SOCIALCREDIT_ID_HASH_KEY": HASH_KEY,
                "SOCIALCREDIT_ID_ENCRYPTION_KEY": enc_key,
                "SOCIALCREDIT_CHECK_FILE": str(tmp / "checks" / "checks.bin"),
                "SOCIALCREDIT_OPEN_DATA_DIR": str(tmp / "open-data"),
                "USER": "soak",
            }
        )
        (tmp / "checks").mkdir()
        before = cli_stats(env, tmp)
        print(f"stats before: {before}", flush=True)

        py = [sys.executable, "-m", "socialcredit"]
        checks_port = free_port()
        servers.append(
            Server(
                "serve-checks",
                [*py, "serve-checks", "--port", str(checks_port), "--workers", "2"],
                checks_port,
                tmp / "serve-checks.log",
            )
        )
        for n in (1, 2):
            port = free_port()
            servers.append(
                Server(
                    f"serve-{n}", [*py, "serve", "--port", str(port)], port, tmp / f"serve-{n}.log"
                )
            )
        for srv in servers:  # serve-checks first: it compiles the shared check file
            srv.start(env, tmp)
            print(
                f"{srv.name}: pid {srv.proc.pid if srv.proc else None}, healthy after "
                f"{wait_healthy(srv):.1f}s",
                flush=True,
            )

        world = World(
            checks_url=servers[0].url,
            api_urls=[s.url for s in servers[1:]],
            tokens=parts["tokens"],
            orgs=parts["orgs"],
            codes=parts["codes"],
            hot=parts["hot"],
            accounts=parts["accounts"],
            tz=parts["tz"],
            run_id=run_id,
        )
        ru0 = os.times()
        print(f"traffic for {args.minutes:g} minutes (rate scale {args.rate_scale:g})", flush=True)
        rec, ledger, sampler, elapsed = asyncio.run(
            run_traffic(world, servers, args.minutes, args.rate_scale, args.seed)
        )
        ru1 = os.times()
        last = sampler.samples[-1]
        client_cpu = (ru1.user - ru0.user) + (ru1.system - ru0.system)
        print(f"traffic done after {elapsed:.0f}s; stopping servers", flush=True)
        for srv in reversed(servers):  # the APIs first, the check server (and recorder) last
            srv.stop()
            print(
                f"{srv.name}: stopped in {srv.stop_seconds:.1f}s, exit {srv.exit_code}, "
                f"killed {srv.killed}",
                flush=True,
            )

        engine = create_engine(url)
        try:
            writes = verify(engine, ledger, tmp / "checks" / "checks.bin.reads")
        finally:
            engine.dispose()
        av = cli(env, tmp, "audit", "verify")
        after = cli_stats(env, tmp)
        landed = writes["records_in_doubt"]["landed"]
        expected_records = before["records"] + ledger.new_records + landed
        consistency = {
            "audit_verify": {
                "exit": av.returncode,
                "output": " ".join((av.stdout + av.stderr).split())[:500],
            },
            "before": before,
            "after": after,
            "new_records": ledger.new_records,
            "in_doubt_landed": landed,
            "records_expected": expected_records,
            "records_consistent": after["records"] == expected_records,
        }
        server_names = [s.name for s in servers]
        memory = memory_summary(sampler.samples, server_names)
        tick = os.sysconf("SC_CLK_TCK")
        first_s = sampler.samples[0]
        busy0, total0 = first_s["machine_cpu"]
        busy1, total1 = last["machine_cpu"]
        loads = [s["load1"] for s in sampler.samples]
        kinds = kinds_report(rec, elapsed)
        errors = sum(k["errors"] for k in kinds.values())
        limited = sum(k["rate_limited_429"] for k in kinds.values())
        server_rows = []
        for srv in servers:
            n_err, excerpt = srv.notable_log_lines()
            cpu_s = (last["cpu_ticks"][srv.name] - first_s["cpu_ticks"][srv.name]) / tick
            server_rows.append(
                {
                    "name": srv.name,
                    "command": "socialcredit " + shlex.join(srv.argv[3:]),
                    "port": srv.port,
                    "processes": max(s["processes"][srv.name] for s in sampler.samples),
                    "cpu_seconds": cpu_s,
                    "cpu_share": cpu_s / elapsed,
                    "stop_seconds": srv.stop_seconds,
                    "exit_code": srv.exit_code,
                    "killed": srv.killed,
                    "killed_commands": srv.killed_commands,
                    "log_errors": n_err,
                    "log_excerpt": excerpt,
                }
            )
        log_errors = sum(s["log_errors"] for s in server_rows)
        criteria = {
            "zero errors": (
                errors == 0,
                f"{errors} errors over {sum(k['requests'] for k in kinds.values()):,} requests; "
                f"{limited} searches answered 429 (counted apart)",
            ),
            "zero lost writes": (
                writes["lost_writes"] == 0,
                f"{writes['lost_writes']} lost (records, objections and their decisions, check and "
                "file reads)",
            ),
            "chain verifies": (av.returncode == 0, consistency["audit_verify"]["output"][:120]),
            "stats consistent": (
                consistency["records_consistent"],
                f"records {after['records']:,} = {before['records']:,} + {ledger.new_records:,} new"
                + (f" + {landed} in doubt" if landed else ""),
            ),
            "memory flat": (
                memory["flat"],
                f"total {memory['total']['first_minute_median_mb']:,.0f} → "
                f"{memory['total']['last_minute_median_mb']:,.0f} MB "
                f"({memory['total']['change']:+.1%})",
            ),
        }
        if log_errors:
            notes.append(
                f"{log_errors} server log lines look like errors (see Servers); they do not enter "
                "the verdict, which counts what clients saw"
            )
        if args.minutes < 2:
            notes.append(
                "a run under two minutes: the first and last minute overlap, the memory verdict "
                "says little"
            )
        if setup["unresolvable_register_codes"]:
            notes.append(
                f"{len(setup['unresolvable_register_codes'])} register codes that resolve_code "
                "cannot read were left out of the traffic: "
                + ", ".join(
                    f"{x['code']} ({x['error']})" for x in setup["unresolvable_register_codes"][:3]
                )
            )
        notes.append(
            "each search client sends from its own loopback address, at "
            f"{0.5 * args.rate_scale:g} searches a second spread over the two API processes, "
            "below the per-address limit of each"
        )
        res: dict[str, Any] = {
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
            "cwd": os.getcwd(),
            "machine": machine,
            "minutes": args.minutes,
            "elapsed_s": elapsed,
            "rate_scale": args.rate_scale,
            "loads": [
                {
                    "kind": ld.kind,
                    "clients": ld.clients,
                    "rate": ld.rate * args.rate_scale,
                    "what": ld.what,
                }
                for ld in LOADS
            ],
            "data": {
                "entities": args.entities,
                "seed": args.seed,
                "files": gen.files,
                "generate_seconds": t_gen,
            },
            "setup": setup,
            "servers": server_rows,
            "kinds": kinds,
            "writes": writes,
            "consistency": consistency,
            "memory": memory,
            "samples": [
                {k: v for k, v in s.items() if k not in ("machine_cpu", "cpu_ticks")}
                for s in sampler.samples
            ],
            "load": {
                "before": load_before,
                "median": statistics.median(loads),
                "min": min(loads),
                "max": max(loads),
                "machine_cpu_busy": (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0,
            },
            "client": {
                "cpu_seconds": client_cpu,
                "cpu_share": client_cpu / elapsed,
                "rss_mb": last["client_rss_mb"],
            },
            "notes": notes,
        }
        res["verdict"] = {
            "pass": all(ok for ok, _ in criteria.values()),
            "criteria": {k: list(v) for k, v in criteria.items()},
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "soak.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
        md = markdown(res)
        (args.out / "soak.md").write_text(md)
        print(md)
        print(f"wrote {args.out / 'soak.json'} and {args.out / 'soak.md'}", flush=True)
        return 0 if res["verdict"]["pass"] else 1
    finally:
        for srv in reversed(servers):
            if srv.proc is not None and srv.stop_seconds is None:
                srv.stop(grace=30)
        if args.keep:
            print(f"kept schema {schema} ({redact(url)}) and {tmp}", flush=True)
        else:
            if schema_made:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            shutil.rmtree(tmp, ignore_errors=True)
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
