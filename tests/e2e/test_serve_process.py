"""`socialcredit serve` leaves nothing running behind it: its check-reads recorder stops when
the server is stopped, and also when the server is killed outright (it cannot then be told to
stop; the documentation's examples left such recorders running, one a page)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_recorder_does_not_outlive_the_server(
    env: dict[str, str], tmp_path: Path, how: signal.Signals
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "socialcredit", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.2)
        recorders = _children(server.pid)
        assert recorders, "the server runs its check-reads recorder"
        os.kill(server.pid, how)
        server.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in recorders) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in recorders), f"left running after {how.name}"
    finally:
        if server.poll() is None:
            server.kill()
