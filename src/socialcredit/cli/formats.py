"""``socialcredit formats``: the national publication formats the pack maps (``formats/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import Settings
from ..errors import RegistryError, UnknownEntity
from ..ingest.formats import sources_of
from ..policy import Pack, load_pack
from .common import AsOf, app, clerk_errors, print_json, registry

formats_app = typer.Typer(
    help="National publication formats: what a source's file may look like.", no_args_is_help=True
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _pack() -> Pack:
    return load_pack(Settings.from_env().pack_path)


@formats_app.command("list")
def formats_list() -> None:
    """The formats, each with the record type it yields and who publishes it.

    Example: socialcredit formats list
    """
    try:
        pack = _pack()
    except RegistryError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    for spec in pack.formats.values():
        sources = sources_of(pack, spec)
        out.print(
            f"[bold]{spec.id}[/]  -> {spec.record_type}  from {', '.join(sources)}  "
            f"{spec.name.joined()}",
            highlight=False,
        )


@formats_app.command("show")
def formats_show(
    name: Annotated[str, typer.Argument(help="A format, e.g. double_publicity_penalty.")],
) -> None:
    """Its columns as published, what each maps to, what is set for every row, its basis.

    Example: socialcredit formats show double_publicity_penalty
    """
    try:
        pack = _pack()
        spec = pack.formats.get(name)
        if spec is None:
            raise UnknownEntity(
                f"unknown format {name!r} (known: {', '.join(sorted(pack.formats))})"
            )
    except RegistryError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    out.print(f"[bold]{spec.id}[/]: {spec.name.joined()} -> {spec.record_type}")
    out.print("basis: " + "; ".join(pack.cite(spec.legal_basis)))
    for col in spec.columns:
        rule = []
        if col.required:
            rule.append("required")
        if col.date:
            rule.append("date")
        if col.scale:
            rule.append(f"x {col.scale}")
        if col.when:
            rule.append("when " + ", ".join(f"{k}={v}" for k, v in col.when.items()))
        if col.date_of_year:
            rule.append(f"the date {col.date_of_year} of the year, when no column gives one")
        if col.values:
            how = "a cell holding " if col.contains else ""
            rule.append(how + ", ".join(f"{k}->{v}" for k, v in col.values.items()))
        if col.sets:
            rule.append("a value sets " + ", ".join(f"{k}={v}" for k, v in col.sets.items()))
        if col.pattern:
            rule.append(f"pattern {col.pattern}")
        also = f" (also {' / '.join(col.header[1:])})" if col.header[1:] else ""
        target = col.to or "(read, not kept)"
        out.print(
            f"  {col.header[0]}{also} -> {target}" + (f"  [{'; '.join(rule)}]" if rule else ""),
            highlight=False,
            markup=False,
        )
    if spec.constants:
        out.print("set for every row: " + ", ".join(f"{k}={v}" for k, v in spec.constants.items()))
    if spec.defaults:
        out.print("when empty: " + ", ".join(f"{k}={v}" for k, v in spec.defaults.items()))
    for k, template in spec.compose.items():
        out.print(f"{k} when the file has none: {template}", highlight=False, markup=False)
    out.print("identified by: " + " + ".join(spec.id_from))
    if spec.example:
        out.print("example row:", highlight=False)
        for k, v in spec.example.items():
            out.print(f"  {k}: {v}", highlight=False, markup=False)
    if spec.note:
        out.print(spec.note)


@app.command("export")
@clerk_errors
def export(
    format_: Annotated[
        str, typer.Option("--format", help="A format of the pack, e.g. samr_abnormal.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for <format>.csv.")],
    as_of: AsOf = None,
) -> None:
    """Write the public records of a format's record type in that format, as the source
    publishes it. A row is written only if it reads back, through the format's own mapping,
    as the record it came from; records the format cannot carry are counted, not altered.
    Persons are published masked (only while on an active black list).

    Example: socialcredit export --format samr_abnormal --out exports/
    """
    from ..services import format_export

    result = format_export.export(registry(as_of), format_, out_dir)
    print_json(result.as_dict())
