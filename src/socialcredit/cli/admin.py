"""The registry's set-up: its schema, keys, accounts, and the policy pack (validate, show, its
versions over time and what changed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import Settings, new_keys
from .common import (
    AsOf,
    actor,
    clerk_errors,
    out,
    print_json,
    registry,
)

policy_app = typer.Typer(
    help="The policy pack: validate and show it, its versions over time and what changed.",
    no_args_is_help=True,
)

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)

keys_app = typer.Typer(help="Keys that protect resident ID numbers.", no_args_is_help=True)

principals_app = typer.Typer(
    help="Accounts and their roles (agency, reviewer, subject, auditor, source, lender).",
    no_args_is_help=True,
)

scorecard_app = typer.Typer(
    help="Lending scorecards: refit on the loan outcomes lenders reported to this registry.",
    no_args_is_help=True,
)


@scorecard_app.command("fit")
@clerk_errors
def scorecard_fit(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="The moment the inputs are read at (YYYY-MM-DD); outcomes are the loans "
            "reported in default or 90+ days past due in the window after it.",
        ),
    ],
    kind: Annotated[str, typer.Option("--kind", help="person or organisation.")] = "person",
    outcomes_from_registry: Annotated[
        bool,
        typer.Option(
            "--outcomes-from-registry",
            help="Learn from the loan performance lenders reported (the only source of "
            "outcomes there is; required).",
        ),
    ] = False,
    window: Annotated[
        str, typer.Option("--window", help="How long after --as-of outcomes count, e.g. 12m.")
    ] = "12m",
    seed: Annotated[int, typer.Option("--seed", help="The split's seed.")] = 0,
) -> None:
    """Fit KIND's scorecard on the registry's own outcomes and write it, versioned, to the
    registry's models directory (SOCIALCREDIT_MODELS_DIR, or next to the SQLite file). Name
    its id in the pack's lending.yaml (score.models) to score with it; every score names it.

    Example: socialcredit scorecard fit --kind person --outcomes-from-registry --as-of 2026-01-01 --window 12m
    """
    from ..clock import parse_moment
    from ..services.scorecard_fit import fit_from_registry

    if not outcomes_from_registry:
        raise typer.BadParameter(
            "the only outcomes there are the registry's: pass --outcomes-from-registry"
        )
    reg = registry()
    print_json(
        fit_from_registry(reg, kind, parse_moment(as_of, reg.tz), window, seed, actor("cli"))
    )


@scorecard_app.command("audit")
@clerk_errors
def scorecard_audit(
    kind: Annotated[str, typer.Option("--kind", help="person or organisation.")] = "person",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Read the inputs as of this date (YYYY-MM-DD) and, with --window, compare each "
            "group's observed bad share; default: now, approvals only.",
        ),
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="The outcomes' window after --as-of, e.g. 12m.")
    ] = None,
) -> None:
    """The fairness audit of the pack's scorecard for KIND on this registry's subjects:
    approval rate, mean score (and observed bad share) by sex and age band for persons
    (derived in memory from the decrypted ID numbers, aggregates only, each read shown to the
    person) or by province, entity type and age of firm for organisations; groups under 5
    suppressed. Prints JSON.

    Example: socialcredit scorecard audit --kind organisation
    """
    from ..clock import parse_moment
    from ..services.scorecard_audit import audit

    reg = registry()
    moment = parse_moment(as_of, reg.tz) if as_of else None
    print_json(audit(reg, kind, moment, window, actor("cli")))


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


@principals_app.command("contact")
@clerk_errors
def principals_contact(
    principal_id: Annotated[str, typer.Argument(help="The account's id.")],
    email: Annotated[str | None, typer.Option("--email", help="An e-mail address.")] = None,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="An http(s) URL for signed webhooks.")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Where an account's notices go: the corrections of files it read (an agency, a lender).
    Prints the webhook's signing secret once.

    Example: socialcredit principals contact U0123 --email checks@caac.example --webhook-url https://caac.example/hooks/registry
    """
    from ..services.notices import set_principal_contact

    print_json(
        set_principal_contact(
            registry(as_of),
            principal_id,
            email=email,
            webhook_url=webhook_url,
            actor=actor("cli:operator"),
        )
    )


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
        t = Table(title=f"{ld.name.joined()} ({lid}, {ld.kind} list)", title_justify="left")
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
