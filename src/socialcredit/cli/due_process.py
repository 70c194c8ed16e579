"""Due process: objections, credit repair, notices and their delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import (
    AsOf,
    actor,
    clerk_errors,
    out,
    print_json,
    registry,
)

objection_app = typer.Typer(
    help="Objections: a subject disputes a listing or a record.", no_args_is_help=True
)

notices_app = typer.Typer(help="Notices to subjects and their delivery.", no_args_is_help=True)

repair_app = typer.Typer(
    help="Credit repair: early removal after corrected conduct.", no_args_is_help=True
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
    from ..services.worklists import objection_inbox

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


statement_app = typer.Typer(
    help="Statements: a subject's own words beside a record or listing about it.",
    no_args_is_help=True,
)


@statement_app.command("file")
@clerk_errors
def statement_file(
    subject: Annotated[str, typer.Argument(help="The subject's code (the one it concerns).")],
    text: Annotated[str, typer.Option("--text", help="The statement, in the subject's words.")],
    listing: Annotated[
        str | None, typer.Option("--listing", help="The listing it stands beside.")
    ] = None,
    record: Annotated[
        str | None,
        typer.Option("--record", help="Or the record, as SOURCE/SOURCE_RECORD_ID."),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Put the subject's statement beside one of its entries (replacing the one shown there);
    it is shown wherever the entry is, marked as the subject's.

    Example: socialcredit statement file 91110000600037341L --listing L0123 --text "Paid on 1 May; appeal pending."
    """
    from ..services.statements import file_statement

    print_json(
        file_statement(
            registry(as_of),
            subject,
            text=text,
            listing_id=listing,
            record=record,
            actor=actor("cli:subject"),
        )
    )


@statement_app.command("refuse")
@clerk_errors
def statement_refuse(
    statement_id: Annotated[str, typer.Argument(help="The statement's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the subject is told.")],
    as_of: AsOf = None,
) -> None:
    """Take a statement down (it names a third party), with the reason the subject is told.

    Example: socialcredit statement refuse S0123 --reason "names a private person"
    """
    from ..services.statements import refuse_statement

    print_json(
        refuse_statement(registry(as_of), statement_id, reason=reason, actor=actor("cli:reviewer"))
    )


@statement_app.command("withdraw")
@clerk_errors
def statement_withdraw(
    statement_id: Annotated[str, typer.Argument(help="The statement's id.")],
    as_of: AsOf = None,
) -> None:
    """Take the subject's own statement down at its request.

    Example: socialcredit statement withdraw S0123
    """
    from ..services.statements import withdraw_statement

    print_json(withdraw_statement(registry(as_of), statement_id, actor=actor("cli:subject")))


@statement_app.command("list")
@clerk_errors
def statement_list(as_of: AsOf = None) -> None:
    """The statements shown now, newest first, for a reviewer to read.

    Example: socialcredit statement list
    """
    from ..services.statements import to_review

    rows = to_review(registry(as_of))
    t = Table("id", "subject", "beside", "filed", "statement")
    for r in rows:
        t.add_row(r["id"], r["subject_id"], r["listing_id"] or r["record_key"], r["filed_at"],
                  r["statement"])  # fmt: skip
    out.print(t)
