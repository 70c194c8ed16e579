"""Grades for risk-based supervision, inspection draws, policy simulations."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    AsOf,
    actor,
    app,
    clerk_errors,
    print_json,
    registry,
)

inspect_app = typer.Typer(
    help="Random inspection plans (double random, one public).", no_args_is_help=True
)

grades_app = typer.Typer(help="Grades of all organisations in batch.", no_args_is_help=True)


@app.command()
@clerk_errors
def simulate(
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="A changed pack directory (or a bundled pack's name), or a version of the pack "
            "in force (its name, the day it takes effect): the pack without it against the pack "
            "with it, on its effective date.",
        ),
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where the HTML report and charts go.")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Evaluate a changed policy pack, or a version of the rules, against the registry without
    changing it; prints who would enter or leave each list, change class, and which records
    would leave publicity (or be shown for less) on the day it takes effect (JSON), and writes
    an HTML report.

    Example: socialcredit simulate --policy 2025-12-25 --out report/
    """
    from ..services.simulation import simulate as run_simulation

    result = run_simulation(registry(as_of), policy, out_dir)
    print_json(
        {
            k: result[k]
            for k in (
                "as_of",
                "policy",
                "effective_from",
                "entered",
                "left",
                "changed_class",
                "unpublished",
                "shortened",
                "subjects",
                "records",
            )
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
