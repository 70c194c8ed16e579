# ruff: noqa: T201  (a benchmark reports on stdout)
"""Checks over HTTP: the check server against the full API and a PostgreSQL indexed lookup.

Usage:
    python bench/check_http.py [--entities 20000] [--bulk 1000000] [--duration 15]
        [--connections 50] [--runs 3] [--postgres-url URL] [--out bench/results]

1. A registry: ``generate(N, seed=0)`` ingested into an SQLite file (clock at 2026-10-01, as
   ``bench/core.py`` does; cached under /tmp/socialcredit-bench/check-http-N), and an agency
   token for ``restrict_air_travel``.
2. Single checks, with wrk (Debian's package) on the same machine, ``-t2 -cC -dD``, K runs for
   each mix of codes (``--mixes``): ``mixed``, a code drawn at random from a sample of 20,000 of
   the registry's organisations (listed or not, in the register's own proportion);
   ``unlisted``, from organisations with no listing of the measure's lists; ``listed``, from
   organisations the check answers ``restricted`` now (an explained answer with its listing,
   basis and how to resolve), against:
   - ``socialcredit serve-checks --workers 2`` (the check server: bare ASGI on Granian, uvloop,
     every check recorded for its subject through the spool and recorder process);
   - ``socialcredit serve`` (the full FastAPI application, one process, as users run it);
   - baseline: the same bare ASGI shape on Granian with the same settings and 2 workers, whose
     handler answers from PostgreSQL (``SELECT EXISTS`` on an index of the registry's listings,
     copied to a table of their own; psycopg async connections, 4 per worker).
3. Bulk: ``--bulk`` USCCs (the registry's organisations, then generated valid codes) posted as
   JSON to ``/v1/checks/bulk``, K runs; subject-checks per second over the whole round trip
   (upload, parse, validate, look up, answer, download), and the same as ``text/plain`` lines.
4. Visibility: a new court judgment for an organisation the register does not know is
   ingested (by this process, into the same database) while the check server runs; time from
   the ingest's return until the server's answer (as of 90 days later) is "restricted",
   polled every 10 ms; 10 times.

Writes ``check_http.json`` and ``check_http.md`` under ``--out``; prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import (  # bench/core.py: the same registry, data files and machine description
    CHECK_AT,
    ENC_KEY,
    HASH_KEY,
    INGEST_AT,
    MEASURE,
    cpu_model,
    ingest_run,
    make_registry,
    mem_total,
    redact,
)

from socialcredit.clock import SystemClock, iso, parse_moment
from socialcredit.generate import generate
from socialcredit.identifiers.uscc import ALPHABET, build_uscc
from socialcredit.services import access, checks, ingest, listings

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("socialcredit")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


# -- the registry ---------------------------------------------------------------------------


def build_registry(entities: int, cache: Path) -> Path:
    db = cache / "reg.db"
    if (cache / "done").exists():
        return db
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    data = cache / "data"
    generate(entities, data, seed=0)
    reg = make_registry(f"sqlite:///{db}", INGEST_AT)
    r = ingest_run(reg, data)
    print(f"registry: {r['rows']:,} rows ingested in {r['seconds']:.0f}s", flush=True)
    reg.clock.set(parse_moment(CHECK_AT))  # type: ignore[attr-defined]
    listings.advance(reg, "bench")
    reg.close()
    (cache / "done").write_text("ok")
    return db


def env_for(db: Path, check_file: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    e.update(
        SOCIALCREDIT_DATABASE_URL=f"sqlite:///{db}",
        SOCIALCREDIT_ID_HASH_KEY=HASH_KEY,
        SOCIALCREDIT_ID_ENCRYPTION_KEY=ENC_KEY,
        SOCIALCREDIT_CHECK_FILE=str(check_file),
    )
    return e


def codes_of(db: Path) -> tuple[list[str], list[str]]:
    """Organisations with a notified listing for the measure's lists, and the others."""
    import sqlite3

    from socialcredit.policy import load_pack

    lists = load_pack(None).measures[MEASURE].lists
    con = sqlite3.connect(db)
    marks = ",".join("?" * len(lists))
    listed = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT subject_id FROM listings WHERE notified_at IS NOT NULL "
            f"AND list_id IN ({marks}) AND subject_id NOT LIKE 'P-%'",
            list(lists),
        )
    ]
    others = [
        r[0]
        for r in con.execute(
            "SELECT subject_id FROM subjects WHERE kind = 'organisation' ORDER BY subject_id"
        )
    ]
    con.close()
    known = set(listed)
    return listed, [c for c in others if c not in known]


def generated_codes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        build_uscc("9", "1", "110105", "".join(rng.choice(ALPHABET) for _ in range(8)))
        for _ in range(n)
    ]


# -- servers --------------------------------------------------------------------------------


def start(cmd: list[str], env: dict[str, str], port: int, ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{cmd[:3]} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


LUA = """
local codes = {}
for line in io.lines("%(codes)s") do codes[#codes + 1] = line end
math.randomseed(%(seed)d)
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local c = codes[math.random(#codes)]
  return wrk.format("GET", "/v1/checks?measure=%(measure)s&subject=" .. c)
end
"""


def wrk(port: int, script: Path, duration: int, connections: int) -> dict[str, float]:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk not found: scripts/setup installs it (Debian's package) as root")
    out = subprocess.run(
        [
            exe,
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            raise RuntimeError(f"no {label} in wrk output:\n{out}")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


# -- the PostgreSQL baseline ----------------------------------------------------------------


def baseline_table(db: Path, pg_url: str) -> None:
    """The registry's notified listings of the measure's lists, copied into PostgreSQL with an
    index on the subject: what one would put behind a ticketing system without this project."""
    import sqlite3

    import psycopg

    from socialcredit.policy import load_pack

    lists = list(load_pack(None).measures[MEASURE].lists)
    src = sqlite3.connect(db)
    rows = src.execute(
        f"SELECT subject_id, notified_at, activates_at, until, ended_at FROM listings "
        f"WHERE notified_at IS NOT NULL AND list_id IN ({','.join('?' * len(lists))})",
        lists,
    ).fetchall()
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS bench_restrictions")
        con.execute(
            "CREATE TABLE bench_restrictions (subject_id text NOT NULL, activates_at timestamp,"
            " until timestamp, ended_at timestamp)"
        )
        with con.cursor().copy(
            "COPY bench_restrictions (subject_id, activates_at, until, ended_at) FROM STDIN"
        ) as cp:
            for r in rows:
                cp.write_row((r[0], r[2], r[3], r[4]))
        con.execute("CREATE INDEX ON bench_restrictions (subject_id)")
        con.execute("ANALYZE bench_restrictions")


class Baseline:
    """A bare ASGI check answered by one indexed PostgreSQL query (run under Granian)."""

    SQL = (
        "SELECT EXISTS (SELECT 1 FROM bench_restrictions WHERE subject_id = %s "
        "AND activates_at <= now() AND now() < until AND (ended_at IS NULL OR now() < ended_at))"
    )

    def __init__(self) -> None:
        self.url = os.environ["BENCH_BASELINE_PG"]
        self.pool: asyncio.Queue[Any] | None = None

    async def _conn(self) -> Any:
        import psycopg

        if self.pool is None:
            self.pool = asyncio.Queue()
            for _ in range(4):
                self.pool.put_nowait(
                    await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                )
        return await self.pool.get()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        q = parse_qs(scope["query_string"].decode())
        subject = q.get("subject", [""])[0]
        conn = await self._conn()
        try:
            cur = await conn.execute(self.SQL, (subject,))
            (restricted,) = await cur.fetchone()
        finally:
            assert self.pool is not None
            self.pool.put_nowait(conn)
        body = orjson.dumps({"subject": subject, "restricted": restricted})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def baseline() -> Baseline:
    return Baseline()


# -- runs -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--bulk", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mixes", default="mixed,unlisted,listed")
    ap.add_argument("--postgres-url", default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()

    cache = Path(tempfile.gettempdir()) / "socialcredit-bench" / f"check-http-{args.entities}"
    db = build_registry(args.entities, cache)
    work = Path(tempfile.mkdtemp(prefix="sc-check-http-"))
    check_file = work / "checks.bin"
    env = env_for(db, check_file)
    reg = make_registry(f"sqlite:///{db}", CHECK_AT)
    reg.clock = SystemClock()
    token = access.create_principal(
        reg, "agency", "bench airline gateway", actor="bench", measures=[MEASURE]
    )["token"]
    listed, others = codes_of(db)
    rng = random.Random(0)
    # the register's own mix: a random sample of its organisations, listed or not
    everyone = listed + others
    sample = rng.sample(everyone, min(len(everyone), 20_000))
    listed_in_sample = len(set(sample) & set(listed))
    now_restricted = [
        a["subject"]
        for a in checks.answer_many(reg, listed, MEASURE)["results"]
        if a["outcome"] == "restricted"
    ]
    pools = {
        "mixed": sample,
        "unlisted": rng.sample(others, min(len(others), 20_000)),
        "listed": now_restricted,
    }
    mixes = [m for m in args.mixes.split(",") if m]
    luas: dict[str, Path] = {}
    for mix in mixes:
        (work / f"codes_{mix}.txt").write_text("\n".join(pools[mix]) + "\n")
        luas[mix] = work / f"single_{mix}.lua"
        luas[mix].write_text(
            LUA
            % {"codes": work / f"codes_{mix}.txt", "seed": 0, "token": token, "measure": MEASURE}
        )
    print(
        f"codes: {len(sample):,} organisations, {listed_in_sample:,} of them listed; "
        f"{len(now_restricted):,} restricted now",
        flush=True,
    )

    result: dict[str, Any] = {
        "entities": args.entities,
        "connections": args.connections,
        "duration_s": args.duration,
        "runs": args.runs,
        "workers": args.workers,
        "single_codes": len(sample),
        "single_codes_listed": listed_in_sample,
        "single_codes_restricted": len(now_restricted),
        "mixes": mixes,
    }
    servers: list[tuple[str, list[str], dict[str, str], str]] = []
    port = free_port()
    servers.append(
        (
            "check_server",
            [str(EXE), "serve-checks", "--port", str(port), "--workers", str(args.workers)],
            env,
            "/healthz",
        )
    )
    api_port = free_port()
    servers.append(("full_api", [str(EXE), "serve", "--port", str(api_port)], env, "/healthz"))
    if args.postgres_url:
        baseline_table(db, args.postgres_url.replace("postgresql+psycopg://", "postgresql://"))
        b_env = dict(
            env,
            BENCH_BASELINE_PG=args.postgres_url.replace("postgresql+psycopg://", "postgresql://"),
            PYTHONPATH=str(ROOT / "bench"),
        )
        servers.append(
            (
                "postgres_baseline",
                [
                    str(Path(sys.executable).with_name("granian")),
                    "--interface",
                    "asgi",
                    "--factory",
                    "--port",
                    "PORT",
                    "--workers",
                    str(args.workers),
                    "--loop",
                    "uvloop",
                    "--backpressure",
                    "16",
                    "--no-log",
                    "check_http:baseline",
                ],
                b_env,
                "/",
            )
        )
    else:
        print("no --postgres-url: the PostgreSQL baseline is left out", flush=True)

    for name, cmd, e, ready in servers:
        p = (
            int(cmd[cmd.index("--port") + 1])
            if cmd[cmd.index("--port") + 1] != "PORT"
            else free_port()
        )
        cmd = [str(p) if c == "PORT" else c for c in cmd]
        proc = start(cmd, e, p, ready)
        result[name] = {}
        try:
            for mix in mixes:
                wrk(p, luas[mix], 3, args.connections)  # warm-up
                runs = [
                    wrk(p, luas[mix], args.duration, args.connections) for _ in range(args.runs)
                ]
                result[name][mix] = r = {
                    "rps": stats([r["rps"] for r in runs]),
                    "p50_ms": stats([r["p50_ms"] for r in runs]),
                    "p99_ms": stats([r["p99_ms"] for r in runs]),
                    "non_2xx": sum(r["non_2xx"] for r in runs),
                    "socket_errors": [r["socket_errors"] for r in runs if r["socket_errors"]],
                }
                print(
                    f"single {name} {mix}: {r['rps']['median']:,.0f} req/s (min "
                    f"{r['rps']['min']:,.0f}, max {r['rps']['max']:,.0f}), p99 "
                    f"{r['p99_ms']['median']:.1f} ms, non-2xx {r['non_2xx']}",
                    flush=True,
                )
        finally:
            stop(proc)

    # bulk and visibility against the check server
    proc = start(servers[0][1], env, port, "/healthz")
    try:
        bulk_codes = (others + listed + generated_codes(args.bulk, 1))[: args.bulk]
        rng.shuffle(bulk_codes)
        body = orjson.dumps({"measure": MEASURE, "subjects": bulk_codes})
        lines = ("\n".join(bulk_codes) + "\n").encode()
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=600,
            headers={"Authorization": f"Bearer {token}"},
        )
        rates: dict[str, list[float]] = {"json": [], "lines": []}
        restricted = 0
        for i in range(args.runs + 1):  # the first is a warm-up
            for kind in ("json", "lines"):
                t0 = time.perf_counter()
                if kind == "json":
                    r = http.post(
                        "/v1/checks/bulk",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                else:
                    r = http.post(
                        "/v1/checks/bulk",
                        content=lines,
                        params={"measure": MEASURE},
                        headers={"Content-Type": "text/plain"},
                    )
                dt = time.perf_counter() - t0
                r.raise_for_status()
                got = orjson.loads(r.content)
                assert got["count"] == len(bulk_codes)
                restricted = got["outcomes"].count("restricted")
                if i:
                    rates[kind].append(len(bulk_codes) / dt)
        result["bulk"] = {
            "subjects": len(bulk_codes),
            "restricted": restricted,
            "json_body_mib": round(len(body) / 2**20, 1),
            "json_per_s": stats(rates["json"]),
            "lines_per_s": stats(rates["lines"]),
        }
        print(
            f"bulk: {len(bulk_codes):,} subjects, JSON {statistics.median(rates['json']):,.0f}"
            f"/s, lines {statistics.median(rates['lines']):,.0f}/s ({restricted} restricted)",
            flush=True,
        )
        result["visibility_s"] = visibility(reg, http, 10)
        v = result["visibility_s"]
        print(f"visibility: median {v['median']:.3f}s, max {v['max']:.3f}s", flush=True)
    finally:
        stop(proc)
        reg.close()
        shutil.rmtree(work, ignore_errors=True)

    result["machine"] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory": mem_total(),
        "python": sys.version.split()[0],
    }
    result["command"] = redact(" ".join(sys.argv))
    result["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "check_http.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "check_http.md").write_text(markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}))


def visibility(reg: Any, http: httpx.Client, n: int) -> dict[str, Any]:
    """Seconds from a judgment's ingest returning to the check server answering restricted."""
    seconds: list[float] = []
    for i in range(n):
        code = build_uscc("9", "1", "440300", f"KJ{time.time_ns() % 10**6:06d}")
        row = {
            "source_record_id": f"BENCH-VIS-{time.time_ns()}",
            "record_type": "court_judgment",
            "subject_id": code,
            "subject_name": f"可见性测试{i}有限公司",
            "authority": "北京市朝阳区人民法院",
            "decision_ref": f"（2026）京0105执{9000 + i}号",
            "decided_on": (reg.now() - timedelta(days=40)).date().isoformat(),
            "legal_basis": "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
            "status": "unperformed",
            "amount_yuan": "250000",
            "dishonest_conduct": "able_but_refuses",
            "listing_decision_ref": f"（2026）京0105执{9000 + i}号之一",
        }
        later = iso(reg.now() + timedelta(days=90), reg.tz)
        # a code the register does not hold yet: unknown, not "allowed"
        assert (
            http.get(
                "/v1/checks", params={"subject": code, "measure": MEASURE, "as_of": later}
            ).json()["outcome"]
            == "unknown_subject"
        )
        ingest.ingest(reg, [(1, row)], "court", actor="bench")
        t0 = time.perf_counter()
        while True:
            a = http.get("/v1/checks", params={"subject": code, "measure": MEASURE, "as_of": later})
            if a.json()["outcome"] == "restricted":
                break
            if time.perf_counter() - t0 > 30:
                raise RuntimeError(f"not visible after 30 s: {a.json()}")
            time.sleep(0.01)
        seconds.append(time.perf_counter() - t0)
    return stats(seconds)


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Checks over HTTP",
        "",
        f"`{r['command']}` on {m['cpus']} × {m['cpu']}, {m['memory']}, Python {m['python']}, "
        f"{r['date']}. Registry: `generate({r['entities']})` in SQLite. Single checks: wrk "
        f"`-t2 -c{r['connections']} -d{r['duration_s']}s` on the same machine, codes drawn from "
        f"a sample of {r['single_codes']:,} organisations ({r['single_codes_listed']:,} listed) "
        f"for `mixed`, of organisations with no listing for `unlisted`, and of the "
        f"{r['single_codes_restricted']:,} organisations restricted now for `listed`; median "
        f"of {r['runs']} runs (min–max).",
        "",
        "| Server | Codes | Requests/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, label in (
        ("check_server", f"`serve-checks --workers {r['workers']}`"),
        ("full_api", "`serve` (FastAPI, 1 process)"),
        ("postgres_baseline", f"bare ASGI + PostgreSQL indexed lookup, {r['workers']} workers"),
    ):
        if name not in r:
            continue
        for mix in r["mixes"]:
            s = r[name][mix]
            lines.append(
                f"| {label} | {mix} | {s['rps']['median']:,.0f} ({s['rps']['min']:,.0f}–"
                f"{s['rps']['max']:,.0f}) | {s['p50_ms']['median']:.2f} | "
                f"{s['p99_ms']['median']:.2f} ({s['p99_ms']['min']:.2f}–"
                f"{s['p99_ms']['max']:.2f}) | {s['non_2xx']} |"
            )
    if "postgres_baseline" in r:
        for mix in r["mixes"]:
            ratio = (
                r["check_server"][mix]["rps"]["median"]
                / r["postgres_baseline"][mix]["rps"]["median"]
            )
            lines.append(
                f"\nCheck server / PostgreSQL baseline, {mix}: **{ratio:.2f}×** requests/s."
            )
    b = r["bulk"]
    lines += [
        "",
        f"Bulk: {b['subjects']:,} USCCs per request ({b['json_body_mib']} MiB of JSON), "
        f"{b['restricted']} restricted, whole round trip:",
        "",
        "| Body | Subject-checks/s (min–max) |",
        "|---|---:|",
        f"| JSON | {b['json_per_s']['median']:,.0f} ({b['json_per_s']['min']:,.0f}–"
        f"{b['json_per_s']['max']:,.0f}) |",
        f"| text/plain lines | {b['lines_per_s']['median']:,.0f} ({b['lines_per_s']['min']:,.0f}–"
        f"{b['lines_per_s']['max']:,.0f}) |",
        "",
        f"Visibility of a new listing (ingest returned → the check server answers restricted): "
        f"median {r['visibility_s']['median']:.3f} s, max {r['visibility_s']['max']:.3f} s "
        f"over {len(r['visibility_s']['runs'])} listings.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
