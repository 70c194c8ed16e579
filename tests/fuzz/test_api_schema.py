"""Schemathesis against the API's own /openapi.json, with every role's credentials.

Each operation gets schemathesis's coverage cases (boundary values, missing and malformed
parameters, unexpected methods: deterministic) and then generated requests, valid and invalid,
on a registry seeded with generated agency files. Each request is sent as the public (no token),
a source's system, a reviewer, an implementing agency, an auditor and a subject's account, and
every answer must pass schemathesis's checks: no 5xx, a documented status code, content type,
headers and body. (Only "valid input is accepted" is left out: a valid code may name no subject.)

Codes, measures, listings, records, objections and repairs that exist are mixed into the
generated values, so that reads reach real files and writes real state, not only "unknown".
The run is derandomised (fixed seeds, no example database, no shrinking) and sized for CI
(SOCIALCREDIT_TEST_FUZZ_EXAMPLES=100 makes a deeper run): a failure names the operation, the
role and a curl command that reproduces it.

The hypothesis tests are built here per operation rather than with ``@schema.parametrize()``:
the registry (and so the application) comes from fixtures parametrised over both databases, and
schemathesis's lazy pytest loader (``schemathesis.pytest.from_fixture``) fails on pytest 9.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from socialcredit.api.app import create_app
from socialcredit.api.ratelimit import SearchLimiter
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import ingest, listings, objections, repairs, subjects
from socialcredit.services.access import authenticate, create_principal
from socialcredit.services.consents import grant
from socialcredit.services.sources import issue_token
from tests.fixtures.rows import ORG, PERSON, judgment, numbered, penalty

#: generated requests per operation and mode (valid, invalid); each is sent once per role
MAX_EXAMPLES = int(os.environ.get("SOCIALCREDIT_TEST_FUZZ_EXAMPLES", "8"))
ROLES = ("public", "source", "reviewer", "agency", "auditor", "subject", "lender")
SEED = 20261001


def seed_registry(reg: Registry, clock: FixedClock, tmp_path: Path) -> dict[str, Any]:
    """Generated agency files, a listed organisation with a subject account, an objection and
    a repair application; the tokens of every role and the identifiers worth fuzzing with."""
    clock.set(parse_moment("2026-09-01"))
    ingest.ingest(reg, numbered([judgment(decided_on="2026-08-20")]), "court", actor="test")
    ingest.ingest(reg, numbered([penalty("P-1", decided_on="2026-08-20")]), "samr", actor="test")
    clock.set(parse_moment("2026-10-01"))  # past the notice period: ORG's listings are active
    data = tmp_path / "data"
    generate(60, data, seed=9)
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(data / name), source, actor="test")
    listings.advance(reg, "test")
    op = "test:operator"
    tokens: dict[str, str | None] = {
        "public": None,
        "source": issue_token(reg, "court", "court gateway", op),
        "reviewer": create_principal(reg, "reviewer", "复核员", actor=op)["token"],
        "agency": create_principal(
            reg, "agency", "民航", actor=op, measures=["restrict_air_travel"]
        )["token"],
        "auditor": create_principal(reg, "auditor", "审计", actor=op)["token"],
        "subject": create_principal(reg, "subject", "某公司", actor=op, subject=ORG)["token"],
    }
    bank = create_principal(reg, "lender", "某银行", actor=op)
    tokens["lender"] = bank["token"]
    consent = grant(
        reg,
        authenticate(reg, tokens["subject"]),
        ORG,
        lender=bank["principal_id"],
        purpose="loan_application",
    )
    codes = [ORG, PERSON]
    for line in (data / "subjects.jsonl").read_text(encoding="utf-8").splitlines()[:8]:
        codes.append(json.loads(line)["subject_id"])
    lids = {x["list"]: x["id"] for x in subjects.subject_file(reg, ORG)["listings"]}
    objection = objections.file_objection(
        reg, ORG, listing_id=lids["dishonest_judgment_debtors"], grounds="paid", actor=op
    )
    repair = repairs.apply_for_repair(
        reg, ORG, listing_id=lids["serious_illegal_dishonest"], evidence="fine paid", actor=op
    )
    return {
        "tokens": tokens,
        "codes": codes,
        "measures": sorted(reg.pack.measures),
        "listings": sorted(lids.values()),
        "records": ["court/BJ-2026-0001", "samr/P-1"],
        "objections": [objection["id"]],
        "repairs": [repair["id"]],
        "consents": [consent["consent_id"]],
        "lenders": [bank["principal_id"]],
    }


def load_schema(app: Any, seeded: dict[str, Any]) -> Any:
    half = 0.5  # half the values drawn from what exists, half generated
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"deterministic": True, "database": "none"},
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "dictionaries": {
                name: {"values": seeded[name]}
                for name in (
                    "codes",
                    "measures",
                    "listings",
                    "records",
                    "objections",
                    "repairs",
                    "consents",
                    "lenders",
                )
            },
            "parameters": {
                "path.code": {"dictionary": "codes", "probability": half},
                "query.subject": {"dictionary": "codes", "probability": half},
                "body.subject": {"dictionary": "codes", "probability": half},
                "body.subjects[*]": {"dictionary": "codes", "probability": half},
                "query.measure": {"dictionary": "measures", "probability": half},
                "body.measure": {"dictionary": "measures", "probability": half},
                "body.listing_id": {"dictionary": "listings", "probability": half},
                "body.record": {"dictionary": "records", "probability": half},
                "path.objection_id": {"dictionary": "objections", "probability": half},
                "path.repair_id": {"dictionary": "repairs", "probability": half},
                "path.consent_id": {"dictionary": "consents", "probability": half},
                "body.lender": {"dictionary": "lenders", "probability": half},
            },
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def describe(exc: BaseException) -> str:
    """A schemathesis failure as text: the problems and how to reproduce them (curl)."""
    parts = [str(exc), *getattr(exc, "__notes__", ())]
    parts += [f"- {sub}" for sub in getattr(exc, "exceptions", ())]
    return "\n".join(parts)


def as_every_role(headers: dict[str, dict[str, str]]) -> Callable[[Any], None]:
    def send(case: Any) -> None:
        # a method the path does not serve is refused by routing, before anyone is asked who
        # they are: once is enough
        other_method = case.method.upper() != case.operation.method.upper()
        for role in ROLES[:1] if other_method else ROLES:
            try:
                # the public sends no token of ours: schemathesis generates the header, if any
                case.call_and_validate(headers=headers[role] or None)
            except (AssertionError, BaseExceptionGroup) as exc:
                raise AssertionError(f"as {role}: {describe(exc)}") from None

    return send


def test_api_conforms_to_its_schema_for_every_role(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    seeded = seed_registry(reg, clock, tmp_path)
    # a body that breaks maxItems can run to several MB: the body limit (held by
    # tests/e2e/test_bounds.py) would answer it 413 before validation answers 422, which
    # schemathesis's negative checks do not expect; here the validation is what is tested
    import dataclasses

    reg.settings = dataclasses.replace(reg.settings, max_body=512 * 1024 * 1024)
    # one client sends every request: the search limit would answer most of them 429
    app = create_app(reg, search_limiter=SearchLimiter(rate=0))
    schema = load_schema(app, seeded)
    send = as_every_role(
        {
            role: {"Authorization": f"Bearer {token}"} if token else {}
            for role, token in seeded["tokens"].items()
        }
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            for case in schema.iter_coverage_cases(
                operation,
                generation_modes=list(GenerationMode),
                generation_config=schema.config.generation_for(
                    operation=operation, phase="coverage"
                ),
            ):
                send(case)
        except AssertionError as exc:  # every operation runs; the report lists all failures
            failures[f"{operation.label} (coverage)"] = str(exc)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],  # report, do not shrink
            )
            def fuzz(case: Any) -> None:
                send(case)

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label
            except AssertionError as exc:
                failures[f"{operation.label} ({mode.value})"] = str(exc)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
