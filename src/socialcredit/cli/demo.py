"""The demo: generated data ingested while stepping through time, then the API and pages.

It keeps its own SQLite file under the work directory, so it never touches a real database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from ..bootstrap import Registry
from ..clock import FixedClock, SystemClock, iso
from ..config import Settings
from ..ingest.readers import read_rows


def run_demo(
    *,
    entities: int,
    port: int,
    workdir: Path,
    serve_after: bool,
    out: Console,
    progress_bar: Callable[[], Any],
) -> None:
    from ..generate import generate
    from ..services import checks, listings, views
    from ..services.ingest import ingest

    workdir.mkdir(parents=True, exist_ok=True)
    db_file = (workdir / "demo.db").resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    os.environ["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{db_file}"
    # development keys go beside demo.db (demo.db.keys.json), where a command run from any
    # directory with this database URL finds them
    settings = Settings.from_env()

    # Records decided over the 18 months up to 5 months ago; ingested 6 weeks ago, so that
    # notices have run their month and listings are active today.
    now = SystemClock().now()
    ingest_at = now - timedelta(days=45)
    end = (ingest_at - timedelta(days=100)).date()
    start = end - timedelta(days=540)
    data = workdir / "data"
    with progress_bar() as bar:
        task = bar.add_task("generate data", total=entities)
        summary = generate(
            entities, data, start=start, end=end, progress=lambda n: bar.advance(task, n)
        )
    out.print(
        f"generated {summary.organisations} organisations and {summary.persons} persons in {data}"
    )

    clock = FixedClock(ingest_at)
    reg = Registry(settings, clock=clock)
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        path = data / name
        total = sum(1 for _ in path.open("rb")) - (1 if name.endswith(".csv") else 0)
        with progress_bar() as bar:
            task = bar.add_task(f"ingest {name} as of {ingest_at.date()}", total=total)
            s = ingest(
                reg,
                read_rows(path),
                source,
                actor=f"demo:{source}",
                file_name=name,
                progress=_advancer(bar, task),
            )
        out.print(
            f"  {name}: {s.accepted} accepted, {s.amended} amended, {s.rejected} rejected, "
            f"{s.queued} queued for review; {s.listings_notified} listings notified, "
            f"{s.listings_ended} ended"
        )
    from ..services import resolution

    open_now = len(resolution.open_items(reg))
    with progress_bar() as bar:
        task = bar.add_task("resolve the review queue (Splink)", total=open_now)
        found = resolution.run(reg, actor="demo:resolution", progress=_advancer(bar, task))
    out.print(
        f"  resolution: {found.linked} linked ({found.by_law} by legacy code), "
        f"{found.review} with candidates for a reviewer, {found.unresolved} unresolved, "
        f"{found.persons_left} about persons left to reviewers"
    )
    clock.set(now)
    adv = listings.advance(reg, "demo:sweep")
    out.print(
        f"stepped to {iso(now, reg.tz)}: {adv.activated} listings activated after their "
        f"notice period, {adv.expired} expired"
    )
    st = views.stats(reg)
    out.print(f"active listings now: {st['active_listings']}")
    reg.close()
    live = Registry(settings, clock=SystemClock())

    base = f"http://127.0.0.1:{port}"
    out.print(f"\n[bold]database[/]: {db_file}")
    from ..services.access import create_principal

    caac = create_principal(
        live,
        "agency",
        "CAAC (demo)",
        actor="demo:operator",
        measures=["restrict_air_travel", "restrict_premium_rail"],
    )["token"]
    air = reg.pack.measures["restrict_air_travel"].lists
    examples = [s for s in st["sample_listed"] if s["list"] in air]
    if examples:
        sample = examples[0]["subject"]
        answer = checks.answer(live, sample, "restrict_air_travel")
        out.print(f"[bold]example check[/]: {sample} restrict_air_travel -> {answer['outcome']}")
        out.print(
            f"  curl -H 'Authorization: Bearer {caac}' "
            f"'{base}/v1/checks?subject={sample}&measure=restrict_air_travel'"
        )
        out.print(f"  {base}/org/{sample}")
        out.print(
            f"  socialcredit check {sample} restrict_air_travel   "
            f"(with SOCIALCREDIT_DATABASE_URL=sqlite:///{db_file})"
        )
    # people who sign in to the pages; a fresh password each run, shown once here
    import secrets

    accounts = [
        ("reviewer", "复核员 (demo)", {}, "reviewer"),
        ("source", "法院录入员 (demo)", {"source": "court"}, "court-clerk"),
        ("agency", "民航核查员 (demo)", {"measures": ["restrict_air_travel"]}, "caac-desk"),
        ("lender", "示范银行 (demo)", {}, "bank"),
    ]
    if examples:
        accounts.append(("subject", "listed organisation (demo)", {"subject": sample}, "org"))
    out.print(f"[bold]sign in[/] at {base}/signin:")
    for role, name, scope, username in accounts:
        password = secrets.token_urlsafe(9)
        create_principal(
            live,
            role,
            name,
            actor="demo:operator",
            username=username,
            password=password,
            **scope,  # type: ignore[arg-type]
        )
        out.print(f"  {role:9} {username:12} {password}")
    if examples:
        out.print(
            "  (as org: share the file with the demo bank under Consents; as bank: read the "
            "report at /lender)"
        )
    out.print(
        f"[bold]pages[/]: {base}/   [bold]API docs[/]: {base}/docs   "
        f"[bold]OpenAPI[/]: {base}/openapi.json"
    )
    if not serve_after:
        return
    import uvicorn

    from ..api.app import create_app

    out.print("serving; Ctrl-C stops")
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            create_app(live, background_sweep=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    out.print("stopped")


def _advancer(bar: Any, task: Any) -> Callable[[int], None]:
    return lambda n: bar.advance(task, n)
