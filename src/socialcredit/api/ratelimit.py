"""The rate limit of the public name search: a token bucket per client address, in memory.

A person typing in the search box sends one request per pause (the box asks 250 ms after the
last key), so at most about one a second for a while, with bursts of a dozen or two when a name
is typed quickly or pages are reloaded. A scraper walking the register by name sends thousands.
Each client address gets a bucket of ``burst`` tokens that refills at ``rate`` tokens a second; a
search takes a token, and a search that finds the bucket empty is answered 429 with Retry-After,
the whole seconds until a token is back. The defaults (``Settings.search_rate``,
``search_burst``) leave a person typing far below the limit.

What this does not do, by design:

- It is per process. Every worker process holds its own buckets, so with N workers a client may
  get up to N times the rate through (each worker sees only its share of the requests). For a
  hard limit across workers, limit at the reverse proxy.
- It knows the client by ``request.client.host``. uvicorn takes that from X-Forwarded-For
  only on connections from ``--forwarded-allow-ips`` (default 127.0.0.1, or the environment's
  FORWARDED_ALLOW_IPS), so a reverse proxy on the same machine passes each reader's address on;
  a proxy elsewhere must be named there, and nothing else may be (never ``*``: a scraper would
  name a new address with each request). Otherwise all readers behind the proxy share one
  bucket: then use the proxy's own limiter and turn this one off
  (``SOCIALCREDIT_SEARCH_RATE=0``).
- An IPv6 client is known by its /64 network, which one subscriber usually holds whole; many
  people behind one carrier-grade NAT share an IPv4 address and so a bucket, which is one more
  reason for a generous burst.

Memory is bounded: at most ``max_clients`` buckets are kept, the least recently used dropped
first (a dropped client starts again with a full bucket).

Why not a library: ``limits`` (which ``slowapi`` builds on) offers fixed, moving and sliding
windows, not a token bucket, and its in-memory storage reads the wall clock itself, so a test
must sleep or patch time; the bucket is a few lines, takes an injected clock and adds no
dependency.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import RetryLater
from ..services.signin_guard import client_key

__all__ = ["RateLimited", "SearchLimiter", "client_key"]


class RateLimited(RetryLater):
    """Too many searches from one client: answered 429 with Retry-After."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many searches from your address: wait {retry_after} s and try again; "
            "bulk use is served by the open data files (/open-data/)",
            retry_after,
        )


class PersonChecksLimited(RetryLater):
    """An agency past its quota of checks on natural persons: 429 with Retry-After."""

    code = "person_check_quota"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"your agency's quota of checks on natural persons is spent for now: wait "
            f"{retry_after} s (the quota is SOCIALCREDIT_PERSON_CHECK_RATE a second; the check "
            "server, serve-checks, has none)",
            retry_after,
        )


class SearchLimiter:
    """Token buckets per client address. ``rate`` tokens a second (0 turns the limit off), up
    to ``burst``; ``clock`` gives seconds (monotonic in production, a test's own in tests)."""

    def __init__(
        self,
        rate: float,
        burst: int = 30,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        if rate < 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate must be >= 0, burst and max_clients >= 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, host: str | None, cost: int = 1) -> int:
        """Take ``cost`` tokens for a request from ``host`` (an address, or any other key such
        as a principal's): 0 if it may go ahead, otherwise the whole seconds (at least 1) until
        the bucket holds them again. A cost above the burst is charged as the whole burst."""
        if self.rate <= 0 or cost <= 0:
            return 0
        cost = min(cost, self.burst)
        key = client_key(host)
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.rate)
            wait = 0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = max(1, math.ceil((cost - tokens) / self.rate))
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
