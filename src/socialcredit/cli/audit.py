"""The log: verify it (whole, sampled, against a published head), prove a fact, export a
trail; rebuild the projections; back up and restore."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    actor,
    app,
    clerk_errors,
    err,
    out,
    print_json,
    progress_bar,
    registry,
)

audit_app = typer.Typer(
    help="The hash-chained event log: verify it, prove a fact, export a trail.",
    no_args_is_help=True,
)


@app.command()
@clerk_errors
def rebuild() -> None:
    """Drop every projection table and rebuild it from the event log; show that nothing changed.

    Example: socialcredit rebuild
    """
    from ..services import audit

    reg = registry()
    before = audit.fingerprint(reg)
    with progress_bar() as bar:
        task = bar.add_task("replay events", total=audit.event_count(reg))
        n = audit.rebuild(reg, progress=lambda k: bar.advance(task, k))
    after = audit.fingerprint(reg)
    t = Table(title=f"rebuilt from {n} events")
    for col in ("table", "rows", "sha256 before", "sha256 after", "same"):
        t.add_column(col)
    for name in before:
        same = before[name] == after[name]
        t.add_row(
            name,
            str(after[name]["rows"]),
            before[name]["sha256"][:16],
            after[name]["sha256"][:16],
            "yes" if same else "[red]NO[/]",
        )
    out.print(t)
    if before != after:
        err.print("[bold red]rebuilt projections differ from the live ones[/]")
        raise typer.Exit(1)


@app.command()
@clerk_errors
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (gzip JSON Lines).")],
) -> None:
    """Write the event log and attachments to PATH from one snapshot; safe while serving.

    Example: socialcredit backup /backups/registry-2026-11-24.scbak
    """
    from ..services import audit
    from ..services.backup import backup as run_backup

    reg = registry()
    with progress_bar() as bar:
        task = bar.add_task("back up events", total=audit.event_count(reg))
        summary = run_backup(reg, path, progress=lambda k: bar.advance(task, k))
    print_json(summary.as_dict())


@app.command()
@clerk_errors
def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `socialcredit backup`.")],
) -> None:
    """Restore a backup into the empty database named by SOCIALCREDIT_DATABASE_URL: load the
    log, verify its chain and rebuild every projection, in one transaction.

    Example: SOCIALCREDIT_DATABASE_URL=sqlite:///new.db socialcredit restore registry.scbak
    """
    from ..services.backup import restore as run_restore

    reg = registry()
    with progress_bar() as bar:
        task = bar.add_task("restore and replay events", total=None)
        summary = run_restore(reg, path, progress=lambda k: bar.advance(task, k))
    print_json(summary.as_dict())


@audit_app.command("verify")
@clerk_errors
def audit_verify(
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="A signed tree head kept before (a file, or the URL of /v1/audit/head or of "
            "a day's open-data manifest): prove the log extends it.",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            help="Walk the chain of batch events and check only this many facts drawn at "
            "random (each with its chunk of the batch's Merkle tree), not every fact.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain and every batch's Merkle root; exit non-zero and name the first
    altered, missing or reordered event or fact.

    Example: socialcredit audit verify --against head-2026-11-01.json
    """
    from ..services.audit import verify_against, verify_chain

    reg = registry()
    if against is None:
        report = verify_chain(reg, sample)
    else:
        head = _read_head(against)
        report = verify_against(reg, head)
        if report.ok:
            out.print(f"the log extends the head of {head['at']} (size {head['size']})")
    if report.ok:
        out.print(
            f"[green]chain verified[/]: {report.events_checked} events"
            f"{' (the chain and a sample of facts)' if sample else ''}, head {report.head_seq}"
        )
        return
    err.print(f"[bold red]chain broken at event {report.first_bad_seq}[/]: {report.problem}")
    raise typer.Exit(1)


def _read_head(where: str) -> dict[str, Any]:
    """A tree head from a file or a URL; a day's open-data manifest carries one too."""
    if where.startswith(("http://", "https://")):
        import httpx

        r = httpx.get(where, timeout=30, follow_redirects=True)
        if r.status_code != 200:
            raise InvalidInput(f"{where} answered {r.status_code}")
        data = r.json()
    else:
        try:
            data = json.loads(Path(where).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read a tree head from {where}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("tree_head"), dict):
        data = data["tree_head"]
    if not isinstance(data, dict):
        raise InvalidInput(f"{where} holds no tree head")
    return data


@audit_app.command("export")
@clerk_errors
def audit_export(
    subject: Annotated[str, typer.Option("--subject", help="USCC or resident ID number.")],
) -> None:
    """Print the subject's trail as JSON Lines: every event about it with its chain hash.

    Example: socialcredit audit export --subject 91110000600037341L > trail.jsonl
    """
    from ..services.audit import export_subject

    for item in export_subject(registry(), subject, reader=actor("cli:auditor")):
        sys.stdout.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")


@audit_app.command("prove")
@clerk_errors
def audit_prove(
    seq: Annotated[int, typer.Argument(help="The fact's number in the log (its seq).")],
) -> None:
    """Print one fact with its proof as JSON: its leaf hash, its audit path to the Merkle root
    its batch event commits to, and that event's place in the chain (a chained event: its
    hash). Exits non-zero if the proof does not hold.

    Example: socialcredit audit prove 18342
    """
    from ..services.audit import prove

    item = prove(registry(), seq)
    sys.stdout.write(json.dumps(item, ensure_ascii=False, sort_keys=True, indent=2) + "\n")
    if not item["hash_verified"]:
        err.print(f"[bold red]event {seq} does not verify[/]: its content or proof was altered")
        raise typer.Exit(1)
