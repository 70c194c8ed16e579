"""Credit for financing: a lender's report on a consenting subject, and the lending score.

A lender reads a subject's file only under an active consent of that subject naming it
(``consents.require_lender_consent``); without one it gets 403 and nothing else. Every report
and every score is recorded as a read of the subject's data, with the consent and its purpose,
and the subject sees it in its own file ("who looked at my file, and why").

The report is the file as it stood at the report's minute: identity, the records of the pack's
``lending.report.history`` (payment behaviour among them), listings, grades of the methods whose
levels the pack publishes (with their explanation), payment behaviour summarised over each of
the pack's windows, and every record a subject has disputed (an objection not yet decided)
flagged as disputed. It is sealed: its ``report_id`` and the SHA-256 of its content are bound by
a MAC under the registry's key, so a lender (or a court) can later show that the registry issued
exactly this report (``verify_report``), without the registry keeping a copy.

A lending score serves the lender's credit decision only. It is computed on request, returned
to the lender and never stored: no event, projection, list, measure, check or grade of the
registry holds or reads it (the pack loader refuses any rule that names it, and
import-linter keeps ``rules`` and the check, listing and grading services from importing this
module or the scorecard).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from dateutil.relativedelta import relativedelta

from ..analytics import persons, smb
from ..analytics.scorecard import refuse_prohibited
from ..clock import iso
from ..errors import InvalidInput, NotPermitted
from ..events.chain import canonical
from ..policy.durations import Duration
from .access import Principal
from .consents import require_lender_consent
from .filing import record_key
from .grading import grade_file
from .reads import record_read
from .subjects import subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry

PURPOSE = "lender-report"
PAYMENTS = ("on_time", "late", "in_arrears")
OPEN_OBJECTION = ("open", "escalated")


def _moment(reg: Registry) -> datetime:
    return reg.now().astimezone(reg.tz).replace(second=0, microsecond=0)


def payment_summary(
    records: list[dict[str, Any]], types: list[str], windows: list[str], moment: datetime
) -> list[dict[str, Any]]:
    """Per payment type and window: periods recorded, paid on time, late, in arrears, the share
    on time, the longest delay, and how many of them are disputed. Records a source withdrew or
    an objection retracted do not count."""
    today = moment.date()
    out = []
    for w in windows:
        d = Duration.parse(w)
        if d.unit in ("m", "y"):  # whole months, the current one included
            months = d.amount * (12 if d.unit == "y" else 1)
            start = date(today.year, today.month, 1) - relativedelta(months=months - 1)
        else:
            start = _back(moment, d)
        for t in types:
            rows = [
                r
                for r in records
                if r["record_type"] == t
                and r["status"] != "withdrawn"
                and not r.get("retracted")
                and (p := smb.period_start(r)) is not None
                and start <= p <= today
            ]
            counts = {k: sum(r["fields"].get("payment") == k for r in rows) for k in PAYMENTS}
            delays = [int(r["fields"]["days_late"]) for r in rows if r["fields"].get("days_late")]
            out.append(
                {
                    "record_type": t,
                    "window": w,
                    "from": start.isoformat(),
                    "periods": len(rows),
                    **counts,
                    "on_time_share": round(counts["on_time"] / len(rows), 4) if rows else None,
                    "longest_delay_days": max(delays, default=0),
                    "disputed": sum(bool(r.get("disputed")) for r in rows),
                }
            )
    return out


def _back(moment: datetime, d: Duration) -> date:
    """The day ``d`` before ``moment`` (working days count as days here: a report's history
    is a span of the calendar)."""
    if d.unit == "y":
        return (moment - relativedelta(years=d.amount)).date()
    if d.unit == "m":
        return (moment - relativedelta(months=d.amount)).date()
    return (moment - relativedelta(days=d.amount)).date()


def _seal(reg: Registry, report_id: str, digest: str) -> str:
    return reg.protector.seal(PURPOSE, f"{report_id}|{digest}", length=16)


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(dict(body)).encode("utf-8")).hexdigest()


def lender_report(reg: Registry, who: Principal, code: str) -> dict[str, Any]:
    """The report a lender reads under the subject's consent, recorded as a read."""
    consent, ref = require_lender_consent(reg, who, code)
    policy = reg.pack.lending
    assert policy is not None  # require_lender_consent found a consent under it
    moment = _moment(reg)
    file = subject_file(reg, code, moment)
    since_day = _back(moment, Duration.parse(policy.report.history))
    disputes = {
        o["record_key"]: o
        for o in file["objections"]
        if o.get("record_key") and o["status"] in OPEN_OBJECTION
    }
    # the subject's own statements, shown beside the entries they stand by
    said = {
        (st["listing_id"] or st["record_key"]): {
            "statement": st["statement"],
            "filed_at": st["filed_at"],
            "by_subject": True,
        }
        for st in file["statements"]
        if st["status"] == "shown"
    }
    records = []
    for r in file["records"]:
        if date.fromisoformat(r["decided_on"]) < since_day:
            continue
        key = record_key(r["source"], r["source_record_id"])
        dispute = disputes.get(key)
        rt = reg.pack.record_types[r["record_type"]]
        records.append(
            {
                **{k: v for k, v in r.items() if k != "updated_at"},
                "record_type_name": rt.name.model_dump(),
                "statement": said.get(key),
                "disputed": dispute is not None,
                "dispute": (
                    {"objection_id": dispute["id"], "filed_at": dispute["filed_at"]}
                    if dispute
                    else None
                ),
            }
        )
    grades = []
    for mid, gm in reg.pack.grading.items():
        if gm.publication is None or file["kind"] not in gm.subject_kinds:
            continue  # supervision grades stay with the supervisors
        grades.append(grade_file(reg, file, mid, moment))
    report_id = "R" + uuid.uuid4().hex[:31]
    purpose = policy.consent.purposes[consent.purpose]
    body = {
        "report_id": report_id,
        "issued_at": iso(moment, reg.tz),
        "rules": reg.pack.rules_on(moment.astimezone(reg.tz).date()),
        "issued_to": {"lender": who.principal_id, "name": who.name},
        "consent": {
            "consent_id": consent.consent_id,
            "purpose": consent.purpose,
            "purpose_text": purpose.model_dump(),
            "until": iso(consent.until, reg.tz),
        },
        "subject": {
            "subject": file["subject"],
            "kind": file["kind"],
            "name": file["name"],
            "division": file.get("division"),
            "known_from": file.get("known_from"),
            "registered_at": file.get("registered_at"),
        },
        "history_from": since_day.isoformat(),
        "records": records,
        "disputed_records": sum(r["disputed"] for r in records),
        "listings": [
            {
                k: x[k]
                for k in (
                    "listing_id",
                    "list",
                    "list_name",
                    "status",
                    "since",
                    "until",
                    "ended_at",
                    "end_reason",
                    "legal_basis",
                    "how_to_resolve",
                )
            }
            | {"statement": said.get(x["listing_id"])}
            for x in file["listings"]
            if x["status"] != "proposed"
        ],
        "grades": grades,
        "payment_behaviour": payment_summary(
            records, policy.report.payment_types, policy.report.windows, moment
        ),
        "use": policy.score.use.model_dump(),
        "legal_basis": reg.pack.cite(policy.report.legal_basis),
        "pack": {"id": reg.pack.meta.id, "version": reg.pack.meta.version},
    }
    body = orjson.loads(orjson.dumps(body))  # plain JSON, as the seal and the reader see it
    digest = _digest(body)
    record_read(
        reg,
        ref.subject_id,
        who.label,
        PURPOSE,
        {
            "purpose": consent.purpose,
            "consent_id": consent.consent_id,
            "report_id": report_id,
            "digest": digest,
        },
    )
    return {**body, "seal": {"sha256": digest, "mac": _seal(reg, report_id, digest)}}


def verify_report(reg: Registry, report: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the registry issued exactly this report: its content's digest and MAC agree."""
    seal = report.get("seal")
    body = {k: v for k, v in report.items() if k != "seal"}
    if not isinstance(seal, Mapping) or not isinstance(body.get("report_id"), str):
        raise InvalidInput("a lender's report as issued: its fields, report_id and seal")
    digest = _digest(body)
    ok = digest == seal.get("sha256") and hmac.compare_digest(
        str(seal.get("mac", "")), _seal(reg, body["report_id"], digest)
    )
    return {
        "report_id": body["report_id"],
        "issued_at": body.get("issued_at"),
        "valid": ok,
        "sha256": digest,
    }


def verify_seal(reg: Registry, report_id: str, sha256: str, mac: str) -> bool:
    """Whether the registry sealed a report ``report_id`` whose content has digest ``sha256``
    (what a printed report carries, its QR code too): the holder of the paper compares the
    digest printed on it; nothing of the report is read or shown here."""
    expected = _seal(reg, report_id.strip(), sha256.strip().lower())
    return bool(report_id and sha256 and hmac.compare_digest(mac.strip(), expected))


def _declined_by_listing(reg: Registry, listings: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The subject's active listings on the lists whose listing declines financing
    (``lending.yaml``: ``score.declines_when_listed``), each as a reason."""
    policy = reg.pack.lending
    rule = policy.score.declines_when_listed if policy is not None else None
    if rule is None:
        return []
    out = []
    for x in listings:
        if x["status"] != "active" or x["list"] not in rule.lists:
            continue
        name = reg.pack.lists[x["list"]].name.in_("en")
        out.append(
            {
                "feature": "listing",
                "label": name,
                "value": x["listing_id"],
                "listing_id": x["listing_id"],
                "decision_ref": x["decision_ref"],
                "since": x["since"],
                "legal_basis": reg.pack.cite(rule.legal_basis),
                "how_to_resolve": x["how_to_resolve"],
                "text": f"Actively on the {name} since {x['since']} ({x['decision_ref']}): "
                "financing is restricted while the listing lasts, whatever the score.",
            }
        )
    return out


def score(reg: Registry, who: Principal, code: str, applicant: Mapping[str, Any]) -> dict[str, Any]:
    """A lending score for a consenting subject, with its reasons; recorded as a read, never
    stored. A subject is scored on its file in the registry (organisations:
    ``analytics.smb.features_of``; persons: ``analytics.persons.features_of``, payments, the
    loans lenders reported and court judgments), whatever the lender sends; the inputs read are
    returned with the score. ``applicant`` is checked for prohibited data only (refused, so the
    lender learns not to collect it). A person whose file is too thin to score is answered
    "not enough history", with what is needed, never a low score."""
    consent, ref = require_lender_consent(reg, who, code)
    policy = reg.pack.lending
    assert policy is not None
    model_id = policy.score.models.get(ref.kind)
    if model_id is None:
        raise NotPermitted(f"this pack scores no {ref.kind}")
    from ..analytics.scorecard import load_model

    try:
        model = load_model(model_id, reg.settings.models_dir)
    except FileNotFoundError:
        raise InvalidInput(f"scorecard {model_id!r} is not installed") from None
    refuse_prohibited(applicant)
    moment = _moment(reg)
    file = subject_file(reg, code, moment)
    black = [lid for lid, ld in reg.pack.lists.items() if ld.kind == "black"]
    reads = persons.features_of if ref.kind == "person" else smb.features_of
    inputs = reads(file["records"], file["listings"], black, moment.date())
    if ref.kind == "person" and not persons.enough_history(inputs):
        have = persons.history_months(inputs)
        result: dict[str, Any] = {
            "model": model.model_id,
            "score": None,
            "cutoff": model.cutoff,
            "approved": None,
            "enough_history": False,
            "points_by_feature": {},
            "inputs": {f: inputs[f] for f in model.inputs},
            "reasons": [
                {
                    "feature": "history",
                    "value": have,
                    "text": f"Not enough history to score: {have} month(s) of payment or loan "
                    f"records in the last 24; the model needs {persons.MIN_HISTORY_MONTHS}. "
                    "This is not a low score: the file says nothing against the applicant.",
                }
            ],
            "history_needed": persons.MIN_HISTORY_MONTHS - have,
            "to_improve": None,
        }
    else:
        result = {**model.score(inputs), "inputs": {f: inputs[f] for f in model.inputs}}
    declined = _declined_by_listing(reg, file["listings"])
    if declined:
        result["approved"] = False
        result["declined_by_listing"] = [d["listing_id"] for d in declined]
        result["reasons"] = [*declined, *result["reasons"]]
    record_read(
        reg,
        ref.subject_id,
        who.label,
        "lending-score",
        {
            "purpose": consent.purpose,
            "consent_id": consent.consent_id,
            "model": model_id,
            # what lowered the score, for the subject to see (PIPL Art. 24): the inputs
            # named, never the score or the points
            "reasons": [str(r.get("feature")) for r in result["reasons"]],
        },
    )
    return {
        **result,
        "subject": ref.display,
        "scored_at": iso(reg.now(), reg.tz),
        "use": policy.score.use.model_dump(),
        "legal_basis": reg.pack.cite(policy.score.legal_basis),
    }
