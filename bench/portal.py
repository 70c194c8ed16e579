# ruff: noqa: T201  (a benchmark reports progress on stdout and runs its own tools)
"""Public portal benchmark: time to first byte of the public pages on a large register.

Usage:
    python bench/portal.py [--sizes 132500,1325000] [--requests 300] [--warmup 30]
                           [--seed 0] [--cache /tmp/socialcredit-bench] [--out bench/results]
                           [--batch-size 1000] [--build-only]

For each size N (entities passed to the generator; the defaults give about 100,000 and
1,000,000 organisations in the register), a register is built once through the project's own
command line and cached in <cache>/portal-N-seedS/:

    socialcredit generate --entities N --out <dir>/data --seed S
    socialcredit ingest <dir>/data/samr.csv    --source samr  --as-of 2026-10-01 --json
    socialcredit ingest <dir>/data/tax.csv     --source tax   --as-of 2026-10-01 --json
    socialcredit ingest <dir>/data/court.jsonl --source court --as-of 2026-10-01 --json
    socialcredit lists advance

(SOCIALCREDIT_DATABASE_URL=sqlite:///<dir>/registry.db, development keys in <dir>). Every row
comes through ingest, so the event log and the projections are the real ones. A later run
reuses the cached register (delete the directory to rebuild); the ~1M one took 47 minutes on
2 vCPUs. A cached register whose schema is older than the code's (``db.SCHEMA_REVISION``) is
first brought up to date with ``socialcredit db upgrade`` (timed, outside the measurements;
its time, peak RSS and file growth go into <dir>/build.json under "upgrades" and into the
report).

Then ``socialcredit serve`` (uvicorn) is started as a subprocess on 127.0.0.1 against that file
and left until its start-up sweep is done, and one client on one keep-alive connection (raw
sockets, HTTP/1.1) requests, after a warm-up, a few hundred pages over a seeded random sample of
organisations:

    /org/{uscc}               the public profile
    /search?q=<2-4 Chinese characters of a sampled name>
    /search?q=<a full USCC>
    /search?q=<a 9-character organisation code, XXXXXXXX-X>
    /org/{uscc}/report.html   the credit report
    /v1/subjects/{uscc}       the JSON API a user would otherwise call
    /healthz                  no database: the fixed cost of any request

TTFB is the time from sending the request until the status line and headers have arrived;
total is until the last byte of the body. Each search page is then fetched once more (untimed)
and its results are checked against a scan of the register: every result must contain the
fragment, and the first 20 must be those of a ``LIKE '%…%'`` scan put in the portal's order
(length of the normalised name, then code), and of a scan of the normalised names.

Baselines, with the server stopped, with Python's sqlite3 on the same file: the profile lookup
as bare SQL (subject by primary key, its listings and records by their subject index); the
queries ``name_search.search`` now sends (a code by key; the postings count of each pair of
characters of the query; the rarest pair's postings joined to subjects, read until 21 names
contain the query; the results' listings), bare, once stopping at the 21st match and once
fetching the postings in batches as the portal's ``yield_per`` does; and the no-index
baseline, the ``name LIKE '%…%'`` scan the portal sent before the name index (run last: it
reads the whole table). In-process: ``name_search.search`` and ``views.public_profile``. Finally a
what-if: the name search on an FTS5 trigram index of the names (what a SQLite user would
otherwise reach for), in a scratch file beside the cache (never the registry), for the 3-4
character fragments only (a trigram cannot serve two).

Each series but the LIKE scan is primed: after its warm-up, one untimed pass over the calls
then timed (kept as "first_pass"), so that the timed pass reads from the page cache;
some VMs page out file pages left unread for a minute (DAMON), which the report notes. Timed
series start only while ``pgrep -f "pytest|ci/run"`` finds nothing (polled every 30 s), and a
series during which such a process appeared (checked every 10 s), or during which other
processes used more than OTHERS_MAX CPUs on average, is run again; the CPUs the hypervisor
took (steal) are recorded with each series.
Results go to <out>/portal.md; all figures to <cache>/portal.json (the previous one is read
first, for a run-to-run table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import html
import inspect
import json
import os
import platform
import random
import re
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from core import cpu_model, mem_total  # noqa: E402  (bench/ is not a package)

from socialcredit.db import SCHEMA_REVISION  # noqa: E402
from socialcredit.projections.name_index import grams, normalise  # noqa: E402
from socialcredit.services.name_search import GRAM_COUNT_CAP  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "socialcredit")
FILES = (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court"))
INGEST_AT = "2026-10-01"
BUSY_PATTERN = "pytest|ci/run"
HOST = "127.0.0.1"


# -- helpers --------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def busy() -> list[str]:
    """Command lines of other heavy jobs (a CI or test run), as pgrep -f finds them."""
    r = subprocess.run(["pgrep", "-af", BUSY_PATTERN], capture_output=True, text=True, check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def wait_quiet(what: str) -> int:
    """Block until no test or CI run is found; return the seconds waited."""
    t0 = time.monotonic()
    first = True
    while procs := busy():
        if first:
            log(f"{what}: waiting, another job is running: {procs[0][:120]}")
            first = False
        time.sleep(30)
    waited = time.monotonic() - t0
    if not first:
        log(f"{what}: the other job has ended after {waited:.0f}s of waiting")
    return round(waited)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(1, -(-len(s) * p // 100))  # ceil(n * p / 100), at least 1
    return s[int(k) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "min": min(values),
        "mean": statistics.fmean(values),
    }


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


def memory_state() -> dict[str, Any]:
    """The page cache's size, and any DAMON scheme that pages memory out (some VMs run one: it
    evicts file pages that have not been read for a while, however much memory is free)."""
    info = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("MemTotal", "MemAvailable", "Cached"):
            info[k] = int(v.split()[0])
    schemes = []
    for kd in Path("/sys/kernel/mm/damon/admin/kdamonds").glob("*/"):
        for sch in kd.glob("contexts/*/schemes/*/"):
            ctx = sch.parent.parent
            try:
                schemes.append(
                    {
                        "state": (kd / "state").read_text().strip(),
                        "action": (sch / "action").read_text().strip(),
                        "min_age_s": int((sch / "access_pattern/age/min").read_text())
                        * int((ctx / "monitoring_attrs/intervals/aggr_us").read_text())
                        / 1e6,
                        "max_accesses": int((sch / "access_pattern/nr_accesses/max").read_text()),
                    }
                )
            except (OSError, ValueError):
                continue
    return {"meminfo_kb": info, "damon_schemes": schemes}


def cpu_fields() -> dict[str, float]:
    """CPU seconds of the whole machine by kind, from /proc/stat: "tasks" (user, nice, system:
    what processes ran), "irq" (irq and softirq, e.g. loopback networking), "steal" (the
    hypervisor ran something else while this VM wanted to run) and "all"."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "tasks": (v[0] + v[1] + v[2]) / hz,
        "irq": (v[5] + v[6]) / hz,
        "steal": v[7] / hz,
        "all": sum(v[:8]) / hz,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- building the register ------------------------------------------------------------------


def cli_env(d: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SOCIALCREDIT_")  # nothing of the caller's registry leaks in
    }
    env.update(
        SOCIALCREDIT_DATABASE_URL=f"sqlite:///{d / 'registry.db'}",
        SOCIALCREDIT_KEY_FILE=str(d / "keys.json"),
        SOCIALCREDIT_MODE="development",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_cli(
    args: list[str], d: Path, label: str, poll: Callable[[], str] | None = None
) -> dict[str, Any]:
    """Run ``socialcredit ARGS``, checking for other jobs at the start and every 30 s (with a
    progress line); return its seconds, stdout, those checks and its peak RSS."""
    cmd = [CLI, *args]
    log(f"{label}: {shlex.join(cmd)}")
    checks = busy_checks = 0
    seen: list[str] = []

    def check() -> bool:
        nonlocal checks, busy_checks
        checks += 1
        if b := busy():
            busy_checks += 1
            seen.append(b[0][:160])
        return bool(b)

    check()
    t0 = time.perf_counter()
    with (d / "build.log").open("a") as errf:
        p = subprocess.Popen(cmd, env=cli_env(d), stdout=subprocess.PIPE, stderr=errf, text=True)
        out_chunks: list[str] = []
        reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        next_poll = t0 + 30
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.2)
            if time.perf_counter() >= next_poll:
                next_poll += 30
                b = check()
                extra = poll() if poll else ""
                log(
                    f"{label}: {time.perf_counter() - t0:,.0f}s{extra}"
                    + (" (another job is running)" if b else "")
                )
        reader.join()
    s = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{label} failed (exit {p.returncode}); see {d / 'build.log'}")
    log(f"{label}: done in {s:,.1f}s, peak RSS {usage.ru_maxrss / 1024:,.0f} MiB")
    return {
        "seconds": s,
        "stdout": "".join(out_chunks),
        "checks": checks,
        "busy_checks": busy_checks,
        "other_jobs": sorted(set(seen)),
        "max_rss_kb": usage.ru_maxrss,
    }


def db_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        q = {
            "events": "SELECT COALESCE(MAX(seq), 0) FROM events",
            "subjects": "SELECT COUNT(*) FROM subjects",
            "organisations": "SELECT COUNT(*) FROM subjects WHERE kind = 'organisation'",
            "persons": "SELECT COUNT(*) FROM subjects WHERE kind = 'person'",
            "records": "SELECT COUNT(*) FROM records",
            "listings": "SELECT COUNT(*) FROM listings",
        }
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'name_grams'").fetchone():
            q["name_grams"] = "SELECT COUNT(*) FROM name_grams"
        return {k: int(con.execute(v).fetchone()[0]) for k, v in q.items()}
    finally:
        con.close()


def schema_revision(db: Path) -> str | None:
    """The Alembic revision the register's file is at."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return str(row[0]) if row else None


def file_bytes(d: Path) -> dict[str, int]:
    """Sizes of registry.db and of its -wal file (0 when there is none)."""
    wal = d / "registry.db-wal"
    return {
        "db": (d / "registry.db").stat().st_size,
        "wal": wal.stat().st_size if wal.exists() else 0,
    }


def upgrade(info: dict[str, Any], d: Path) -> None:
    """Bring a cached register to the code's schema with ``socialcredit db upgrade``, timed,
    and note it in the register's build.json (a migration may backfill a projection)."""
    db = d / "registry.db"
    was = schema_revision(db)
    if was == SCHEMA_REVISION:
        return
    size = info["size"]
    label = f"db upgrade {size:,} ({was} -> {SCHEMA_REVISION})"
    waited = wait_quiet(label)
    before = file_bytes(d)
    wal_max = 0

    def poll() -> str:
        nonlocal wal_max
        wal = file_bytes(d)["wal"]
        wal_max = max(wal_max, wal)
        return f", WAL {wal / 2**20:,.0f} MiB"

    r = run_cli(["db", "upgrade"], d, label, poll)
    after = file_bytes(d)
    counts = db_counts(db)
    entry = {
        "from": was,
        "to": schema_revision(db),
        "how": "bench/portal.py: socialcredit db upgrade",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": r["seconds"],
        "max_rss_kb": r["max_rss_kb"],
        "db_bytes_before": before["db"] + before["wal"],
        "db_bytes_after": after["db"] + after["wal"],
        "wal_bytes_max_sampled": wal_max,
        "name_grams_rows": counts.get("name_grams"),
        "waited_for_other_jobs_s": waited,
        "checks_for_other_jobs": r["checks"],
        "other_jobs_running_at": r["busy_checks"],
        "other_jobs": r["other_jobs"],
        "output": r["stdout"].strip(),
    }
    info.setdefault("upgrades", []).append(entry)
    info["counts"] = counts
    manifest = {k: v for k, v in info.items() if k != "dir"}
    (d / "build.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    log(
        f"{label}: {r['seconds']:,.1f}s, file {entry['db_bytes_before'] / 2**20:,.0f} -> "
        f"{entry['db_bytes_after'] / 2**20:,.0f} MiB, {entry['name_grams_rows']:,} name pairs"
    )


def build(size: int, seed: int, cache: Path, batch_size: int) -> dict[str, Any]:
    d = cache / (f"portal-{size}-seed{seed}" + ("" if batch_size == 1000 else f"-b{batch_size}"))
    manifest = d / "build.json"
    info: dict[str, Any]
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        log(f"register {size:,}: reusing {d} (built {info['built']})")
        info["dir"] = str(d)
        upgrade(info, d)
        return info
    if d.exists():
        log(f"register {size:,}: removing an unfinished build in {d}")
        shutil.rmtree(d)
    d.mkdir(parents=True)
    db = d / "registry.db"
    info = {"size": size, "seed": seed, "batch_size": batch_size, "steps": {}}
    other_jobs: list[str] = []

    def step(name: str, r: dict[str, Any], **extra: Any) -> None:
        info["steps"][name] = {
            "seconds": r["seconds"],
            **extra,
            "checks_for_other_jobs": r["checks"],
            "other_jobs_running_at": r["busy_checks"],
            "max_rss_kb": r["max_rss_kb"],
        }
        other_jobs.extend(r["other_jobs"])

    r = run_cli(
        ["generate", "--entities", str(size), "--out", str(d / "data"), "--seed", str(seed)],
        d,
        f"generate {size:,}",
    )
    step("generate", r, output=r["stdout"].strip())

    def poll() -> str:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                n = con.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            finally:
                con.close()
            return f", {n:,} events in the log"
        except sqlite3.Error:
            return ""

    for name, source in FILES:
        args = ["ingest", str(d / "data" / name), "--source", source, "--as-of", INGEST_AT]
        args += ["--json", "--batch-size", str(batch_size)]
        r = run_cli(args, d, f"ingest {name} ({size:,})", poll)
        summ = json.loads(r["stdout"])
        summ.pop("rejects", None)
        step(f"ingest {name}", r, summary=summ)
        rows = summ.get("rows", 0)
        log(f"ingest {name}: {rows:,} rows, {rows / r['seconds']:,.0f} rows/s{poll()}")
    r = run_cli(["lists", "advance"], d, f"lists advance ({size:,})")
    step("lists advance", r, output=" ".join(r["stdout"].split()))
    info["ingest_seconds"] = sum(
        v["seconds"] for k, v in info["steps"].items() if k.startswith("ingest ")
    )
    info["ingest_rows"] = sum(
        v["summary"].get("rows", 0) for k, v in info["steps"].items() if k.startswith("ingest ")
    )
    info["counts"] = db_counts(db)
    info["db_bytes"] = sum(p.stat().st_size for p in d.glob("registry.db*"))
    info["other_jobs_during_build"] = sorted(set(other_jobs))
    info["built"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    log(
        f"register {size:,}: built in "
        f"{sum(v['seconds'] for v in info['steps'].values()):,.0f}s: {info['counts']}"
    )
    info["dir"] = str(d)
    return info


# -- the HTTP client -------------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection on a raw socket: nothing between us and the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def get(self, path: str, keep: bool = False) -> dict[str, Any]:
        """GET path: status, TTFB (headers in), total (body in), body bytes (and the body itself
        with ``keep``, for the untimed checks)."""
        req = (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "User-Agent: socialcredit-bench\r\nAccept: */*\r\nAccept-Language: zh-CN\r\n\r\n"
        ).encode("ascii")
        buf = self.buf
        t0 = time.perf_counter()
        self.sock.sendall(req)
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv()
        t_head = time.perf_counter()
        head = buf[:end].decode("latin-1").split("\r\n")
        buf = buf[end + 4 :]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        kept: list[bytes] = []
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(buf) < n:
                buf += self._recv()
            if keep:
                kept.append(buf[:n])
            body_len, buf = n, buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body_len = 0
            while True:
                while (e := buf.find(b"\r\n")) < 0:
                    buf += self._recv()
                size = int(buf[:e].split(b";")[0], 16)
                while len(buf) < e + 2 + size + 2:
                    buf += self._recv()
                if keep:
                    kept.append(buf[e + 2 : e + 2 + size])
                buf = buf[e + 2 + size + 2 :]
                body_len += size
                if size == 0:
                    break
        else:
            raise RuntimeError(f"no length for {path}: {headers}")
        t_end = time.perf_counter()
        self.buf = buf
        out: dict[str, Any] = {
            "status": status,
            "ttfb": t_head - t0,
            "total": t_end - t0,
            "bytes": body_len,
        }
        if keep:
            out["body"] = b"".join(kept).decode("utf-8")
        return out


# -- the server -----------------------------------------------------------------------------


class Server:
    """``socialcredit serve`` as a subprocess on a free port of 127.0.0.1."""

    def __init__(self, d: Path) -> None:
        self.port = free_port()
        self.logf = (d / "serve.log").open("a")
        cmd = [CLI, "serve", "--host", HOST, "--port", str(self.port)]
        self.command = shlex.join(cmd)
        log(f"server: {self.command}")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=cli_env(d), stdout=self.logf, stderr=self.logf)
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see serve.log")
            try:
                c = Http(self.port)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                r = c.get("/v1/lists")
            finally:
                c.close()
            if r["status"] == 200:
                break
        self.startup_s = time.perf_counter() - t0
        self.status_at_ready = proc_status(self.proc.pid)
        log(f"server: answering after {self.startup_s:.1f}s, {self.status_at_ready}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_idle(self, at_least: float = 25.0, limit: float = 900.0) -> dict[str, float]:
        """Wait until the background sweep (advance, purge, notices; first run at +15 s) is done:
        at least ``at_least`` s after start-up, then until the process uses < 2% CPU for 3 s."""
        t0 = time.perf_counter()
        c0 = cpu_seconds(self.pid)
        time.sleep(at_least)
        while time.perf_counter() - t0 < limit:
            a = cpu_seconds(self.pid)
            time.sleep(3)
            if cpu_seconds(self.pid) - a < 0.06:
                break
        out = {
            "waited_s": time.perf_counter() - t0,
            "cpu_s_while_waiting": cpu_seconds(self.pid) - c0,
        }
        log(f"server: idle after {out['waited_s']:.0f}s ({out['cpu_s_while_waiting']:.1f} CPU s)")
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


# -- the sample -----------------------------------------------------------------------------


def is_cjk(s: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in s)


LEGAL_FORM = re.compile(r"股份有限公司|有限责任公司|有限公司|分公司|公司")


def name_part(rng: random.Random, name: str) -> str | None:
    """A random 2-4 character run of Chinese characters inside ``name``, not in its legal form
    (nobody searches for 有限公司, which nearly every name ends with)."""
    name = LEGAL_FORM.sub("|", name)  # a fragment must not cross "|" (is_cjk)
    for _ in range(20):
        k = rng.choice((2, 3, 4))
        if len(name) < k:
            continue
        i = rng.randrange(len(name) - k + 1)
        part = name[i : i + k]
        if is_cjk(part):
            return part
    return None


def sample(db: Path, n: int, seed: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """``n`` organisations (code, name, organisation code) at random, and one name fragment for
    each."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        orgs = con.execute(
            "SELECT subject_id, name, organisation_code FROM subjects "
            "WHERE kind = 'organisation' ORDER BY subject_id"
        ).fetchall()
    finally:
        con.close()
    rng = random.Random(seed)
    picked = rng.sample(orgs, n)
    parts: list[str] = []
    for _, name, _ in picked:
        part = None
        while part is None:
            part = name_part(rng, name)
            if part is None:
                name = rng.choice(orgs)[1]
        parts.append(part)
    return picked, parts


# -- timed series ---------------------------------------------------------------------------


class Watch:
    """Polls for other heavy jobs every 10 s while a series runs."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(10):
            if b := busy():
                self.seen.append(b[0][:160])

    def __enter__(self) -> Watch:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        if b := busy():
            self.seen.append(b[0][:160])


#: Average CPUs other processes may use during a series before it is run again (at most
#: CPU_RETRIES times; then the quietest attempt is kept and marked).
OTHERS_MAX = 0.3
CPU_RETRIES = 3


def run_series(
    label: str,
    warm: list[Callable[[], dict[str, Any]]],
    timed: list[Callable[[], dict[str, Any]]],
    server_pid: int | None,
    prime: bool = True,
) -> dict[str, Any]:
    """Warm-up calls, then (``prime``) one untimed pass over the timed calls, so that what they
    read is in the page cache, then the timed calls in order. Redone if a test or CI run
    appeared meanwhile, or if other processes used more than OTHERS_MAX CPUs on average."""
    kept: dict[str, Any] | None = None
    cpu_retries = 0
    for attempt in range(1, 13):
        waited = wait_quiet(label)
        load = os.getloadavg()
        j0 = cpu_jiffies()
        f0 = cpu_fields()
        c0 = cpu_seconds(server_pid) if server_pid else 0.0
        p0 = time.process_time()
        w0 = time.perf_counter()
        first: list[dict[str, Any]] = []
        with Watch() as w:
            for f in warm:
                f()
            if prime:
                first = [f() for f in timed]
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                rows = [f() for f in timed]
                wall = time.perf_counter() - t0
            finally:
                gc.enable()
        j1 = cpu_jiffies()
        f1 = cpu_fields()
        c1 = cpu_seconds(server_pid) if server_pid else 0.0
        elapsed = time.perf_counter() - w0
        if w.seen:
            log(f"{label}: another job ran during attempt {attempt} ({w.seen[0]}); again")
            continue
        own = (time.process_time() - p0) + (c1 - c0)
        others = max(0.0, f1["tasks"] - f0["tasks"] - own) / elapsed
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        out: dict[str, Any] = {
            "requests": len(rows),
            "warmup": len(warm),
            "primed": prime,
            "ttfb": summary([r["ttfb"] for r in rows]),
            "total": summary([r["total"] for r in rows]),
            "per_s": len(rows) / wall,
            "bytes_median": statistics.median(r["bytes"] for r in rows),
            "statuses": statuses,
            "attempt": attempt,
            "waited_for_other_jobs_s": waited,
            "loadavg_before": load,
            # share of all CPUs busy during warm-up + series (client, server and anything else)
            "machine_cpu_busy": (j1[0] - j0[0]) / max(j1[1] - j0[1], 1),
            # CPUs used on average by processes other than this one and the server
            "others_cpus": others,
            # CPUs the hypervisor took from this VM on average, and irq + softirq time
            "steal_cpus": (f1["steal"] - f0["steal"]) / elapsed,
            "irq_cpus": (f1["irq"] - f0["irq"]) / elapsed,
            "server_cpu_s": c1 - c0,
            "rows": [round(r["ttfb"] * 1e3, 3) for r in rows],
        }
        if first:
            out["first_pass"] = summary([r["ttfb"] for r in first])
        if server_pid is not None:
            out["server"] = proc_status(server_pid)
        t = out["ttfb"]
        log(
            f"{label}: TTFB median {t['median'] * 1e3:.1f} ms, p95 {t['p95'] * 1e3:.1f}, "
            f"p99 {t['p99'] * 1e3:.1f}, max {t['max'] * 1e3:.1f}; {out['per_s']:.1f}/s; "
            f"statuses {statuses}; other processes {others:.2f} CPUs, steal "
            f"{out['steal_cpus']:.2f}" + (f"; server {out['server']}" if server_pid else "")
        )
        if kept is None or others < kept["others_cpus"]:
            kept = out
        if others <= OTHERS_MAX:
            return out
        if cpu_retries >= CPU_RETRIES:
            log(f"{label}: other processes stayed busy; keeping the quietest attempt")
            kept["others_cpus_exceeded"] = True
            return kept
        cpu_retries += 1
        log(f"{label}: other processes used {others:.2f} CPUs during attempt {attempt}; again")
    raise SystemExit(f"{label}: other jobs kept running during the series; giving up")


def timed_call(fn: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    def call() -> dict[str, Any]:
        t0 = time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        return {"status": 200, "ttfb": s, "total": s, "bytes": 0}

    return call


#: The no-index baseline: the name search the portal sent before the name index (schema 0009),
#: what one writes without an index. It scans the table and sorts every match.
LIKE_SQL = (
    "SELECT subject_id, name, division FROM subjects "
    "WHERE kind = 'organisation' AND registered_at <= ? AND name LIKE ? ESCAPE '/' "
    "ORDER BY length(name), name, subject_id LIMIT 21"
)

# The statements ``name_search.search`` sends now (as SQLAlchemy compiles them for SQLite), bare.
USCC_SQL = (
    "SELECT subject_id, name, division FROM subjects "
    "WHERE kind = 'organisation' AND registered_at <= ? AND subject_id = ?"
)
ORG_CODE_SQL = (
    "SELECT subject_id, name, division FROM subjects "
    "WHERE kind = 'organisation' AND registered_at <= ? AND organisation_code = ? "
    "ORDER BY subject_id LIMIT ?"
)
GRAM_COUNT_SQL = (
    "SELECT count(*) FROM (SELECT name_grams.subject_id FROM name_grams "
    "WHERE name_grams.gram = ? LIMIT ?)"
)
POSTINGS_SQL = (
    "SELECT subjects.subject_id, subjects.name, subjects.division FROM name_grams "
    "JOIN subjects ON subjects.subject_id = name_grams.subject_id "
    "WHERE name_grams.gram = ? AND name_grams.name_len >= ? AND subjects.registered_at <= ? "
    "ORDER BY name_grams.name_len, name_grams.subject_id"
)
LISTINGS_SQL = "SELECT * FROM listings WHERE subject_id IN ({})"


def batched(cur: sqlite3.Cursor, n: int, fetched: list[int]) -> Iterator[Any]:
    """The rows of ``cur``, fetched ``n`` at a time (counted in ``fetched[0]``)."""
    while rows := cur.fetchmany(n):
        fetched[0] += len(rows)
        yield from rows


def portal_batch() -> int | None:
    """The ``yield_per`` batch ``name_search.names_containing`` reads its postings with, from its
    source (None if it no longer uses one)."""
    from socialcredit.services import name_search

    m = re.search(r"yield_per=(\d+)", inspect.getsource(name_search.names_containing))
    return int(m.group(1)) if m else None


def like(q: str) -> str:
    return "%" + q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def like_sql(con: sqlite3.Connection, q: str, now: str) -> list[Any]:
    """The no-index baseline, bare: the ``LIKE '%…%'`` scan, sorted by length(name), name."""
    return con.execute(LIKE_SQL, (now, like(q))).fetchall()


def portal_search_sql(
    con: sqlite3.Connection,
    query: str,
    now: str,
    limit: int = 20,
    stats: dict[str, Any] | None = None,
    batch: int | None = None,
) -> list[Any]:
    """What ``name_search.search`` asks of the database, as bare sqlite3 and in the same steps: a
    USCC by primary key or an organisation code by its index; then, for a normalised query of
    two or more characters, the postings count of each of its pairs (capped as the portal caps
    it), the rarest pair's postings joined to subjects in (name_len, subject_id) order, read
    until ``limit + 1`` names contain the query; then the listings of the results. ``stats``
    collects, untimed, the rows read and the rarest pair's count. With ``batch``, the postings
    are fetched that many rows at a time (``fetchmany``), as SQLAlchemy's ``yield_per`` does
    in the portal, so SQLite steps through a whole batch before Python checks any of it."""
    q = " ".join(query.split())
    key = normalise(q)
    code = q.replace(" ", "").replace("-", "").upper()
    rows: list[Any] = []
    if len(code) == 18:
        rows = con.execute(USCC_SQL, (now, code)).fetchall()
    elif len(code) == 9:
        rows = con.execute(ORG_CODE_SQL, (now, f"{code[:8]}-{code[8]}", limit + 1)).fetchall()
    if len(key) >= 2 and len(rows) <= limit:
        seen = {r[0] for r in rows}
        pairs = grams(key)
        counts = {g: con.execute(GRAM_COUNT_SQL, (g, GRAM_COUNT_CAP)).fetchone()[0] for g in pairs}
        rarest = min(pairs, key=lambda g: (counts[g], g))
        named: list[Any] = []
        read = 0
        fetched = [0]
        if counts[rarest]:
            cur = con.execute(POSTINGS_SQL, (rarest, len(key), now))
            rows_in = iter(cur) if batch is None else batched(cur, batch, fetched)
            try:
                for r in rows_in:
                    read += 1
                    if key in normalise(r[1]):
                        named.append(r)
                        if len(named) > limit:
                            break
            finally:
                cur.close()
        rows = (rows + [r for r in named if r[0] not in seen])[: limit + 1]
        if stats is not None:
            stats.update(
                pairs=len(pairs),
                rarest=counts[rarest],
                postings_read=read,
                postings_fetched=fetched[0] if batch else read,
            )
    ids = [r[0] for r in rows[:limit]]
    if ids:
        con.execute(LISTINGS_SQL.format(", ".join("?" * len(ids))), ids).fetchall()
    return rows


def profile_sql(con: sqlite3.Connection, code: str) -> tuple[Any, list[Any], list[Any]]:
    """What a profile needs, bare: the subject by primary key, its listings and records."""
    subj = con.execute("SELECT * FROM subjects WHERE subject_id = ?", (code,)).fetchone()
    lst = con.execute(
        "SELECT * FROM listings WHERE subject_id = ? ORDER BY proposed_at", (code,)
    ).fetchall()
    rec = con.execute(
        "SELECT * FROM records WHERE subject_id = ? ORDER BY decided_on, record_key", (code,)
    ).fetchall()
    return subj, lst, rec


def page_results(body: str) -> list[tuple[str, str]]:
    """(code, name) of each result on a search page, in order."""
    return [(c, html.unescape(n)) for c, n in RESULT_LINK.findall(body)]


RESULT_LINK = re.compile(r'<li><a href="/org/([^"]+)">([^<]*)</a>')


def reference(matches: list[tuple[str, str]]) -> dict[str, Any]:
    """How many organisations match, and the first 21 codes in the portal's order (length of the
    normalised name, then code) and in the previous one (length of the name, name, code)."""
    new = sorted(matches, key=lambda m: (len(normalise(m[1])), m[0]))[:21]
    old = sorted(matches, key=lambda m: (len(m[1]), m[1], m[0]))[:21]
    return {
        "count": len(matches),
        "first": [c for c, _ in new],
        "first_names": {c: n for c, n in new},
        "first_old_order": [c for c, _ in old],
    }


def check_results(
    tp: list[str],
    got_name: list[list[tuple[str, str]]],
    like_ref: dict[str, dict[str, Any]],
    norm_ref: dict[str, dict[str, Any]],
    tc: list[str],
    got_uscc: list[list[tuple[str, str]]],
    got_org_code: list[list[tuple[str, str]]],
) -> dict[str, Any]:
    """The search pages' results against the scans of the whole register (see the docstring)."""
    out: dict[str, Any] = {
        "fragments": len(tp),
        "results": 0,
        "results_without_fragment": [],
        "results_matching_only_normalised": [],
        "same_first_20_as_like": 0,
        "same_set_as_like": 0,
        "same_first_20_as_normalised_scan": 0,
        "counts_compared": 0,
        "counts_agree": 0,
        "more_than_20": 0,
        "old_order_same_set": 0,
        "disagreements": [],
    }
    for p, got in zip(tp, got_name, strict=True):
        key = normalise(p)
        ids = [c for c, _ in got]
        lk, nm = like_ref[p], norm_ref[p]
        out["results"] += len(got)
        for c, name in got:
            if key not in normalise(name):
                out["results_without_fragment"].append({"fragment": p, "code": c, "name": name})
            elif p not in name:
                out["results_matching_only_normalised"].append(
                    {"fragment": p, "code": c, "name": name}
                )
        same_like = ids == lk["first"][:20]
        out["same_first_20_as_like"] += same_like
        out["same_set_as_like"] += set(ids) == set(lk["first"][:20])
        out["same_first_20_as_normalised_scan"] += ids == nm["first"][:20]
        out["old_order_same_set"] += set(lk["first"][:20]) == set(lk["first_old_order"][:20])
        if lk["count"] <= 20:
            out["counts_compared"] += 1
            out["counts_agree"] += len(ids) == lk["count"]
        else:
            out["more_than_20"] += 1
        if not same_like or ids != nm["first"][:20]:
            out["disagreements"].append(
                {
                    "fragment": p,
                    "like_matches": lk["count"],
                    "normalised_matches": nm["count"],
                    "portal_results": len(ids),
                    "missing_vs_like": [
                        [c, lk["first_names"][c]] for c in lk["first"][:20] if c not in ids
                    ],
                    "extra_vs_like": [[c, n] for c, n in got if c not in lk["first"][:20]],
                    "same_as_normalised_scan": ids == nm["first"][:20],
                }
            )
    out["uscc_checked"] = len(tc)
    out["uscc_exact"] = sum(
        1 for c, got in zip(tc, got_uscc, strict=True) if [x for x, _ in got] == [c]
    )
    out["org_code_checked"] = len(tc)
    out["org_code_first"] = sum(
        1 for c, got in zip(tc, got_org_code, strict=True) if got and got[0][0] == c
    )
    out["org_code_results"] = summary([float(len(g)) for g in got_org_code])
    return out


def measure(info: dict[str, Any], requests: int, warmup: int, seed: int) -> dict[str, Any]:
    d = Path(info["dir"])
    db = d / "registry.db"
    size = info["size"]
    picked, parts = sample(db, warmup + requests, seed)
    codes = [c for c, _, _ in picked]
    org_codes = [o for _, _, o in picked]
    wc, tc = codes[:warmup], codes[warmup:]
    wo, to = org_codes[:warmup], org_codes[warmup:]
    wp, tp = parts[:warmup], parts[warmup:]
    q = urllib.parse.quote
    pages: dict[str, tuple[list[str], list[str]]] = {
        "profile": ([f"/org/{c}" for c in wc], [f"/org/{c}" for c in tc]),
        "search_name": ([f"/search?q={q(p)}" for p in wp], [f"/search?q={q(p)}" for p in tp]),
        "search_uscc": ([f"/search?q={c}" for c in wc], [f"/search?q={c}" for c in tc]),
        "search_org_code": ([f"/search?q={q(o)}" for o in wo], [f"/search?q={q(o)}" for o in to]),
        "report": ([f"/org/{c}/report.html" for c in wc], [f"/org/{c}/report.html" for c in tc]),
        "api_subject": ([f"/v1/subjects/{c}" for c in wc], [f"/v1/subjects/{c}" for c in tc]),
        # no database, no template: what any request costs (uvicorn, FastAPI, a dependency)
        "healthz": (["/healthz"] * len(wc), ["/healthz"] * len(tc)),
    }
    res: dict[str, Any] = {
        "size": size,
        "schema": schema_revision(db),
        "file_bytes": file_bytes(d),
        "series": {},
        "sample": {},
    }

    # what the sample looks like: records and active listings per subject; what each fragment
    # matches in the whole register, by LIKE on the names and on the normalised names (untimed)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    try:
        recs = [len(profile_sql(con, c)[2]) for c in tc]
        listed = sum(1 for c in tc if profile_sql(con, c)[1])
        log(f"register {size:,}: matching {len(set(tp))} name fragments by LIKE (untimed)")
        t0 = time.perf_counter()
        like_ref = {
            p: reference(
                con.execute(
                    "SELECT subject_id, name FROM subjects WHERE kind = 'organisation' "
                    "AND registered_at <= ? AND name LIKE ? ESCAPE '/'",
                    (now, like(p)),
                ).fetchall()
            )
            for p in sorted(set(tp))
        }
        log(f"register {size:,}: ... in {time.perf_counter() - t0:,.0f}s; now the normalised names")
        orgs = con.execute(
            "SELECT subject_id, name FROM subjects WHERE kind = 'organisation' "
            "AND registered_at <= ?",
            (now,),
        ).fetchall()
        normed = [(normalise(n), c, n) for c, n in orgs]
        del orgs
        norm_ref = {}
        for p in sorted(set(tp)):
            key = normalise(p)
            norm_ref[p] = reference([(c, n) for k, c, n in normed if key in k])
        del normed
        hits = [like_ref[p]["count"] for p in tp]
        searched: list[dict[str, Any]] = []
        for p in tp:
            st: dict[str, Any] = {}
            portal_search_sql(con, p, now, stats=st, batch=portal_batch())
            searched.append(st)
        p0, c0, o0 = tp[0], tc[0], to[0]
        pairs0 = grams(p0)
        plan_args: dict[str, tuple[str, tuple[Any, ...]]] = {
            "like_scan": (LIKE_SQL, (now, like(p0))),
            "gram_count": (GRAM_COUNT_SQL, (pairs0[0], GRAM_COUNT_CAP)),
            "postings": (POSTINGS_SQL, (pairs0[0], len(p0), now)),
            "uscc": (USCC_SQL, (now, c0)),
            "org_code": (ORG_CODE_SQL, (now, o0, 21)),
            "records_by_subject": (
                "SELECT * FROM records WHERE subject_id = ? ORDER BY decided_on, record_key",
                (c0,),
            ),
        }
        plans = {
            k: " | ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))
            for k, (sql, args) in plan_args.items()
        }
    finally:
        con.close()
    res["sample"] = {
        "organisations": len(tc),
        "records_per_subject": summary([float(x) for x in recs]),
        "with_listings": listed,
        "fragments": tp,
        "search_terms_by_length": {str(k): sum(1 for p in tp if len(p) == k) for k in (2, 3, 4)},
        "matches": hits,
        "search_matches": summary([float(h) for h in hits]),
        "search_matches_by_length": by_length(tp, [float(h) for h in hits]),
        "postings_read": [s.get("postings_read", 0) for s in searched],
        "postings_fetched": [s.get("postings_fetched", 0) for s in searched],
        "rarest_pair_postings": [s.get("rarest", 0) for s in searched],
        "query_plans": plans,
        "examples": {"codes": tc[:3], "org_codes": to[:3], "name_fragments": tp[:10]},
    }
    log(f"register {size:,}: sample {res['sample']['search_matches']}; plans {plans}")

    wait_quiet(f"register {size:,}: server start")
    srv = Server(d)
    got: dict[str, list[list[tuple[str, str]]]] = {}
    try:
        res["server"] = {
            "command": srv.command,
            "startup_s": srv.startup_s,
            "at_ready": srv.status_at_ready,
            "idle": srv.wait_idle(),
            "at_idle": proc_status(srv.pid),
        }
        http = Http(srv.port)
        try:
            for page, (warm, timed) in pages.items():
                res["series"][page] = run_series(
                    f"{size:,} {page}",
                    [partial(http.get, p) for p in warm],
                    [partial(http.get, p) for p in timed],
                    srv.pid,
                )
            log(f"register {size:,}: fetching the search pages again for their results (untimed)")
            for page in ("search_name", "search_uscc", "search_org_code"):
                got[page] = [page_results(http.get(p, keep=True)["body"]) for p in pages[page][1]]
        finally:
            http.close()
        res["server"]["at_end"] = proc_status(srv.pid)
        res["server"]["cpu_s"] = cpu_seconds(srv.pid)
    finally:
        srv.stop()
    res["checks"] = check_results(
        tp, got["search_name"], like_ref, norm_ref, tc, got["search_uscc"], got["search_org_code"]
    )
    log(
        f"register {size:,}: results checked: "
        + ", ".join(f"{k} {v}" for k, v in res["checks"].items() if isinstance(v, int))
    )

    # baselines, with the server stopped: bare SQL on the same file, and the service calls;
    # the no-index LIKE scan last (it reads the whole subjects table, every call)
    batch = portal_batch()
    res["portal_batch"] = batch
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        bare: dict[str, tuple[str, Callable[[str], Any], list[str], list[str]]] = {
            "sql_profile": ("bare SQL profile", lambda c: profile_sql(con, c), wc, tc),
            "sql_portal_name": (
                "bare SQL, the portal's queries (name)",
                lambda p: portal_search_sql(con, p, now),
                wp,
                tp,
            ),
            "sql_portal_uscc": (
                "bare SQL, the portal's queries (USCC)",
                lambda c: portal_search_sql(con, c, now),
                wc,
                tc,
            ),
            "sql_portal_org_code": (
                "bare SQL, the portal's queries (organisation code)",
                lambda o: portal_search_sql(con, o, now),
                wo,
                to,
            ),
        }
        if batch:
            bare["sql_portal_name_batched"] = (
                f"bare SQL, the portal's queries (name), postings in batches of {batch}",
                lambda p: portal_search_sql(con, p, now, batch=batch),
                wp,
                tp,
            )
        for key, (label, fn, warm_args, timed_args) in bare.items():
            res["series"][key] = run_series(
                f"{size:,} {label}",
                [timed_call(partial(fn, a)) for a in warm_args],
                [timed_call(partial(fn, a)) for a in timed_args],
                None,
            )
    finally:
        con.close()

    from sqlalchemy import event

    from socialcredit.bootstrap import Registry
    from socialcredit.config import Settings
    from socialcredit.services import grading, name_search, views

    reg = Registry(Settings.from_env(cli_env(d)))
    res["published_grading_methods"] = [
        mid for mid, gm in reg.pack.grading.items() if gm.publication is not None
    ]
    try:
        # the statements one search sends, as SQLAlchemy compiles them (untimed)
        sent: list[str] = []

        def capture(*args: Any) -> None:
            sent.append(" ".join(str(args[2]).split()))

        res["sample"]["statements"] = {}
        for kind, query in (("name", tp[0]), ("uscc", tc[0]), ("org_code", to[0])):
            name_search.search(reg, query)  # the connection's own set-up is not the search's
            sent.clear()
            event.listen(reg.engine, "before_cursor_execute", capture)
            try:
                name_search.search(reg, query)
            finally:
                event.remove(reg.engine, "before_cursor_execute", capture)
            res["sample"]["statements"][kind] = {"query": query, "sent": list(sent)}
        svc: dict[str, tuple[str, Callable[[str], Any], list[str], list[str]]] = {
            "svc_public_profile": (
                "views.public_profile",
                lambda c: views.public_profile(reg, c),
                wc,
                tc,
            ),
            "svc_search_name": (
                "name_search.search (name)",
                lambda p: name_search.search(reg, p),
                wp,
                tp,
            ),
            "svc_public_grades": (
                "grading.public_grades",
                lambda c: grading.public_grades(reg, c),
                wc,
                tc,
            ),
        }
        for key, (label, fn, warm_args, timed_args) in svc.items():
            res["series"][key] = run_series(
                f"{size:,} {label}",
                [timed_call(partial(fn, a)) for a in warm_args],
                [timed_call(partial(fn, a)) for a in timed_args],
                None,
            )
    finally:
        reg.engine.dispose()

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        res["series"]["sql_like_name"] = run_series(
            f"{size:,} bare SQL, the no-index LIKE scan (name)",
            [timed_call(partial(like_sql, con, p, now)) for p in wp],
            [timed_call(partial(like_sql, con, p, now)) for p in tp],
            None,
            prime=False,  # each call reads the whole table anyway
        )
    finally:
        con.close()

    res["fts5"] = fts5_what_if(d, db, wp, tp, now, dict(zip(tp, hits, strict=True)))
    return res


def by_length(parts: list[str], values: list[float]) -> dict[str, float]:
    """Median of ``values`` (one per fragment of ``parts``) by fragment length."""
    return {
        str(k): statistics.median([v for p, v in zip(parts, values, strict=True) if len(p) == k])
        for k in (2, 3, 4)
        if any(len(p) == k for p in parts)
    }


def fts5_what_if(
    d: Path, db: Path, wp: list[str], tp: list[str], now: str, hits: dict[str, int]
) -> dict[str, Any]:
    """What a trigram index would do for the name search: an FTS5 table (tokenize='trigram')
    of the organisations' names in a scratch file beside the cache, never in the registry.
    Fragments of 3 or more characters only: a trigram index cannot serve shorter ones. Its
    query keeps the no-index baseline's order (length(name), name), so its results can be
    checked against that scan."""
    path = d / "names-fts5-trigram.db"
    fresh = not path.exists()
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    try:
        if fresh:
            con.execute(f"ATTACH 'file:{db}?mode=ro' AS r")
            con.execute(
                "CREATE VIRTUAL TABLE names USING fts5(name, subject_id UNINDEXED, "
                "tokenize='trigram')"
            )
            con.execute(
                "INSERT INTO names (name, subject_id) SELECT name, subject_id FROM r.subjects "
                "WHERE kind = 'organisation'"
            )
            con.commit()
            con.execute("DETACH r")
            (d / "names-fts5-trigram.json").write_text(
                json.dumps({"build_s": time.perf_counter() - t0})
            )
        build_s = json.loads((d / "names-fts5-trigram.json").read_text())["build_s"]
        sql = (
            "SELECT subject_id, name FROM names WHERE names MATCH ? "
            "ORDER BY length(name), name, subject_id LIMIT 21"
        )
        long_w = [p for p in wp if len(p) >= 3]
        long_t = [p for p in tp if len(p) >= 3]
        short = [p for p in tp if len(p) < 3]
        # the same 21 first rows as the no-index LIKE scan (same order)?
        reg = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            same = sum(
                1
                for p in long_t
                if [r[0] for r in con.execute(sql, (f'"{p}"',))]
                == [r[0] for r in like_sql(reg, p, now)]
            )
        finally:
            reg.close()
        short_true = sum(1 for p in short if hits[p])
        short_like = sum(
            1
            for p in short
            if con.execute("SELECT 1 FROM names WHERE name LIKE ? LIMIT 1", (like(p),)).fetchone()
        )
        short_match = sum(
            1
            for p in short
            if con.execute(
                "SELECT 1 FROM names WHERE names MATCH ? LIMIT 1", (f'"{p}"',)
            ).fetchone()
        )

        def fts(p: str) -> list[Any]:
            return con.execute(sql, (f'"{p}"',)).fetchall()

        series = run_series(
            f"{d.name} FTS5 trigram search (3-4 chars)",
            [timed_call(partial(fts, p)) for p in long_w],
            [timed_call(partial(fts, p)) for p in long_t],
            None,
        )
    finally:
        con.close()
    return {
        "build_s": build_s,
        "bytes": path.stat().st_size,
        "sqlite": sqlite3.sqlite_version,
        "series": series,
        "fragments": long_t,
        "same_results": same,
        "compared": len(long_t),
        "short_fragments": len(short),
        "short_with_matches": short_true,
        "short_found_by_like_on_fts": short_like,
        "short_found_by_match_on_fts": short_match,
        "slowest": [
            {"fragment": p, "ms": t, "matches": hits[p]}
            for t, p in sorted(zip(series["rows"], long_t, strict=True), reverse=True)[:10]
        ],
    }


# -- report ---------------------------------------------------------------------------------

LABELS = {
    "profile": "`GET /org/{uscc}` (profile page)",
    "search_name": "`GET /search?q=<2-4 chars of a name>`",
    "search_uscc": "`GET /search?q=<USCC>`",
    "search_org_code": "`GET /search?q=<organisation code XXXXXXXX-X>`",
    "report": "`GET /org/{uscc}/report.html`",
    "api_subject": "`GET /v1/subjects/{uscc}` (JSON API)",
    "healthz": "`GET /healthz` (no database: the fixed cost of a request)",
    "sql_profile": "baseline: bare SQL profile (subject + listings + records)",
    "sql_portal_name": "bare SQL: the portal's search queries, name fragment",
    "sql_portal_name_batched": "bare SQL: the same, postings fetched in batches like the "
    "portal's `yield_per`",
    "sql_portal_uscc": "bare SQL: the portal's search queries, USCC",
    "sql_portal_org_code": "bare SQL: the portal's search queries, organisation code",
    "sql_like_name": "no-index baseline: bare `name LIKE '%…%'` scan (the search before 0010)",
    "svc_public_profile": "in-process `views.public_profile` (no HTTP)",
    "svc_search_name": "in-process `name_search.search`, name fragment (no HTTP)",
    "svc_public_grades": "in-process `grading.public_grades` (no HTTP)",
    # series of earlier runs, shown in the run-to-run table only
    "sql_search_name": "bare SQL: the search query, name fragment (LIKE scan)",
    "sql_search_uscc": "bare SQL: the search query, USCC (OR-ed with the LIKE scan)",
}

#: A series of an earlier run that measured what a series of this run measures.
PREVIOUS_NAMES = {"sql_like_name": "sql_search_name"}

#: Series whose code changed with the name index (not run-to-run noise when the schema moved).
SEARCH_SERIES = ("search_name", "search_uscc", "search_org_code", "svc_search_name")


def ms(x: float) -> str:
    return f"{x * 1e3:,.1f}" if x < 10 else f"{x * 1e3:,.0f}"


def mib(kb: int | None) -> str:
    return f"{kb / 1024:,.0f} MiB" if kb else "?"


def med(run: dict[str, Any], key: str, field: str = "ttfb", stat: str = "median") -> float:
    return float(run["series"][key][field][stat])


def frag_median(run: dict[str, Any], key: str, lengths: tuple[int, ...] = (3, 4)) -> float:
    """Median seconds of a name-fragment series over the fragments of the given lengths."""
    frags = run["sample"]["fragments"]
    rows = run["series"][key]["rows"]
    return float(
        statistics.median([r / 1e3 for p, r in zip(frags, rows, strict=True) if len(p) in lengths])
    )


def times(a: float, b: float) -> str:
    """a / b as "N×", with a sensible number of digits."""
    x = a / b
    return f"{x:,.0f}×" if x >= 20 else f"{x:,.1f}×" if x >= 1 else f"{x:.2f}×"


def other_jobs_cell(b: dict[str, Any]) -> str:
    """How often a CI or test run was found while each build step ran (checked every 30 s)."""
    parts = []
    for name, st in b["steps"].items():
        n = st.get("checks_for_other_jobs")
        k = st.get("other_jobs_running_at")
        if n is None:
            return "yes" if b["other_jobs_during_build"] else "no"
        if n:
            parts.append(f"{name.removeprefix('ingest ')} {k}/{n}")
    return ", ".join(parts) or "–"


def upgrades(res: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(build, upgrade) for every schema upgrade recorded in the registers' build.json."""
    return [(b, u) for b in res["builds"] for u in b.get("upgrades", [])]


def checks_sentence(r: dict[str, Any]) -> str:
    c = r["checks"]
    n = c["fragments"]
    parts = [
        f"{r['organisations']:,} organisations: of {n} fragments, the page's results were "
        f"the first 20 of the LIKE scan, in the portal's order, for {c['same_first_20_as_like']} "
        f"(the same set for {c['same_set_as_like']}), and those of the scan of normalised names "
        f"for {c['same_first_20_as_normalised_scan']}; where the scan found 20 or fewer "
        f"({c['counts_compared']} fragments) the page showed as many for {c['counts_agree']}; "
        f"{len(c['results_without_fragment'])} of {c['results']:,} results lacked the fragment"
    ]
    if c["results_matching_only_normalised"]:
        x = c["results_matching_only_normalised"][0]
        parts.append(
            f"{len(c['results_matching_only_normalised'])} held it only once normalised "
            f"(e.g. {x['fragment']} in {x['name']})"
        )
    dis = c["disagreements"]
    if dis:
        by_norm = [
            x
            for x in dis
            if x["same_as_normalised_scan"]
            and all(
                x["fragment"] not in name and normalise(x["fragment"]) in normalise(name)
                for _, name in x["extra_vs_like"]
            )
        ]
        parts.append(
            f"of the {len(dis)} fragments where the page differed from the LIKE scan, "
            f"{len(by_norm)} differed only by names that hold the fragment once punctuation is "
            "dropped (the index normalises names: NFKC, case-folded, letters and digits only), "
            "which sort in by their normalised length and push LIKE matches past the 20th or "
            "add to a short list"
        )
    parts.append(
        f"a USCC found exactly its organisation {c['uscc_exact']} times of "
        f"{c['uscc_checked']}, an organisation code its organisation first "
        f"{c['org_code_first']} times of {c['org_code_checked']}"
    )
    return "; ".join(parts)


def findings(res: dict[str, Any]) -> list[str]:
    runs = sorted(res["runs"], key=lambda r: r["organisations"])
    big, small = runs[-1], runs[0]
    n_big, n_small = big["organisations"], small["organisations"]
    grow = n_big / n_small
    sb = big["sample"]
    tp_len = sb["search_terms_by_length"]
    short_share = tp_len.get("2", 0) / max(sum(tp_len.values()), 1)
    gap = max(
        abs(v["total"]["median"] - v["ttfb"]["median"])
        for r in runs
        for k, v in r["series"].items()
        if not k.startswith(("sql_", "svc_"))
    )
    body = max(
        v["bytes_median"]
        for r in runs
        for k, v in r["series"].items()
        if not k.startswith(("sql_", "svc_"))
    )
    out = [
        "## Findings",
        "",
        f"1. **Profile, credit report and JSON API.** With {n_big:,} organisations the profile "
        f"page answers in {ms(med(big, 'profile'))} ms (median; p99 "
        f"{ms(med(big, 'profile', stat='p99'))} ms), the report in "
        f"{ms(med(big, 'report'))} ms, `/v1/subjects` in {ms(med(big, 'api_subject'))} ms; with "
        f"{n_small:,} organisations {ms(med(small, 'profile'))}, {ms(med(small, 'report'))} and "
        f"{ms(med(small, 'api_subject'))} ms: {grow:.0f}× the organisations, "
        f"{times(med(big, 'profile'), med(small, 'profile'))} the profile median. They read by "
        "primary key and by the subject indexes"
        f" (`{sb['query_plans']['records_by_subject']}` for the records). One client gets "
        f"{big['series']['profile']['per_s']:,.0f} profile pages/s.",
        f"2. **Where a profile's time goes.** The same lookup as bare SQL takes "
        f"{ms(med(big, 'sql_profile'))} ms; `views.public_profile` in-process "
        f"{ms(med(big, 'svc_public_profile'))} ms; any request through uvicorn and FastAPI costs "
        f"{ms(med(big, 'healthz'))} ms (`/healthz`, no database); the page adds the template. "
        f"So the database is ~{100 * med(big, 'sql_profile') / med(big, 'profile'):.0f}% of a "
        "profile page's median. TTFB and total medians differ by at most "
        f"{gap * 1e3:.1f} ms on any page, whose median bodies are at most "
        f"{body / 1024:,.1f} KiB: pages are rendered whole before the first byte.",
    ]
    page, like_s = med(big, "search_name"), med(big, "sql_like_name")
    prev = (res.get("previous") or {}).get("medians", {})
    was = prev.get(str(big["size"]), {}).get("search_name")
    was_s = ""
    if was:
        when = dt.datetime.fromisoformat(res["previous"]["date"])
        later = [
            u
            for b, u in upgrades(res)
            if b["size"] == big["size"] and dt.datetime.fromisoformat(u["at"]) > when
        ]
        was_s = (
            f" The previous run on this register ({res['previous']['date']}; schema "
            f"{res['previous'].get('schemas', {}).get(str(big['size']), 'not recorded')}) "
            f"measured {ms(was)} ms for the same page and fragments"
            + "".join(f"; the register went from {u['from']} to {u['to']} after it" for u in later)
            + "."
        )
    out.append(
        f"3. **Name search through the name index.** With {n_big:,} organisations a name "
        f"fragment's page takes {ms(page)} ms (median; p95 "
        f"{ms(med(big, 'search_name', stat='p95'))}, p99 "
        f"{ms(med(big, 'search_name', stat='p99'))}, max "
        f"{ms(med(big, 'search_name', stat='max'))} ms); with {n_small:,}, "
        f"{ms(med(small, 'search_name'))} ms: {grow:.0f}× the organisations, "
        f"{times(page, med(small, 'search_name'))} the median. One client gets "
        f"{big['series']['search_name']['per_s']:,.0f} searches/s. The no-index baseline, the "
        f"`LIKE '%…%'` scan the portal sent before, takes {ms(like_s)} ms bare at {n_big:,} "
        f"({ms(med(small, 'sql_like_name'))} ms at {n_small:,}): the page's median is "
        f"{times(page, like_s)} the scan's ({times(like_s, page)} faster)." + was_s
    )
    bare, svc = med(big, "sql_portal_name"), med(big, "svc_search_name")
    batched_s = (
        med(big, "sql_portal_name_batched") if "sql_portal_name_batched" in big["series"] else None
    )
    reads, fetched = sb["postings_read"], sb["postings_fetched"]
    db_s = batched_s if batched_s is not None else bare
    out.append(
        f"4. **Where a name search's time goes** ({n_big:,} organisations, medians): the "
        f"portal's queries, sent bare with sqlite3 and stopping at the 21st match, take "
        f"{ms(bare)} ms"
        + (
            f"; fetching the postings {big['portal_batch']} rows at a time, as the portal's "
            f"`yield_per={big['portal_batch']}` does, {ms(batched_s)} ms"
            if batched_s is not None
            else ""
        )
        + f"; `name_search.search` in-process {ms(svc)} ms; the page {ms(page)} ms, of which "
        f"{ms(med(big, 'healthz'))} ms is any request's cost (`/healthz`). So the database is "
        f"~{100 * db_s / page:.0f}% of a search page's median, and Python (SQLAlchemy, "
        f"building the result, the template, the HTTP stack) ~{100 * (1 - db_s / page):.0f}%. "
        "A search counts the postings of each pair of its fragment "
        f"(`{sb['query_plans']['gram_count']}`), then reads the rarest pair's postings in "
        f"order (`{sb['query_plans']['postings']}`) until 21 names contain the fragment: "
        f"it checked a median of {statistics.median(reads):,.0f} postings (p95 "
        f"{percentile([float(x) for x in reads], 95):,.0f}, max {max(reads):,})"
        + (
            f", and fetching in batches SQLite stepped through a median of "
            f"{statistics.median(fetched):,.0f} (p95 "
            f"{percentile([float(x) for x in fetched], 95):,.0f}, max {max(fetched):,})"
            if batched_s is not None
            else ""
        )
        + f", against a median of {sb['search_matches']['median']:,.0f} organisations "
        f"matching by LIKE (max {sb['search_matches']['max']:,.0f})."
    )
    frags = sb["fragments"]
    rows = big["series"]["search_name"]["rows"]
    order = sorted(range(len(frags)), key=lambda i: -rows[i])
    slow: list[int] = []
    for i in order:
        if len(slow) < 3 and frags[i] not in {frags[j] for j in slow}:
            slow.append(i)
    share10 = statistics.median([reads[i] for i in order[:10]])
    out.append(
        f"5. **The slowest name searches** at {n_big:,}: "
        + "; ".join(
            f"{frags[i]} {rows[i]:,.0f} ms ("
            + (
                f"every pair had at least {GRAM_COUNT_CAP:,} postings, the count's cap, so the "
                "pair read was the first by code point"
                if sb["rarest_pair_postings"][i] >= GRAM_COUNT_CAP
                else f"{sb['rarest_pair_postings'][i]:,} postings in its rarest pair"
            )
            + f"; {reads[i]:,} checked; {sb['matches'][i]:,} match by LIKE)"
            for i in slow
        )
        + f". The ten slowest checked a median of {share10:,.0f} postings, all fragments "
        f"{statistics.median(reads):,.0f}."
    )
    out.append(
        f"6. **Codes in the search box are key lookups.** A full USCC takes "
        f"{ms(med(big, 'search_uscc'))} ms (p99 {ms(med(big, 'search_uscc', stat='p99'))}) and "
        f"a 9-character organisation code {ms(med(big, 'search_org_code'))} ms (p99 "
        f"{ms(med(big, 'search_org_code', stat='p99'))}) with {n_big:,} organisations, against "
        f"{ms(med(big, 'profile'))} ms for a profile page; bare, the portal's queries take "
        f"{ms(med(big, 'sql_portal_uscc'))} and {ms(med(big, 'sql_portal_org_code'))} ms "
        f"(`{sb['query_plans']['uscc']}`; `{sb['query_plans']['org_code']}`). A code is also "
        "searched as a name (its normalised characters are two or more): "
        + "; ".join(
            f"the {k.replace('_', ' ')} search sent {len(v['sent'])} statements, "
            f"{sum('name_grams' in x and 'count' in x.lower() for x in v['sent'])} of them "
            "pair counts"
            for k, v in sb["statements"].items()
            if k != "name"
        )
        + "."
    )
    out.append(
        "7. **The results, checked against scans of the whole register** (each search page "
        "fetched again after its series): "
        + "; ".join(checks_sentence(r) for r in runs)
        + "."
        + (
            " Disagreements are listed under each register below."
            if any(r["checks"]["disagreements"] for r in runs)
            else ""
        )
    )
    f = big["fts5"]
    if f["compared"]:
        fts = f["series"]["ttfb"]["median"]
        p34, b34 = frag_median(big, "search_name"), frag_median(big, "sql_portal_name")
        bb34 = (
            frag_median(big, "sql_portal_name_batched")
            if "sql_portal_name_batched" in big["series"]
            else None
        )
        out.append(
            f"8. **Against FTS5 trigram** (the index a SQLite user would otherwise pick; a "
            f"scratch file, not the registry's code), on the {f['compared']} fragments of 3-4 "
            f"characters at {n_big:,}: FTS5 takes {ms(fts)} ms (median; p99 "
            f"{ms(f['series']['ttfb']['p99'])} ms), the portal's queries bare {ms(b34)} ms "
            f"({times(b34, fts)} FTS5"
            + (
                f"; fetching in batches as the portal does {ms(bb34)} ms, {times(bb34, fts)}"
                if bb34 is not None
                else ""
            )
            + f"), the search page {ms(p34)} ms ({times(p34, fts)} FTS5, "
            f"HTTP and rendering included). FTS5 cannot serve the 2-character fragments, "
            f"{100 * short_share:.0f}% of this sample: of {f['short_fragments']} with "
            f"{f['short_with_matches']} matching some name, a trigram MATCH found "
            f"{f['short_found_by_match_on_fts']} and a LIKE on the FTS table "
            f"{f['short_found_by_like_on_fts']} (SQLite {f['sqlite']}). Its index took "
            f"{f['build_s']:,.1f}s and {f['bytes'] / 2**20:,.0f} MiB"
            + (
                "; the name index's migration grew the registry by "
                + ", ".join(
                    f"{(u['db_bytes_after'] - u['db_bytes_before']) / 2**20:,.0f} MiB at "
                    f"{b['counts']['organisations']:,}"
                    for b, u in upgrades(res)
                    if b["size"] == big["size"]
                )
                if any(b["size"] == big["size"] for b, _ in upgrades(res))
                else ""
            )
            + "."
        )
    ups = upgrades(res)
    if ups:
        out.append(
            "9. **The schema upgrade (migration 0010 backfills the name index)**: "
            + "; ".join(
                f"{b['counts']['organisations']:,} organisations {u['seconds']:,.0f}s "
                f"(peak RSS {mib(u['max_rss_kb'])}), file "
                f"{u['db_bytes_before'] / 2**30:,.2f} → {u['db_bytes_after'] / 2**30:,.2f} GiB "
                f"(+{100 * (u['db_bytes_after'] / u['db_bytes_before'] - 1):.0f}%), "
                f"{u['name_grams_rows']:,} rows in name_grams"
                + (
                    f", with a test run seen at {u['other_jobs_running_at']} of "
                    f"{u['checks_for_other_jobs']} checks"
                    if u.get("other_jobs_running_at")
                    else ""
                )
                for b, u in ups
            )
            + ". Details under Registers."
        )
    out.append(
        f"10. **Memory and start-up.** The server's RSS is "
        f"{mib(small['server']['at_end'].get('VmRSS'))} at {n_small:,} and "
        f"{mib(big['server']['at_end'].get('VmRSS'))} at {n_big:,} organisations at the end of "
        f"the series (peak {mib(big['server']['at_end'].get('VmHWM'))}). It answers "
        f"{big['server']['startup_s']:.1f}s after start; its background sweep (first run 15 s "
        f"after start) then used {big['server']['idle']['cpu_s_while_waiting']:.1f} CPU s at "
        f"{n_big:,} ({small['server']['idle']['cpu_s_while_waiting']:.1f} at {n_small:,}) before "
        "the server went idle; the timed series started after that."
    )
    if not res["runs"][0].get("published_grading_methods"):
        out.append(
            "11. The default pack publishes no grades, so `grading.public_grades` returns at "
            "once and the profile page does not replay the subject's events; a pack that "
            "publishes a method would add that replay to every profile and report."
        )
    return out


def page_cache_line(res: dict[str, Any]) -> str:
    """What the OS did with the file's pages: the page cache's size, and any DAMON pageout."""
    m0, m1 = res["memory_at_start"], res["memory_at_end"]
    out = (
        f"- Memory: {m0['meminfo_kb']['MemTotal'] / 2**20:,.1f} GiB; the page cache held "
        f"{m0['meminfo_kb']['Cached'] / 2**20:,.1f} GiB at the start and "
        f"{m1['meminfo_kb']['Cached'] / 2**20:,.1f} GiB at the end, for registers of "
        + " and ".join(f"{r['file_bytes']['db'] / 2**30:,.1f}" for r in res["runs"])
        + " GiB."
    )
    for sch in m0["damon_schemes"]:
        if sch["state"] == "on" and sch["action"] == "pageout":
            out += (
                " This VM runs DAMON with a `pageout` scheme (kdamond): memory seen idle (at "
                f"most {sch['max_accesses']} access per aggregation interval) for "
                f"{sch['min_age_s']:.0f} s or more is paged out however much is free, so a page "
                "of the register not read for about that long is read from disk again."
            )
    return out


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    busy_build = any(b["other_jobs_during_build"] for b in res["builds"])
    all_series = [
        (r, k, v)
        for r in res["runs"]
        for k, v in [*r["series"].items(), ("fts5", r["fts5"]["series"])]
    ]
    others_all = [v["others_cpus"] for _, _, v in all_series]
    steal_all = [v["steal_cpus"] for _, _, v in all_series]
    noisy = [
        f"{k} at {r['organisations']:,}" for r, k, v in all_series if v.get("others_cpus_exceeded")
    ]
    lines = [
        "# Public portal: time to first byte on a large register",
        "",
        f"- Date: {res['date']} – {res['finished']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Code: the working tree at commit {res['git']['commit'][:7]}"
        + (
            " with uncommitted changes in " + ", ".join(f"`{x}`" for x in res["git"]["src_changes"])
            if res["git"]["src_changes"]
            else ", nothing under src/ changed"
        )
        + (
            f" (at the end: commit {res['git_end']['commit'][:7]}, "
            + (
                "uncommitted changes in "
                + ", ".join(f"`{x}`" for x in res["git_end"]["src_changes"])
                if res["git_end"]["src_changes"]
                else "nothing under src/ changed"
            )
            + ")"
            if res.get("git_end") and res["git_end"] != res["git"]
            else ""
        )
        + "; schema "
        + ", ".join(sorted({str(r["schema"]) for r in res["runs"]}))
        + " on the registers measured",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; uvicorn {m['uvicorn']} (h11, asyncio); "
        f"FastAPI {m['fastapi']}",
        "- Server: `socialcredit serve` (uvicorn, one process, the background sweep on) as a "
        "subprocess on 127.0.0.1 against the register's SQLite file (WAL, `synchronous=NORMAL`, "
        "the registry's own settings); started, then left until idle, then measured.",
        "- Client: raw-socket HTTP/1.1 on one keep-alive connection, one request after another, "
        "`Accept-Language: zh-CN`. **TTFB** = from sending the request until the status line and "
        "all headers have arrived; **total** = until the last byte of the body; req/s = timed "
        "requests / wall time of the series (1 client). Percentiles are nearest-rank. Each page: "
        f"{res['warmup']} warm-up requests on other organisations, then {res['requests']} timed.",
        f'- Other jobs: each timed series started only when `pgrep -f "{BUSY_PATTERN}"` found '
        "no test or CI run, and was checked every 10 s while it ran; the CPU time of all other "
        "processes (the machine's user and system time less this process's and the server's) "
        "was measured too. A series was repeated when such a run appeared, or when other "
        f"processes used more than {OTHERS_MAX} CPUs on average (at most {CPU_RETRIES} "
        f"times, then the quietest attempt was kept): {res['discarded_series']} attempts were "
        "thrown away"
        + (
            f"; {len(noisy)} series kept with other processes above that ({', '.join(noisy[:6])})"
            if noisy
            else ""
        )
        + f"; other processes used at most {max(others_all):.2f} CPUs on average in any kept "
        "series."
        + (
            " The builds and upgrades, by contrast, partly shared the CPUs with test or CI runs "
            "(see Registers)."
            if busy_build or any(u.get("other_jobs_running_at") for _, u in upgrades(res))
            else ""
        ),
        f"- Steal: this is a VM; while a series ran the hypervisor kept a median of "
        f"{statistics.median(steal_all):.2f} CPUs (max {max(steal_all):.2f}) of its "
        f"{m['cpu_count']} from it "
        "(`steal` in /proc/stat), the more the busier this VM was: a share of every figure is "
        "the host's, not ours.",
        page_cache_line(res),
        "- Each series (but the LIKE scan, which reads the whole table every time) was primed: "
        "after the warm-up, one untimed pass over the very calls then timed, so that what they "
        "read is in the page cache; the tables show that first pass's median too.",
        "",
    ]
    lines += findings(res)
    lines += [
        "",
        "## Registers",
        "",
        "Built through the command line, every row through ingest (the event log and the "
        f"projections are the real ones), cached under `{res['cache']}`:",
        "",
        "```sh",
        "socialcredit generate --entities N --out DIR/data --seed 0",
        "socialcredit ingest DIR/data/samr.csv --source samr --as-of 2026-10-01 --json",
        "socialcredit ingest DIR/data/tax.csv --source tax --as-of 2026-10-01 --json",
        "socialcredit ingest DIR/data/court.jsonl --source court --as-of 2026-10-01 --json",
        "socialcredit lists advance",
        "```",
        "",
        "(`SOCIALCREDIT_DATABASE_URL=sqlite:///DIR/registry.db`, development keys in DIR; "
        "batches of "
        + ", ".join(sorted({f"{b['batch_size']:,}" for b in res["builds"]}))
        + " rows, `--batch-size`. Generated persons are in the register only when a record "
        "names them, and entities without any record not at all, hence N > organisations.)",
        "",
        "| Entities N | Organisations | Persons | Records | Listings | Events | "
        "DB size as built | Generate | Ingest (all rows) | Per file | Advance | "
        "CI seen at k of n checks (every 30 s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for b in res["builds"]:
        c = b["counts"]
        st = b["steps"]
        per = ", ".join(
            f"{k.removeprefix('ingest ')} {v['seconds'] / 60:,.1f} min "
            f"({v['summary']['rows'] / v['seconds']:,.0f}/s"
            + (f", peak RSS {mib(v['max_rss_kb'])}" if v.get("max_rss_kb") else "")
            + ")"
            for k, v in st.items()
            if k.startswith("ingest ")
        )
        lines.append(
            f"| {b['size']:,} | {c['organisations']:,} | {c['persons']:,} | {c['records']:,} | "
            f"{c['listings']:,} | {c['events']:,} | {b['db_bytes'] / 2**30:,.2f} GiB | "
            f"{st['generate']['seconds']:,.0f}s | **{b['ingest_seconds'] / 60:,.1f} min** "
            f"({b['ingest_rows']:,} rows, {b['ingest_rows'] / b['ingest_seconds']:,.0f}/s) | "
            f"{per} | {st['lists advance']['seconds']:,.0f}s | {other_jobs_cell(b)} |"
        )
    if upgrades(res):
        lines += [
            "",
            "Schema upgrades of the cached registers (`socialcredit db upgrade`, same "
            "environment as the build; file = registry.db + its -wal after the command ended):",
            "",
            "| Organisations | From → to | When | How | Wall time | Peak RSS | File before | "
            "File after | Growth | name_grams rows | Largest WAL seen | Test/CI run seen at "
            "k of n checks |",
            "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for b, u in upgrades(res):
            lines.append(
                f"| {b['counts']['organisations']:,} | {u['from']} → {u['to']} | {u['at']} | "
                f"{u['how']} | {u['seconds']:,.1f}s | {mib(u['max_rss_kb'])} | "
                f"{u['db_bytes_before'] / 2**20:,.0f} MiB | "
                f"{u['db_bytes_after'] / 2**20:,.0f} MiB | "
                f"+{(u['db_bytes_after'] - u['db_bytes_before']) / 2**20:,.0f} MiB "
                f"({100 * (u['db_bytes_after'] / u['db_bytes_before'] - 1):.1f}%) | "
                f"{u['name_grams_rows']:,} | "
                + (
                    f"{u['wal_bytes_max_sampled'] / 2**20:,.0f} MiB"
                    if u["wal_bytes_max_sampled"]
                    else "–"
                )
                + " | "
                + f"{u['other_jobs_running_at']} of {u['checks_for_other_jobs']}"
                + (f" ({u['other_jobs'][0][:60]}…)" if u.get("other_jobs") else "")
                + " |"
            )
    for r in res["runs"]:
        s = r["sample"]
        srv = r["server"]
        lines += [
            "",
            f"## {r['organisations']:,} organisations (N = {r['size']:,})",
            "",
            f"Sample: {s['organisations']} organisations at random (seed {res['seed']}); they "
            f"hold a median of {s['records_per_subject']['median']:.0f} public records (max "
            f"{s['records_per_subject']['max']:.0f}); {s['with_listings']} have a listing. Name "
            "fragments (2-4 Chinese characters of a sampled name, outside its legal form): "
            + ", ".join(f"{n} of {k} characters" for k, n in s["search_terms_by_length"].items())
            + f"; they match (LIKE) a median of {s['search_matches']['median']:,.0f} "
            f"organisations (p95 {s['search_matches']['p95']:,.0f}, max "
            f"{s['search_matches']['max']:,.0f}); e.g. "
            + ", ".join(s["examples"]["name_fragments"][:6])
            + ". Organisation codes as stored, e.g. "
            + ", ".join(s["examples"]["org_codes"])
            + ".",
            "",
            "| Request | n | TTFB median ms | p95 | p99 | max | Total median ms | Req/s | "
            "Body median | Statuses | First pass median ms (p99) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for k in sorted(r["series"], key=lambda k: list(LABELS).index(k)):
            v = r["series"][k]
            t, tot = v["ttfb"], v["total"]
            fp = v.get("first_pass")
            http = not k.startswith(("sql_", "svc_"))
            label = LABELS[k]
            if k == "svc_public_grades" and not r.get("published_grading_methods"):
                label += " — the pack publishes none: returns at once"
            lines.append(
                f"| {label} | {v['requests']} | {ms(t['median'])} | {ms(t['p95'])} | "
                f"{ms(t['p99'])} | {ms(t['max'])} | {ms(tot['median'])} | {v['per_s']:,.1f} | "
                + (f"{v['bytes_median'] / 1024:,.1f} KiB" if http else "–")
                + " | "
                + (", ".join(f"{n}× {c}" for c, n in v["statuses"].items()) if http else "–")
                + " | "
                + (f"{ms(fp['median'])} ({ms(fp['p99'])})" if fp else "not primed")
                + " |"
            )
        frags = s["fragments"]
        mbl = s["search_matches_by_length"]
        reads = by_length(frags, [float(x) for x in s["postings_read"]])
        lines += [
            "",
            "Baselines (no HTTP): TTFB = total = the call, in this process, with the server "
            "stopped. By fragment length (medians): "
            + "; ".join(
                f"{k} characters: page {frag_median(r, 'search_name', (int(k),)) * 1e3:,.1f} ms, "
                f"portal's queries bare {frag_median(r, 'sql_portal_name', (int(k),)) * 1e3:,.1f}"
                f" ms, LIKE scan {frag_median(r, 'sql_like_name', (int(k),)) * 1e3:,.0f} ms; "
                f"{mbl[k]:,.0f} matches, {reads[k]:,.0f} postings checked"
                for k in mbl
            )
            + ".",
            "",
            f"Server: answering {srv['startup_s']:.1f}s after start; RSS "
            f"{mib(srv['at_ready'].get('VmRSS'))} then, "
            f"{mib(srv['at_idle'].get('VmRSS'))} once idle "
            f"({srv['idle']['waited_s']:.0f}s after start, "
            f"{srv['idle']['cpu_s_while_waiting']:.1f} CPU s of start-up sweep), "
            f"{mib(srv['at_end'].get('VmRSS'))} at the end; peak (VmHWM) "
            f"{mib(srv['at_end'].get('VmHWM'))}. Share of both CPUs busy during each page "
            "series (client, server, anything else, and time the hypervisor took: steal), "
            "then in brackets the CPUs used by other processes and the CPUs stolen: "
            + ", ".join(
                f"{k} {100 * v['machine_cpu_busy']:.0f}% ({v['others_cpus']:.2f}, "
                f"{v['steal_cpus']:.2f})"
                for k, v in r["series"].items()
                if "server" in v
            )
            + ".",
            "",
            "Query plans (SQLite `EXPLAIN QUERY PLAN`): "
            + "; ".join(f"{k.replace('_', ' ')} `{v}`" for k, v in s["query_plans"].items())
            + ".",
            "",
            "Statements `name_search.search` sent for one search (captured from the engine; the bare "
            "baseline sends equivalent ones through sqlite3, with the literals inlined and "
            "without `OFFSET`):",
            "",
        ]
        for kind, st in s["statements"].items():
            seen: dict[str, int] = {}
            for x in st["sent"]:
                seen[x] = seen.get(x, 0) + 1
            lines.append(f"- {kind.replace('_', ' ')} `{st['query']}`:")
            lines += [f"  - {n}× `{x}`" for x, n in seen.items()]
        c = r["checks"]
        lines += ["", f"Results checked: {checks_sentence(r)}."]
        if c["disagreements"]:
            lines += [
                "",
                f"Fragments where the page differed from the LIKE scan or the normalised scan "
                f"({len(c['disagreements'])}; first 5):",
                "",
            ]
            for x in c["disagreements"][:5]:
                lines.append(
                    f"- {x['fragment']}: LIKE {x['like_matches']:,} matches, normalised "
                    f"{x['normalised_matches']:,}, page {x['portal_results']}; "
                    f"{'same' if x['same_as_normalised_scan'] else 'not the same'} as the "
                    "normalised scan's first 20; missing against LIKE: "
                    + (", ".join(f"{n} ({k})" for k, n in x["missing_vs_like"][:3]) or "none")
                    + "; extra: "
                    + (", ".join(f"{n} ({k})" for k, n in x["extra_vs_like"][:3]) or "none")
                )
        if c["results_without_fragment"]:
            lines.append(
                "- Results without the fragment: "
                + ", ".join(
                    f"{x['fragment']} → {x['name']} ({x['code']})"
                    for x in c["results_without_fragment"][:5]
                )
            )
    lines += [
        "",
        "## What-if: an FTS5 trigram index on names (not the registry's code)",
        "",
        "A scratch SQLite file beside the cache (never the registry) holding "
        "`CREATE VIRTUAL TABLE names USING fts5(name, subject_id UNINDEXED, "
        "tokenize='trigram')` with every organisation's name; the query is "
        "`... WHERE names MATCH '\"<fragment>\"' ORDER BY length(name), name, subject_id "
        "LIMIT 21` (the order of the no-index LIKE scan, so their rows can be compared), for the "
        "same fragments of 3-4 characters. The portal's columns are the medians of the same "
        "fragments in the series above.",
        "",
        "| Organisations | Index build | Index size | n | FTS5 median ms | p95 | p99 | max | "
        "Same 21 first rows as the LIKE scan | Page median (3-4 chars) | Page / FTS5 | "
        "Portal's queries bare (3-4 chars) | Bare / FTS5 | 2-char fragments: with matches / "
        "found by MATCH / by LIKE on the FTS table |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in res["runs"]:
        f = r["fts5"]
        if not f["compared"]:
            continue
        t = f["series"]["ttfb"]
        p34, b34 = frag_median(r, "search_name"), frag_median(r, "sql_portal_name")
        lines.append(
            f"| {r['organisations']:,} | {f['build_s']:,.1f}s | {f['bytes'] / 2**20:,.0f} MiB | "
            f"{f['series']['requests']} | {ms(t['median'])} | {ms(t['p95'])} | {ms(t['p99'])} | "
            f"{ms(t['max'])} | {f['same_results']} of {f['compared']} | {ms(p34)} | "
            f"{times(p34, t['median'])} | {ms(b34)} | {times(b34, t['median'])} | "
            f"{f['short_with_matches']} / {f['short_found_by_match_on_fts']} / "
            f"{f['short_found_by_like_on_fts']} |"
        )
    big = max(res["runs"], key=lambda r: r["organisations"])
    slow: list[dict[str, Any]] = []
    for x in big["fts5"]["slowest"]:  # the sample may hold a fragment more than once
        if len(slow) < 3 and x["fragment"] not in {y["fragment"] for y in slow}:
            slow.append(x)
    if slow:
        lines += [
            "",
            f"FTS5's slowest fragments at {big['organisations']:,} organisations: "
            + "; ".join(
                f"{x['fragment']} {x['ms']:,.0f} ms, {x['matches']:,} matches" for x in slow
            )
            + " (its `ORDER BY length(name), name` sorts every match before `LIMIT 21`).",
        ]
    prev = res.get("previous")
    if prev and prev.get("medians"):
        when = dt.datetime.fromisoformat(prev["date"])
        changed = (
            prev["schemas"] != {str(r["size"]): r["schema"] for r in res["runs"]}
            if prev.get("schemas")
            else any(dt.datetime.fromisoformat(u["at"]) > when for _, u in upgrades(res))
        )
        lines += [
            "",
            "## Run to run",
            "",
            f"Medians of this run against the previous run on the same registers "
            f"({prev['date']}; schema "
            + (
                ", ".join(f"{v}" for v in sorted(set(prev["schemas"].values())))
                if prev.get("schemas")
                else "not recorded"
            )
            + "), ms"
            + (
                "; the schema changed in between, so the search rows compare two versions of "
                "the search"
                if changed
                else ""
            )
            + (
                "; the previous run did not prime its series (see the top), this one did"
                if res.get("primed") and not prev.get("primed")
                else ""
            )
            + ":",
            "",
            "| Request | " + " | ".join(f"{r['organisations']:,} orgs" for r in res["runs"]) + " |",
            "|---|" + "---:|" * len(res["runs"]),
        ]
        changes: list[float] = []
        keys = sorted(res["runs"][0]["series"], key=lambda k: list(LABELS).index(k))
        keys += [
            k
            for k in prev["medians"].get(str(res["runs"][0]["size"]), {})
            if k not in keys and k not in PREVIOUS_NAMES.values()
        ]
        for k in keys:
            cells = []
            for r in res["runs"]:
                pm = prev["medians"].get(str(r["size"]), {})
                was = pm.get(k, pm.get(PREVIOUS_NAMES.get(k, "")))
                now_s = r["series"].get(k, {}).get("ttfb", {}).get("median")
                cell = ms(now_s) if now_s is not None else "–"
                cells.append(f"{cell} (was {ms(was)})" if was is not None else cell)
                noise = not (changed and k in SEARCH_SERIES)
                if was and now_s and now_s > 2e-4 and noise and k != "svc_public_grades":
                    changes.append(abs(now_s - was) / was)
            lines.append(f"| {LABELS.get(k, k)} | " + " | ".join(cells) + " |")
        if changes:
            lines += [
                "",
                ("Leaving out the search rows (their code changed), the" if changed else "The")
                + f" medians moved by {100 * statistics.median(changes):.0f}% (median over rows) "
                f"and by up to {100 * max(changes):.0f}% between the two runs, with no test or "
                "CI run found during either: compare orders of magnitude, not the last digit.",
            ]
    lines += [
        "",
        NOTES.strip(),
        "",
    ]
    return "\n".join(lines)


NOTES = """
## Caveats

- **One client, one server process.** Requests/s is one client waiting for each answer, not
  the server's capacity under concurrency (uvicorn runs the synchronous routes in a thread
  pool); nothing here measures searches running side by side.
- **SQLite, on a local disk**; the timed figures are for pages in the OS page cache (each series
  is primed, see above), the first-pass column for whatever the OS had kept; PostgreSQL over a
  network would add a round trip per statement. The registry's SQLite connections keep
  SQLite's default page cache (2 MiB).
- **The sample is uniform over organisations**, most of which hold one to three records; a
  subject with hundreds of records would render a longer page.
- **The background sweep runs every 15 s** inside the server process during the series (listing
  activations and notices; purge once an hour), which can show up in the max.
- **Synthetic data** from `socialcredit.generate` (seed 0): names follow its patterns (place +
  trade name + industry + legal form), so how many names a fragment matches, and how many
  postings its pairs of characters have (what a name search reads), is the generator's, not the
  real register's.
- **One run of 300 requests per page** on a shared virtual machine: medians move between runs
  (see Run to run, when there was a previous run); read orders of magnitude.

## Observed while building (2026-11-23, by hand, not by this script)

- **Ingest took 43 minutes for the ~1M register**, more than the ~25 minutes hoped for. Larger
  batches are not the cure: `--batch-size 10000` against 1000 on the ~100k samr.csv (97,065
  rows, fresh database, nothing else running) took 114 s against 121 s (6% less).
- **Ingest is half as fast as `results/core.md` records**, and the cause is a commit, not the
  size: samr.csv of `generate(75000)`, in-process, fresh SQLite file, nothing else running:
  1,979 rows/s on the source of 1a92500^ and 952 rows/s on 1a92500 ("Grades as events: every
  batch ... regrades the subjects it touched"); 982 rows/s on the working tree. `core.md`
  predates that commit.
- **The rate also falls as the database grows**: during samr.csv on the ~1M register the log
  grew by ~3,800 events/s in the first minutes and ~2,200 events/s at the end.
- **The ingest process's RSS grows with the data**: peak 233 MiB for the ~100k samr.csv, and
  1.15 GiB (1,205,268 kB in `ps`) observed towards the end of samr.csv on the ~1M register.
"""


def git_state() -> dict[str, Any]:
    """The commit measured, and the files under src/ with uncommitted changes."""

    def git(*args: str) -> str:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    changes = git("status", "--porcelain", "src").splitlines()
    return {
        "commit": git("rev-parse", "HEAD"),
        "src_dirty": bool(changes),
        "src_changes": [line[3:] for line in changes],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--sizes",
        default="132500,1325000",
        help="entities per register (132500,1325000: about 100,000 and 1,000,000 organisations "
        "in the register, since generated persons and entities without records are not in it)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=Path("/tmp/socialcredit-bench"))
    p.add_argument("--batch-size", type=int, default=1000, help="ingest rows per transaction")
    p.add_argument("--requests", type=int, default=300, help="timed requests per page (300)")
    p.add_argument("--warmup", type=int, default=30, help="warm-up requests per page (30)")
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="where portal.md goes")
    p.add_argument("--build-only", action="store_true", help="build the registers and stop")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="write <out>/portal.md again from <cache>/portal.json (no measuring)",
    )
    args = p.parse_args(argv)
    if args.report_only:
        md = markdown(json.loads((args.cache / "portal.json").read_text()))
        (args.out / "portal.md").write_text(md)
        print(f"wrote {args.out / 'portal.md'} from {args.cache / 'portal.json'}")
        return 0
    sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    started = dt.datetime.now(dt.UTC)
    builds = [build(n, args.seed, args.cache, args.batch_size) for n in sizes]
    if args.build_only:
        return 0

    import fastapi
    import uvicorn

    res: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
        "cwd": os.getcwd(),
        "cache": str(args.cache),
        "seed": args.seed,
        "warmup": args.warmup,
        "requests": args.requests,
        "memory_at_start": memory_state(),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "ram_total": mem_total(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "uvicorn": uvicorn.__version__,
            "fastapi": fastapi.__version__,
        },
        "git": git_state(),
        "primed": True,
        "builds": builds,
        "runs": [],
    }
    for b in builds:
        r = measure(b, args.requests, args.warmup, args.seed)
        r["organisations"] = b["counts"]["organisations"]
        res["runs"].append(r)
    res["discarded_series"] = sum(
        v["attempt"] - 1 for r in res["runs"] for v in [*r["series"].values(), r["fts5"]["series"]]
    )
    res["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    res["git_end"] = git_state()
    res["memory_at_end"] = memory_state()
    prev_path = args.cache / "portal.json"
    if prev_path.is_file():  # the last run on these registers, for the run-to-run spread
        prev = json.loads(prev_path.read_text())
        res["previous"] = {
            "date": prev.get("date"),
            "primed": prev.get("primed", False),
            **(
                {"schemas": {str(r["size"]): r["schema"] for r in prev["runs"]}}
                if all("schema" in r for r in prev.get("runs", []))
                else {}
            ),
            "medians": {
                str(r["size"]): {k: v["ttfb"]["median"] for k, v in r["series"].items()}
                for r in prev.get("runs", [])
            },
        }
    (args.cache / "portal.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    md = markdown(res)
    (args.out / "portal.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'portal.md'} and {args.cache / 'portal.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
