"""What every command group shares: the application, its consoles, the registry of the
environment (``--as-of`` in the pack's time zone), clerk-friendly errors, progress bars, JSON.

Every command that evaluates state takes ``--as-of`` and answers as of that moment; every command
that writes takes it too and then acts as if it were that moment (the clock is injected).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..bootstrap import Registry
from ..clock import FixedClock, SystemClock, parse_moment
from ..config import Settings
from ..errors import RegistryError

app = typer.Typer(
    name="socialcredit",
    help=(
        "A credit-information registry: one identity per subject, records from competent "
        "authorities, declared red and black lists, point-of-service checks, and due process.\n\n"
        "The database is SOCIALCREDIT_DATABASE_URL (an SQLite file socialcredit.db here if unset)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader of the output went away (``socialcredit policy show | head``): stop
        quietly with the status of a tool ended by SIGPIPE (Rich's default is 1, an error)."""
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141)


out = _Console(soft_wrap=True)


@app.callback()
def _options(
    pack: Annotated[
        Path | None,
        typer.Option(
            "--pack",
            help="A policy pack directory, or the name of a bundled pack (cn-national, "
            "eu-edes). Default: SOCIALCREDIT_PACK, or cn-national.",
        ),
    ] = None,
) -> None:
    if pack is not None:
        os.environ["SOCIALCREDIT_PACK"] = str(pack)


err = Console(stderr=True)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Act and answer as of this moment: YYYY-MM-DD or YYYY-MM-DDTHH:MM "
        "(in the pack's time zone). Default: now.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def clerk_errors(fn: F) -> F:
    """Turn registry errors into one clear line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RegistryError as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if isinstance(exc.detail, dict) and exc.detail.get("invalid"):
                for item in exc.detail["invalid"][:20]:
                    err.print(f"  {item}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def registry(as_of: str | None = None) -> Registry:
    """The registry of the environment; ``as_of`` is read in its pack's time zone."""
    reg = Registry(Settings.from_env(), clock=SystemClock())
    if as_of:
        reg.clock = FixedClock(parse_moment(as_of, reg.tz))
    return reg


def actor(kind: str) -> str:
    return f"{kind}:{os.environ.get('USER', 'operator')}"


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not os.environ.get("SOCIALCREDIT_PROGRESS"),
    )


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _resolve(reg: Any, item_ids: list[str] | None, label: str, engine: str = "duckdb") -> Any:
    from ..services import resolution

    if engine not in ("duckdb", "spark"):
        raise typer.BadParameter("--engine is duckdb or spark")
    total = len(item_ids) if item_ids is not None else len(resolution.open_items(reg))
    with progress_bar() as bar:
        task = bar.add_task(label, total=total)
        return resolution.run(
            reg,
            actor=actor("cli:resolution"),
            item_ids=item_ids,
            progress=lambda n: bar.advance(task, n),
            engine=engine,
        )
