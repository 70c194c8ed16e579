# ruff: noqa: T201  (a benchmark reports progress on stdout and runs its own tools)
"""Public portal benchmark: time to first byte of the public pages on a large register.

Usage:
    python bench/portal.py [--sizes 132500,1325000] [--requests 300] [--warmup 30]
                           [--seed 0] [--cache /tmp/socialcredit-bench] [--out bench/results]

For each size N, a register is built once through the project's own command line and cached:

    socialcredit generate --entities N --out <cache>/portal-N-seedS/data --seed S
    socialcredit ingest <data>/samr.csv    --source samr  --as-of 2026-10-01 --json
    socialcredit ingest <data>/tax.csv     --source tax   --as-of 2026-10-01 --json
    socialcredit ingest <data>/court.jsonl --source court --as-of 2026-10-01 --json
    socialcredit lists advance

(SOCIALCREDIT_DATABASE_URL=sqlite:///<cache>/portal-N-seedS/registry.db, development keys in
the same directory). Every row comes through ingest, so the event log and the projections are
the real ones. A later run reuses the cached database (delete the directory to rebuild).

Then ``socialcredit serve`` (uvicorn) is started as a subprocess on 127.0.0.1 against that file,
and one client on one keep-alive connection (raw sockets, HTTP/1.1) requests, after a warm-up,
a few hundred pages over a seeded random sample of organisations:

    /org/{uscc}               the public profile
    /search?q=<2-4 characters of a real name>
    /search?q=<a full USCC>
    /org/{uscc}/report.html   the credit report
    /v1/subjects/{uscc}       the JSON API a user would otherwise call

TTFB is the time from sending the request until the status line and headers have arrived;
total is until the last byte of the body. The baseline is the same profile lookup as bare SQL
(subject by primary key, its listings and records by their subject index) with Python's sqlite3
on the same file, plus the search query the portal runs, as bare SQL.

Timed measurements start only while ``pgrep -f "pytest|ci/run"`` finds nothing (polled every
30 s), and a series during which such a process appeared is thrown away and run again.
Results go to <out>/portal.md; the full figures to <cache>/portal.json.
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
) -> tuple[float, str, list[str]]:
    """Run ``socialcredit ARGS``; print a progress line every 30 s; return (s, stdout, busy)."""
    cmd = [CLI, *args]
    log(f"{label}: {shlex.join(cmd)}")
    seen_busy: list[str] = []
    t0 = time.perf_counter()
    with (d / "build.log").open("a") as errf:
        p = subprocess.Popen(cmd, env=cli_env(d), stdout=subprocess.PIPE, stderr=errf, text=True)
        out_chunks: list[str] = []
        reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        while True:
            try:
                p.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                b = busy()
                if b:
                    seen_busy.append(b[0][:160])
                extra = poll() if poll else ""
                log(
                    f"{label}: {time.perf_counter() - t0:,.0f}s{extra}"
                    + (" (another job is running)" if b else "")
                )
        reader.join()
    s = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{label} failed (exit {p.returncode}); see {d / 'build.log'}")
    log(f"{label}: done in {s:,.1f}s")
    return s, "".join(out_chunks), seen_busy


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

    s, out, b = run_cli(
        ["generate", "--entities", str(size), "--out", str(d / "data"), "--seed", str(seed)],
        d,
        f"generate {size:,}",
    )
    info["steps"]["generate"] = {"seconds": s, "output": out.strip()}
    other_jobs += b

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
        s, out, b = run_cli(args, d, f"ingest {name} ({size:,})", poll)
        summ = json.loads(out)
        summ.pop("rejects", None)
        info["steps"][f"ingest {name}"] = {"seconds": s, "summary": summ}
        rows = summ.get("rows", 0)
        log(f"ingest {name}: {rows:,} rows, {rows / s:,.0f} rows/s; {poll().lstrip(', ')}")
        other_jobs += b
    s, out, b = run_cli(["lists", "advance"], d, f"lists advance ({size:,})")
    info["steps"]["lists advance"] = {"seconds": s, "output": " ".join(out.split())}
    other_jobs += b
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
    return res


# -- report ---------------------------------------------------------------------------------

LABELS = {
    "profile": "`GET /org/{uscc}` (profile page)",
    "search_name": "`GET /search?q=<2-4 chars of a name>`",
    "search_uscc": "`GET /search?q=<USCC>`",
    "report": "`GET /org/{uscc}/report.html`",
    "api_subject": "`GET /v1/subjects/{uscc}` (JSON API)",
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


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Public portal: time to first byte on a large register",
        "",
        f"- Date: {res['date']} – {res['finished']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; uvicorn {m['uvicorn']} (h11, asyncio); "
        f"FastAPI {m['fastapi']}",
        "- Server: `socialcredit serve` (uvicorn, one process, `log_level=warning`, the background "
        "sweep on) as a subprocess on 127.0.0.1, against the SQLite file of the register "
        "(WAL, `synchronous=NORMAL`, the registry's own settings).",
        "- Client: one raw-socket HTTP/1.1 client on one keep-alive connection, requests one after "
        "another, `Accept-Language: zh-CN`. **TTFB** = from sending the request until the status "
        "line and all headers have arrived; **total** = until the last byte of the body; req/s = "
        "timed requests / wall time of the series (1 client). Percentiles are nearest-rank.",
        f'- Nothing else ran: each timed series started only when `pgrep -f "{BUSY_PATTERN}"` '
        "found nothing, which was polled every 10 s during the series (a series during which "
        "such a job appeared would have been thrown away and repeated; "
        f"{res['discarded_series']} were)."
        + (
            " The build, by contrast, shared the CPUs with a CI run (see below)."
            if any(b["other_jobs_during_build"] for b in res["builds"])
            else ""
        ),
        "",
        "## Registers",
        "",
        "Built through the command line, every row through ingest (the event log and the "
        "projections are the real ones), cached under "
        f"`{res['cache']}`:",
        "",
        "```sh",
        "socialcredit generate --entities N --out DIR/data --seed 0",
        "socialcredit ingest DIR/data/samr.csv --source samr --as-of 2026-10-01 --json",
        "socialcredit ingest DIR/data/tax.csv --source tax --as-of 2026-10-01 --json",
        "socialcredit ingest DIR/data/court.jsonl --source court --as-of 2026-10-01 --json",
        "socialcredit lists advance",
        "```",
        "",
        "| Entities | Organisations | Persons | Records | Listings | Events | DB size | "
        "Generate | Ingest (rows, rows/s) | Other jobs during build |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for b in res["builds"]:
        c = b["counts"]
        st = b["steps"]
        ing = ", ".join(
            f"{k.removeprefix('ingest ')} {v['seconds']:,.0f}s"
            for k, v in st.items()
            if k.startswith("ingest ")
        )
        other = "yes (a CI/test run)" if b["other_jobs_during_build"] else "no"
        lines.append(
            f"| {b['size']:,} | {c['organisations']:,} | {c['persons']:,} | {c['records']:,} | "
            f"{c['listings']:,} | {c['events']:,} | {b['db_bytes'] / 2**30:,.2f} GiB | "
            f"{st['generate']['seconds']:,.0f}s | **{b['ingest_seconds'] / 60:,.1f} min** "
            f"({b['ingest_rows']:,} rows, {b['ingest_rows'] / b['ingest_seconds']:,.0f}/s; {ing})"
            f" | {other} |"
        )
    for r in res["runs"]:
        s = r["sample"]
        srv = r["server"]
        lines += [
            "",
            f"## {r['size']:,} entities ({r['organisations']:,} organisations)",
            "",
            f"Sample: {s['organisations']} organisations at random (seed {res['seed']}) after "
            f"{res['warmup']} warm-up requests on others; they hold a median of "
            f"{s['records_per_subject']['median']:.0f} public records (max "
            f"{s['records_per_subject']['max']:.0f}); {s['with_listings']} have a listing. Name "
            f"fragments: {s['search_terms_by_length']} by length in characters, matching a "
            f"median of {s['search_matches']['median']:,.0f} organisations (p95 "
            f"{s['search_matches']['p95']:,.0f}, max {s['search_matches']['max']:,.0f}); e.g. "
            + ", ".join(s["examples"]["name_fragments"][:6])
            + ".",
            "",
            "| Request | n | TTFB median ms | p95 | p99 | max | Total median ms | Req/s | "
            "Body median | Statuses |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for k, v in r["series"].items():
            t, tot = v["ttfb"], v["total"]
            http = not k.startswith(("sql_", "svc_"))
            lines.append(
                f"| {LABELS[k]} | {v['requests']} | {ms(t['median'])} | {ms(t['p95'])} | "
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
            "For the baselines (no HTTP) TTFB = total = the call. Name search by fragment "
            "length: "
            + "; ".join(
                f"{k} chars: median TTFB {v:,.0f} ms, median {mbl[k]:,.0f} matches"
                for k, v in by_len.items()
            )
            + ".",
            "",
            f"Server: answering {srv['startup_s']:.1f}s after start; RSS "
            f"{mib(srv['at_ready'].get('VmRSS'))} when it first answered, "
            f"{mib(srv['at_idle'].get('VmRSS'))} after the start-up sweep "
            f"(idle after {srv['idle']['waited_s']:.0f}s, {srv['idle']['cpu_s_while_waiting']:.1f} "
            f"CPU s), {mib(srv['at_end'].get('VmRSS'))} at the end; peak (VmHWM) "
            f"{mib(srv['at_end'].get('VmHWM'))}. RSS after each series: "
            + ", ".join(
                f"{k} {mib(v['server'].get('VmRSS'))}"
                for k, v in r["series"].items()
                if "server" in v
            )
            + ".",
            "",
            f"Query plan of the search (SQLite `EXPLAIN QUERY PLAN`): `{s['query_plans']['search']}`"
            f"; of the records of a subject: `{s['query_plans']['records_by_subject']}`.",
        ]
    lines += ["", NOTES.strip(), ""]
    return "\n".join(lines)


NOTES = """
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
    args = p.parse_args(argv)
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
    (args.cache / "portal.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    md = markdown(res)
    (args.out / "portal.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'portal.md'} and {args.cache / 'portal.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
