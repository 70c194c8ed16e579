"""A subject: its file, a check, its contact details; purge, statistics."""

from __future__ import annotations

from typing import Annotated

import typer

from ..clock import iso
from .common import (
    AsOf,
    actor,
    app,
    clerk_errors,
    out,
    print_json,
    registry,
)

subject_app = typer.Typer(
    help="Subjects (organisations and persons) and their files.", no_args_is_help=True
)


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


@app.command("stats")
@clerk_errors
def stats_cmd(as_of: AsOf = None) -> None:
    """Print counts as JSON: subjects, records, active listings (per list), events.

    Example: socialcredit stats --as-of 2026-06-30
    """
    from ..services.stats import stats

    reg = registry(as_of)
    print_json(stats(reg))
