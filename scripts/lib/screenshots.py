"""Screenshots of the pages a person uses, for docs/screenshots/: the organisation's profile,
its credit report (the PDF's first page), /me, /console and /transparency, in Chinese and
English, at desktop and phone widths, taken in Debian's Chromium (Playwright) from a registry
built like the example registry of the guides (docs/guides/index.md). Run by scripts/screenshots;
the gallery page docs/screenshots/index.md is written with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "screenshots"
CLI = str(REPO / ".venv" / "bin" / "socialcredit")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "lantern-harbour-quartz-64"
WIDTHS = {"desktop": (1280, 860), "phone": (390, 844)}
LANGS = ("zh", "en")
MAX_HEIGHT = 2400  # a long page is cut here: the top of a page is what a reader sees first


def say(line: str) -> None:
    sys.stderr.write(line + "\n")


def cli(*args: str, cwd: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        [CLI, *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"socialcredit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def build_registry(work: Path) -> dict[str, str]:
    """The example registry, an account for a listed organisation and a reviewer, and an
    objection, so that /me and /console have something to show."""
    say("building the example registry")
    cli("generate", "--entities", "300", "--out", "data/", "--seed", "0", cwd=work)
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        cli("ingest", f"data/{name}", "--source", source, "--as-of", "2026-08-01", cwd=work)
    cli("lists", "advance", "--as-of", "2026-10-01", cwd=work)
    listed = json.loads(
        cli("lists", "show", "--list", "dishonest_judgment_debtors", "--state", "active",
            "--json", cwd=work)
    )["listings"]  # fmt: skip
    org = next(x for x in listed if not x["subject"].startswith("*"))
    code, listing = org["subject"], org["listing_id"]
    cli("principals", "add", "subject", "--name", "Legal officer", "--subject", code,
        "--username", "org", cwd=work, stdin=PASSWORD)  # fmt: skip
    cli("principals", "add", "reviewer", "--name", "复核员", "--username", "reviewer",
        cwd=work, stdin=PASSWORD)  # fmt: skip
    cli("objection", "file", code, "--listing", listing,
        "--grounds", "The judgment was performed in full on 2 September.", cwd=work)  # fmt: skip
    return {"code": code}


def serve(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("socialcredit serve did not start") from None
            time.sleep(0.2)


def shoot(base: str, code: str, out: Path, work: Path) -> list[tuple[str, str]]:
    from playwright.sync_api import sync_playwright

    taken: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for lang in LANGS:
            for width_name, (w, h) in WIDTHS.items():
                ctx = browser.new_context(
                    base_url=base,
                    viewport={"width": w, "height": h},
                    locale="zh-CN" if lang == "zh" else "en-GB",
                    device_scale_factor=1,
                )
                page = ctx.new_page()
                for name, path, who in (
                    ("profile", f"/org/{code}", None),
                    ("transparency", "/transparency", None),
                    ("me", "/me", "org"),
                    ("console", "/console", "reviewer"),
                ):
                    if who is not None:
                        ctx.clear_cookies()
                        page.goto(f"/signin?lang={lang}")
                        page.fill("#username", who)
                        page.fill("#password", PASSWORD)
                        page.click("form[action='/signin'] button")
                        page.wait_for_load_state("networkidle")
                    page.goto(f"{path}?lang={lang}")
                    page.wait_for_load_state("networkidle")
                    file = out / f"{name}-{lang}-{width_name}.png"
                    height = min(
                        MAX_HEIGHT, int(page.evaluate("document.documentElement.scrollHeight"))
                    )
                    page.screenshot(
                        path=str(file),
                        full_page=True,
                        clip={"x": 0, "y": 0, "width": w, "height": max(h, height)},
                    )
                    taken.append((file.name, f"{name}, {lang}, {width_name}"))
                    say(f"  {file.relative_to(REPO)}")
                ctx.close()
            # the PDF report has one width: its first page, as printed
            pdf = work / f"report-{lang}.pdf"
            with urllib.request.urlopen(f"{base}/org/{code}/report.pdf?lang={lang}") as r:
                pdf.write_bytes(r.read())
            stem = out / f"report-{lang}-page1"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                 str(pdf), str(stem)],
                check=True,
            )  # fmt: skip
            taken.append((f"{stem.name}.png", f"credit report (PDF, page 1), {lang}"))
            say(f"  {stem.relative_to(REPO)}.png")
        browser.close()
    return taken


def gallery(taken: list[tuple[str, str]], out: Path) -> None:
    lines = [
        "# Screenshots",
        "",
        "Taken by `scripts/screenshots` in Chromium from a registry built like "
        "[the example registry](../guides/index.md): the organisation's profile, its credit "
        "report, a subject's own page (`/me`), the reviewer's console and `/transparency`, in "
        "Chinese and English, at desktop (1280 px) and phone (390 px) widths. Long pages are "
        f"cut at {MAX_HEIGHT} px.",
        "",
    ]
    for name, caption in taken:
        lines += [f"## {caption}", "", f"![{caption}]({name})", ""]
    (out / "index.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the images go")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no {CHROMIUM}: run scripts/setup as root first")
    work = Path(tempfile.mkdtemp(prefix="socialcredit-screenshots-"))
    env_keep = os.environ.pop("SOCIALCREDIT_DATABASE_URL", None)
    server = None
    try:
        ids = build_registry(work)
        server, base = serve(work)
        out: Path = args.out
        if out.exists():
            for old in out.glob("*.png"):
                old.unlink()
        out.mkdir(parents=True, exist_ok=True)
        taken = shoot(base, ids["code"], out, work)
        gallery(taken, out)
        say(f"{len(taken)} screenshots in {out}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
        if env_keep is not None:
            os.environ["SOCIALCREDIT_DATABASE_URL"] = env_keep


if __name__ == "__main__":
    main()
