"""Screening by name, in the shape of OpenSanctions' yente API: a yente client configured
with the base URL ``http(s)://HOST/screening`` calls ``/screening/match/{dataset}``,
``/screening/search/{dataset}``, ``/screening/entities/{id}``, ``/screening/catalog`` and
``/screening/algorithms``. The registry's public lists and register; natural persons only for
implementing agencies, by full ID number, each person shown a recorded read
(``services/screening.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from pydantic import BaseModel, Field

from ...services import access, screening
from ..deps import ERRORS, RegDep, WhoDep

router = APIRouter(prefix="/screening", tags=["screening (yente-compatible)"])

Name = Annotated[str, Path(max_length=80, pattern=r"^[A-Za-z0-9_\-]+$")]


class EntityExample(BaseModel):
    id: str | None = Field(None, max_length=200)
    schema_: str = Field(..., alias="schema", max_length=60, examples=["Company"])
    properties: dict[str, str | list[Any]] = Field(
        ...,
        examples=[{"name": ["北京某某科技有限公司"], "registrationNumber": ["91110000600037341L"]}],
    )


class EntityMatchQuery(BaseModel):
    weights: dict[str, float] = Field({}, description="Accepted for compatibility; unused.")
    config: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    queries: dict[str, EntityExample] = Field(..., max_length=100)


class TotalSpec(BaseModel):
    value: int
    relation: str = "eq"


class ScoredEntity(BaseModel):
    id: str
    caption: str
    schema_: str = Field(..., alias="schema")
    properties: dict[str, list[str]]
    datasets: list[str] = []
    referents: list[str] = []
    target: bool = False
    first_seen: str | None = None
    last_seen: str | None = None
    last_change: str | None = None
    score: float
    match: bool
    explanations: dict[str, dict[str, Any]]
    features: dict[str, float]


class EntityMatches(BaseModel):
    status: int = 200
    results: list[ScoredEntity]
    total: TotalSpec
    query: dict[str, Any]


class EntityMatchResponse(BaseModel):
    responses: dict[str, EntityMatches]
    limit: int


@router.post(
    "/match/{dataset}",
    response_model=EntityMatchResponse,
    response_model_by_alias=True,
    responses=ERRORS,
    summary="Query by example matcher (yente)",
)
def post_match(
    reg: RegDep,
    who: WhoDep,
    dataset: Name,
    body: EntityMatchQuery,
    limit: Annotated[int, Query(ge=1, le=500)] = 5,
    threshold: Annotated[float, Query(ge=0.0, le=1.0)] = screening.THRESHOLD,
    cutoff: Annotated[
        float, Query(ge=0.0, le=1.0, description="Results scoring at most this are left out.")
    ] = screening.THRESHOLD,
    algorithm: Annotated[str, Query(max_length=40)] = screening.ALGORITHM,
    exclude_entity_ids: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
) -> Any:
    """Each query entity (a ``Company`` or ``Organization`` with ``name``,
    ``registrationNumber``, ``address``) against the dataset: the best candidates with their
    score, whether it passes ``threshold``, and the features that made it. A ``Person`` (with
    ``idNumber``) is answered to an implementing agency only, by the full number; each person
    returned is a read of their file, recorded for them."""
    queries = {
        k: {"id": q.id, "schema": q.schema_, "properties": q.properties}
        for k, q in body.queries.items()
    }
    return screening.match(
        reg,
        dataset,
        queries,
        principal_id=who.principal_id,
        limit=limit,
        threshold=threshold,
        cutoff=cutoff,
        exclude_entity_ids=tuple(exclude_entity_ids),
        reader=_agency(who),
    )


def _agency(who: access.Principal) -> str | None:
    """The reader a person's screening is recorded for: an implementing agency, else None (no
    person is shown)."""
    return who.label if who.role == screening.AGENCY else None


class JudgementIn(BaseModel):
    query: EntityExample = Field(description="The query entity, as sent to /match.")
    entity_id: str = Field(..., max_length=120, description="The result that is not it.")
    reason: str = Field("", max_length=2000)


class Judgement(BaseModel):
    query_key: str
    entity_id: str
    verdict: str | None


def _query(q: EntityExample) -> dict[str, Any]:
    return {"id": q.id, "schema": q.schema_, "properties": q.properties}


@router.post(
    "/judgements",
    response_model=Judgement,
    responses=ERRORS,
    status_code=201,
    summary='"Not this one": a false positive left out of your later results',
)
def post_judgement(reg: RegDep, who: WhoDep, body: JudgementIn) -> Any:
    """A signed-in principal marks a result as not the query's counterparty: its later
    matches of the same query (the same ``id``, or the same names and numbers) leave it out.
    Another principal's results are not changed."""
    access.require(who, "agency", "lender", "reviewer", "source", "auditor")
    return screening.judge(reg, who, _query(body.query), body.entity_id, reason=body.reason)


@router.post("/judgements/lift", response_model=Judgement, responses=ERRORS, summary="Withdraw it")
def post_judgement_lift(reg: RegDep, who: WhoDep, body: JudgementIn) -> Any:
    access.require(who, "agency", "lender", "reviewer", "source", "auditor")
    return screening.lift(reg, who, _query(body.query), body.entity_id)


@router.get("/search/{dataset}", responses=ERRORS, summary="Search by name or code (yente)")
def get_search(
    reg: RegDep,
    dataset: Name,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=400)] = 0,
) -> Any:
    return screening.search(reg, dataset, q, limit=limit, offset=offset)


@router.get("/entities/{entity_id}", responses=ERRORS, summary="One entity (yente)")
def get_entity(reg: RegDep, who: WhoDep, entity_id: Annotated[str, Path(max_length=120)]) -> Any:
    """An organisation; a natural person only for an implementing agency (a recorded read)."""
    return screening.entity(reg, entity_id, reader=_agency(who))


@router.get("/catalog", responses=ERRORS, summary="The datasets (yente)")
def get_catalog(reg: RegDep) -> Any:
    return screening.catalog(reg)


@router.get("/algorithms", responses=ERRORS, summary="The scoring algorithm (yente)")
def get_algorithms() -> Any:
    return screening.algorithms()


# --- OpenRefine's reconciliation service (API 0.2), as yente offers it -----------------------


class ReconPropertyFilter(BaseModel):
    pid: str = Field(..., max_length=80)
    v: str | list[str]


class ReconQuery(BaseModel):
    query: str | None = Field(None, max_length=300)
    type: str | list[str] | None = None
    limit: int = Field(5, ge=1, le=50)
    properties: list[ReconPropertyFilter] = Field([], max_length=20)


def _recon(reg: Any, dataset: str, raw: str) -> dict[str, Any]:
    from pydantic import RootModel, ValidationError

    from ...errors import InvalidInput

    try:
        batch = RootModel[dict[str, ReconQuery]].model_validate_json(raw).root
    except ValidationError as exc:
        raise InvalidInput(f"queries: {exc.errors()[0]['msg']}") from None
    if len(batch) > 100:
        raise InvalidInput("at most 100 queries in one batch")
    out: dict[str, Any] = {}
    for k, q in batch.items():
        schema = q.type if isinstance(q.type, str) else (q.type[0] if q.type else "LegalEntity")
        props: dict[str, list[str]] = {}
        if q.query:
            props["name"] = [q.query]
        for p in q.properties:
            values = p.v if isinstance(p.v, list) else [p.v]
            props.setdefault(p.pid.split(":")[-1], []).extend(values)
        res = screening.match(
            reg,
            dataset,
            {k: {"id": None, "schema": schema, "properties": props}},
            limit=q.limit,
            cutoff=0.0,
        )["responses"][k]["results"]
        out[k] = {
            "result": [
                {
                    "id": e["id"],
                    "name": e["caption"],
                    "description": ", ".join(e["datasets"]),
                    "type": [{"id": e["schema"], "name": e["schema"]}],
                    "score": e["score"],
                    "match": e["match"],
                    "features": [{"id": f, "value": v} for f, v in e["features"].items()],
                }
                for e in res
            ]
        }
    return out


def _manifest(reg: Any, request: Request, dataset: str) -> dict[str, Any]:
    ds = screening.datasets(reg).get(dataset)
    if ds is None:
        from ...errors import UnknownEntity

        raise UnknownEntity(f"no dataset {dataset!r}")
    base = str(reg.settings.public_url).rstrip("/")
    return {
        "versions": ["0.2"],
        "name": f"{ds.title} (socialcredit)",
        "identifierSpace": f"{base}/screening/entities/",
        "schemaSpace": "https://followthemoney.tech/explorer/schemata/",
        "defaultTypes": [
            {"id": "Company", "name": "Companies"},
            {"id": "Organization", "name": "Organizations"},
        ],
        "view": {"url": f"{base}/screening/entities/{{{{id}}}}"},
        "batchSize": 20,
    }


@router.get("/reconcile/{dataset}", responses=ERRORS, summary="Reconciliation (OpenRefine)")
def get_reconcile(
    reg: RegDep,
    request: Request,
    dataset: Name,
    queries: Annotated[str | None, Query(max_length=50_000)] = None,
) -> Any:
    """Without ``queries``: the service manifest (API 0.2); with them (JSON), their results."""
    if queries is None:
        return _manifest(reg, request, dataset)
    return _recon(reg, dataset, queries)


@router.post("/reconcile/{dataset}", responses=ERRORS, summary="Reconciliation queries")
def post_reconcile(
    reg: RegDep,
    dataset: Name,
    queries: Annotated[str, Form(max_length=50_000)],
) -> Any:
    """``queries``: a form field holding the JSON batch, as OpenRefine sends it."""
    return _recon(reg, dataset, queries)
