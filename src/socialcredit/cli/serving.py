"""Serving: the API and pages, the check server, the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    app,
    clerk_errors,
    out,
    progress_bar,
    registry,
)


@app.command()
@clerk_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    keep_alive: Annotated[
        int,
        typer.Option(
            help="Seconds an idle connection stays open. Longer than the clients' own idle "
            "limit, or a request sent as the server closes the connection fails.",
            min=1,
        ),
    ] = 75,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) and the pages.

    Example: socialcredit serve --port 8000
    """
    import multiprocessing

    import uvicorn

    from ..api.app import create_app
    from ..api.check_server import run_recorder
    from ..services import checks
    from ..services.reads import drain_spool

    reg = registry()
    # checks' reads are spooled to files and written to the store by a recorder process of
    # their own (as serve-checks does), so that recording them neither holds the API's
    # process nor limits how many checks it answers
    idx = checks.index(reg)
    spool = idx.path.with_name(idx.path.name + ".reads")
    spool.mkdir(parents=True, exist_ok=True)
    left = drain_spool(reg, spool)
    idx.read_log.spool = spool
    out.print(
        f"serving {reg.settings.database_label} on http://{host}:{port}/ "
        f"(API docs: http://{host}:{port}/docs); "
        + (f"recorded {left:,} check reads left from a previous run; " if left else "")
        + "Ctrl-C stops"
    )
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    recorder = ctx.Process(
        target=run_recorder, args=(spool, stop, 0.5, os.getpid()), name="check-reads-recorder"
    )
    recorder.start()
    try:
        uvicorn.run(
            create_app(reg, background_sweep=True),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=keep_alive,
        )
    finally:
        stop.set()  # the recorder drains the spool once more, then stops
        recorder.join(timeout=60)


@app.command("serve-checks")
@clerk_errors
def serve_checks(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the check file.")] = 2,
    backpressure: Annotated[
        int, typer.Option(help="Requests in progress per worker before new ones wait.")
    ] = 16,
) -> None:
    """Serve point-of-service checks at volume: GET /v1/checks and POST /v1/checks/bulk.

    A bare ASGI application on Granian (a Rust HTTP server) with several workers that map one
    check file (SOCIALCREDIT_CHECK_FILE, or next to the SQLite file), and a recorder process
    that writes the workers' check reads to the store. The full API keeps its own /v1/checks;
    this one answers the same questions with less per request.

    Example: socialcredit serve-checks --port 8001 --workers 2
    """
    import multiprocessing

    from granian.constants import Interfaces, Loops
    from granian.server import Server

    from ..api.check_server import run_recorder
    from ..services import checks
    from ..services.reads import drain_spool

    reg = registry()
    idx = checks.index(reg)
    if reg.settings.check_file is None and workers > 1:
        raise typer.BadParameter(
            "several workers share one check file: set SOCIALCREDIT_CHECK_FILE",
            param_hint="--workers",
        )
    header = idx.compile()
    spool = idx.path.with_name(idx.path.name + ".reads")
    spool.mkdir(parents=True, exist_ok=True)
    left = drain_spool(reg, spool)  # batches a previous run wrote and did not record
    total = sum(m["count"] for m in header["measures"].values())
    out.print(
        f"check file {idx.path} (log head {header['version']}, {total:,} measure-listing pairs); "
        + (f"recorded {left:,} check reads left from a previous run; " if left else "")
        + f"serving checks of {reg.settings.database_label} on http://{host}:{port}/v1/checks "
        f"with {workers} workers; Ctrl-C stops"
    )
    reg.close()
    os.environ["SOCIALCREDIT_READS_SPOOL"] = str(spool)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    recorder = ctx.Process(
        target=run_recorder, args=(spool, stop, 0.5, os.getpid()), name="check-reads-recorder"
    )
    recorder.start()
    try:
        Server(
            "socialcredit.api.check_server:app",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            loop=Loops.uvloop,
            factory=True,
            backpressure=backpressure,
            log_enabled=False,
        ).serve()
    finally:
        stop.set()
        recorder.join(timeout=60)


@app.command()
@clerk_errors
def demo(
    entities: Annotated[int, typer.Option(help="How many subjects to generate.", min=100)] = 3000,
    port: Annotated[int, typer.Option(help="Port of the API and pages.")] = 8000,
    workdir: Annotated[Path, typer.Option(help="Where the data files and database go.")] = Path(
        "demo"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when done.")
    ] = True,
) -> None:
    """Generate data, ingest it stepping through time, then serve the API and pages.

    Uses an SQLite file under --workdir (not your SOCIALCREDIT_DATABASE_URL).

    Example: socialcredit demo --entities 3000
    """
    from .demo import run_demo

    run_demo(
        entities=entities,
        port=port,
        workdir=workdir,
        serve_after=serve_after,
        out=out,
        progress_bar=progress_bar,
    )
