"""Signing in does not tell which usernames exist: an unknown name is refused with the same
message and after the same password check as a wrong password."""

from __future__ import annotations

import statistics
import time

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.errors import InvalidInput, NotAuthenticated
from socialcredit.services.access import create_principal, sign_in
from socialcredit.services.signin_guard import SignInGuard, TooManyAttempts


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


def test_weak_passwords_are_refused(reg: Registry, db_url: str) -> None:
    """Length 12 alone let ``aaaaaaaaaaaa`` through; common passwords and the account's own
    name are refused now, each with the reason."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the password rule does not depend on the database")
    for weak in ("aaaaaaaaaaaa", "password1234", "qwertyuiop12", "wangwangwang12"):
        with pytest.raises(InvalidInput) as exc:
            create_principal(reg, "reviewer", "Wang", actor="t", username="wang", password=weak)
        assert "password" in exc.value.message
    create_principal(
        reg, "reviewer", "Wang", actor="t", username="wang", password="pearl lantern orbit"
    )


def test_failed_sign_ins_are_slowed_per_account(reg: Registry, db_url: str) -> None:
    """About two guesses a second were possible with no lockout; after five failures each
    attempt waits twice as long as the one before, refused unread when early."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the guard does not depend on the database")
    now = [1000.0]
    reg.shared("signin_guard", lambda: SignInGuard(clock=lambda: now[0]))
    create_principal(
        reg, "reviewer", "Wang", actor="t", username="wang", password="pearl lantern orbit"
    )
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            sign_in(reg, "wang", "guess guess guess", address="192.0.2.7")
    # the sixth attempt, even with the right password, must wait
    with pytest.raises(TooManyAttempts) as exc:
        sign_in(reg, "wang", "pearl lantern orbit", address="192.0.2.8")
    assert exc.value.retry_after == 1 and exc.value.status == 429
    now[0] += 1.5
    with pytest.raises(NotAuthenticated):
        sign_in(reg, "wang", "guess guess guess", address="192.0.2.9")
    with pytest.raises(TooManyAttempts) as exc:
        sign_in(reg, "wang", "pearl lantern orbit")
    assert exc.value.retry_after == 2  # twice as long
    now[0] += 2.5
    assert sign_in(reg, "wang", "pearl lantern orbit")["role"] == "reviewer"
    # a success clears the failures
    with pytest.raises(NotAuthenticated):
        sign_in(reg, "wang", "guess guess guess")
    with pytest.raises(NotAuthenticated):
        sign_in(reg, "wang", "guess again guess")
