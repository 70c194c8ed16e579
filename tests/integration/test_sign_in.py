"""Signing in does not tell which usernames exist: an unknown name is refused with the same
message and after the same password check as a wrong password."""

from __future__ import annotations

import statistics
import time

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.errors import NotAuthenticated
from socialcredit.services.access import create_principal, sign_in


def _refusal(reg: Registry, username: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    with pytest.raises(NotAuthenticated) as exc:
        sign_in(reg, username, "not-the-password")
    return time.perf_counter() - t0, exc.value.message


def test_unknown_username_costs_what_a_wrong_password_costs(reg: Registry, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the password check does not depend on the database")
    create_principal(reg, "reviewer", "Wang", actor="t", username="wang", password="correct-horse")
    assert sign_in(reg, "wang", "correct-horse")["role"] == "reviewer"
    known = [_refusal(reg, "wang") for _ in range(3)]
    unknown = [_refusal(reg, "nobody") for _ in range(3)]
    assert {m for _, m in known} == {m for _, m in unknown}
    # the argon2 check dominates both (hundreds of ms); skipping it took ~1 ms
    ratio = statistics.median(t for t, _ in unknown) / statistics.median(t for t, _ in known)
    assert ratio > 0.3, ratio
