"""The ``socialcredit`` command: a thin shell over the service layer.

Every command that evaluates state takes ``--as-of`` and answers as of that moment; every command
that writes takes it too and then acts as if it were that moment (the clock is injected).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
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
from rich.table import Table

from ..bootstrap import Registry
from ..clock import FixedClock, SystemClock, iso, parse_moment
from ..config import Settings, new_keys
from ..errors import InvalidInput, RegistryError

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
sources_app = typer.Typer(
    help="Sources (authorities that submit records) and their API tokens.", no_args_is_help=True
)
lists_app = typer.Typer(
    help="Red and black lists: listings and their lifecycle.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The hash-chained event log: verify it, prove a fact, export a trail.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="The policy pack: validate and show it, its versions over time and what changed.",
    no_args_is_help=True,
)
subject_app = typer.Typer(
    help="Subjects (organisations and persons) and their files.", no_args_is_help=True
)
review_app = typer.Typer(
    help="The review queue of rows whose subject needs resolving.", no_args_is_help=True
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Keys that protect resident ID numbers.", no_args_is_help=True)
objection_app = typer.Typer(
    help="Objections: a subject disputes a listing or a record.", no_args_is_help=True
)
notices_app = typer.Typer(help="Notices to subjects and their delivery.", no_args_is_help=True)
principals_app = typer.Typer(
    help="Accounts and their roles (agency, reviewer, subject, auditor, source, lender).",
    no_args_is_help=True,
)
inspect_app = typer.Typer(
    help="Random inspection plans (double random, one public).", no_args_is_help=True
)
grades_app = typer.Typer(help="Grades of all organisations in batch.", no_args_is_help=True)
repair_app = typer.Typer(
    help="Credit repair: early removal after corrected conduct.", no_args_is_help=True
)
resolve_app = typer.Typer(
    help="Resolution: link rows sent without a code to their subjects; undo a link.",
    no_args_is_help=True,
)
for sub, name in (
    (sources_app, "sources"),
    (lists_app, "lists"),
    (audit_app, "audit"),
    (policy_app, "policy"),
    (subject_app, "subject"),
    (review_app, "review"),
    (db_app, "db"),
    (keys_app, "keys"),
    (objection_app, "objection"),
    (repair_app, "repair"),
    (notices_app, "notices"),
    (principals_app, "principals"),
    (inspect_app, "inspect"),
    (grades_app, "grades"),
    (resolve_app, "resolve"),
):
    app.add_typer(sub, name=name)

from .formats import formats_app  # noqa: E402  (one module per command group, #29)

app.add_typer(formats_app, name="formats")

out = Console(soft_wrap=True)


@app.callback()
def _options(
    pack: Annotated[
        Path | None,
        typer.Option(
            "--pack",
            help="A policy pack directory (default: SOCIALCREDIT_PACK, or the "
            "bundled cn-national pack).",
            exists=True,
            file_okay=False,
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


def _count_rows(path: Path) -> int | None:
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
    s = summary
    out.print(f"[bold]{file}[/] from [bold]{source}[/] as of {iso(reg.now(), reg.tz)}")
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
def check(
    subject: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    measure: Annotated[str, typer.Argument(help="A measure id, e.g. restrict_air_travel.")],
    as_of: AsOf = None,
) -> None:
    """May SUBJECT be served under MEASURE? Prints one JSON answer with its reasons.

    Exit code 0 whether allowed or restricted; 2 on a malformed code or unknown measure.

    Example: socialcredit check 91110000600037341L restrict_air_travel
    """
    from ..services.checks import answer, index

    reg = registry(as_of)
    print_json(answer(reg, subject, measure, reader=actor("cli:operator")))
    index(reg).read_log.flush()


@subject_app.command("show")
@clerk_errors
def subject_show(
    code: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    purpose: Annotated[
        str,
        typer.Option(help="Why the file is read: recorded with the read, shown to the subject."),
    ] = "view the file",
    as_of: AsOf = None,
) -> None:
    """The subject's file (records and listings) as the registry held it at a moment, as JSON.
    The read is recorded in the subject's file, with who read it and why.

    Example: socialcredit subject show 91110000600037341L --as-of 2026-03-01 --purpose audit
    """
    from ..services.subjects import subject_file

    reg = registry(as_of)
    print_json(subject_file(reg, code, reader=actor("cli:operator"), purpose=purpose))


@app.command()
@clerk_errors
def simulate(
    policy: Annotated[Path, typer.Option("--policy", help="The changed policy pack directory.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where the HTML report and charts go.")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Evaluate a changed policy pack against the registry without changing it; prints who
    would enter or leave each list and change class (JSON) and writes an HTML report.

    Example: socialcredit simulate --policy ./pack-draft --out report/
    """
    from ..services.simulation import simulate as run_simulation

    result = run_simulation(registry(as_of), policy, out_dir)
    print_json(
        {
            k: result[k]
            for k in ("as_of", "entered", "left", "changed_class", "subjects")
            if k in result
        }
        | ({"report": result["report"]} if "report" in result else {})
    )


@grades_app.command("recompute")
@clerk_errors
def grades_recompute(
    as_of: AsOf = None,
    engine: Annotated[
        str,
        typer.Option(
            help="duckdb (embedded SQL over a snapshot) or spark (the same SQL on Spark)."
        ),
    ] = "duckdb",
) -> None:
    """Recompute every organisation's grades in one batch and record those that changed.

    Example: socialcredit grades recompute --as-of 2026-12-01
    """
    from ..services.grading import recompute

    counts = recompute(registry(as_of), actor=actor("cli:grades"), engine=engine)
    print_json(counts)


@app.command("grade")
@clerk_errors
def grade_cmd(
    subject: Annotated[str, typer.Argument(help="USCC of the organisation.")],
    method: Annotated[
        str, typer.Option("--method", help="A grading method: tax_credit, samr_risk.")
    ],
    as_of: AsOf = None,
) -> None:
    """The subject's level under a grading method, with every factor and how to improve.

    Example: socialcredit grade 91110000600037341L --method samr_risk --as-of 2026-05-01
    """
    from ..services.grading import grade

    reg = registry(as_of)
    print_json(grade(reg, subject, method))


@inspect_app.command("draw")
@clerk_errors
def inspect_draw(
    plan: Annotated[Path, typer.Option("--plan", help="The plan: method, population, inspectors.")],
    seed: Annotated[
        int, typer.Option("--seed", help="The recorded seed; publish it with the plan.")
    ],
    as_of: AsOf = None,
    publish_plan: Annotated[
        bool,
        typer.Option(
            "--publish", help="Publish the drawn plan (anyone can then re-run it and compare)."
        ),
    ] = False,
) -> None:
    """Draw organisations by level and assign inspectors; same registry, plan and seed, same plan.

    Example: socialcredit inspect draw --plan plan.yaml --seed 20261201 --as-of 2026-12-01
    """
    from ..services.inspection import draw, load_plan, publish

    reg = registry(as_of)
    result = draw(reg, load_plan(plan), seed)
    if publish_plan:
        publish(reg, result, actor("cli:samr"))
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


@app.command("file")
@clerk_errors
def file_cmd(
    subject: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    as_of: AsOf = None,
    purpose: Annotated[
        str, typer.Option(help="Why you read it (recorded in the subject's file).")
    ] = "operator review",
) -> None:
    """The subject's whole file as JSON: records, listings, grades, notices, objections, repairs
    and reads.

    Replayed from the subject's events up to the moment, so an earlier --as-of shows the file
    exactly as it stood then.

    Example: socialcredit file 91110000600037341L --as-of 2026-06-01
    """
    from ..services.grading import with_grades
    from ..services.subjects import subject_file

    reg = registry(as_of)
    print_json(
        with_grades(reg, subject_file(reg, subject, reader=actor("cli:operator"), purpose=purpose))
    )


@objection_app.command("file")
@clerk_errors
def objection_file(
    subject: Annotated[str, typer.Argument(help="USCC or resident ID number of the objector.")],
    grounds: Annotated[str, typer.Option("--grounds", help="Why the listing or record is wrong.")],
    listing: Annotated[
        str | None, typer.Option("--listing", help="The listing objected to.")
    ] = None,
    record: Annotated[
        str | None,
        typer.Option("--record", help="Or the record objected to, as SOURCE/SOURCE_RECORD_ID."),
    ] = None,
    attachment: Annotated[
        list[Path] | None,
        typer.Option(
            "--attachment",
            help="A supporting document (repeatable); its name, size and SHA-256 are recorded.",
        ),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """File an objection; prints its id, status and the deadline for the answer.

    Example: socialcredit objection file 91110000600037341L --listing L0123 --grounds "paid on 1 May"
    """
    from ..services.objections import file_objection, read_attachments

    reg = registry(as_of)
    print_json(
        file_objection(
            reg,
            subject,
            grounds=grounds,
            listing_id=listing,
            record=record,
            files=read_attachments(attachment or []),
            actor=actor("cli:subject"),
        )
    )


@objection_app.command("decide")
@clerk_errors
def objection_decide(
    objection_id: Annotated[str, typer.Argument(help="The objection's id.")],
    outcome: Annotated[str, typer.Option("--outcome", help="corrected, rejected or withdrawn.")],
    reason: Annotated[str, typer.Option("--reason", help="The reasons, shown to the subject.")],
    as_of: AsOf = None,
) -> None:
    """Decide an objection; corrected ends the listing (or retracts the record).

    Example: socialcredit objection decide O0123 --outcome rejected --reason "no payment on file"
    """
    from ..services.objections import decide_objection

    reg = registry(as_of)
    print_json(
        decide_objection(
            reg, objection_id, outcome=outcome, reason=reason, actor=actor("cli:reviewer")
        )
    )


@objection_app.command("list")
@clerk_errors
def objection_list(
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_of: AsOf = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Open and escalated objections, the nearest deadline first.

    Example: socialcredit objection list
    """
    from ..services.views import objection_inbox

    reg = registry(as_of)
    data = objection_inbox(reg, limit)
    if json_out:
        print_json(data)
        return
    t = Table(title=f"objections awaiting an answer as of {data['as_of']}")
    for col in ("id", "subject", "listing", "status", "deadline", "overdue"):
        t.add_column(col)
    for o in data["objections"]:
        t.add_row(
            o["id"],
            o["subject"],
            o["listing_id"] or "(record)",
            o["status"],
            o["deadline"],
            "[red]yes[/]" if o["overdue"] else "no",
        )
    out.print(t)


@repair_app.command("apply")
@clerk_errors
def repair_apply(
    subject: Annotated[str, typer.Argument(help="USCC or resident ID number of the applicant.")],
    evidence: Annotated[str, typer.Option("--evidence", help="How the conduct was corrected.")],
    listing: Annotated[
        str | None, typer.Option("--listing", help="The listing to end early.")
    ] = None,
    record: Annotated[
        str | None,
        typer.Option(
            "--record", help="Or the record (SOURCE/SOURCE_RECORD_ID) whose publicity should end."
        ),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Apply for credit repair; prints id, status, eligible and, if not, the reasons.

    Example: socialcredit repair apply 91110000600037341L --listing L0123 --evidence "fine paid"
    """
    from ..services.repairs import apply_for_repair

    reg = registry(as_of)
    print_json(
        apply_for_repair(
            reg,
            subject,
            listing_id=listing,
            record=record,
            evidence=evidence,
            actor=actor("cli:subject"),
        )
    )


@repair_app.command("decide")
@clerk_errors
def repair_decide(
    repair_id: Annotated[str, typer.Argument(help="The application's id.")],
    reason: Annotated[str, typer.Option("--reason", help="The reasons, shown to the subject.")],
    approve: Annotated[
        bool | None,
        typer.Option(
            "--approve/--reject",
            help="Approve (the listing ends) or reject (with a date to reapply).",
            show_default=False,
        ),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Approve or reject a pending repair application.

    Example: socialcredit repair decide R0123 --approve --reason "penalty performed, harm remedied"
    """
    from ..services.repairs import decide_repair

    if approve is None:
        raise typer.BadParameter("say --approve or --reject")
    reg = registry(as_of)
    print_json(
        decide_repair(reg, repair_id, approve=approve, reason=reason, actor=actor("cli:reviewer"))
    )


@subject_app.command("contact")
@clerk_errors
def subject_contact(
    code: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    email: Annotated[str | None, typer.Option(help="E-mail address for notices.")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL that receives signed notices.")] = None,
    as_of: AsOf = None,
) -> None:
    """Set where the subject's notices are delivered; prints the webhook secret once.

    Example: socialcredit subject contact 91110000600037341L --email legal@example.com
    """
    from ..services.notices import set_contact

    print_json(
        set_contact(
            registry(as_of), code, email=email, webhook_url=webhook, actor=actor("cli:operator")
        )
    )


@notices_app.command("deliver")
@clerk_errors
def notices_deliver(as_of: AsOf = None) -> None:
    """Send the notices that are due by e-mail (SOCIALCREDIT_SMTP_URL) and webhook, once.

    Failures are retried later with backoff; `socialcredit serve` does this continuously.

    Example: SOCIALCREDIT_SMTP_URL=smtp://127.0.0.1:25 socialcredit notices deliver
    """
    from ..services.notices import Channels, deliver_due

    reg = registry(as_of)
    ch = Channels.from_url(reg.settings.smtp_url, reg.settings.mail_from)
    result = deliver_due(reg, ch, actor=actor("cli:notices"))
    out.print(
        f"{result.delivered} delivered, {result.failed} failed (will retry), "
        f"{result.given_up} given up"
    )


@principals_app.command("add")
@clerk_errors
def principals_add(
    role: Annotated[
        str, typer.Argument(help="agency, reviewer, subject, auditor, source or lender.")
    ],
    name: Annotated[str, typer.Option(help="Who holds the account.")],
    measures: Annotated[
        str | None, typer.Option(help="Agency only: the measures it implements, comma-separated.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Subject accounts: the USCC or resident ID it speaks for.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source accounts (staff who upload files in the console): the source."),
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(help="For a person who signs in; the password is read from standard input."),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Create an account; prints its token once (machines) or expects a password (people).

    Example: socialcredit principals add agency --name CAAC --measures restrict_air_travel
    """
    from ..services.access import create_principal

    password = None
    if username:
        password = sys.stdin.readline().rstrip("\n")
    print_json(
        create_principal(
            registry(as_of),
            role,
            name,
            actor=actor("cli:operator"),
            measures=[m.strip() for m in measures.split(",")] if measures else None,
            subject=subject,
            source=source,
            username=username,
            password=password,
        )
    )


@principals_app.command("revoke")
@clerk_errors
def principals_revoke(
    principal_id: Annotated[str, typer.Argument(help="The account's id.")],
    as_of: AsOf = None,
) -> None:
    """Revoke an account: its tokens and sessions stop working at once.

    Example: socialcredit principals revoke U0123
    """
    from ..services.access import revoke_principal

    revoke_principal(registry(as_of), principal_id, actor=actor("cli:operator"))
    out.print(f"revoked {principal_id}")


@app.command()
@clerk_errors
def purge(
    as_of: AsOf = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say who is due.")] = False,
) -> None:
    """Redact natural persons' data whose retention has passed (the chain still verifies).

    Example: socialcredit purge --dry-run
    """
    from ..services import purge as purging

    reg = registry(as_of)
    due = purging.due(reg)
    if dry_run:
        out.print(f"{len(due)} persons are past retention as of {iso(reg.now(), reg.tz)}")
        return
    result = purging.purge(reg, actor=actor("cli:purge"), subject_ids=due)
    out.print(
        f"purged {result.subjects} persons: {result.events_redacted} events redacted"
        + (
            f", {result.legacy_events_kept} events from before digests kept as written"
            if result.legacy_events_kept
            else ""
        )
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


@review_app.command("list")
@clerk_errors
def review_list(
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_of: AsOf = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rows waiting for a person to resolve their subject; resolve or reject them by item_id.

    Example: socialcredit review list --limit 20
    """
    from ..services.views import review_items

    reg = registry(as_of)
    items = review_items(reg, limit)
    if json_out:
        print_json(items)
        return
    t = Table(title=f"review queue ({items['open']} open)")
    t.add_column("item_id", no_wrap=True)  # whole, to be copied into review resolve / reject
    for col in ("source", "source_record_id", "record_type", "subject_name", "queued_at"):
        t.add_column(col, overflow="fold")
    for it in items["items"]:
        t.add_row(
            it["item_id"],
            it["source"],
            it["source_record_id"],
            it["record_type"],
            it["subject_name"],
            it["queued_at"],
        )
    out.print(t)


@review_app.command("resolve")
@clerk_errors
def review_resolve(
    item_id: Annotated[str, typer.Argument(help="The item's id (see review list).")],
    subject: Annotated[
        str, typer.Option("--subject", help="USCC or resident ID number the row is about.")
    ],
    as_of: AsOf = None,
) -> None:
    """Record the queued row for the subject with this code, as if its source had sent it so.

    The row is validated and the list rules applied as at ingest; if it cannot be recorded,
    nothing changes and every problem is named. Prints the outcome as JSON.

    Example: socialcredit review resolve Q0123 --subject 91110000600037341L
    """
    from ..services.review import resolve_item

    reg = registry(as_of)
    print_json(resolve_item(reg, item_id, subject, actor=actor("cli:reviewer")))


@review_app.command("reject")
@clerk_errors
def review_reject(
    item_id: Annotated[str, typer.Argument(help="The item's id (see review list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the row cannot be resolved.")],
    as_of: AsOf = None,
) -> None:
    """Close a queued row as not resolvable; no record is made.

    Example: socialcredit review reject Q0123 --reason "no such company in the business register"
    """
    from ..services.review import reject_item

    reg = registry(as_of)
    print_json(reject_item(reg, item_id, reason=reason, actor=actor("cli:reviewer")))


Engine = Annotated[
    str,
    typer.Option(
        help="duckdb, or spark (Splink's Spark backend, local mode; needs Java 17 and pyspark)."
    ),
]


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


@resolve_app.command("run")
@clerk_errors
def resolve_run(
    as_of: AsOf = None,
    engine: Engine = "duckdb",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Evaluate every open review item the model has not seen: link those at or above the
    policy's upper threshold, give the others their candidates and the model's explanation.

    Example: socialcredit resolve run
    """
    reg = registry(as_of)
    found = _resolve(reg, None, "resolve the review queue", engine)
    if json_out:
        print_json(found.as_dict() | {"linked_items": found.linked_items})
        return
    table = Table(show_header=False, box=None)
    for label, value in found.as_dict().items():
        table.add_row(label.replace("_", " "), str(value))
    out.print(table)


@resolve_app.command("undo")
@clerk_errors
def resolve_undo(
    source: Annotated[str, typer.Argument(help="The source that sent the record.")],
    source_record_id: Annotated[str, typer.Argument(help="The source's id of the record.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the link is wrong.")],
    as_of: AsOf = None,
) -> None:
    """Undo a link made by the registry (the law's mapping, the model or a reviewer): the record
    leaves the subject's file, listings resting on it end, the row returns to the queue.

    Example: socialcredit resolve undo samr SAMR-P000123 --reason "another company of that name"
    """
    from ..services.review import undo_link

    reg = registry(as_of)
    print_json(undo_link(reg, source, source_record_id, reason=reason, actor=actor("cli:reviewer")))


@resolve_app.command("dedupe")
@clerk_errors
def resolve_dedupe(
    as_of: AsOf = None,
    engine: Engine = "duckdb",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find registered organisations the model takes for one; propose each pair to a reviewer
    (never merged without one). Pairs already proposed are not proposed again.

    Example: socialcredit resolve dedupe
    """
    from ..services import dedupe

    reg = registry(as_of)
    with progress_bar() as bar:
        task = bar.add_task("dedupe the register (Splink)", total=None)
        if engine not in ("duckdb", "spark"):
            raise typer.BadParameter("--engine is duckdb or spark")
        found = dedupe.propose(
            reg, actor=actor("cli:dedupe"), progress=lambda n: bar.advance(task, n), engine=engine
        )
    if json_out:
        print_json(found)
        return
    out.print(f"{found['organisations']} organisations compared; {found['proposed']} new proposals")


@resolve_app.command("proposals")
@clerk_errors
def resolve_proposals(
    status: Annotated[str, typer.Option(help="open, merged or kept_apart.")] = "open",
    as_of: AsOf = None,
) -> None:
    """Merge proposals with both organisations side by side, as JSON.

    Example: socialcredit resolve proposals
    """
    from ..services import dedupe

    print_json(dedupe.proposals(registry(as_of), status))


@resolve_app.command("merge")
@clerk_errors
def resolve_merge(
    proposal_id: Annotated[str, typer.Argument(help="The proposal (see resolve proposals).")],
    survivor: Annotated[str, typer.Option("--survivor", help="The USCC that stays.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the two are one organisation.")],
    as_of: AsOf = None,
) -> None:
    """Merge the proposal's other organisation into SURVIVOR: its records and listings become
    the survivor's; every event of both stays in the log.

    Example: socialcredit resolve merge M01ab --survivor 91110000600037341L --reason "typo in code"
    """
    from ..services import dedupe

    reg = registry(as_of)
    print_json(dedupe.merge(reg, proposal_id, survivor, reason=reason, actor=actor("cli:reviewer")))


@resolve_app.command("keep-apart")
@clerk_errors
def resolve_keep_apart(
    proposal_id: Annotated[str, typer.Argument(help="The proposal (see resolve proposals).")],
    reason: Annotated[str, typer.Option("--reason", help="Why they are different.")],
    as_of: AsOf = None,
) -> None:
    """Close a merge proposal: the two are different organisations.

    Example: socialcredit resolve keep-apart M01ab --reason "different legal representatives"
    """
    from ..services import dedupe

    reg = registry(as_of)
    print_json(dedupe.keep_apart(reg, proposal_id, reason=reason, actor=actor("cli:reviewer")))


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


@app.command("stats")
@clerk_errors
def stats_cmd(as_of: AsOf = None) -> None:
    """Print counts as JSON: subjects, records, active listings (per list), events.

    Example: socialcredit stats --as-of 2026-06-30
    """
    from ..services.stats import stats

    reg = registry(as_of)
    print_json(stats(reg))


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


@policy_app.command("validate")
@clerk_errors
def policy_validate(
    path: Annotated[
        Path | None, typer.Argument(help="A pack directory (default: the bundled one).")
    ] = None,
) -> None:
    """Load a pack and report the first problem with file, entry and fix.

    Example: socialcredit policy validate ./my-pack
    """
    from ..policy import load_pack

    pack = load_pack(path or os.environ.get("SOCIALCREDIT_PACK"))
    out.print(
        f"[green]pack {pack.meta.id} {pack.meta.version} is valid[/]: "
        f"{len(pack.record_types)} record types, {len(pack.lists)} lists, "
        f"{len(pack.measures)} measures, {len(pack.sources)} sources "
        f"(digest {pack.digest[:12]})"
    )


@policy_app.command("show")
@clerk_errors
def policy_show() -> None:
    """Lists and the measures linked to them, each with its legal basis.

    Example: socialcredit policy show
    """
    from ..policy import load_pack

    pack = load_pack(os.environ.get("SOCIALCREDIT_PACK"))
    for lid, ld in pack.lists.items():
        t = Table(
            title=f"{ld.name.zh} / {ld.name.en} ({lid}, {ld.kind} list)", title_justify="left"
        )
        t.add_column("measure")
        t.add_column("implementing agency")
        t.add_column("legal basis")
        for mid, m in pack.measures.items():
            if lid in m.lists:
                t.add_row(
                    f"{mid}\n{m.name.en}",
                    m.implementing_agency,
                    "\n".join(pack.cite(m.legal_basis)),
                )
        out.print(t)
        out.print(
            f"  basis: {'; '.join(pack.cite(ld.legal_basis))}; notice period "
            f"{ld.notice_period}; duration {ld.duration.default} (max {ld.duration.maximum}); "
            f"requires a ruling: {'yes' if ld.requires_ruling else 'no'}\n",
            highlight=False,
        )


@policy_app.command("versions")
@clerk_errors
def policy_versions(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The pack's versions of the rules: when each takes effect, what it changes, its basis.

    Example: socialcredit policy versions
    """
    from ..policy import load_pack
    from ..policy.versions import listing

    rows = listing(load_pack(os.environ.get("SOCIALCREDIT_PACK")))
    if as_json:
        print_json(rows)
        return
    t = Table(title="versions of the rules", title_justify="left")
    for col in ("version", "in force from", "changes", "legal basis"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["version"],
            r["effective_from"] or "—",
            "\n".join(r["changes"]) or "(the pack's own entries)",
            "\n".join(r["legal_basis"]),
        )
    out.print(t)


@policy_app.command("diff")
@clerk_errors
def policy_diff(
    a: Annotated[str, typer.Argument(help="base, a version's name, or a day (YYYY-MM-DD).")],
    b: Annotated[str, typer.Argument(help="The same, to compare with.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What changed between two versions of the rules (or the rules in force on two days),
    entry by entry and key by key, with the basis of the versions in between.

    Example: socialcredit policy diff base 2025-12-25
    """
    from ..policy import load_pack
    from ..policy.versions import between, diff

    pack = load_pack(os.environ.get("SOCIALCREDIT_PACK"))
    changes = diff(pack, a, b)
    if as_json:
        print_json({"from": a, "to": b, "versions": between(pack, a, b), "entries": changes})
        return
    for v in between(pack, a, b):
        out.print(f"[bold]{v['version']}[/]: {'; '.join(v['legal_basis'])}", highlight=False)
    if not changes:
        out.print("no entry differs")
    for c in changes:
        out.print(f"[bold]{c['entry']}[/]", highlight=False)
        for k in c["changes"]:
            out.print(f"  {k['key']}: {k['from']!r} -> {k['to']!r}", highlight=False)


@db_app.command("upgrade")
@clerk_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version (other commands do this too).

    Example: SOCIALCREDIT_DATABASE_URL=postgresql+psycopg://... socialcredit db upgrade
    """
    from ..bootstrap import upgrade_schema
    from ..db import make_engine

    settings = Settings.from_env()
    applied = upgrade_schema(make_engine(settings.database_url))
    out.print(f"{settings.database_label}: " + ("migrated" if applied else "already up to date"))


@keys_app.command("new")
def keys_new() -> None:
    """Print fresh keys for SOCIALCREDIT_ID_HASH_KEY, SOCIALCREDIT_ID_ENCRYPTION_KEY and
    SOCIALCREDIT_LOG_SIGNING_KEY (the Ed25519 key that signs the log's published heads).

    Example: socialcredit keys new >> production.env
    """
    keys = new_keys()
    sys.stdout.write(
        f"SOCIALCREDIT_ID_HASH_KEY={keys['id_hash_key']}\n"
        f"SOCIALCREDIT_ID_ENCRYPTION_KEY={keys['id_encryption_key']}\n"
        f"SOCIALCREDIT_LOG_SIGNING_KEY={keys['log_signing_key']}\n"
    )


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
    import uvicorn

    from ..api.app import create_app

    reg = registry()
    out.print(
        f"serving {reg.settings.database_label} on http://{host}:{port}/ "
        f"(API docs: http://{host}:{port}/docs); Ctrl-C stops"
    )
    uvicorn.run(
        create_app(reg, background_sweep=True),
        host=host,
        port=port,
        log_level="warning",
        timeout_keep_alive=keep_alive,
    )


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
    import os

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
    recorder = ctx.Process(target=run_recorder, args=(spool, stop), name="check-reads-recorder")
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("stopped")
        raise SystemExit(130) from None


def _now() -> datetime:  # pragma: no cover - used by the demo only
    return SystemClock().now()
