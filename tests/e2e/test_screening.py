"""Screening by name in yente's API shape (the first slice of #28): a compliance tool that
speaks yente matches a counterparty by name, registration number and address against the
registry's register or one of its lists, searches, reads an entity, the catalog and the
algorithm; a person is never screened by name here. On both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, listings
from tests.fixtures.rows import ORG, ORG2, ORG_NAME, PERSON, judgment, numbered, penalty

pytestmark = pytest.mark.e2e
OTHER = "深圳某某贸易有限公司"


@pytest.fixture
def client(reg: Registry, clock: FixedClock) -> Any:
    ingest.ingest(
        reg,
        numbered([judgment(), judgment("J-P", PERSON, conduct="evades_enforcement")]),
        "court",
        actor="court",
    )
    ingest.ingest(
        reg,
        numbered([{**penalty("P-2", ORG2, severity="general"), "subject_name": OTHER}]),
        "samr",
        actor="samr",
    )
    clock.set(parse_moment("2026-03-02T09:00"))
    listings.advance(reg, "sweep")
    with TestClient(create_app(reg)) as c:
        yield c


def match(client: Any, dataset: str, **queries: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/screening/match/{dataset}", json={"queries": queries})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_match_by_name_number_and_list(client: Any) -> None:
    body = match(
        client,
        "default",
        # another legal form of the same name
        by_name={"schema": "Company", "properties": {"name": ["北京某某科技有限责任公司"]}},
        by_number={
            "schema": "Company",
            "properties": {"name": ["某某贸易"], "registrationNumber": [ORG2]},
        },
        nobody={"schema": "Company", "properties": {"name": ["完全无关的名称股份公司"]}},
        person={"schema": "Person", "properties": {"name": ["张三"]}},
    )
    assert body["limit"] == 5
    r = body["responses"]
    (hit,) = r["by_name"]["results"]
    assert (hit["caption"], hit["match"], hit["score"]) == (ORG_NAME, True, 1.0)
    assert hit["id"] == f"sc-org-{ORG}" and hit["schema"] == "Company"
    assert hit["properties"]["registrationNumber"] == [ORG]
    assert "dishonest_judgment_debtors" in hit["datasets"] and hit["target"] is True
    assert hit["properties"]["topics"] == ["sanction"]
    assert hit["explanations"]["name_literal_match"]["score"] == 1.0
    assert r["by_name"]["total"] == {"value": 1, "relation": "eq"}
    assert r["by_name"]["query"]["schema"] == "Company"
    (num,) = r["by_number"]["results"]
    assert num["caption"] == OTHER and num["features"]["identifier_match"] == 1.0
    assert r["nobody"]["results"] == [] and r["person"]["results"] == []
    # a list's dataset holds only its listed organisations
    on_list = match(
        client,
        "dishonest_judgment_debtors",
        a={"schema": "Company", "properties": {"name": [ORG_NAME]}},
        b={"schema": "Company", "properties": {"name": [OTHER]}},
    )["responses"]
    assert [x["caption"] for x in on_list["a"]["results"]] == [ORG_NAME]
    assert on_list["b"]["results"] == []
    # a number that is another organisation's cuts the score
    wrong = match(
        client,
        "default",
        q={"schema": "Company", "properties": {"name": [ORG_NAME], "registrationNumber": [ORG2]}},
    )["responses"]["q"]["results"]
    assert all(x["caption"] != ORG_NAME or x["score"] < 1.0 for x in wrong)
    # excluded entities stay out, and a lower cutoff shows the near misses
    r2 = client.post(
        "/screening/match/default",
        params={"exclude_entity_ids": f"sc-org-{ORG}"},
        json={"queries": {"q": {"schema": "Company", "properties": {"name": [ORG_NAME]}}}},
    ).json()
    assert all(x["id"] != f"sc-org-{ORG}" for x in r2["responses"]["q"]["results"])


def test_search_entities_catalog_algorithms(client: Any) -> None:
    r = client.get("/screening/search/default", params={"q": "北京"}).json()
    assert [x["caption"] for x in r["results"]] == [ORG_NAME] and r["total"]["value"] == 1
    e = client.get(f"/screening/entities/sc-org-{ORG}").json()
    assert e["caption"] == ORG_NAME and e["referents"]
    assert client.get("/screening/entities/sc-org-nothing").status_code == 404
    cat = client.get("/screening/catalog").json()
    assert "default" in cat["current"] and "dishonest_judgment_debtors" in cat["current"]
    assert cat["outdated"] == [] and all(d["index_current"] for d in cat["datasets"])
    alg = client.get("/screening/algorithms").json()
    assert alg["default"] == alg["best"] == "socialcredit-v1"
    assert "name_literal_match" in alg["algorithms"][0]["docs"]["features"]
    r = client.post("/screening/match/nowhere", json={"queries": {}})
    assert r.status_code == 404 and r.json()["error"] == "unknown"
    r = client.post("/screening/match/default", json={"queries": {"q": {"properties": {}}}})
    assert r.status_code == 422


def test_not_this_one_sticks_for_its_principal_only(reg: Registry, client: Any) -> None:
    """A bank marks a result as a false positive: its next match of the same query leaves it
    out, another bank's still shows it, and withdrawing the judgement brings it back. The
    public may not judge. The judgement is in the log and survives a rebuild."""
    from socialcredit.services import audit
    from socialcredit.services.access import create_principal

    a = create_principal(reg, "lender", "Bank A", actor="op")["token"]
    b = create_principal(reg, "lender", "Bank B", actor="op")["token"]
    query = {"schema": "Company", "properties": {"name": ["北京某某科技"]}}

    def ids(token: str | None) -> list[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = client.post(
            "/screening/match/default",
            params={"cutoff": 0.5, "threshold": 0.5},
            json={"queries": {"q": query}},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["responses"]["q"]["results"]]

    target = f"sc-org-{ORG}"
    assert target in ids(a) and target in ids(b)
    body = {"query": query, "entity_id": target, "reason": "another firm of that name"}
    r = client.post("/screening/judgements", json=body, headers={"Authorization": f"Bearer {a}"})
    assert r.status_code == 201, r.text
    assert target not in ids(a)
    assert target in ids(b) and target in ids(None)
    assert client.post("/screening/judgements", json=body).status_code == 401
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before and target not in ids(a)
    r = client.post(
        "/screening/judgements/lift", json=body, headers={"Authorization": f"Bearer {a}"}
    )
    assert r.status_code == 200 and target in ids(a)


def test_openrefine_reconciliation(client: Any) -> None:
    """OpenRefine's reconciliation API (0.2): the manifest, and a batch of queries sent as a
    form field (and as a query parameter), answered with scored candidates."""
    import json

    m = client.get("/screening/reconcile/default").json()
    assert m["versions"] == ["0.2"] and m["identifierSpace"].endswith("/screening/entities/")
    assert {"id": "Company", "name": "Companies"} in m["defaultTypes"]
    assert "{{id}}" in m["view"]["url"]
    batch = {
        "q0": {"query": "北京某某科技有限责任公司", "type": "Company", "limit": 3},
        "q1": {
            "query": "某某贸易",
            "properties": [{"pid": "registrationNumber", "v": ORG2}],
        },
    }
    r = client.post("/screening/reconcile/default", data={"queries": json.dumps(batch)})
    assert r.status_code == 200, r.text
    res = r.json()
    top = res["q0"]["result"][0]
    assert (top["id"], top["name"], top["match"]) == (f"sc-org-{ORG}", ORG_NAME, True)
    assert top["type"] == [{"id": "Company", "name": "Company"}] and top["score"] == 1.0
    assert res["q1"]["result"][0]["name"] == OTHER
    again = client.get("/screening/reconcile/default", params={"queries": json.dumps(batch)})
    assert again.json() == res
    bad = client.post("/screening/reconcile/default", data={"queries": "{not json"})
    assert bad.status_code == 422


YENTE = Path(__file__).resolve().parents[1] / "fixtures" / "yente" / "openapi-5.5.0.json"


def test_answers_validate_against_yente_s_own_models(client: Any) -> None:
    """yente 5.5.0's own response models (its OpenAPI document, generated from its source)
    accept the registry's answers: a yente client can read them."""
    import json

    import jsonschema

    doc = json.loads(YENTE.read_text(encoding="utf-8"))

    def valid(answer: Any, component: str) -> None:
        schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(answer)

    q = {"schema": "Company", "properties": {"name": [ORG_NAME], "registrationNumber": [ORG]}}
    m = client.post("/screening/match/default", json={"queries": {"q": q}}).json()
    assert m["responses"]["q"]["results"]
    valid(m, "EntityMatchResponse")
    valid(client.get("/screening/search/default", params={"q": "北京"}).json(), "SearchResponse")
    valid(client.get(f"/screening/entities/sc-org-{ORG}").json(), "EntityResponse")
    valid(client.get("/screening/catalog").json(), "DataCatalogModel")
    valid(client.get("/screening/algorithms").json(), "AlgorithmResponse")
    # and yente's own request model accepts what a yente client sends us
    valid({"queries": {"q": q}}, "EntityMatchQuery")


RECON = Path(__file__).resolve().parents[1] / "fixtures" / "reconciliation-0.2"


def test_reconciliation_validates_against_the_spec_s_schemas(client: Any) -> None:
    """The reconciliation spec's own JSON schemas (0.2) accept the manifest, the batch a
    client sends and the results (yente's manifest model asks for suggest and extend
    services, which the registry does not offer)."""
    import json

    import jsonschema
    from referencing import Registry as Schemas
    from referencing import Resource

    docs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in RECON.glob("*.json")}
    schemas = Schemas().with_resources(
        (
            d["$id"],
            Resource.from_contents(
                d,
                default_specification=jsonschema.Draft7Validator.META_SCHEMA
                and __import__("referencing.jsonschema").jsonschema.DRAFT7,
            ),
        )
        for d in docs.values()
    )

    def valid(answer: Any, name: str) -> None:
        jsonschema.Draft7Validator(docs[name], registry=schemas).validate(answer)

    valid(client.get("/screening/reconcile/default").json(), "manifest")
    batch = {
        "q0": {"query": ORG_NAME, "type": "Company", "limit": 3},
        "q1": {"query": "某某贸易", "properties": [{"pid": "registrationNumber", "v": ORG2}]},
    }
    valid(batch, "reconciliation-query-batch")
    r = client.post("/screening/reconcile/default", data={"queries": json.dumps(batch)})
    assert r.status_code == 200 and r.json()["q0"]["result"]
    valid(r.json(), "reconciliation-result-batch")


def test_persons_are_screened_for_implementing_agencies_only_by_their_number(
    reg: Registry, client: Any
) -> None:
    """A Person query is answered to an implementing agency, by the full ID number (never by a
    name alone), the person shown masked with the lists they are on; each person shown is a
    read of their file. A lender, or anyone unsigned, gets no person on any route."""
    from sqlalchemy import select

    from socialcredit.db import reads
    from socialcredit.services.access import create_principal

    agency = create_principal(
        reg, "agency", "Airline", actor="op", measures=["restrict_air_travel"]
    )["token"]
    lender = create_principal(reg, "lender", "Bank", actor="op")["token"]
    key = reg.protector.subject_key(PERSON)
    person_id = f"sc-person-{key}"
    by_number = {"schema": "Person", "properties": {"name": ["张三"], "idNumber": [PERSON]}}
    by_name = {"schema": "Person", "properties": {"name": ["张三"]}}

    def ask(token: str | None, dataset: str = "default") -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = client.post(
            f"/screening/match/{dataset}",
            json={"queries": {"n": by_number, "m": by_name}},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        return r.json()["responses"]  # type: ignore[no-any-return]

    def reads_of_person() -> list[Any]:
        with reg.engine.connect() as conn:
            return list(conn.execute(select(reads).where(reads.c.subject_id == key)))

    before = len(reads_of_person())
    for token in (None, lender):
        got = ask(token)
        assert got["n"]["results"] == [] and got["m"]["results"] == []
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        assert client.get(f"/screening/entities/{person_id}", headers=headers).status_code == 404
    assert len(reads_of_person()) == before  # nothing shown, nothing read

    got = ask(agency)
    assert got["m"]["results"] == []  # a name alone keys no one
    (hit,) = got["n"]["results"]
    assert hit["id"] == person_id and hit["schema"] == "Person" and hit["match"] is True
    assert hit["features"]["identifier_match"] == 1.0
    assert PERSON not in str(hit) and "张三" not in str(hit)  # masked, as checks show a person
    assert "dishonest_judgment_debtors" in hit["datasets"] and hit["target"] is True
    on_list = ask(agency, "dishonest_judgment_debtors")["n"]["results"]
    assert [x["id"] for x in on_list] == [person_id]
    r = client.get(
        f"/screening/entities/{person_id}", headers={"Authorization": f"Bearer {agency}"}
    )
    assert r.status_code == 200 and r.json()["id"] == person_id
    shown = reads_of_person()[before:]
    assert len(shown) == 3  # two matches and the entity, each recorded for the person
    assert {x.kind for x in shown} == {"screening"}
    assert all(x.reader == "agency:Airline" for x in shown)
