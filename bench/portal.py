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
2 vCPUs.

Then ``socialcredit serve`` (uvicorn) is started as a subprocess on 127.0.0.1 against that file
and left until its start-up sweep is done, and one client on one keep-alive connection (raw
sockets, HTTP/1.1) requests, after a warm-up, a few hundred pages over a seeded random sample of
organisations:

    /org/{uscc}               the public profile
    /search?q=<2-4 Chinese characters of a sampled name>
    /search?q=<a full USCC>
    /org/{uscc}/report.html   the credit report
    /v1/subjects/{uscc}       the JSON API a user would otherwise call
    /healthz                  no database: the fixed cost of any request

TTFB is the time from sending the request until the status line and headers have arrived;
total is until the last byte of the body. Baselines, with the server stopped: the same profile
lookup as bare SQL (subject by primary key, its listings and records by their subject index)
and the search query the portal sends, with Python's sqlite3 on the same file; and
``views.public_profile`` called in-process. Finally a what-if: the name search on an FTS5
trigram index of the names, in a scratch file beside the cache (never the registry).

Timed series start only while ``pgrep -f "pytest|ci/run"`` finds nothing (polled every 30 s),
and a series during which such a process appeared (checked every 10 s) is run again.
Results go to <out>/portal.md; all figures to <cache>/portal.json (the previous one is read
first, for a run-to-run table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from core import cpu_model, mem_total  # noqa: E402  (bench/ is not a package)

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
        return {k: int(con.execute(v).fetchone()[0]) for k, v in q.items()}
    finally:
        con.close()


def build(size: int, seed: int, cache: Path, batch_size: int) -> dict[str, Any]:
    d = cache / (f"portal-{size}-seed{seed}" + ("" if batch_size == 1000 else f"-b{batch_size}"))
    manifest = d / "build.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        log(f"register {size:,}: reusing {d} (built {info['built']})")
        info["dir"] = str(d)
        return info
    if d.exists():
        log(f"register {size:,}: removing an unfinished build in {d}")
        shutil.rmtree(d)
    d.mkdir(parents=True)
    db = d / "registry.db"
    info: dict[str, Any] = {"size": size, "seed": seed, "batch_size": batch_size, "steps": {}}
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

    def get(self, path: str) -> dict[str, Any]:
        """GET path: status, TTFB (headers in), total (body in), body bytes."""
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
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(buf) < n:
                buf += self._recv()
            body_len, buf = n, buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body_len = 0
            while True:
                while (e := buf.find(b"\r\n")) < 0:
                    buf += self._recv()
                size = int(buf[:e].split(b";")[0], 16)
                while len(buf) < e + 2 + size + 2:
                    buf += self._recv()
                buf = buf[e + 2 + size + 2 :]
                body_len += size
                if size == 0:
                    break
        else:
            raise RuntimeError(f"no length for {path}: {headers}")
        t_end = time.perf_counter()
        self.buf = buf
        return {
            "status": status,
            "ttfb": t_head - t0,
            "total": t_end - t0,
            "bytes": body_len,
        }


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


def sample(db: Path, n: int, seed: int) -> tuple[list[tuple[str, str]], list[str]]:
    """``n`` organisations (code, name) at random, and one name fragment for each."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        orgs = con.execute(
            "SELECT subject_id, name FROM subjects WHERE kind = 'organisation' ORDER BY subject_id"
        ).fetchall()
    finally:
        con.close()
    rng = random.Random(seed)
    picked = rng.sample(orgs, n)
    parts: list[str] = []
    for _, name in picked:
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


def run_series(
    label: str,
    warm: list[Callable[[], dict[str, Any]]],
    timed: list[Callable[[], dict[str, Any]]],
    server_pid: int | None,
) -> dict[str, Any]:
    """Warm-up, then the timed calls in order; redone if another job ran meanwhile."""
    for attempt in range(1, 6):
        waited = wait_quiet(label)
        load = os.getloadavg()
        j0 = cpu_jiffies()
        c0 = cpu_seconds(server_pid) if server_pid else 0.0
        with Watch() as w:
            for f in warm:
                f()
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                rows = [f() for f in timed]
                wall = time.perf_counter() - t0
            finally:
                gc.enable()
        j1 = cpu_jiffies()
        c1 = cpu_seconds(server_pid) if server_pid else 0.0
        if w.seen:
            log(f"{label}: another job ran during attempt {attempt} ({w.seen[0]}); again")
            continue
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        out: dict[str, Any] = {
            "requests": len(rows),
            "warmup": len(warm),
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
            "server_cpu_s": c1 - c0,
            "rows": [round(r["ttfb"] * 1e3, 3) for r in rows],
        }
        if server_pid is not None:
            out["server"] = proc_status(server_pid)
        t = out["ttfb"]
        log(
            f"{label}: TTFB median {t['median'] * 1e3:.1f} ms, p95 {t['p95'] * 1e3:.1f}, "
            f"p99 {t['p99'] * 1e3:.1f}, max {t['max'] * 1e3:.1f}; {out['per_s']:.1f}/s; "
            f"statuses {statuses}" + (f"; server {out['server']}" if server_pid else "")
        )
        return out
    raise SystemExit(f"{label}: other jobs kept running during the series; giving up")


def timed_call(fn: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    def call() -> dict[str, Any]:
        t0 = time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        return {"status": 200, "ttfb": s, "total": s, "bytes": 0}

    return call


SEARCH_SQL = (
    "SELECT subject_id, name, division FROM subjects "
    "WHERE kind = 'organisation' AND registered_at <= ? AND ({cond}) "
    "ORDER BY length(name), name, subject_id LIMIT 21"
)


def like(q: str) -> str:
    return "%" + q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def search_sql(con: sqlite3.Connection, q: str, now: str) -> list[Any]:
    """The query ``views.search`` sends (as SQLAlchemy compiles it), bare."""
    if len(q) == 18:
        sql = SEARCH_SQL.format(cond="name LIKE ? ESCAPE '/' OR subject_id = ?")
        return con.execute(sql, (now, like(q), q)).fetchall()
    sql = SEARCH_SQL.format(cond="name LIKE ? ESCAPE '/'")
    return con.execute(sql, (now, like(q))).fetchall()


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


def measure(info: dict[str, Any], requests: int, warmup: int, seed: int) -> dict[str, Any]:
    d = Path(info["dir"])
    db = d / "registry.db"
    size = info["size"]
    picked, parts = sample(db, warmup + requests, seed)
    codes = [c for c, _ in picked]
    wc, tc = codes[:warmup], codes[warmup:]
    wp, tp = parts[:warmup], parts[warmup:]
    q = urllib.parse.quote
    pages: dict[str, tuple[list[str], list[str]]] = {
        "profile": ([f"/org/{c}" for c in wc], [f"/org/{c}" for c in tc]),
        "search_name": ([f"/search?q={q(p)}" for p in wp], [f"/search?q={q(p)}" for p in tp]),
        "search_uscc": ([f"/search?q={c}" for c in wc], [f"/search?q={c}" for c in tc]),
        "report": ([f"/org/{c}/report.html" for c in wc], [f"/org/{c}/report.html" for c in tc]),
        "api_subject": ([f"/v1/subjects/{c}" for c in wc], [f"/v1/subjects/{c}" for c in tc]),
        # no database, no template: what any request costs (uvicorn, FastAPI, a dependency)
        "healthz": (["/healthz"] * len(wc), ["/healthz"] * len(tc)),
    }
    res: dict[str, Any] = {"size": size, "series": {}, "sample": {}}

    # what the sample looks like: records and active listings per subject, search hits
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    try:
        recs = [len(profile_sql(con, c)[2]) for c in tc]
        listed = sum(1 for c in tc if profile_sql(con, c)[1])
        log(f"register {size:,}: counting the matches of {len(tp)} name fragments (untimed)")
        hits = [
            con.execute(
                "SELECT COUNT(*) FROM subjects WHERE kind = 'organisation' "
                "AND name LIKE ? ESCAPE '/'",
                (like(p),),
            ).fetchone()[0]
            for p in tp
        ]
        plan = [
            " | ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))
            for sql, args in (
                (SEARCH_SQL.format(cond="name LIKE ? ESCAPE '/'"), (now, like(tp[0]))),
                (
                    "SELECT * FROM records WHERE subject_id = ? ORDER BY decided_on, record_key",
                    (tc[0],),
                ),
            )
        ]
    finally:
        con.close()
    res["sample"] = {
        "organisations": len(tc),
        "records_per_subject": summary([float(x) for x in recs]),
        "with_listings": listed,
        "search_terms_by_length": {str(k): sum(1 for p in tp if len(p) == k) for k in (2, 3, 4)},
        "search_matches": summary([float(h) for h in hits]),
        "search_matches_by_length": {
            str(k): statistics.median([h for p, h in zip(tp, hits, strict=True) if len(p) == k])
            for k in (2, 3, 4)
            if any(len(p) == k for p in tp)
        },
        "query_plans": {"search": plan[0], "records_by_subject": plan[1]},
        "examples": {"codes": tc[:3], "name_fragments": tp[:10]},
    }
    log(f"register {size:,}: sample {res['sample']['search_matches']}; plans {plan}")

    wait_quiet(f"register {size:,}: server start")
    srv = Server(d)
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
                    [lambda p=p: http.get(p) for p in warm],
                    [lambda p=p: http.get(p) for p in timed],
                    srv.pid,
                )
                if page == "search_name":
                    ms = res["series"][page]["rows"]
                    res["series"][page]["ttfb_median_by_length"] = {
                        str(k): statistics.median(
                            [m for p, m in zip(tp, ms, strict=True) if len(p) == k]
                        )
                        for k in (2, 3, 4)
                        if any(len(p) == k for p in tp)
                    }
        finally:
            http.close()
        res["server"]["at_end"] = proc_status(srv.pid)
        res["server"]["cpu_s"] = cpu_seconds(srv.pid)
    finally:
        srv.stop()

    # baselines, with the server stopped: bare SQL on the same file, and the service calls
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        res["series"]["sql_profile"] = run_series(
            f"{size:,} bare SQL profile",
            [timed_call(lambda c=c: profile_sql(con, c)) for c in wc],
            [timed_call(lambda c=c: profile_sql(con, c)) for c in tc],
            None,
        )
        res["series"]["sql_search_name"] = run_series(
            f"{size:,} bare SQL search (name)",
            [timed_call(lambda p=p: search_sql(con, p, now)) for p in wp],
            [timed_call(lambda p=p: search_sql(con, p, now)) for p in tp],
            None,
        )
        res["series"]["sql_search_uscc"] = run_series(
            f"{size:,} bare SQL search (USCC)",
            [timed_call(lambda c=c: search_sql(con, c, now)) for c in wc],
            [timed_call(lambda c=c: search_sql(con, c, now)) for c in tc],
            None,
        )
    finally:
        con.close()

    from socialcredit.bootstrap import Registry
    from socialcredit.config import Settings
    from socialcredit.services import grading, views

    reg = Registry(Settings.from_env(cli_env(d)))
    res["published_grading_methods"] = [
        mid for mid, gm in reg.pack.grading.items() if gm.publication is not None
    ]
    try:
        res["series"]["svc_public_profile"] = run_series(
            f"{size:,} views.public_profile",
            [timed_call(lambda c=c: views.public_profile(reg, c)) for c in wc],
            [timed_call(lambda c=c: views.public_profile(reg, c)) for c in tc],
            None,
        )
        res["series"]["svc_public_grades"] = run_series(
            f"{size:,} grading.public_grades",
            [timed_call(lambda c=c: grading.public_grades(reg, c)) for c in wc],
            [timed_call(lambda c=c: grading.public_grades(reg, c)) for c in tc],
            None,
        )
    finally:
        reg.engine.dispose()

    res["fts5"] = fts5_what_if(d, db, wp, tp, now, dict(zip(tp, hits, strict=True)))
    return res


def fts5_what_if(
    d: Path, db: Path, wp: list[str], tp: list[str], now: str, hits: dict[str, int]
) -> dict[str, Any]:
    """What a trigram index would do for the name search: an FTS5 table (tokenize='trigram')
    of the organisations' names in a scratch file beside the cache, never in the registry.
    Fragments of 3 or more characters only: a trigram index cannot serve shorter ones."""
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
        # the same 20 first results as the registry's own query?
        reg = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            same = sum(
                1
                for p in long_t
                if [r[0] for r in con.execute(sql, (f'"{p}"',))]
                == [r[0] for r in search_sql(reg, p, now)]
            )
            short_true = sum(1 for p in short if search_sql(reg, p, now))
        finally:
            reg.close()
        short_like = sum(
            1
            for p in short
            if con.execute("SELECT 1 FROM names WHERE name LIKE ? LIMIT 1", (like(p),)).fetchone()
        )
        series = run_series(
            f"{d.name} FTS5 trigram search (3-4 chars)",
            [timed_call(lambda p=p: con.execute(sql, (f'"{p}"',)).fetchall()) for p in long_w],
            [timed_call(lambda p=p: con.execute(sql, (f'"{p}"',)).fetchall()) for p in long_t],
            None,
        )
    finally:
        con.close()
    return {
        "build_s": build_s,
        "bytes": path.stat().st_size,
        "sqlite": sqlite3.sqlite_version,
        "series": series,
        "same_results": same,
        "compared": len(long_t),
        "short_fragments": len(short),
        "short_with_matches": short_true,
        "short_found_by_like_on_fts": short_like,
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
    "report": "`GET /org/{uscc}/report.html`",
    "api_subject": "`GET /v1/subjects/{uscc}` (JSON API)",
    "healthz": "`GET /healthz` (no database: the fixed cost of a request)",
    "sql_profile": "baseline: bare SQL profile (subject + listings + records)",
    "sql_search_name": "bare SQL: the search query, name fragment",
    "sql_search_uscc": "bare SQL: the search query, USCC",
    "svc_public_profile": "in-process `views.public_profile` (no HTTP)",
    "svc_public_grades": "in-process `grading.public_grades` (no HTTP)",
}


def ms(x: float) -> str:
    return f"{x * 1e3:,.1f}" if x < 10 else f"{x * 1e3:,.0f}"


def mib(kb: int | None) -> str:
    return f"{kb / 1024:,.0f} MiB" if kb else "?"


def med(run: dict[str, Any], key: str, field: str = "ttfb", stat: str = "median") -> float:
    return float(run["series"][key][field][stat])


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


def findings(res: dict[str, Any]) -> list[str]:
    runs = sorted(res["runs"], key=lambda r: r["organisations"])
    big, small = runs[-1], runs[0]
    n_big, n_small = big["organisations"], small["organisations"]
    grow = n_big / n_small
    sb = big["sample"]
    tp_len = sb["search_terms_by_length"]
    short_share = tp_len.get("2", 0) / max(sum(tp_len.values()), 1)
    out = [
        "## Findings",
        "",
        f"1. **Profile, credit report and JSON API stay fast and flat.** With {n_big:,} "
        f"organisations the profile page answers in {ms(med(big, 'profile'))} ms (median; p99 "
        f"{ms(med(big, 'profile', stat='p99'))} ms), the report in "
        f"{ms(med(big, 'report'))} ms, `/v1/subjects` in {ms(med(big, 'api_subject'))} ms; with "
        f"{n_small:,} organisations {ms(med(small, 'profile'))}, {ms(med(small, 'report'))} and "
        f"{ms(med(small, 'api_subject'))} ms. They read by primary key and by the subject "
        "indexes, so a register ten times larger barely shows. One client gets "
        f"{big['series']['profile']['per_s']:,.0f} profile pages/s.",
        f"2. **Where a profile's time goes.** The same lookup as bare SQL takes "
        f"{ms(med(big, 'sql_profile'))} ms; `views.public_profile` in-process "
        f"{ms(med(big, 'svc_public_profile'))} ms (SQLAlchemy Core, validating the code, the "
        f"pack's labels and citations); any request through uvicorn and FastAPI costs "
        f"{ms(med(big, 'healthz'))} ms (`/healthz`, no database); the page adds the template. "
        f"So the database is ~{100 * med(big, 'sql_profile') / med(big, 'profile'):.0f}% of a "
        "profile page; the rest is Python per request, the same at any register size. TTFB and "
        "total are nearly equal everywhere: pages are rendered whole before the first byte and "
        "are a few KiB.",
        f"3. **Search does not scale: it scans the register.** With {n_big:,} organisations a "
        f"name fragment takes {ms(med(big, 'search_name'))} ms (median; p99 "
        f"{ms(med(big, 'search_name', stat='p99'))} ms), "
        f"{med(big, 'search_name') / med(small, 'search_name'):.1f}× the figure for "
        f"{n_small:,} ({grow:.0f}× the organisations), and the portal serves "
        f"{big['series']['search_name']['per_s']:.1f} searches/s to one client. The query "
        f"`views.search` sends takes about as long as bare SQL "
        f"({ms(med(big, 'sql_search_name'))} ms), so it is the database, not the rendering: "
        "`name LIKE '%…%'` cannot use an index "
        f"(`{sb['query_plans']['search']}`), and `ORDER BY length(name), name` sorts every "
        f"match before `LIMIT 21` (a 2-character fragment matched a median of "
        f"{sb['search_matches_by_length'].get('2', 0):,.0f} organisations, the largest "
        f"{sb['search_matches']['max']:,.0f}).",
        f"4. **A full USCC in the search box is as slow** ({ms(med(big, 'search_uscc'))} ms; "
        f"bare SQL {ms(med(big, 'sql_search_uscc'))} ms) although the code is the primary key: "
        "`views.search` ORs `subject_id = ?` with the name `LIKE`, and SQLite cannot use the key "
        "for one arm of an OR whose other arm needs a scan. (A 9- or 10-character organisation "
        "code would scan too: `organisation_code` has no index.)",
        "5. **Consequence (inferred, not measured here: one client):** the search page is "
        "public and each search keeps a core busy for about as long as it takes, so on these 2 "
        "cores two or three searches at a time, from anyone or from one script, would occupy "
        "the machine and slow every other page with it.",
        "6. **What would fix it (nothing under `src/` was changed):** (a) when the query is a "
        "well-formed USCC or organisation code, look it up by key (an index on "
        "`organisation_code`) instead of OR-ing it into the `LIKE`: that costs what a profile "
        "lookup costs; (b) an n-gram index on names: SQLite FTS5 with `tokenize='trigram'` "
        "(SQLite ≥ 3.34), or on PostgreSQL a GIN index with `pg_trgm` (it ignores non-ASCII "
        "characters in the C locale, so the database needs a UTF-8 `LC_CTYPE`) or `pg_bigm`. "
        "A trigram index only serves fragments of 3 or more characters; "
        f"{100 * short_share:.0f}% of this sample were 2 characters (common in Chinese: a trade "
        "name like 腾飞, a place like 广东), which need a bigram index (e.g. pg_bigm, or a "
        "bigram table) or a bounded fallback; (c) rank and cut inside the index instead of "
        "sorting every match by length. The what-if below measures (b) with FTS5.",
        f"7. **Memory and start-up.** The server's RSS is "
        f"{mib(small['server']['at_end'].get('VmRSS'))} at {n_small:,} and "
        f"{mib(big['server']['at_end'].get('VmRSS'))} at {n_big:,} organisations, flat across the "
        f"series (peak {mib(big['server']['at_end'].get('VmHWM'))}). It answers "
        f"{big['server']['startup_s']:.1f}s after start; its background sweep (purge of persons "
        "past retention, listing activations, notices; first run 15 s after start) then used "
        f"{big['server']['idle']['cpu_s_while_waiting']:.1f} CPU s at {n_big:,} "
        f"({small['server']['idle']['cpu_s_while_waiting']:.1f} at {n_small:,}) before the "
        "server went idle; the timed series started after that.",
    ]
    if not res["runs"][0].get("published_grading_methods"):
        out.append(
            "8. The default pack publishes no grades, so `grading.public_grades` returns at "
            "once and the profile page does not replay the subject's events; a pack that "
            "publishes a method would add that replay to every profile and report."
        )
    return out


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    busy_build = any(b["other_jobs_during_build"] for b in res["builds"])
    lines = [
        "# Public portal: time to first byte on a large register",
        "",
        f"- Date: {res['date']} – {res['finished']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
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
        f'- Nothing else ran during the timed series: each started only when `pgrep -f "'
        f'{BUSY_PATTERN}"` found nothing, and was checked every 10 s while it ran (a series '
        "during which such a job appeared would have been thrown away and repeated; "
        f"{res['discarded_series']} were)."
        + (
            " The builds, by contrast, partly shared the CPUs with a CI run (see Registers)."
            if busy_build
            else ""
        ),
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
        "| Entities N | Organisations | Persons | Records | Listings | Events | DB size | "
        "Generate | Ingest (all rows) | Per file | Advance | CI seen at k of n checks (every 30 s) |",
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
            + f"; they match a median of {s['search_matches']['median']:,.0f} organisations "
            f"(p95 {s['search_matches']['p95']:,.0f}, max {s['search_matches']['max']:,.0f}); "
            "e.g. " + ", ".join(s["examples"]["name_fragments"][:6]) + ".",
            "",
            "| Request | n | TTFB median ms | p95 | p99 | max | Total median ms | Req/s | "
            "Body median | Statuses |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for k, v in r["series"].items():
            t, tot = v["ttfb"], v["total"]
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
                + " |"
            )
        by_len = r["series"]["search_name"].get("ttfb_median_by_length", {})
        mbl = s["search_matches_by_length"]
        lines += [
            "",
            "Baselines (no HTTP): TTFB = total = the call, in this process, with the server "
            "stopped. The search page (HTTP) by fragment length: "
            + "; ".join(
                f"{k} characters: median TTFB {v:,.0f} ms, median {mbl[k]:,.0f} matches"
                for k, v in by_len.items()
            )
            + " (the scan costs the same whatever the fragment).",
            "",
            f"Server: answering {srv['startup_s']:.1f}s after start; RSS "
            f"{mib(srv['at_ready'].get('VmRSS'))} then, "
            f"{mib(srv['at_idle'].get('VmRSS'))} once idle "
            f"({srv['idle']['waited_s']:.0f}s after start, "
            f"{srv['idle']['cpu_s_while_waiting']:.1f} CPU s of start-up sweep), "
            f"{mib(srv['at_end'].get('VmRSS'))} at the end; peak (VmHWM) "
            f"{mib(srv['at_end'].get('VmHWM'))}. Share of both CPUs busy during each series "
            "(client, server and anything else): "
            + ", ".join(
                f"{k} {100 * v['machine_cpu_busy']:.0f}%"
                for k, v in r["series"].items()
                if "server" in v
            )
            + ".",
            "",
            f"Query plans (SQLite `EXPLAIN QUERY PLAN`): search `{s['query_plans']['search']}`; "
            f"records of a subject `{s['query_plans']['records_by_subject']}`.",
        ]
    lines += [
        "",
        "## What-if: an FTS5 trigram index on names (not the registry's code)",
        "",
        "A scratch SQLite file beside the cache (never the registry) holding "
        "`CREATE VIRTUAL TABLE names USING fts5(name, subject_id UNINDEXED, "
        "tokenize='trigram')` with every organisation's name; the query is "
        "`... WHERE names MATCH '\"<fragment>\"' ORDER BY length(name), name, subject_id "
        "LIMIT 21`, for the same fragments of 3-4 characters.",
        "",
        "| Organisations | Index build | Index size | n | Median ms | p95 | p99 | max | Same 21 "
        "first rows as the registry's query | 2-char fragments with matches / found via LIKE "
        "on the FTS table |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in res["runs"]:
        f = r["fts5"]
        t = f["series"]["ttfb"]
        lines.append(
            f"| {r['organisations']:,} | {f['build_s']:,.1f}s | {f['bytes'] / 2**20:,.0f} MiB | "
            f"{f['series']['requests']} | {ms(t['median'])} | {ms(t['p95'])} | {ms(t['p99'])} | "
            f"{ms(t['max'])} | {f['same_results']} of {f['compared']} | "
            f"{f['short_with_matches']} / {f['short_found_by_like_on_fts']} |"
        )
    big = max(res["runs"], key=lambda r: r["organisations"])
    slow: list[dict[str, Any]] = []
    for x in big["fts5"]["slowest"]:  # the sample may hold a fragment more than once
        if len(slow) < 3 and x["fragment"] not in {y["fragment"] for y in slow}:
            slow.append(x)
    lines += [
        "",
        f"With {big['organisations']:,} organisations the index finds a fragment's names in "
        f"about a millisecond; the slow tail is `ORDER BY length(name), name` over fragments "
        "that match many names (slowest: "
        + "; ".join(f"{x['fragment']} {x['ms']:,.0f} ms, {x['matches']:,} matches" for x in slow)
        + "), which is point (c) above.",
        "",
        "The last column is the catch: on SQLite "
        f"{res['runs'][0]['fts5']['sqlite']} a `LIKE '%xy%'` on the FTS5 trigram table with a "
        "2-character pattern returned no rows at all where the plain table has matches, so a "
        "search built on it must route short queries elsewhere (a bigram index, or the scan "
        "with a cap).",
        "",
    ]
    prev = res.get("previous")
    if prev and prev.get("medians"):
        lines += [
            "",
            "## Run to run",
            "",
            f"Medians of this run against the previous run on the same registers "
            f"({prev['date']}), ms:",
            "",
            "| Request | " + " | ".join(f"{r['organisations']:,} orgs" for r in res["runs"]) + " |",
            "|---|" + "---:|" * len(res["runs"]),
        ]
        changes: list[float] = []
        for k in res["runs"][0]["series"]:
            cells = []
            for r in res["runs"]:
                was = prev["medians"].get(str(r["size"]), {}).get(k)
                now_s = r["series"][k]["ttfb"]["median"]
                cells.append(f"{ms(now_s)} (was {ms(was)})" if was is not None else ms(now_s))
                if was and now_s > 2e-4 and k != "svc_public_grades":  # not the sub-µs calls
                    changes.append(abs(now_s - was) / was)
            lines.append(f"| {LABELS[k]} | " + " | ".join(cells) + " |")
        if changes:
            lines += [
                "",
                f"The medians moved by {100 * statistics.median(changes):.0f}% (median over "
                f"rows) and by up to {100 * max(changes):.0f}% between the two runs, with "
                "nothing else running: compare orders of magnitude, not the last digit.",
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
  the server's capacity under concurrency; uvicorn runs the synchronous routes in a thread pool,
  and SQLite releases the GIL while it scans, so two searches can use both cores.
- **SQLite, on a local disk, with the file in the OS page cache** (the machine has far more RAM
  than the database); a cold cache or PostgreSQL over a network would be slower per query. The
  registry's SQLite connections keep SQLite's default page cache (2 MiB).
- **The sample is uniform over organisations**, most of which hold one to three records; a
  subject with hundreds of records would render a longer page.
- **The background sweep runs every 15 s** inside the server process during the series (listing
  activations and notices; purge once an hour), which can show up in the max.
- **Synthetic data** from `socialcredit.generate` (seed 0): names follow its patterns (place +
  trade name + industry + legal form), so how many names a fragment matches is the generator's,
  not the real register's.
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
        "builds": builds,
        "runs": [],
    }
    for b in builds:
        r = measure(b, args.requests, args.warmup, args.seed)
        r["organisations"] = b["counts"]["organisations"]
        res["runs"].append(r)
    res["discarded_series"] = sum(
        v["attempt"] - 1 for r in res["runs"] for v in r["series"].values()
    )
    res["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    prev_path = args.cache / "portal.json"
    if prev_path.is_file():  # the last run on these registers, for the run-to-run spread
        prev = json.loads(prev_path.read_text())
        res["previous"] = {
            "date": prev.get("date"),
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
