"""Signing out ends the session on the server: the token it used stops working at once, on the
API and on the pages (it stayed valid for 12 hours when only the cookie was deleted)."""

from __future__ import annotations

import re

import httpx
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.services.access import create_principal

pytestmark = pytest.mark.e2e

PASSWORD = "long-enough-and-not-common-4417"


def test_a_session_ends_on_sign_out_on_the_api(reg: Registry, server: str) -> None:
    create_principal(reg, "reviewer", "Wang", actor="t", username="wang", password=PASSWORD)
    with httpx.Client(base_url=server, timeout=30) as client:
        token = client.post("/v1/sessions", json={"username": "wang", "password": PASSWORD})
        assert token.status_code == 200, token.text
        auth = {"authorization": f"Bearer {token.json()['token']}"}
        assert client.get("/v1/objections", headers=auth).status_code == 200
        assert client.delete("/v1/sessions", headers=auth).status_code == 204
        assert client.get("/v1/objections", headers=auth).status_code == 401
        assert client.delete("/v1/sessions").status_code == 401


def test_a_session_ends_on_sign_out_on_the_pages(reg: Registry, server: str) -> None:
    create_principal(reg, "reviewer", "Wang", actor="t", username="wang", password=PASSWORD)
    with httpx.Client(base_url=server, timeout=30) as client:
        # the form's token is bound to the browser's sign-in cookie: a post without it fails
        refused = client.post("/signin", data={"username": "wang", "password": PASSWORD})
        assert refused.status_code == 403 and "sc_session" not in client.cookies
        form = client.get("/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        r = client.post(
            "/signin", data={"username": "wang", "password": PASSWORD, "csrf": token.group(1)}
        )
        assert r.status_code == 303, r.text[:300]
        cookie = client.cookies.get("sc_session")
        assert cookie
        console = client.get("/console")
        assert console.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', console.text)
        assert csrf, "the console has a sign-out form with its CSRF token"
        assert client.post("/signout", data={"csrf": csrf.group(1)}).status_code == 303
    # the old cookie, kept by someone who copied it, no longer signs anyone in
    with httpx.Client(base_url=server, timeout=30, cookies={"sc_session": cookie}) as thief:
        again = thief.get("/console")
        assert again.status_code in (303, 401) or "signin" in str(again.url)
        r = thief.get("/v1/objections", headers={"authorization": f"Bearer {cookie}"})
        assert r.status_code == 401
