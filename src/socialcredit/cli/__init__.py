"""The ``socialcredit`` command: a thin shell over the service layer, one module per group of
commands (records, subjects, due process, resolution, supervision, audit, administration,
serving, formats), all over ``common.py``.
"""

from __future__ import annotations

from . import admin, audit, due_process, records, resolution, serving, subjects, supervision
from .common import app, err, registry
from .formats import formats_app

for sub, name in (
    (records.sources_app, "sources"),
    (records.lists_app, "lists"),
    (audit.audit_app, "audit"),
    (admin.policy_app, "policy"),
    (subjects.subject_app, "subject"),
    (resolution.review_app, "review"),
    (admin.db_app, "db"),
    (admin.keys_app, "keys"),
    (due_process.objection_app, "objection"),
    (due_process.repair_app, "repair"),
    (due_process.statement_app, "statement"),
    (due_process.notices_app, "notices"),
    (admin.principals_app, "principals"),
    (admin.scorecard_app, "scorecard"),
    (supervision.inspect_app, "inspect"),
    (supervision.grades_app, "grades"),
    (resolution.resolve_app, "resolve"),
    (formats_app, "formats"),
):
    app.add_typer(sub, name=name)

__all__ = ["app", "main", "registry", "serving"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("stopped")
        raise SystemExit(130) from None
