"""What one request may cost and what it may change: body sizes, headers, moments, the Host
header, and open data that follows a person's delisting the same day.

Each test holds a finding of the attack on the demo registry: an unauthenticated 30 MB POST
added ~750 MB of memory; ``as_of=0001-01-01`` answered 500; a forged Host header set the
``sourceUrl`` of every entity in the day's FollowTheMoney file; a delisted person stayed in the
day's open-data files, cached publicly for an hour; no CSP, frame-ancestors or nosniff header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest
from tests.fixtures.rows import ORG, PERSON, judgment, numbered

pytestmark = pytest.mark.e2e

MB = 1024 * 1024


def test_a_large_body_gets_413_declared_or_streamed(server: str) -> None:
    big = b"x" * (50 * MB)
    with httpx.Client(base_url=server, timeout=60) as client:
        for path in ("/v1/lending/verify", "/v1/records", "/v1/sessions", "/signin"):
            r = client.post(path, content=big, headers={"content-type": "application/json"})
            assert r.status_code == 413, (path, r.status_code)
            assert r.json()["error"] == "too_large"  # the API's error shape, as documented

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(50):
                yield b"y" * MB

        r = client.post(
            "/v1/lending/verify", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        # a body under the limit is read as before
        r = client.post("/v1/lending/verify", json={"report": "x"})
        assert r.status_code in (401, 422), r.text


def test_every_answer_carries_the_security_headers(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        for path in ("/", "/v1/lists", "/signin", "/no-such-page"):
            h = client.get(path).headers
            assert h["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in h["content-security-policy"], path
            assert h["cache-control"] == "no-store", path
        assert "no-store" not in client.get("/static/site.css").headers.get("cache-control", "")


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31T23:59-05:00", "0001-01-01T00:00"])
def test_moments_outside_the_calendar_are_refused_not_500(server: str, as_of: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        r = client.get(f"/v1/subjects/{ORG}", params={"as_of": as_of})
        assert r.status_code == 422, (as_of, r.status_code, r.text[:200])


def test_open_data_links_come_from_configuration_and_follow_a_delisting(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    ingest.ingest(
        reg,
        numbered(
            [
                judgment(),
                judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2"),
            ]
        ),
        "court",
        actor="court",
    )
    clock.set(parse_moment("2026-03-02T12:00"))
    with httpx.Client(base_url=server, timeout=30) as client:
        forged = {"host": "evil.example"}
        assert client.get("/open-data/manifest.json", headers=forged).status_code == 200
        ftm = client.get("/open-data/entities.ftm.json").text
        assert "evil.example" not in ftm
        assert reg.settings.public_url in ftm
        r = client.get("/open-data/listings.csv")
        assert "**************002X" in r.text
        assert r.headers["cache-control"] == "no-store"  # it names a listed person

        # the court records the judgment performed: the listing ends the same day
        clock.set(parse_moment("2026-03-02T15:00"))
        performed = ingest.ingest(
            reg,
            numbered(
                [
                    judgment(
                        "BJ-7",
                        PERSON,
                        status="performed",
                        conduct="evades_enforcement",
                        listing_term_years="2",
                        performed_on="2026-03-02",
                    )
                ]
            ),
            "court",
            actor="court",
        )
        assert performed.listings_ended == 1, performed.as_dict()
        manifest = client.get("/open-data/manifest.json").json()
        assert manifest["persons"] == 0, json.dumps(manifest)
        for name in ("listings.csv", "records.csv", "entities.ftm.json"):
            assert "002X" not in client.get(f"/open-data/{name}").text, name


def test_a_lone_surrogate_is_bad_input_not_500(server: str) -> None:
    body = '{"report_id": "R\\ud800", "seal": {"sha256": "0", "mac": "0"}}'
    with httpx.Client(base_url=server, timeout=30) as client:
        r = client.post(
            "/v1/lending/verify", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, r.text


def test_concurrent_pdf_reports_are_rendered_a_few_at_a_time(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """16 concurrent PDF reports reached 2 GB; now at most PDF_SLOTS render at once, the
    others wait (or get 503 with Retry-After), and the server's peak memory stays under a
    ceiling."""
    import resource
    from concurrent.futures import ThreadPoolExecutor

    from socialcredit.web import render

    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    clock.set(parse_moment("2026-03-02T12:00"))
    render.PDF_STATS["peak"] = 0
    with httpx.Client(base_url=server, timeout=120) as client:
        # the report itself (its grades, its page) once, and one PDF: what 16 at once add is
        # measured from there
        assert client.get(f"/org/{ORG}/report.pdf").status_code == 200
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, this process's peak

    def fetch(_: int) -> int:
        with httpx.Client(base_url=server, timeout=120) as client:
            r = client.get(f"/org/{ORG}/report.pdf")
            assert r.status_code != 200 or r.content.startswith(b"%PDF")
            return r.status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(fetch, range(16)))
    assert set(statuses) <= {200, 503} and statuses.count(200) >= render.PDF_SLOTS
    assert 1 <= render.PDF_STATS["peak"] <= render.PDF_SLOTS
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"16 concurrent PDF reports: peak memory grew {grown_mib:.0f} MiB")
    assert grown_mib < 768, grown_mib  # the ceiling: 768 MiB above one report made before


@pytest.fixture
def small_quota(reg: Registry) -> None:
    """Three checks on persons at once, then one every 100 s (before the server starts)."""
    import dataclasses

    reg.settings = dataclasses.replace(reg.settings, person_check_rate=0.01, person_check_burst=3)


def test_checks_on_persons_count_against_the_agency_quota(
    small_quota: None, reg: Registry, server: str
) -> None:
    from socialcredit.services.access import create_principal

    token = create_principal(reg, "agency", "CAAC", actor="op", measures=["restrict_air_travel"])[
        "token"
    ]
    auth = {"authorization": f"Bearer {token}"}
    person = {"measure": "restrict_air_travel", "subjects": [PERSON]}
    org = {"subject": ORG, "measure": "restrict_air_travel"}
    with httpx.Client(base_url=server, timeout=30, headers=auth) as client:
        # a number never goes in a URL: persons are checked with POST
        assert client.get("/v1/checks", params={**org, "subject": PERSON}).status_code == 422
        statuses = [client.post("/v1/checks", json=person).status_code for _ in range(3)]
        assert statuses == [200] * 3
        r = client.post("/v1/checks", json=person)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # organisations' listings are public: their checks are not counted
        assert all(client.get("/v1/checks", params=org).status_code == 200 for _ in range(5))
        batch = {"measure": "restrict_air_travel", "subjects": [PERSON, ORG]}
        assert client.post("/v1/checks", json=batch).status_code == 429
        batch = {"measure": "restrict_air_travel", "subjects": [ORG, ORG]}
        assert client.post("/v1/checks", json=batch).status_code == 200
