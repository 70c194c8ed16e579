"""The registry core's story over real HTTP: a uvicorn server on a loopback port, httpx as peer.

The server's clock is the test's clock, so the test steps across the notice period and the
performance of the judgment as the command-line story does.
"""

from __future__ import annotations

import httpx
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services.access import create_principal
from socialcredit.services.sources import issue_token
from tests.fixtures.rows import ORG, ORG2, PERSON, judgment, tax_rating

pytestmark = pytest.mark.e2e


def test_court_story_over_http(reg: Registry, clock: FixedClock, server: str) -> None:
    court_token = issue_token(reg, "court", "court gateway", "test:operator")
    auth = {"Authorization": f"Bearer {court_token}"}
    caac = create_principal(
        reg, "agency", "CAAC", actor="test:operator", measures=["restrict_air_travel"]
    )["token"]
    with httpx.Client(
        base_url=server, timeout=30, headers={"Authorization": f"Bearer {caac}"}
    ) as http:
        r = http.post(
            "/v1/records", json={"rows": [judgment(), judgment("BJ-2", ORG2)]}, headers=auth
        )
        assert r.status_code == 200, r.text
        assert r.json()["listings_notified"] == 2

        r = http.get("/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"})
        assert r.status_code == 200 and r.json()["restricted"] is False

        clock.set(parse_moment("2026-03-01T09:00"))
        r = http.get("/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"})
        body = r.json()
        assert body["restricted"] is True and body["outcome"] == "restricted"
        (listing,) = body["listings"]
        assert listing["decision_ref"] == "（2026）京0105执1234号之一"
        assert listing["legal_basis"] and listing["since"] and listing["until"]
        assert body["how_to_resolve"]["zh"]

        r = http.post(
            "/v1/checks", json={"measure": "restrict_air_travel", "subjects": [ORG, ORG2, PERSON]}
        )
        assert r.status_code == 200
        assert [x["restricted"] for x in r.json()["results"]] == [True, True, False]

        r = http.get("/v1/subjects/" + ORG)
        assert r.status_code == 200 and r.json()["listings"][0]["state"] == "active"

        clock.set(parse_moment("2026-04-10T10:00"))
        r = http.post(
            "/v1/records",
            headers=auth,
            json={"rows": [judgment(status="performed", performed_on="2026-04-09")]},
        )
        assert r.json()["listings_ended"] == 1
        r = http.get("/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"})
        assert r.json()["restricted"] is False
        r = http.get(
            "/v1/checks",
            params={"subject": ORG, "measure": "restrict_air_travel", "as_of": "2026-04-01"},
        )
        assert r.json()["restricted"] is True

        r = http.get("/v1/audit/chain")
        assert r.json()["ok"] is True

        r = http.get("/")
        assert r.status_code == 200 and "信用信息登记" in r.text
        r = http.get("/subjects", params={"code": ORG2}, follow_redirects=True)
        assert r.status_code == 200 and "失信被执行人名单" in r.text
        assert str(r.url).endswith(f"/org/{ORG2}")


def test_http_errors_are_4xx_with_a_message(reg: Registry, server: str) -> None:
    tax_token = issue_token(reg, "tax", "tax bureau", "test:operator")
    caac = create_principal(
        reg, "agency", "CAAC", actor="test:operator", measures=["restrict_air_travel"]
    )["token"]
    with httpx.Client(
        base_url=server, timeout=30, headers={"Authorization": f"Bearer {caac}"}
    ) as http:
        r = http.get("/v1/checks", params={"subject": ORG, "measure": "teleport"})
        assert r.status_code == 404 and "unknown measure" in r.json()["message"]
        r = http.get(
            "/v1/checks", params={"subject": "91110000600037341M", "measure": "restrict_air_travel"}
        )
        assert r.status_code == 422 and "check character" in r.json()["message"]
        r = http.get("/v1/checks", params={"measure": "restrict_air_travel"})
        assert r.status_code == 422
        r = http.get(
            "/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel", "as_of": "soon"}
        )
        assert r.status_code == 422
        r = http.post("/v1/checks", json={"measure": "restrict_air_travel", "subjects": [ORG, "x"]})
        assert r.status_code == 422 and r.json()["detail"]["invalid"][0]["index"] == 1
        r = http.post(
            "/v1/checks", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422
        # no token, a wrong token, and a source outside its competence
        r = http.post("/v1/records", json={"rows": [judgment()]}, headers={"Authorization": ""})
        assert r.status_code == 401
        r = http.post("/v1/records", json={"rows": [judgment()]})  # an agency is no source
        assert r.status_code == 403
        r = http.get("/v1/checks", params={"subject": ORG, "measure": "restrict_premium_rail"})
        assert r.status_code == 403 and "restrict_air_travel" in r.json()["message"]
        r = http.get(
            "/v1/checks",
            params={"subject": ORG, "measure": "restrict_air_travel"},
            headers={"Authorization": ""},
        )
        assert r.status_code == 401
        r = http.post(
            "/v1/records",
            json={"rows": [judgment()]},
            headers={"Authorization": "Bearer sc_court_forged"},
        )
        assert r.status_code == 401
        r = http.post(
            "/v1/records",
            json={"rows": [judgment(), tax_rating("TX-1")]},
            headers={"Authorization": f"Bearer {tax_token}"},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["accepted"] == 1 and body["rejected"] == 1
        assert "not competent" in body["rejects"][0]["reason"]
        r = http.get("/v1/subjects/" + PERSON)
        assert r.status_code == 404
        spec = http.get("/openapi.json").json()
        assert "/v1/checks" in spec["paths"] and "/v1/records" in spec["paths"]
