"""Runs the shell examples of the documentation, as a reader would type them (Datasette's habit:
an example that no longer works fails the build).

Every ```sh block of a page runs, in order, in one working directory, each block in its own
``bash -euo pipefail`` with a timeout; what a block assigns (``TOKEN=$(...)``) is kept for the
next ones. A page of the guides starts from a copy of the example registry, which
``docs/guides/index.md`` builds with its own examples; a page whose examples use ``$BASE``
gets ``socialcredit serve`` on a free port of its own directory, from its first such example. ``curl`` fails on an HTTP error
unless the example writes out the status itself (``-w``).

Long-running examples are checked for their help only: ``socialcredit serve``,
``serve-checks`` and ``demo``, the repository's ``scripts/*`` and ``bench/*.py``; a pytest
command in the docs is collected, not run; ``python -m MODULE`` is imported.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SHELL = {"sh", "bash", "shell", "console"}
BLOCK_TIMEOUT = 240.0

PRELUDE = r"""
export PATH="$REPO/.venv/bin:$PATH"
socialcredit() {
  local a
  for a in "$@"; do
    case "$a" in
      serve|serve-checks|demo) command socialcredit "$a" --help >/dev/null; return ;;
      -*) ;;
      *) break ;;
    esac
  done
  # 141: the reader of the output went away (`| head`), as a shell without pipefail sees it
  command socialcredit "$@" || { local s=$?; [ $s -eq 141 ] || return $s; }
}
curl() {
  # 23: the output could not be written because its reader went away (`| head`)
  case " $* " in
    *" -w "*|*" --write-out "*) command curl --silent --show-error "$@" ;;
    *) command curl --fail-with-body --silent --show-error "$@" ;;
  esac || { local s=$?; [ $s -eq 23 ] || return $s; }
}
"""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    code: str

    def where(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page.name
        return f"{page}:{self.line}"


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page (at any indentation), with their info string."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        found.append(Block(page, start, lang, "\n".join(body)))
    return found


def shell_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang in SHELL]


def _logical_lines(code: str) -> list[str]:
    out: list[str] = []
    buf = ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        out.append(buf + line)
        buf = ""
    if buf:
        out.append(buf)
    return out


_PYTEST = re.compile(r"^\s*(?:\.venv/bin/)?(?:pytest|python3? -m pytest)\b(.*)$")
_MODULE = re.compile(r"^\s*(?:\.venv/bin/)?python3? -m ([\w.]+)")
_BENCH = re.compile(r"^\s*(?:\.venv/bin/)?python3? (bench/[\w./-]+\.py)")
_SCRIPT = re.compile(r"^\s*(scripts/[\w.-]+)")


def runnable(code: str) -> str:
    """The block as it runs: long-running commands of the repository replaced by their checks."""
    out = []
    for line in _logical_lines(code):
        bare = line.split("  #", 1)[0]
        if m := _PYTEST.match(bare):
            args = [a for a in shlex.split(m.group(1)) if a not in {"-s", "-q"}]
            out.append(
                f'(cd "$REPO" && .venv/bin/python -m pytest --collect-only -q '
                f"-p no:cacheprovider {shlex.join(args)} >/dev/null)"
            )
        elif m := _MODULE.match(bare):
            out.append(f'(cd "$REPO" && .venv/bin/python -c "import {m.group(1)}")')
        elif m := _BENCH.match(bare):
            out.append(f'"$REPO/.venv/bin/python" "$REPO/{m.group(1)}" --help >/dev/null')
        elif m := _SCRIPT.match(bare):
            out.append(f'"$REPO/{m.group(1)}" --help >/dev/null')
        else:
            out.append(line)
    return "\n".join(out)


@dataclass
class Failure:
    block: Block
    status: int | str
    output: str

    def __str__(self) -> str:
        return (
            f"the example at {self.block.where()} failed ({self.status}):\n"
            f"{self.block.code}\n--- output (last 3000 characters) ---\n{self.output[-3000:]}"
        )


def run_page(page: Path, workdir: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run the page's shell examples in ``workdir``; the outputs, one per block. Raises
    AssertionError with the failing example and its output."""
    state = workdir / ".example-state.sh"
    base_env = {**os.environ, **(env or {}), "REPO": str(REPO)}
    for key in ("SOCIALCREDIT_DATABASE_URL", "SOCIALCREDIT_PACK", "SOCIALCREDIT_CHECK_FILE"):
        base_env.pop(key, None)
    state.write_text("", encoding="utf-8")
    server = None
    outputs: list[str] = []
    try:
        for block in shell_blocks(page):
            if server is None and "$BASE" in block.code:
                # started when first needed: its sweep acts at the present moment
                server, base_env["BASE"] = _serve(workdir, base_env)
            script = (
                f"set -euo pipefail\nsource {shlex.quote(str(state))}\n{PRELUDE}\nset -a\n"
                f"{runnable(block.code)}\nset +a\n"
                f"export -p > {shlex.quote(str(state))}.next\n"
            )
            try:
                done = subprocess.run(
                    ["bash", "-c", script],
                    cwd=workdir,
                    env=base_env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=BLOCK_TIMEOUT,
                )
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else e.stdout or ""
                failure = Failure(block, f"timeout {BLOCK_TIMEOUT:.0f} s", out)
                raise AssertionError(str(failure)) from None
            if done.returncode != 0:
                raise AssertionError(
                    str(Failure(block, done.returncode, done.stdout + done.stderr))
                )
            Path(f"{state}.next").replace(state)
            outputs.append(done.stdout)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return outputs


def _serve(workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = (workdir / ".serve.log").open("wb")
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/socialcredit"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(
                    "socialcredit serve did not start:\n"
                    + (workdir / ".serve.log").read_text(errors="replace")[-3000:]
                ) from None
            time.sleep(0.2)


def copy_registry(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".example-state.sh*", ".serve.log"))
    return dest
