"""MkDocs hooks of the documentation site (mkdocs.yml): the three references are generated
from the code at build time (socialcredit.cli.reference), and a link from docs/ to a file of the
repository outside it (../bench/results/...) is shown as that file's path, since the site does
not carry it."""

from __future__ import annotations

import re
from typing import Any

from mkdocs.structure.files import File, Files

# [text](../path) where the path leaves docs/: Markdown links only, not images
_OUTSIDE = re.compile(r"(?<!!)\[([^\]]+)\]\(((?:\.\./)+)([^)#\s]+)(#[^)\s]*)?\)")


def on_files(files: Files, config: Any) -> Files:
    from socialcredit.cli.reference import api_markdown, cli_markdown, pack_markdown

    for name, make in (
        ("cli.md", cli_markdown),
        ("api.md", api_markdown),
        ("pack.md", pack_markdown),
    ):
        files.append(File.generated(config, f"reference/{name}", content=make()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    depth = page.file.src_uri.count("/")

    def outside(m: re.Match[str]) -> str:
        ups = m.group(2).count("../")
        if ups <= depth:
            return m.group(0)  # a page of the site
        return f"{m.group(1)} (`{m.group(3)}` in the repository)"

    return _OUTSIDE.sub(outside, markdown)
