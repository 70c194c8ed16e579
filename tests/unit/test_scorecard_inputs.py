"""Neither default scorecard reads a field the registry does not hold: every input of the
models the pack names is computed from a subject's file (its records and listings), and every
record type those inputs are read from is one of the pack's."""

from __future__ import annotations

from datetime import date

import pytest

from socialcredit.analytics import persons, smb
from socialcredit.analytics.scorecard import load_model
from socialcredit.policy.load import load_pack

READERS = {"person": persons.features_of, "organisation": smb.features_of}


@pytest.mark.parametrize("kind", ["person", "organisation"])
def test_every_input_of_the_default_model_is_read_from_the_registry(kind: str) -> None:
    pack = load_pack("cn-national")
    assert pack.lending is not None
    model = load_model(pack.lending.score.models[kind])
    computed = READERS[kind]([], [], [], date(2026, 6, 1))
    assert model.inputs, "a model with no inputs"
    assert set(model.inputs) <= set(computed), set(model.inputs) - set(computed)


def test_the_record_types_the_inputs_are_read_from_are_the_pack_s() -> None:
    pack = load_pack("cn-national")
    read = {*persons.RECORD_TYPES, *smb.PAYMENT_TYPES, "tax_credit_rating"}
    read |= {"administrative_penalty", "abnormal_operation"}
    assert read <= set(pack.record_types), read - set(pack.record_types)


def test_the_german_credit_model_would_fail_the_rule() -> None:
    """The check can fail: the old person model's inputs (an application form's checking
    account, credit history, ...) are nothing the registry holds."""
    old = load_model("german_credit_v1")
    computed = persons.features_of([], [], [], date(2026, 6, 1))
    assert not set(old.inputs) <= set(computed)
