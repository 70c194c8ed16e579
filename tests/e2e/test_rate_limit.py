"""The public name search is rate limited per client address: a scraper gets 429 with
Retry-After, a person typing never notices, and nothing else is limited by it.

The server's search limiter runs on the test's own clock, so a test steps through minutes of
typing without sleeping; the requests themselves go over real HTTP to a uvicorn server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from socialcredit.api.app import create_app
from socialcredit.api.ratelimit import SearchLimiter, client_key
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.errors import ConfigurationError
from socialcredit.services import ingest
from socialcredit.services.access import create_principal
from socialcredit.services.sources import issue_token
from tests.conftest import TEST_KEYS
from tests.e2e.conftest import free_port
from tests.fixtures.rows import ORG, ORG_NAME, judgment, numbered

pytestmark = pytest.mark.e2e
#: the limiter never touches the database: one store is enough for the HTTP tests
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

RATE, BURST = 1.0, 30  # the defaults of Settings


class Ticks:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def server(reg: Registry, ticks: Ticks) -> Iterator[str]:
    """The application with the default limits on the test's clock, on a loopback port."""
    app = create_app(reg, search_limiter=SearchLimiter(RATE, BURST, clock=ticks))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def burst(http: httpx.Client, n: int, path: str = "/v1/search", **params: str) -> list[int]:
    return [http.get(path, params=params or {"q": "科技"}).status_code for _ in range(n)]


@sqlite_only
def test_a_scraper_gets_429_with_retry_after_from_the_api(http: httpx.Client, ticks: Ticks) -> None:
    assert burst(http, BURST) == [200] * BURST
    r = http.get("/v1/search", params={"q": "有限公司"})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["error"] == "rate_limited" and body["detail"] == {"retry_after": 1}
    assert "too many searches" in body["message"] and "/open-data/" in body["message"]
    # hammering on does not help; waiting as told does
    assert set(burst(http, 50)) == {429}
    ticks.sleep(int(r.headers["Retry-After"]))
    assert http.get("/v1/search", params={"q": "有限公司"}).status_code == 200
    assert http.get("/v1/search", params={"q": "有限公司"}).status_code == 429
    # a slow scraper gets exactly the sustained rate: one search a second
    statuses = []
    for _ in range(60):
        ticks.sleep(0.5)
        statuses.append(http.get("/v1/search", params={"q": "公司"}).status_code)
    assert statuses.count(200) == 30 and statuses.count(429) == 30


@sqlite_only
def test_the_search_page_answers_429_in_the_readers_language(
    http: httpx.Client, ticks: Ticks
) -> None:
    burst(http, BURST, "/search", q="科技")
    r = http.get("/search", params={"q": "科技", "lang": "en"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["Content-Language"] == "en"
    assert "Too many searches from your address in a short time" in r.text
    assert "Please wait 1 second and search again." in r.text
    assert 'value="科技"' in r.text  # the search box keeps what was typed
    # the fragment that htmx swaps in while typing says the same
    r = http.get("/search", params={"q": "科技"}, headers={"HX-Request": "true"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.text.lstrip().startswith('<div id="results"') and 'role="alert"' in r.text
    assert "<html" not in r.text
    # a Chinese reader gets a Chinese page (the message itself as the catalogue has it)
    r = http.get("/search", params={"q": "科技", "lang": "zh"})
    assert r.status_code == 429 and r.headers["Content-Language"] == "zh-Hans"
    ticks.sleep(2)
    assert http.get("/search", params={"q": "科技"}).status_code == 200


@sqlite_only
def test_the_page_and_the_api_share_one_bucket(http: httpx.Client) -> None:
    assert burst(http, BURST // 2, "/search", q="科技") == [200] * (BURST // 2)
    assert burst(http, BURST // 2) == [200] * (BURST // 2)
    assert http.get("/search", params={"q": "科技"}).status_code == 429
    assert http.get("/v1/search", params={"q": "科技"}).status_code == 429


@sqlite_only
def test_readers_behind_a_local_proxy_are_told_apart(http: httpx.Client) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 (its --forwarded-allow-ips default)."""
    via_proxy = {"X-Forwarded-For": "203.0.113.5"}
    assert set(burst(http, BURST + 1)) == {200, 429}
    assert http.get("/v1/search", params={"q": "科技"}, headers=via_proxy).status_code == 200
    other = {"X-Forwarded-For": "2001:db8:1:2::5"}
    assert http.get("/v1/search", params={"q": "科技"}, headers=other).status_code == 200


@sqlite_only
def test_a_person_typing_never_notices(reg: Registry, http: httpx.Client, ticks: Ticks) -> None:
    """Ten minutes of a busy reader: names typed a key every 0.3 s (each pause a search), a
    burst of 20 reloads and back-and-forth, then more names, with short pauses to read."""
    ingest.ingest(reg, numbered([judgment()]), "court", actor="test")
    statuses: list[int] = []
    rounds = 0
    started = ticks()
    while ticks() - started < 600:
        for i in range(1, len(ORG_NAME) + 1):  # one search per character typed
            statuses.append(
                http.get(
                    "/search", params={"q": ORG_NAME[:i]}, headers={"HX-Request": "true"}
                ).status_code
            )
            ticks.sleep(0.3)
        rounds += 1
        if rounds % 3 == 0:
            statuses += burst(http, 20, "/search", q=ORG_NAME)  # reloads, back, forward
        statuses.append(http.get("/v1/search", params={"q": ORG_NAME}).status_code)
        ticks.sleep(25)  # reads the results, opens a profile
    assert len(statuses) > 300
    assert set(statuses) == {200}


@sqlite_only
def test_checks_agency_routes_and_pages_are_not_limited(
    reg: Registry, clock: FixedClock, http: httpx.Client
) -> None:
    court = issue_token(reg, "court", "court gateway", "test:operator")
    caac = create_principal(
        reg, "agency", "CAAC", actor="test:operator", measures=["restrict_air_travel"]
    )["token"]
    r = http.post(
        "/v1/records",
        json={"rows": [judgment()]},
        headers={"Authorization": f"Bearer {court}"},
    )
    assert r.status_code == 200, r.text
    clock.set(parse_moment("2026-03-02"))
    assert set(burst(http, BURST + 5)) == {200, 429}  # the search bucket is empty now
    agency = {"Authorization": f"Bearer {caac}"}
    check = {"subject": ORG, "measure": "restrict_air_travel"}
    for _ in range(3 * BURST):
        assert http.get("/v1/checks", params=check, headers=agency).status_code == 200
    for _ in range(BURST):
        r = http.post(
            "/v1/checks",
            json={"measure": "restrict_air_travel", "subjects": [ORG]},
            headers=agency,
        )
        assert r.status_code == 200
        r = http.post(
            "/v1/records",
            json={"rows": [judgment()]},
            headers={"Authorization": f"Bearer {court}"},
        )
        assert r.status_code == 200
        assert http.get(f"/v1/subjects/{ORG}").status_code == 200
        assert http.get(f"/org/{ORG}").status_code == 200
        assert http.get("/check", params={"subject": ORG}).status_code == 200
    assert http.get("/v1/search", params={"q": "科技"}).status_code == 429


def test_buckets_are_per_address_and_bounded() -> None:
    ticks = Ticks()
    limiter = SearchLimiter(1.0, 3, clock=ticks, max_clients=2)
    assert [limiter.take("203.0.113.7") for _ in range(4)] == [0, 0, 0, 1]
    assert limiter.take("203.0.113.8") == 0  # another reader is not held back
    # one IPv6 subscriber's /64 is one client; its neighbour network is another
    assert client_key("2001:db8:1:2::5") == client_key("2001:db8:1:2:ffff::1")
    assert client_key("2001:db8:1:3::5") != client_key("2001:db8:1:2::5")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    # at most max_clients buckets: the least recently seen goes first
    limiter.take("203.0.113.9")
    assert len(limiter._buckets) == 2 and "203.0.113.7" not in limiter._buckets
    # with the limit off nothing is kept
    off = SearchLimiter(0, clock=ticks)
    assert {off.take("203.0.113.7") for _ in range(1000)} == {0} and not off._buckets


def test_limits_come_from_the_environment() -> None:
    default = Settings.from_env(TEST_KEYS)
    assert (default.search_rate, default.search_burst) == (RATE, BURST)
    s = Settings.from_env(
        TEST_KEYS | {"SOCIALCREDIT_SEARCH_RATE": "0.5", "SOCIALCREDIT_SEARCH_BURST": "60"}
    )
    assert (s.search_rate, s.search_burst) == (0.5, 60)
    assert Settings.from_env(TEST_KEYS | {"SOCIALCREDIT_SEARCH_RATE": "0"}).search_rate == 0
    for name, value in (
        ("SOCIALCREDIT_SEARCH_RATE", "-1"),
        ("SOCIALCREDIT_SEARCH_RATE", "fast"),
        ("SOCIALCREDIT_SEARCH_RATE", "nan"),
        ("SOCIALCREDIT_SEARCH_BURST", "0"),
        ("SOCIALCREDIT_SEARCH_BURST", "2.5"),
    ):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env(TEST_KEYS | {name: value})
