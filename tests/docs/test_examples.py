"""The documentation site: it builds with warnings as errors, and every shell example in it runs
(tests/docs/examples.py says how)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.docs.examples import (
    DOCS,
    REPO,
    blocks,
    copy_registry,
    pages,
    run_page,
    shell_blocks,
)

pytestmark = pytest.mark.e2e

GUIDES = [p for p in pages() if p.parent == DOCS / "guides" and p.name != "index.md"]
OTHERS = [p for p in pages() if p.parent != DOCS / "guides" and shell_blocks(p)]


def _id(p: Path) -> str:
    return str(p.relative_to(DOCS))


@pytest.fixture(scope="module")
def example_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry every guide starts from, made by the examples of docs/guides/index.md."""
    work = tmp_path_factory.mktemp("example-registry")
    run_page(DOCS / "guides" / "index.md", work)
    return work


def test_the_example_registry_is_made_by_its_page(example_registry: Path) -> None:
    assert (example_registry / "socialcredit.db").stat().st_size > 0
    assert (example_registry / "data" / "court.jsonl").is_file()


@pytest.mark.parametrize("page", GUIDES, ids=_id)
def test_guide_examples_run(page: Path, example_registry: Path, tmp_path: Path) -> None:
    assert shell_blocks(page), f"{_id(page)} has no example"
    run_page(page, copy_registry(example_registry, tmp_path / "work"))


@pytest.mark.parametrize("page", OTHERS, ids=_id)
def test_other_examples_run(page: Path, tmp_path: Path) -> None:
    run_page(page, tmp_path)


def test_http_examples_are_curl_commands() -> None:
    """An HTTP example is written as a curl command, which a reader can paste and the test
    runs; a bare ```http block would be checked by nothing."""
    bare = [b.where() for p in pages() for b in blocks(p) if b.lang == "http"]
    assert bare == []


def test_a_broken_example_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\nX=$(socialcredit policy validate >/dev/null && echo ok)\n```\n\n"
        '```sh\ntest "$X" = ok\nsocialcredit no-such-command\n```\n',
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match=r"page.md:5 failed \(2\)"):
        run_page(page, tmp_path)


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(REPO / ".venv/bin/mkdocs"), "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("reference/cli", "reference/api", "reference/pack", "guides/agency"):
        assert (tmp_path / page / "index.html").is_file()
    cli = (tmp_path / "reference/cli/index.html").read_text(encoding="utf-8")
    assert "socialcredit backfill" in cli and "--workers" in cli
    api = (tmp_path / "reference/api/index.html").read_text(encoding="utf-8")
    assert "/v1/checks" in api and "/screening/match/{dataset}" in api
