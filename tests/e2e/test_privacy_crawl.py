"""Nothing private leaks to the public: a crawler walks every public page, file and API route
of a registry filled with generated data, following every link, and looks in every response
for what the public must never see.

- a full resident ID number of any person in the register (only the masked form is published),
  or the pieces that rebuild one: its division together with its birth date in any format;
- a natural person's full name (the lists publish a masked name: 张*丰);
- an internal identifier: a person's keyed subject id (``P-…``), an encrypted ID (Fernet
  token), a password or token hash, a contact's e-mail address.

The crawler is anonymous; routes that need credentials must refuse it without leaking either.
"""

from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlparse

import httpx
import pytest
from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import listings, subjects
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import ingest, notices
from tests.fixtures.privacy import rebuildable

pytestmark = pytest.mark.e2e

FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}")
HASHES = re.compile(r"\$argon2|\b[0-9a-f]{64}\b")
MAX_PAGES = 400


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "action", "hx-get"):
                self.found.append(value)


@pytest.fixture
def filled(reg: Registry, clock: FixedClock, tmp_path: Path) -> tuple[Registry, Path]:
    data = tmp_path / "data"
    generate(300, data, seed=21)
    clock.set(parse_moment("2026-08-01"))
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        ingest.ingest(reg, read_rows(data / name), source, actor=source)
    people = [json.loads(x) for x in (data / "subjects.jsonl").read_text("utf-8").splitlines()]
    for p in people[:40]:
        if p["kind"] == "person":
            notices.set_contact(
                reg,
                p["subject_id"],
                email=f"p{p['subject_id']}@mail.example",
                webhook_url=None,
                actor="op",
            )
    clock.set(parse_moment("2026-11-20"))
    return reg, data


def test_no_private_data_in_any_public_response(filled: tuple[Registry, Path], server: str) -> None:
    reg, data = filled
    people = [json.loads(x) for x in (data / "subjects.jsonl").read_text("utf-8").splitlines()]
    persons = [p for p in people if p["kind"] == "person"]
    orgs = [p for p in people if p["kind"] == "organisation"]
    org_text = " ".join(o["name"] + o.get("address", "") for o in orgs)
    ids = {p["subject_id"] for p in persons}
    # names that are not also part of an organisation's name or address (which is public)
    names = {p["name"] for p in persons if len(p["name"]) >= 2 and p["name"] not in org_text}
    with reg.engine.connect() as conn:
        keyed = set(
            conn.execute(select(subjects.c.subject_id).where(subjects.c.kind == "person")).scalars()
        )
        listed_orgs = list(
            conn.execute(
                select(listings.c.subject_id)
                .where(~listings.c.subject_id.like("P-%"))
                .distinct()
                .limit(15)
            ).scalars()
        )
    assert keyed and listed_orgs and len(ids) > 20
    emails = {f"p{i}@mail.example" for i in ids}

    listed_persons = [p["subject_id"] for p in persons][:10]
    seeds = [
        "/",
        "/search?q=" + orgs[0]["name"][:3],
        "/search?q=" + persons[0]["name"],  # a person is never found by name
        "/v1/search?q=" + orgs[0]["name"][:3],
        "/v1/search?q=" + persons[0]["name"],
        "/transparency",
        "/supervision",
        "/open-data/",
        "/open-data/manifest.json",
        "/check",
        "/report/verify",
        "/openapi.json",
        "/v1/lists",
        "/v1/measures",
        "/v1/audit/chain",
        "/v1/inspection-plans",
        "/healthz",
        *[f"/org/{c}" for c in listed_orgs],
        *[f"/org/{c}/report.html" for c in listed_orgs[:3]],
        *[f"/v1/subjects/{c}" for c in listed_orgs[:3]],
        *[f"/v1/file/{c}" for c in listed_orgs[:2]],
        *[f"/v1/audit/export?subject={c}" for c in listed_orgs[:2]],
        "/v1/objections",
        "/v1/review-queue",
        "/me",
        "/console",
    ]
    # a person's entry asked for by its full number: the answer must not repeat it in full
    by_number = [f"/subjects?code={i}" for i in listed_persons]
    # a listed person's public entry, reached from the list
    with reg.engine.connect() as conn:
        person_listings = list(
            conn.execute(
                select(listings.c.listing_id).where(listings.c.subject_id.like("P-%")).limit(15)
            ).scalars()
        )
    assert person_listings
    by_listing = [f"/listing/{lid}" for lid in person_listings]
    by_listing += [f"/v1/listings/{lid}" for lid in person_listings]

    seen: set[str] = set()
    queue = deque(seeds + by_number + by_listing)
    problems: list[str] = []
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=server, timeout=30, follow_redirects=True) as client:
        while queue and len(seen) < MAX_PAGES:
            path = queue.popleft()
            if path in seen:
                continue
            seen.add(path)
            r = client.get(path)
            statuses[path] = r.status_code
            assert r.status_code < 500, (path, r.status_code, r.text[:300])
            ctype = r.headers.get("content-type", "")
            if "pdf" in ctype or "image/png" in ctype:
                continue
            body = r.text
            query = dict(parse_qsl(urlparse(path).query))
            asked = query.get("code")
            typed = query.get("q", "")  # what the reader typed is shown back to the reader
            for i in ids:
                if i in body and i != asked:
                    problems.append(f"{path}: full ID number {i[:6]}…")
                if i != asked and rebuildable(i, body.replace(asked or "\0", "")):
                    problems.append(f"{path}: division and birth date of {i[:6]}…")
            if asked and body.count(asked) > 0:
                # the one number the reader typed may stay in the form field, nowhere else
                shown = body.count(asked) - body.count(f'value="{asked}"')
                if shown > 0:
                    problems.append(f"{path}: repeats the ID number it was asked for")
            problems += [
                f"{path}: person's full name {n}" for n in names if n in body and n not in typed
            ]
            problems += [f"{path}: keyed person id" for k in keyed if k in body]
            problems += [f"{path}: e-mail {e}" for e in emails if e in body]
            if FERNET.search(body):
                problems.append(f"{path}: an encrypted token")
            if "$argon2" in body:
                problems.append(f"{path}: a password hash")
            if "html" in ctype:
                parser = Links()
                parser.feed(body)
                for link in parser.found:
                    url = urlparse(urljoin(server + path, link))
                    if url.netloc != urlparse(server).netloc or url.scheme not in ("http", "https"):
                        continue
                    target = url.path + (f"?{url.query}" if url.query else "")
                    if "/logout" in target or target.startswith("/static/"):
                        continue
                    queue.append(target)
    assert not problems, "\n".join(sorted(set(problems))[:40])
    # the crawl reached the public surface, not just the seeds
    assert len(seen) > len(seeds) + 20, len(seen)
    assert statuses["/"] == 200 and statuses["/open-data/"] == 200
    assert any(statuses[p] == 200 for p in by_listing), "no listed person's entry was read"
    for path in ("/v1/objections", "/v1/review-queue", "/v1/file/" + listed_orgs[0]):
        assert statuses[path] in (401, 403), (path, statuses[path])
