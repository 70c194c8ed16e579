"""Screening by name: the registry's public lists answered in the shape of OpenSanctions' yente
API, so that a compliance tool that speaks yente points at ``/screening`` with no code of its
own (``api/routers/screening.py`` is the HTTP side).

Datasets: ``default`` (every registered organisation) and one per red or black list (the
organisations actively on it). Entities are FollowTheMoney ``Company``/``Organization`` dicts,
their ids ``sc-org-<code>`` (the FollowTheMoney export's id among their ``referents``).

Matching reads candidates the way the public name search does (the name index, by code and
by legacy organisation code) and scores them with the resolution's own features
(``resolution/normalise.py``): the name without its legal form and with its branch, compared
whole and then character by character (rapidfuzz); the registration number or legacy code; the
address.

Natural persons are screened only for implementing agencies, and only by their full ID number
(``idNumber``, ``nationalId``): the registry keys a person by that number and never by a name
(DESIGN.md, privacy). A ``Person`` query from anyone else is answered with no results. A person
found is shown as the check path shows one (the name and number masked, the lists the person is
actively on), and each person returned is a read of that person's file, recorded for them to
see (``reads``: kind ``screening``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from ..clock import iso, to_utc_naive
from ..db import listings, screening_judgements, subject_details, subjects
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..identifiers.protect import mask_person_name
from ..projections.name_index import normalise
from ..resolution.normalise import address as fold_address
from ..resolution.normalise import org_name, simplified
from .name_search import names_containing, similar_names
from .opendata import ftm_id
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

ALGORITHM = "socialcredit-v1"
ORG_SCHEMATA = ("Company", "Organization", "LegalEntity", "Thing")
PERSON_SCHEMATA = ("Person",)
ID_PREFIX = "sc-org-"
PERSON_ID_PREFIX = "sc-person-"
#: the role that alone screens natural persons: an implementing agency
AGENCY = "agency"
#: the properties a ``Person`` query gives its ID number in
PERSON_NUMBERS = ("idNumber", "nationalId", "registrationNumber", "taxNumber")
#: yente's default threshold: a result scoring at least this is a ``match``
THRESHOLD = 0.7
CANDIDATES = 30

FEATURES = {
    "name_literal_match": (
        "The names agree once folded (full-width forms, brackets, case) with the legal form "
        "set aside (有限公司 and 有限责任公司 alike); a branch's name counts.",
        1.0,
    ),
    "name_fuzzy_match": (
        "How close the names are, character by character, legal forms aside (rapidfuzz); "
        "it counts from a similarity of 0.6 (names that share no more are not alike) to 1.",
        0.95,
    ),
    "identifier_match": (
        "The registration number given is the organisation's code, or its legacy "
        "organisation code (GB 11714).",
        1.0,
    ),
    "identifier_mismatch": (
        "A registration number was given and it is another organisation's: the score is cut.",
        -0.4,
    ),
    "address_match": ("The addresses agree once folded (the province may be left off).", 0.15),
}


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    summary: str
    list_id: str | None  # None: every registered organisation


def datasets(reg: Registry) -> dict[str, Dataset]:
    out = {
        "default": Dataset(
            "default",
            f"{reg.pack.meta.title.in_('en')}: registered organisations",
            "Every organisation the registry holds, with the lists it is on.",
            None,
        )
    }
    for lid, ld in reg.pack.lists.items():
        out[lid] = Dataset(
            lid,
            ld.name.in_("en"),
            f"Organisations on the {ld.kind} list {ld.name.in_('en')} now.",
            lid,
        )
    return out


def catalog(reg: Registry) -> dict[str, Any]:
    """yente's ``/catalog``: the datasets, all current (the registry answers from its store)."""
    version = reg.now().astimezone(reg.tz).strftime("%Y%m%d%H%M%S")
    sets = [
        {
            "name": d.name,
            "title": d.title,
            "summary": d.summary,
            "version": version,
            "load": True,
            "namespace": False,
            "index_version": version,
            "index_current": True,
            "children": [],
            "publisher": {
                "name": reg.pack.meta.title.in_("en"),
                "country": reg.pack.meta.jurisdiction.lower(),
                "country_label": reg.pack.meta.jurisdiction,
                "official": True,
            },
        }
        for d in datasets(reg).values()
    ]
    return {
        "datasets": sets,
        "current": [d["name"] for d in sets],
        "outdated": [],
        "index_stale": False,
    }


def algorithms() -> dict[str, Any]:
    features = {
        name: {"description": desc, "coefficient": coef, "url": ""}
        for name, (desc, coef) in FEATURES.items()
    }
    algo = {
        "name": ALGORITHM,
        "description": "The registry's resolution features over its own register.",
        "features": features,
        "docs": {
            "name": ALGORITHM,
            "description": "The registry's resolution features over its own register.",
            "config": {},
            "features": features,
        },
    }
    return {"algorithms": [algo], "default": ALGORITHM, "best": ALGORITHM}


def _dataset(reg: Registry, name: str) -> Dataset:
    found = datasets(reg).get(name)
    if found is None:
        raise UnknownEntity(f"no dataset {name!r} (known: {', '.join(datasets(reg))})")
    return found


def _listed(conn: Any, codes: list[str], t: datetime) -> dict[str, set[str]]:
    """The lists each of ``codes`` is actively on at ``t``."""
    out: dict[str, set[str]] = {}
    if not codes:
        return out
    L = listings.c
    for r in conn.execute(
        select(L.subject_id, L.list_id).where(
            L.subject_id.in_(codes),
            L.activates_at <= t,
            or_(L.ended_at.is_(None), L.ended_at > t),
            or_(L.until.is_(None), L.until > t),
        )
    ):
        out.setdefault(r.subject_id, set()).add(r.list_id)
    return out


def _entity(reg: Registry, row: Any, on: set[str], address: str | None) -> dict[str, Any]:
    code = row.subject_id
    uscc = reg.org_scheme.builtin == "uscc"
    props: dict[str, list[str]] = {
        "name": [row.name],
        "registrationNumber": [code],
        "jurisdiction": [reg.pack.meta.jurisdiction.lower()],
    }
    if uscc:
        props["uscCode"] = [code]
    if address:
        props["address"] = [address]
    sanctioned = any(m.kind == "sanction" and set(m.lists) & on for m in reg.pack.measures.values())
    if sanctioned:
        props["topics"] = ["sanction"]
    company = not uscc or code.startswith("9")
    return {
        "id": ID_PREFIX + code,
        "caption": row.name,
        "schema": "Company" if company else "Organization",
        "properties": props,
        "datasets": ["default", *sorted(on)],
        "referents": [ftm_id("organisation", code)],
        "target": bool(on),
        "first_seen": iso(row.registered_at, reg.tz),
        "last_seen": iso(reg.now(), reg.tz),
        "last_change": iso(row.registered_at, reg.tz),
    }


_COLS = (
    subjects.c.subject_id,
    subjects.c.name,
    subjects.c.registered_at,
    subjects.c.organisation_code,
)


def _registered(
    conn: Any, ids: list[str], t: datetime, kind: str, cols: tuple[Any, ...]
) -> list[Any]:
    """The subjects of ``kind`` among ``ids`` registered by ``t`` (their ``cols``)."""
    if not ids:
        return []
    return list(
        conn.execute(
            select(*cols).where(
                subjects.c.subject_id.in_(ids),
                subjects.c.kind == kind,
                subjects.c.registered_at <= t,
            )
        )
    )


def _rows(conn: Any, codes: list[str], t: datetime) -> list[Any]:
    return _registered(conn, codes, t, "organisation", _COLS)


def _addresses(conn: Any, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {
        r.subject_id: r.address
        for r in conn.execute(
            select(subject_details.c.subject_id, subject_details.c.address).where(
                subject_details.c.subject_id.in_(codes), subject_details.c.address.is_not(None)
            )
        )
    }


def entity(reg: Registry, entity_id: str, reader: str | None = None) -> dict[str, Any]:
    """yente's ``/entities/{id}``. A person's entity is shown to an implementing agency only
    (``reader``: its label; the read is recorded for the person), to anyone else it does not
    exist."""
    if entity_id.startswith(PERSON_ID_PREFIX) and reader is not None:
        sid = entity_id[len(PERSON_ID_PREFIX) :]
        t = to_utc_naive(reg.now())
        with reg.engine.connect() as conn:
            found = _person_rows(conn, [sid], t)
            on = _listed(conn, [sid], t).get(sid, set())
        if not found:
            raise UnknownEntity(f"no entity {entity_id!r}")
        _record_reads(reg, [sid], reader, "entity")
        return _person_entity(reg, found[0], on)
    if not entity_id.startswith(ID_PREFIX):
        raise UnknownEntity(f"no entity {entity_id!r}")
    code = entity_id[len(ID_PREFIX) :]
    t = to_utc_naive(reg.now())
    with reg.engine.connect() as conn:
        rows = _rows(conn, [code], t)
        if not rows:
            raise UnknownEntity(f"no entity {entity_id!r}")
        on = _listed(conn, [code], t).get(code, set())
        addr = _addresses(conn, [code]).get(code)
    return _entity(reg, rows[0], on, addr)


def _values(props: dict[str, Any], *names: str) -> list[str]:
    out: list[str] = []
    for n in names:
        v = props.get(n)
        for x in v if isinstance(v, list) else [v] if v is not None else []:
            if isinstance(x, str) and x.strip():
                out.append(x.strip()[:300])
    return out


def _identifier(reg: Registry, raw: str) -> tuple[str | None, str | None]:
    """A registration number as (code, legacy organisation code): either may be None."""
    text = raw.replace(" ", "").replace("-", "").upper()
    try:
        return reg.org_scheme.parse(text).number, None
    except InvalidIdentifier:
        pass
    if len(text) == 9:
        return None, f"{text[:8]}-{text[8]}"
    return None, None


def _score(
    reg: Registry, names: list[str], ids: list[tuple[str | None, str | None]],
    addresses: list[str], row: Any, addr: str | None,
) -> tuple[float, dict[str, dict[str, Any]]]:  # fmt: skip
    explain: dict[str, dict[str, Any]] = {}
    best_literal, best_fuzzy = 0.0, 0.0
    cand = org_name(simplified(row.name))
    for q in names:
        qn = org_name(simplified(q))
        literal = 1.0 if qn.key == cand.key else 0.0
        fuzzy = fuzz.ratio(qn.base, cand.base) / 100.0 if qn.base and cand.base else 0.0
        if literal > best_literal or (literal == best_literal and fuzzy > best_fuzzy):
            explain["name_literal_match"] = {
                "detail": None, "score": literal, "query": q, "candidate": row.name,
            }  # fmt: skip
        if fuzzy > best_fuzzy:
            explain["name_fuzzy_match"] = {
                "detail": None, "score": round(fuzzy, 4), "query": q, "candidate": row.name,
            }  # fmt: skip
        best_literal, best_fuzzy = max(best_literal, literal), max(best_fuzzy, fuzzy)
    # similarity below 0.6 says nothing (generated and real names share trade words)
    fuzzy_part = max(0.0, (best_fuzzy - 0.6) / 0.4) * FEATURES["name_fuzzy_match"][1]
    score = max(best_literal, fuzzy_part)
    if ids:
        hit = any(
            (c is not None and c == row.subject_id)
            or (legacy is not None and legacy == row.organisation_code)
            for c, legacy in ids
        )
        explain["identifier_match"] = {"detail": None, "score": 1.0 if hit else 0.0}
        if hit:
            score = max(score, 0.99) if best_literal < 1.0 else 1.0
        elif any(c is not None for c, _ in ids):
            explain["identifier_mismatch"] = {"detail": None, "score": 1.0}
            score = max(0.0, score + FEATURES["identifier_mismatch"][1])
    if addresses and addr:
        mine = fold_address(simplified(addr)).key
        agree = any(fold_address(simplified(a)).key == mine for a in addresses)
        explain["address_match"] = {"detail": None, "score": 1.0 if agree else 0.0}
        if agree:
            score = min(1.0, score + FEATURES["address_match"][1])
    return round(score, 4), explain


_PERSON_COLS = (
    subjects.c.subject_id,
    subjects.c.name,
    subjects.c.registered_at,
    subjects.c.id_masked,
)


def _person_rows(conn: Any, sids: list[str], t: datetime) -> list[Any]:
    return _registered(conn, sids, t, "person", _PERSON_COLS)


def _person_entity(reg: Registry, row: Any, on: set[str]) -> dict[str, Any]:
    """A person as an implementing agency sees one: the name and number masked."""
    name = mask_person_name(row.name or "")
    props: dict[str, list[str]] = {
        "name": [name],
        "country": [reg.pack.meta.jurisdiction.lower()],
    }
    if row.id_masked:
        props["idNumber"] = [row.id_masked]
    return {
        "id": PERSON_ID_PREFIX + row.subject_id,
        "caption": name,
        "schema": "Person",
        "properties": props,
        "datasets": ["default", *sorted(on)],
        "referents": [ftm_id("person", row.subject_id)],
        "target": bool(on),
        "first_seen": iso(row.registered_at, reg.tz),
        "last_seen": iso(reg.now(), reg.tz),
        "last_change": iso(row.registered_at, reg.tz),
    }


def _person_key(name: str) -> str:
    return "".join(simplified(normalise(name)).split())


def _match_persons(
    reg: Registry, conn: Any, props: dict[str, Any], t: datetime
) -> list[tuple[Any, float, dict[str, dict[str, Any]]]]:
    """Persons by their full ID number, each with its score and the features that made it:
    the number is the key (0.99), the name agreeing makes it 1.0; a name alone finds no one."""
    sids: dict[str, None] = {}
    for v in _values(props, *PERSON_NUMBERS):
        try:
            ref = resolve_code(reg, v, subject_ids=False)
        except InvalidIdentifier:
            continue
        if ref.kind == "person":
            sids[ref.subject_id] = None
    names = _values(props, "name", "alias", "previousName", "weakAlias")
    out = []
    for row in _person_rows(conn, list(sids), t):
        explain: dict[str, dict[str, Any]] = {
            "identifier_match": {"detail": "the full ID number", "score": 1.0}
        }
        score = 0.99
        if names and row.name:
            mine = _person_key(row.name)
            literal = any(_person_key(n) == mine for n in names)
            fuzzy = max(fuzz.ratio(_person_key(n), mine) / 100.0 for n in names)
            explain["name_literal_match"] = {"detail": None, "score": 1.0 if literal else 0.0}
            explain["name_fuzzy_match"] = {"detail": None, "score": round(fuzzy, 4)}
            if literal:
                score = 1.0
        out.append((row, score, explain))
    return out


def _record_reads(reg: Registry, sids: list[str], reader: str, how: str) -> None:
    """Each person a screening showed: a read of their file, for them to see."""
    from .reads import read_entry, record

    at = reg.read_moment()
    record(
        reg,
        [
            read_entry(sid, reader, "screening", at, {"purpose": "screening", "via": how})
            for sid in dict.fromkeys(sids)
        ],
        reader,
    )


def query_key(query: dict[str, Any]) -> str:
    """What identifies a query entity across requests: the caller's own id for it when it gives
    one, else its schema, names (folded, legal form aside) and numbers."""
    if query.get("id"):
        raw = f"id:{query['id']}"
    else:
        props = query.get("properties") or {}
        names = sorted({"|".join(map(str, org_name(n).key)) for n in _values(props, "name")})
        ids = sorted(
            v.replace(" ", "").replace("-", "").upper()
            for v in _values(props, "registrationNumber", "uscCode", "taxNumber", "idNumber")
        )
        raw = json.dumps([query.get("schema") or "LegalEntity", names, ids], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def judge(
    reg: Registry, who: Any, query: dict[str, Any], entity_id: str, *, reason: str = ""
) -> dict[str, Any]:
    """A screening principal's "not this one": ``entity_id`` is not the counterparty of
    ``query``; its later results for the same query leave it out (others' do not)."""
    if who.principal_id is None:
        raise InvalidInput("only a signed-in account's judgements are kept")
    if entity_id.startswith(PERSON_ID_PREFIX) and who.role == AGENCY:
        with reg.engine.connect() as conn:  # a person the screening knows (not a read)
            if not _person_rows(conn, [entity_id[len(PERSON_ID_PREFIX) :]], datetime.max):
                raise UnknownEntity(f"no entity {entity_id!r}")
    else:
        entity(reg, entity_id)  # an entity the screening knows, or 404
    key = query_key(query)
    with reg.uow(who.label) as uow:
        uow.emit(
            NewEvent(
                T.SCREENING_JUDGED,
                {
                    "principal_id": who.principal_id,
                    "query_key": key,
                    "entity_id": entity_id,
                    "verdict": "false_positive",
                    "reason": " ".join(reason.split())[:2000],
                },
            )
        )
        uow.commit()
    return {"query_key": key, "entity_id": entity_id, "verdict": "false_positive"}


def lift(reg: Registry, who: Any, query: dict[str, Any], entity_id: str) -> dict[str, Any]:
    """Withdraw a "not this one": the entity may be a result of that query again."""
    key = query_key(query)
    sj = screening_judgements.c
    with reg.uow(who.label) as uow:
        found = uow.execute(
            select(sj.entity_id).where(
                sj.principal_id == who.principal_id,
                sj.query_key == key,
                sj.entity_id == entity_id,
                sj.lifted_at.is_(None),
            )
        ).first()
        if found is None:
            raise UnknownEntity("no such judgement of yours")
        uow.emit(
            NewEvent(
                T.SCREENING_JUDGEMENT_LIFTED,
                {"principal_id": who.principal_id, "query_key": key, "entity_id": entity_id},
            )
        )
        uow.commit()
    return {"query_key": key, "entity_id": entity_id, "verdict": None}


def _judged(conn: Any, principal_id: str | None, key: str) -> set[str]:
    if principal_id is None:
        return set()
    sj = screening_judgements.c
    return {
        r.entity_id
        for r in conn.execute(
            select(sj.entity_id).where(
                sj.principal_id == principal_id, sj.query_key == key, sj.lifted_at.is_(None)
            )
        )
    }


def match(
    reg: Registry,
    dataset: str,
    queries: dict[str, dict[str, Any]],
    *,
    principal_id: str | None = None,
    limit: int = 5,
    threshold: float = THRESHOLD,
    cutoff: float = THRESHOLD,
    exclude_entity_ids: tuple[str, ...] = (),
    reader: str | None = None,
) -> dict[str, Any]:
    """yente's ``/match/{dataset}``: per query, the best candidates scoring above ``cutoff``
    with their score, whether it reaches ``threshold`` (a match), and the features that made
    it; ``total`` counts the matches, as yente's does. ``reader``: an implementing agency's
    label, which alone has ``Person`` queries answered (by ID number; each person returned is
    a recorded read)."""
    ds = _dataset(reg, dataset)
    if not 1 <= limit <= 500:
        raise InvalidInput("limit is between 1 and 500")
    t = to_utc_naive(reg.now())
    excluded = set(exclude_entity_ids)
    out: dict[str, Any] = {}
    persons_shown: list[str] = []
    with reg.engine.connect() as conn:
        for qid, q in queries.items():
            schema = q.get("schema") or "LegalEntity"
            props = q.get("properties") or {}
            echo = {"id": q.get("id"), "schema": schema, "properties": props}
            if schema in PERSON_SCHEMATA and reader is not None:
                found = _match_persons(reg, conn, props, t)
                on = _listed(conn, [r.subject_id for r, _s, _e in found], t)
                gone = excluded | _judged(conn, principal_id, query_key(q))
                people = []
                for row, score, explain in found:
                    lists = on.get(row.subject_id, set())
                    if ds.list_id is not None and ds.list_id not in lists:
                        continue
                    ent = _person_entity(reg, row, lists)
                    if ent["id"] in gone or score <= cutoff:
                        continue
                    people.append(
                        {
                            **ent,
                            "score": score,
                            "match": score >= threshold,
                            "explanations": explain,
                            "features": {k: v["score"] for k, v in explain.items()},
                        }
                    )
                people.sort(key=lambda e: (-e["score"], e["id"]))
                persons_shown += [e["id"][len(PERSON_ID_PREFIX) :] for e in people[:limit]]
                out[qid] = {
                    "status": 200,
                    "results": people[:limit],
                    "total": {"value": sum(e["match"] for e in people), "relation": "eq"},
                    "query": echo,
                }
                continue
            if schema in PERSON_SCHEMATA or schema not in ORG_SCHEMATA:
                out[qid] = {
                    "status": 200,
                    "results": [],
                    "total": {"value": 0, "relation": "eq"},
                    "query": echo,
                }
                continue
            names = _values(props, "name", "alias", "previousName", "weakAlias")
            ids = [
                _identifier(reg, v)
                for v in _values(props, "registrationNumber", "uscCode", "taxNumber", "idNumber")
            ]
            addresses = _values(props, "address")
            codes: list[str] = [c for c, _ in ids if c]
            legacies = [lg for _, lg in ids if lg]
            if legacies:
                codes += [
                    r.subject_id
                    for r in conn.execute(
                        select(subjects.c.subject_id).where(
                            subjects.c.organisation_code.in_(legacies)
                        )
                    )
                ]
            for n in names:
                key = normalise(n)
                if len(key) >= 2:
                    codes += [r.subject_id for r in names_containing(conn, key, t, CANDIDATES)]
                    codes += [r.subject_id for r in similar_names(conn, key, t, CANDIDATES)]
            codes = list(dict.fromkeys(codes))
            rows = _rows(conn, codes, t)
            on = _listed(conn, [r.subject_id for r in rows], t)
            if ds.list_id is not None:
                rows = [r for r in rows if ds.list_id in on.get(r.subject_id, set())]
            # the caller's own "not this one" for this query, and the ids it excludes now
            gone = excluded | _judged(conn, principal_id, query_key(q))
            rows = [r for r in rows if ID_PREFIX + r.subject_id not in gone]
            addr = _addresses(conn, [r.subject_id for r in rows])
            scored = []
            for r in rows:
                score, explain = _score(reg, names, ids, addresses, r, addr.get(r.subject_id))
                if score <= cutoff:
                    continue
                ent = _entity(reg, r, on.get(r.subject_id, set()), addr.get(r.subject_id))
                features = {k: v["score"] for k, v in explain.items()}
                scored.append(
                    {
                        **ent,
                        "score": score,
                        "match": score >= threshold,
                        "explanations": explain,
                        "features": features,
                    }
                )
            scored.sort(key=lambda e: (-e["score"], e["id"]))
            out[qid] = {
                "status": 200,
                "results": scored[:limit],
                "total": {"value": sum(e["match"] for e in scored), "relation": "eq"},
                "query": echo,
            }
    if persons_shown and reader is not None:
        _record_reads(reg, persons_shown, reader, "match")
    return {"responses": out, "limit": limit}


def search(reg: Registry, dataset: str, q: str, limit: int = 10, offset: int = 0) -> dict[str, Any]:
    """yente's ``/search/{dataset}?q=``: organisations by name or code."""
    ds = _dataset(reg, dataset)
    from .name_search import search as name_search

    found = name_search(reg, q, limit=min(500, offset + limit)) if q.strip() else {"results": []}
    t = to_utc_naive(reg.now())
    codes = [r["subject"] for r in found["results"]]
    with reg.engine.connect() as conn:
        rows = {r.subject_id: r for r in _rows(conn, codes, t)}
        on = _listed(conn, list(rows), t)
        addr = _addresses(conn, list(rows))
    results = [
        _entity(reg, rows[c], on.get(c, set()), addr.get(c))
        for c in codes
        if c in rows and (ds.list_id is None or ds.list_id in on.get(c, set()))
    ]
    return {
        "limit": limit,
        "offset": offset,
        "total": {"value": len(results), "relation": "eq"},
        "results": results[offset : offset + limit],
        "facets": {},
    }
