"""The fairness audit of the lending scorecards on the registry's own subjects: persons by sex
and age band derived in memory from their ID numbers (aggregates only, each read shown to the
person), organisations by province, entity type and age of firm; small groups suppressed."""

from __future__ import annotations

import json

from stdnum.cn import ric

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import consents, ingest
from socialcredit.services.access import authenticate, create_principal
from socialcredit.services.scorecard_audit import audit
from socialcredit.services.subjects import subject_file
from tests.fixtures.rows import judgment, numbered, payment
from tests.integration.test_scorecard_fit import _registry_with_outcomes


def _number(i: int, born: str, male: bool) -> str:
    seq = 100 + 2 * i + (1 if male else 0)  # the 17th digit: odd for a man
    first17 = f"110105{born}{seq:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def test_persons_by_sex_and_age_band_aggregates_only(reg: Registry, clock: FixedClock) -> None:
    people = [
        (_number(i, born, male), male)
        for i, (born, male) in enumerate(
            [("19900101", True)] * 6 + [("19920101", False)] * 6 + [("19550101", True)] * 3
        )
    ]
    # each person registered by a first record that needs no consent
    known = [
        judgment(f"J-{n}", number, status="performed", conduct=None, listing_ref=None,
                 performed_on="2026-01-20")
        for n, (number, _male) in enumerate(people)
    ]  # fmt: skip
    assert ingest.ingest(reg, numbered(known), "court", actor="court").rejected == 0
    clock.set(parse_moment("2026-03-20T09:00"))
    rows = []
    for n, (number, _male) in enumerate(people):
        acct = create_principal(reg, "subject", f"p{n}", actor="op", subject=number)
        consents.grant_to_source(
            reg,
            authenticate(reg, acct["token"]),
            number,
            source="utilities",
            record_types=["utility_payment"],
        )
        for m in range(1, 9):  # eight months: enough history
            late = n % 3 == 0 and m % 2 == 0
            rows.append(
                payment(f"U-{n}-{m}", f"2025-{m:02d}", number, record_type="utility_payment",
                        paid="late" if late else "on_time", days_late=30 if late else 0)
            )  # fmt: skip
    assert ingest.ingest(reg, numbered(rows), "utilities", actor="utilities").rejected == 0
    out = audit(reg, "person")
    assert out["model"] == "registry_person_v1" and out["not_enough_history"] == 0
    sexes = {g["group"]: g for g in out["groups"]["sex"]}
    assert sexes["male"]["scored"] == 9 and sexes["female"]["scored"] == 6
    bands = {g["group"]: g for g in out["groups"]["age_band"]}
    assert bands["25-40"]["scored"] == 12
    assert bands[">60"] == {"group": ">60", "scored": None, "suppressed": True}  # 3 < 5
    assert 0 <= out["approval_gaps"]["sex"] <= 1
    # aggregates only: no number, no birth date, nothing of anyone
    dump = json.dumps(out, ensure_ascii=False)
    assert all(number not in dump and number[6:14] not in dump for number, _m in people)
    # each person whose number was decrypted sees the read
    reads = subject_file(reg, people[0][0])["reads"]
    assert any(r["why"].get("purpose") == "fairness audit (aggregates only)" for r in reads)


def test_organisations_by_province_entity_type_and_age_of_firm(
    reg: Registry, clock: FixedClock
) -> None:
    _registry_with_outcomes(reg, clock)
    out = audit(reg, "organisation", parse_moment("2026-01-01", reg.tz), "6m")
    assert out["model"] == "registry_smb_v1"
    (beijing,) = out["groups"]["province"]
    assert beijing["group"] == "北京市" and beijing["scored"] == 160
    assert 0 < beijing["bad_rate"] < 0.5  # observed outcomes beside the approvals
    assert {g["group"] for g in out["groups"]["entity_type"]} == {"enterprise"}
    assert {g["group"] for g in out["groups"]["firm_age"]} == {"unknown"}
