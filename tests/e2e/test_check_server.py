"""The check server answers as the API does: the same JSON for the same check, the same status
and error for the same mistake, bulk outcomes equal to the batch's, and every single check
recorded in the subject's file. Both servers run for real on loopback ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from socialcredit.api.app import create_app
from socialcredit.api.check_server import CheckServer
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import reads
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.services import checks, ingest, listings
from socialcredit.services.access import create_principal
from tests.e2e.conftest import free_port
from tests.fixtures.rows import ORG, ORG2, PERSON, judgment, numbered, penalty

pytestmark = pytest.mark.e2e

MEASURE = "restrict_air_travel"


@pytest.fixture
def check_server(reg: Registry) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        CheckServer(reg), host="127.0.0.1", port=port, log_level="warning", http="httptools"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "check server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_the_check_server_answers_as_the_api(
    reg: Registry, clock: FixedClock, server: str, check_server: str
) -> None:
    op = "test:operator"
    agency = create_principal(reg, "agency", "CAAC", actor=op, measures=[MEASURE])["token"]
    other = create_principal(reg, "agency", "Rail", actor=op, measures=["restrict_premium_rail"])
    ingest.ingest(
        reg,
        numbered([judgment(), judgment("BJ-7", PERSON, conduct="evades_enforcement")]),
        "court",
        actor="court",
    )
    ingest.ingest(reg, numbered([penalty("P-1", ORG2)]), "samr", actor="samr")
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    auth = {"Authorization": f"Bearer {agency}"}
    api = httpx.Client(base_url=server, headers=auth, timeout=30)
    in_framework = TestClient(create_app(reg, single_checks=False))
    fast = httpx.Client(base_url=check_server, headers=auth, timeout=30)
    with reg.engine.connect() as conn:
        reads_before = conn.execute(select(func.count()).select_from(reads)).scalar_one()
    outcomes = set()
    stranger = build_uscc("9", "1", "110105", "MA01ABCD")  # valid, never registered
    for subject in (ORG, ORG2, stranger):
        for as_of in ("2026-02-01T09:00", "2026-03-03", "2029-01-01"):
            params = {"subject": subject, "measure": MEASURE, "as_of": as_of}
            a, b = api.get("/v1/checks", params=params), fast.get("/v1/checks", params=params)
            assert a.status_code == b.status_code == 200
            assert b.json() == a.json()
            # the API answers this route in front of the framework: its framework route (the
            # documented one, left to answer here) gives the same
            c = in_framework.get("/v1/checks", params=params, headers=auth)
            assert c.status_code == 200 and c.json() == a.json()
            outcomes.add(b.json()["outcome"])
    assert outcomes == {"allowed", "restricted", "unknown_subject"}
    # a person's number never goes in a URL, on either server; in the body it is answered
    for subject in (PERSON, "110105197005050037"):
        params = {"subject": subject, "measure": MEASURE}
        a, b = api.get("/v1/checks", params=params), fast.get("/v1/checks", params=params)
        assert a.status_code == b.status_code == 422
        assert a.json()["error"] == b.json()["error"] == "invalid_input"
    person = fast.post(
        "/v1/checks/bulk", json={"measure": MEASURE, "subjects": [PERSON], "as_of": "2026-03-03"}
    )
    assert person.status_code == 200 and PERSON not in person.text
    # the same mistakes, the same answers
    for params, headers in (
        ({"subject": ORG, "measure": "teleport"}, auth),
        ({"subject": "91110000600037341M", "measure": MEASURE}, auth),
        ({"subject": ORG, "measure": MEASURE, "as_of": "soon"}, auth),
        ({"subject": ORG, "measure": MEASURE}, {"Authorization": "Bearer nonsense"}),
        ({"subject": ORG, "measure": MEASURE}, {"Authorization": f"Bearer {other['token']}"}),
        ({"subject": ORG, "measure": MEASURE}, {}),
        ({"subject": ORG * 3, "measure": MEASURE}, auth),
        ({"subject": ORG, "measure": "m" * 81}, auth),
        ({"subject": ORG}, auth),
    ):
        a = httpx.get(f"{server}/v1/checks", params=params, headers=headers)
        b = httpx.get(f"{check_server}/v1/checks", params=params, headers=headers)
        c = in_framework.get("/v1/checks", params=params, headers=headers)
        assert (b.status_code, b.json()["error"]) == (a.status_code, a.json()["error"]), params
        assert (c.status_code, c.json()["error"]) == (a.status_code, a.json()["error"]), params
        if a.json()["error"] == "invalid_request":  # the framework's own words
            assert a.json() == c.json()
        assert b.status_code in (401, 403, 404, 422)
    # bulk, as JSON and as lines, equals the API's batch
    codes = [ORG, ORG2, PERSON, ORG.lower()]
    batch = api.post(
        "/v1/checks", json={"measure": MEASURE, "subjects": codes, "as_of": "2026-03-03"}
    )
    want = [r["outcome"] for r in batch.json()["results"]]
    bulk = fast.post(
        "/v1/checks/bulk", json={"measure": MEASURE, "subjects": codes, "as_of": "2026-03-03"}
    )
    assert bulk.status_code == 200 and bulk.json()["outcomes"] == want
    assert "restricted" in want
    lines = fast.post(
        "/v1/checks/bulk",
        params={"measure": MEASURE, "as_of": "2026-03-03"},
        content="\n".join(codes).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert lines.json()["outcomes"] == want
    bad = fast.post("/v1/checks/bulk", json={"measure": MEASURE, "subjects": [ORG, "x"]})
    assert bad.status_code == 422 and bad.json()["detail"]["invalid"][0]["index"] == 1
    assert fast.post("/v1/checks/bulk", content=b"{").status_code == 422
    assert fast.get("/nowhere").status_code == 404
    # every single check through the check server is in the subject's file (recorded by the
    # flusher thread within about a second)
    checks.index(reg).read_log.flush()
    deadline = time.monotonic() + 10
    while True:
        with reg.engine.connect() as conn:
            recorded = conn.execute(select(func.count()).select_from(reads)).scalar_one()
        # both servers' single checks (2 organisations at 3 moments), the person's check in a
        # body, and more
        if recorded - reads_before >= 2 * 6 + 1 + 1:
            break
        assert time.monotonic() < deadline, (recorded, reads_before)
        time.sleep(0.1)


def test_serve_checks_records_every_check_through_its_recorder(
    reg: Registry, env: dict[str, str], tmp_path: Path
) -> None:
    """`socialcredit serve-checks` as users run it: Granian workers, the spool, the recorder
    process; a check answered over HTTP is in the subject's file after the server stops."""
    op = "test:operator"
    token = create_principal(reg, "agency", "CAAC", actor=op, measures=[MEASURE])["token"]
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    port = free_port()
    e = dict(env, SOCIALCREDIT_CHECK_FILE=str(tmp_path / "checks.bin"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socialcredit",
            "serve-checks",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=e,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve-checks did not start"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        outcomes = [
            httpx.get(
                f"{base}/v1/checks",
                params={"subject": s, "measure": MEASURE, "as_of": "2026-06-01"},
                headers=auth,
            ).json()["outcome"]
            for s in (ORG, ORG2, ORG)
        ]
        assert outcomes == ["restricted", "unknown_subject", "restricted"]  # ORG2: never registered
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    with reg.engine.connect() as conn:
        rows = conn.execute(select(reads.c.subject_id, reads.c.reader)).all()
    assert sorted(r.subject_id for r in rows) == sorted([ORG, ORG2, ORG])
    assert {r.reader for r in rows} == {"agency:CAAC"}
    assert list((tmp_path / "checks.bin.reads").glob("*.json")) == []
