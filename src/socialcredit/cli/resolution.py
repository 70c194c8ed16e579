"""Rows without a code: the review queue, the probabilistic linker, undoing links, duplicates."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from .common import (
    AsOf,
    _resolve,
    actor,
    clerk_errors,
    out,
    print_json,
    progress_bar,
    registry,
)

review_app = typer.Typer(
    help="The review queue of rows whose subject needs resolving.", no_args_is_help=True
)

resolve_app = typer.Typer(
    help="Resolution: link rows sent without a code to their subjects; undo a link.",
    no_args_is_help=True,
)


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
    from ..services.worklists import review_items

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


@resolve_app.command("judgements")
@clerk_errors
def resolve_judgements(
    source: Annotated[str, typer.Argument(help="The source that sent the record.")],
    source_record_id: Annotated[str, typer.Argument(help="The source's id of the record.")],
) -> None:
    """The subjects reviewers judged a row is not about (each undone link), lifted ones too.
    Later runs of the model never propose a subject under a judgement in force.

    Example: socialcredit resolve judgements court CT-2026-0042
    """
    from ..services.review import judgements

    print_json(judgements(registry(), source, source_record_id))


@resolve_app.command("lift")
@clerk_errors
def resolve_lift(
    source: Annotated[str, typer.Argument(help="The source that sent the record.")],
    source_record_id: Annotated[str, typer.Argument(help="The source's id of the record.")],
    subject: Annotated[str, typer.Argument(help="The subject the judgement is about.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the judgement no longer holds.")],
    as_of: AsOf = None,
) -> None:
    """Lift a reviewer's judgement that a row is not about a subject: the model may propose or
    link the row to it again.

    Example: socialcredit resolve lift court CT-2026-0042 91330100MA27XYZ12K --reason "the court confirmed it"
    """
    from ..services.review import lift_judgement

    reg = registry(as_of)
    print_json(
        lift_judgement(
            reg, source, source_record_id, subject, reason=reason, actor=actor("cli:reviewer")
        )
    )


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
