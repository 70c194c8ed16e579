"""What stands between a password guesser and an account: weak passwords refused when set,
and failed sign-ins slowed per account and per address.

Passwords: at least 12 characters and a zxcvbn score of 3 or more ("safely unguessable",
about 10^8 guesses and up), judged against zxcvbn's own lists of common passwords, names and
words (shipped in the package: nothing is fetched) and against the account's own username and
name; ``aaaaaaaaaaaa`` passed the length rule alone.

Failed sign-ins: an account and an address each have a few free failures (5 for an account, 20
for an address, which many people may share); after that each attempt must wait twice as long
as the one before (1 s, 2 s, 4 s ... at most 15 minutes) since the last failure, and an attempt
made too early is refused before the password is looked at, so the waiting cannot be skipped by
guessing faster. A success clears the account's and the address's failures. Per process and in
memory like the search limit (``api/ratelimit.py``): with several workers the slowing is per
worker; the account's growing delay still bounds guessing to a few hundred tries a day.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import InvalidInput, RetryLater

MIN_LENGTH = 12
MIN_SCORE = 3
FREE = {"account": 5, "address": 20}
MAX_WAIT = 900.0
MAX_KEYS = 100_000


class TooManyAttempts(RetryLater):
    """Answered 429 with Retry-After."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins for this account or from this address: wait "
            f"{retry_after} s and try again",
            retry_after,
        )


def check_password(password: str, *, user_inputs: list[str]) -> None:
    """Refuse a weak password with the reason and a suggestion."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_LENGTH} characters")
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])
    if result["score"] < MIN_SCORE:
        fb = result.get("feedback") or {}
        why = fb.get("warning") or "it is easy to guess"
        hint = " ".join(fb.get("suggestions") or []) or "Use a few uncommon words together."
        raise InvalidInput(f"this password is too weak: {why.rstrip('.')}. {hint}")


def client_key(host: str | None) -> str:
    """The bucket a peer address falls in: the address itself, or the /64 of an IPv6 one."""
    if not host:
        return "unknown"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a test client, a Unix socket)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class SignInGuard:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (failures, time of the last failure)
        self._failures: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("account", username.strip().casefold())]
        if address:
            keys.append(("address", client_key(address)))
        return keys

    def before(self, username: str, address: str | None) -> None:
        """Raise TooManyAttempts if an attempt now comes too early."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                n, last = self._failures.get(key, (0, 0.0))
                over = n - FREE[key[0]]
                if over >= 0:
                    wait = max(wait, last + min(MAX_WAIT, 2.0**over) - now)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))

    def failed(self, username: str, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(username, address):
                n, _ = self._failures.pop(key, (0, 0.0))
                self._failures[key] = (n + 1, now)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str | None) -> None:
        with self._lock:
            for key in self._keys(username, address):
                self._failures.pop(key, None)
