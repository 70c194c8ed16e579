"""Records in: ingest a file, generate realistic agency files; sources and their tokens; the
lists and their lifecycle."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..clock import iso
from ..errors import InvalidInput
from .common import (
    AsOf,
    _resolve,
    actor,
    app,
    clerk_errors,
    out,
    print_json,
    progress_bar,
    registry,
)

if TYPE_CHECKING:
    from ..services.ingest import IngestSummary

sources_app = typer.Typer(
    help="Sources (authorities that submit records) and their API tokens.", no_args_is_help=True
)

lists_app = typer.Typer(
    help="Red and black lists: listings and their lifecycle.", no_args_is_help=True
)


def _count_rows(path: Path) -> int | None:
    if path.suffix.lower() == ".gz":
        return None  # lines of a compressed file are not counted without reading it twice
    try:
        with path.open("rb") as f:
            n = sum(1 for line in f if line.strip())
        return n - 1 if path.suffix.lower() == ".csv" else n
    except OSError:
        return None


@app.command()
@clerk_errors
def ingest(
    file: Annotated[
        Path, typer.Argument(help="A CSV or JSON Lines file in the interchange format.")
    ],
    source: Annotated[
        str, typer.Option("--source", help="The source submitting it: court, samr, tax, ...")
    ],
    as_of: AsOf = None,
    batch_size: Annotated[int, typer.Option(help="Rows per transaction.", min=1)] = 1000,
    resolve: Annotated[
        bool,
        typer.Option(
            help="Then let the model link the rows it queued (the policy's thresholds decide)."
        ),
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="A national publication format of the pack (socialcredit formats list), or "
            "auto for the one whose headers the file has; omitted: the interchange format.",
        ),
    ] = None,
) -> None:
    """Validate and record an agency file; report every rejected row with its reason.

    Exits non-zero only when the file cannot be read at all; rejected rows are reported. A
    row without a subject code is linked where the law maps it (a legacy organisation code);
    otherwise it is queued, and the model then links it (above the upper threshold), proposes
    candidates to a reviewer, or leaves it unresolved (see socialcredit resolve run).

    Example: socialcredit ingest court.jsonl --source court --as-of 2026-03-01
    Example: socialcredit ingest 行政处罚.xlsx --source samr --format auto
    """
    from ..ingest.readers import read_rows
    from ..services.ingest import ingest as run_ingest
    from ..services.ingest import ingest_format

    reg = registry(as_of)
    if fmt is not None:
        with progress_bar() as bar:
            task = bar.add_task(f"ingest {file.name}", total=None)
            summary, used = ingest_format(
                reg,
                file,
                source,
                fmt,
                actor=actor(f"cli:{source}"),
                batch_size=batch_size,
                progress=lambda n: bar.advance(task, n),
            )
        if not json_out:
            out.print(f"format [bold]{used}[/]")
    else:
        rows = read_rows(file)
        total = _count_rows(file)
        with progress_bar() as bar:
            task = bar.add_task(f"ingest {file.name}", total=total)
            summary = run_ingest(
                reg,
                rows,
                source,
                actor=actor(f"cli:{source}"),
                file_name=file.name,
                batch_size=batch_size,
                progress=lambda n: bar.advance(task, n),
            )
    found = None
    if resolve and summary.queued_items:
        found = _resolve(reg, summary.queued_items, f"resolve {file.name}")
    if json_out:
        print_json(summary.as_dict() | ({"resolution": found.as_dict()} if found else {}))
        return
    out.print(f"[bold]{file}[/] from [bold]{source}[/] as of {iso(reg.now(), reg.tz)}")
    _print_summary(summary, found)


def _print_summary(s: IngestSummary, found: Any = None) -> None:
    """An ingest's counts and its first rejected rows, as a table."""
    table = Table(show_header=False, box=None)
    for label, value in (
        ("rows read", s.rows),
        ("accepted (new records)", s.accepted),
        ("amended", s.amended),
        ("unchanged (resubmitted)", s.unchanged),
        ("rejected", s.rejected),
        ("queued for review (no code)", s.queued),
        ("subjects registered", s.subjects_registered),
        ("listings proposed", s.listings_proposed),
        ("listings notified", s.listings_notified),
        ("listings ended", s.listings_ended),
        ("barred from listing", s.barred),
    ):
        table.add_row(label, str(value))
    if found is not None:
        for label, value in (
            ("  linked by the model", found.linked),
            ("  candidates for a reviewer", found.review),
            ("  unresolved", found.unresolved),
            ("  persons, left to reviewers", found.persons_left),
        ):
            table.add_row(label, str(value))
    out.print(table)
    if s.rejects:
        rt = Table(
            title=f"rejected rows (first {min(len(s.rejects), 50)} of {len(s.rejects)} problems)"
        )
        rt.add_column("row", justify="right")
        rt.add_column("field")
        rt.add_column("reason")
        for r in s.rejects[:50]:
            rt.add_row(str(r.row), r.field, r.reason)
        out.print(rt)


@app.command()
@clerk_errors
def backfill(
    files: Annotated[
        list[Path],
        typer.Argument(help="Files to load, in order (CSV or JSON Lines, or a national format)."),
    ],
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            help="The source of the files: once for all, or once a file in their order.",
        ),
    ],
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="A national format of the pack, or auto (once for all, or once a file); "
            "omitted: the interchange format.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Processes (or Spark tasks) loading at once.", min=1)
    ] = 2,
    engine: Annotated[
        str, typer.Option(help="local (worker processes here) or spark (Spark tasks).")
    ] = "local",
    batch_size: Annotated[int, typer.Option(help="Rows per batch in each shard.", min=1)] = 5000,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the shards are built (as large as what they load); default: "
            "beside an SQLite store, else the system's temporary directory."
        ),
    ] = None,
    resolve: Annotated[
        bool,
        typer.Option(
            help="Then let the model link the rows it queued (the policy's thresholds decide)."
        ),
    ] = True,
    as_of: AsOf = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Load large files into an empty registry with several processes at once.

    The rows are grouped by the subjects they name and shared among WORKERS shards; each shard
    goes through the ordinary ingest (the same rules, the same batches with their Merkle roots)
    in a process of its own, and the shards are then merged into the registry's log. Only an
    empty registry is backfilled: one that holds records takes socialcredit ingest.

    Example: socialcredit backfill samr.csv tax.csv court.jsonl --source samr --source tax --source court --workers 8
    """
    from ..services.backfill import BackfillFile
    from ..services.backfill import backfill as run_backfill

    def each(values: list[str] | None, what: str) -> list[str | None]:
        if not values:
            return [None] * len(files)
        if len(values) == 1:
            return values * len(files)  # type: ignore[return-value]
        if len(values) != len(files):
            raise InvalidInput(f"give {what} once, or once for each of the {len(files)} files")
        return list(values)

    sources = each(source, "--source")
    formats = each(fmt, "--format")
    todo = [
        BackfillFile(f, str(src), fm) for f, src, fm in zip(files, sources, formats, strict=True)
    ]
    reg = registry(as_of)
    total = sum(n for f in files if (n := _count_rows(f)) is not None) or None
    with progress_bar() as bar:
        tasks = {stage: bar.add_task(stage, total=total) for stage in ("read", "ingest", "merge")}
        summary = run_backfill(
            reg,
            todo,
            actor=actor("cli:backfill"),
            workers=workers,
            engine=engine,
            batch_size=batch_size,
            work_dir=work_dir,
            progress=lambda stage, n: bar.advance(tasks[stage], n),
        )
    queued = [i for s in summary.files for i in s.queued_items]
    found = _resolve(reg, queued, "resolve the queued rows") if resolve and queued else None
    if json_out:
        print_json(summary.as_dict() | ({"resolution": found.as_dict()} if found else {}))
        return
    out.print(
        f"backfill on {summary.engine}, {summary.shards} shards of "
        f"{', '.join(f'{n:,}' for n in summary.rows_per_shard)} rows; "
        + ", ".join(f"{k} {v:,.1f} s" for k, v in summary.seconds.items())
    )
    for f, s in zip(files, summary.files, strict=True):
        out.print(f"[bold]{f}[/] from [bold]{s.source}[/] as of {iso(reg.now(), reg.tz)}")
        _print_summary(s)
    if found is not None:
        out.print(
            f"queued rows: {found.linked} linked by the model, {found.review} for a reviewer, "
            f"{found.unresolved} unresolved"
        )


@lists_app.command("advance")
@clerk_errors
def lists_advance(as_of: AsOf = None) -> None:
    """Record the activations and expiries that time has brought (the server does this itself).

    Example: socialcredit lists advance --as-of 2026-04-01
    """
    from ..services.listings import advance

    reg = registry(as_of)
    result = advance(reg, actor("cli:sweep"))
    out.print(
        f"as of {iso(reg.now(), reg.tz)}: {result.activated} listings activated, "
        f"{result.expired} ended on expiry"
    )


@lists_app.command("show")
@clerk_errors
def lists_show(
    list_id: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    state: Annotated[
        str | None,
        typer.Option(
            help="Only listings in this state at the moment: proposed, notified, active, ended."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_of: AsOf = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Listings and their state at a moment, with counts per list.

    Example: socialcredit lists show --list dishonest_judgment_debtors --state active
    """
    from ..services.views import listings_at

    reg = registry(as_of)
    data = listings_at(reg, list_id=list_id, state=state, limit=limit)
    if json_out:
        print_json(data)
        return
    counts = Table(title=f"listings as of {data['as_of']}")
    for col in ("list", "proposed", "notified", "active", "ended"):
        counts.add_column(col, justify="left" if col == "list" else "right")
    for lid, c in data["counts"].items():
        counts.add_row(
            lid, *(str(c.get(k, 0)) for k in ("proposed", "notified", "active", "ended"))
        )
    out.print(counts)
    if data["listings"]:
        t = Table(title=f"first {len(data['listings'])} listings")
        for col in ("subject", "list", "state", "decision_ref", "since", "until"):
            t.add_column(col)
        for item in data["listings"]:
            t.add_row(
                item["subject"],
                item["list"],
                item["state"],
                item["decision_ref"] or "",
                item["since"] or "",
                item["until"] or "",
            )
        out.print(t)


@sources_app.command("token")
@clerk_errors
def sources_token(
    source: Annotated[str, typer.Argument(help="court, samr, tax, ...")],
    label: Annotated[str, typer.Option(help="Who holds the token, e.g. the court's system.")] = "",
    as_of: AsOf = None,
) -> None:
    """Issue an API token for a source; it is printed once and only its hash is kept.

    Example: socialcredit sources token court --label "Beijing courts gateway"
    """
    from ..services.sources import issue_token

    token = issue_token(registry(as_of), source, label or source, actor("cli:operator"))
    sys.stdout.write(token + "\n")


@sources_app.command("contact")
@clerk_errors
def sources_contact(
    source: Annotated[str, typer.Argument(help="court, samr, tax, ...")],
    email: Annotated[str | None, typer.Option("--email", help="An e-mail address.")] = None,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="An http(s) URL for signed webhooks.")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Where a source's notices go: each objection to its records, with the deadline to
    answer. Prints the webhook's signing secret once.

    Example: socialcredit sources contact court --email objections@court.example
    """
    from ..services.notices import set_source_contact

    print_json(
        set_source_contact(
            registry(as_of),
            source,
            email=email,
            webhook_url=webhook_url,
            actor=actor("cli:operator"),
        )
    )


@sources_app.command("revoke")
@clerk_errors
def sources_revoke(
    token: Annotated[
        str, typer.Argument(help="The token (sc_…) or its id, as `sources tokens` shows it.")
    ],
    as_of: AsOf = None,
) -> None:
    """Revoke a source's API token: it stops working at once (a leaked token, a retired
    gateway).

    Example: socialcredit sources revoke 3f9a1c0b7d2e
    """
    from ..services.sources import revoke_token

    print_json(revoke_token(registry(as_of), token, actor("cli:operator")))


@sources_app.command("tokens")
@clerk_errors
def sources_tokens() -> None:
    """Every source token with its id, label, and when it was issued and revoked.

    Example: socialcredit sources tokens
    """
    from ..services.sources import list_tokens

    reg = registry()
    t = Table(title="source tokens")
    for col in ("id", "source", "label", "issued", "revoked"):
        t.add_column(col)
    for tk in list_tokens(reg):
        t.add_row(
            tk["id"],
            tk["source"],
            tk["label"],
            iso(tk["issued_at"], reg.tz) or "",
            iso(tk["revoked_at"], reg.tz) or "",
        )
    out.print(t)


@sources_app.command("list")
@clerk_errors
def sources_list() -> None:
    """Sources of the pack, what each may submit, and their tokens.

    Example: socialcredit sources list
    """
    from ..services.sources import list_tokens

    reg = registry()
    t = Table(title="sources")
    t.add_column("source")
    t.add_column("name")
    t.add_column("competent for")
    t.add_column("tokens (active)")
    tokens = list_tokens(reg)
    for sid, s in reg.pack.sources.items():
        active = sum(1 for tk in tokens if tk["source"] == sid and tk["revoked_at"] is None)
        t.add_row(sid, s.name.en, ", ".join(s.competent_for), str(active))
    out.print(t)


@app.command()
@clerk_errors
def generate(
    entities: Annotated[int, typer.Option(help="How many subjects to generate.", min=1)] = 1000,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the files.")] = Path(
        "generated"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
) -> None:
    """Write realistic agency files (court.jsonl, samr.csv, tax.csv), a register extract and
    the truth of the rows written without a code (codeless.jsonl).

    Example: socialcredit generate --entities 100000 --out data/
    """
    from ..generate import generate as run_generate

    with progress_bar() as bar:
        task = bar.add_task("generate", total=entities)
        summary = run_generate(
            entities, out_dir, seed=seed, progress=lambda n: bar.advance(task, n)
        )
    out.print(f"wrote {out_dir}: " + ", ".join(f"{k} ({v} rows)" for k, v in summary.files.items()))
    out.print(
        f"{summary.organisations} organisations, {summary.persons} persons; "
        f"{summary.rows_with_errors} rows with deliberate errors, "
        f"{summary.rows_without_code} rows without a code"
    )
