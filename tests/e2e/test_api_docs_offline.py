"""The API's documentation pages work offline: /docs and /redoc load Swagger UI and ReDoc from
the registry itself, never from a CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_docs_load_their_assets_from_the_registry(reg: Registry) -> None:
    with TestClient(create_app(reg)) as client:
        for page in ("/docs", "/redoc"):
            r = client.get(page)
            assert r.status_code == 200
            assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
            assert assets, page
            for url in assets:
                assert url.startswith("/"), (page, url)  # nothing from another host
                assert client.get(url).status_code == 200, url
        assert client.get("/openapi.json").json()["info"]["title"] == "socialcredit"
