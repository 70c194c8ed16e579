"""Finding organisations by name: a USCC, a legacy organisation code, or two or more
characters of a name through the character-pair index (``name_grams``), with near matches
scored by rapidfuzz; the public search and screening read through here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text

from ..clock import to_utc_naive
from ..db import listings, name_grams, subjects
from ..errors import InvalidInput
from ..projections.name_index import grams, normalise
from .views import _state

if TYPE_CHECKING:
    from ..bootstrap import Registry


#: Postings counted per pair before a search picks the rarest one to read (a bound, not a limit).
GRAM_COUNT_CAP = 5000
#: A near-match search reads the postings of the query's pairs that have fewer than this many
#: names ("公司" and "有限" have nearly every name: they tell nothing and would cost the most).
SIMILAR_POSTINGS_MAX = 20000
#: How many names sharing the most pairs with the query are scored by rapidfuzz.
SIMILAR_CANDIDATES = 200
#: rapidfuzz's ``WRatio`` (0-100) a near match must reach.
SIMILAR_MIN_SCORE = 75.0
#: Near matches are looked for only for queries this long (after normalisation): a short query
#: is a part of a name, and names merely resembling it would be noise.
SIMILAR_MIN_CHARS = 6


def search(reg: Registry, query: str, limit: int = 20) -> dict[str, Any]:
    """Organisations by USCC, by legacy organisation code, or by (part of) their name.

    Codes are looked up by key; names through the name index (``projections/name_index.py``):
    the postings of the query's rarest pair of characters are read shortest name first, and
    each candidate's whole name is checked, so a search costs about what it returns. A name
    search needs two characters. Natural persons are not searchable, by name or by number: a
    listed person is reached from the list (see ``public_listing``).
    """
    q = " ".join((query or "").split())
    if not q:
        return {"query": q, "results": [], "more": False, "too_short": False}
    if len(q) > 100:
        raise InvalidInput("a search is at most 100 characters")
    t = to_utc_naive(reg.now())
    key = normalise(q)
    code = q.replace(" ", "").replace("-", "").upper()
    cols = (subjects.c.subject_id, subjects.c.name, subjects.c.division)
    org = (subjects.c.kind == "organisation") & (subjects.c.registered_at <= t)
    with reg.engine.connect() as conn:
        rows: list[Any] = []
        if len(code) == 18:
            rows = list(conn.execute(select(*cols).where(org, subjects.c.subject_id == code)))
        elif len(code) == 9:  # GB 11714 code, kept as XXXXXXXX-X; typed with or without "-"
            rows = list(
                conn.execute(
                    select(*cols)
                    .where(org, subjects.c.organisation_code == f"{code[:8]}-{code[8]}")
                    .order_by(subjects.c.subject_id)
                    .limit(limit + 1)
                )
            )
        match = {r.subject_id: "code" for r in rows}
        if len(key) >= 2 and len(rows) <= limit:
            named = names_containing(conn, key, t, limit + 1)
            rows = (rows + [r for r in named if r.subject_id not in match])[: limit + 1]
            match |= {r.subject_id: "name" for r in named if r.subject_id not in match}
        if len(key) >= SIMILAR_MIN_CHARS and len(rows) < limit:
            similar = _names_similar(conn, key, t, limit - len(rows), exclude=set(match))
            rows += similar
            match |= {r.subject_id: "similar" for r in similar}
        ids = [r.subject_id for r in rows[:limit]]
        listed: dict[str, set[str]] = {}
        if ids:
            for r in conn.execute(select(listings).where(listings.c.subject_id.in_(ids))):
                if _state(r, t) == "active":
                    listed.setdefault(r.subject_id, set()).add(r.list_id)
    return {
        "query": q,
        "results": [
            {
                "subject": r.subject_id,
                "name": r.name,
                "division": r.division,
                "match": match.get(r.subject_id, "name"),
                "lists": [
                    {
                        "list": lid,
                        "kind": reg.pack.lists[lid].kind,
                        "name": reg.pack.lists[lid].name.model_dump(),
                    }
                    for lid in sorted(listed.get(r.subject_id, ()))
                ],
            }
            for r in rows[:limit]
        ],
        "more": len(rows) > limit,
        "too_short": not rows and len(key) < 2,
    }


def posting_sizes(conn: Connection, pairs: list[str], cap: int) -> dict[str, int]:
    """How many names each pair has, counted up to ``cap``, in one statement."""
    counts = [
        select(func.count())
        .select_from(
            select(name_grams.c.subject_id).where(name_grams.c.gram == g).limit(cap).subquery()
        )
        .scalar_subquery()
        for g in pairs
    ]
    row = conn.execute(select(*counts)).one()
    return dict(zip(pairs, (int(n) for n in row), strict=True))


def _names_similar(
    conn: Connection, key: str, t: datetime, want: int, exclude: set[str]
) -> list[Any]:
    """Up to ``want`` organisations whose names are close to ``key`` without containing it (a
    typo, a character missing or added, a different legal form), best first: the candidates of
    :func:`similar_names`, ranked against the query by rapidfuzz's ``WRatio``; those below
    ``SIMILAR_MIN_SCORE`` are dropped."""
    found = similar_names(conn, key, t, SIMILAR_CANDIDATES)
    return _ranked(key, [c for c in found if c.subject_id not in exclude], want)


def similar_names(conn: Connection, key: str, t: datetime, n: int) -> list[Any]:
    """Up to ``n`` organisations registered by ``t`` (``subject_id``, ``name``, ``division``)
    whose names share the most character pairs with ``key`` (a normalised name), counted in the
    database over the postings of the key's informative pairs; on PostgreSQL with pg_trgm, the
    names most similar by the database's trigram index. Unranked beyond that: the caller
    scores them (name search with rapidfuzz, resolution with its model)."""
    schema = _trgm(conn)
    if schema is not None:
        return list(
            conn.execute(
                text(
                    "SELECT subject_id, name, division FROM subjects "
                    f'WHERE name_key OPERATOR("{schema}".%) :q AND registered_at <= :t '
                    f'ORDER BY "{schema}".similarity(name_key, :q) DESC, subject_id LIMIT :n'
                ),
                {"q": key, "t": t, "n": n},
            )
        )
    pairs = grams(key)
    sizes = posting_sizes(conn, pairs, SIMILAR_POSTINGS_MAX)
    useful = [g for g in pairs if 0 < sizes[g] < SIMILAR_POSTINGS_MAX]
    if not useful:
        return []
    shared = func.count().label("shared")
    top = (
        select(name_grams.c.subject_id, shared)
        .where(name_grams.c.gram.in_(useful))
        .group_by(name_grams.c.subject_id)
        .having(func.count() >= max(1, (len(useful) + 1) // 3))
        .order_by(shared.desc(), name_grams.c.subject_id)
        .limit(n)
        .subquery()
    )
    return list(
        conn.execute(
            select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
            .join(top, top.c.subject_id == subjects.c.subject_id)
            .where(subjects.c.registered_at <= t, subjects.c.kind == "organisation")
        )
    )


def _ranked(key: str, cands: list[Any], want: int) -> list[Any]:
    """The candidates close enough to ``key`` by rapidfuzz's ``WRatio``, best first."""
    from rapidfuzz import fuzz, process

    scored = process.extract(
        key,
        [normalise(c.name) for c in cands],
        scorer=fuzz.WRatio,
        limit=None,
        score_cutoff=SIMILAR_MIN_SCORE,
    )
    best = sorted(scored, key=lambda m: (-m[1], len(cands[m[2]].name), cands[m[2]].subject_id))
    return [cands[i] for _, _, i in best[:want]]


#: Per database (its URL): the schema of pg_trgm where the trigram index on names exists.
_TRGM: dict[str, str | None] = {}


def _trgm(conn: Connection) -> str | None:
    """The schema of the pg_trgm extension when the names' trigram index exists (migration
    0012 creates it where it can), else None: SQLite, or PostgreSQL without the extension."""
    if conn.dialect.name != "postgresql":
        return None
    url = conn.engine.url.render_as_string(hide_password=False)
    if url not in _TRGM:
        _TRGM[url] = conn.execute(
            text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm' AND EXISTS ("
                "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_subjects_name_key_trgm' "
                "AND schemaname = current_schema())"
            )
        ).scalar()
    return _TRGM[url]


def names_containing(conn: Connection, key: str, t: datetime, want: int) -> list[Any]:
    """Up to ``want`` organisations registered by ``t`` whose normalised name contains ``key``,
    shortest name first (then by code).

    On PostgreSQL with pg_trgm, a key of three characters or more is found through the
    database's trigram index; otherwise (and for two characters, which make no trigram)
    through the pair index."""
    if len(key) >= 3 and _trgm(conn) is not None:
        return list(
            conn.execute(
                select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
                .where(
                    subjects.c.name_key.like(f"%{key}%"),
                    subjects.c.registered_at <= t,
                )
                .order_by(func.length(subjects.c.name_key), subjects.c.subject_id)
                .limit(want)
            )
        )
    pairs = grams(key)
    postings = posting_sizes(conn, pairs, GRAM_COUNT_CAP)
    rarest = min(pairs, key=lambda g: (postings[g], g))
    if postings[rarest] == 0:
        return []
    stmt = (
        select(subjects.c.subject_id, subjects.c.name, subjects.c.division)
        .join(subjects, subjects.c.subject_id == name_grams.c.subject_id)
        .where(
            name_grams.c.gram == rarest,
            name_grams.c.name_len >= len(key),
            subjects.c.registered_at <= t,
        )
        .order_by(name_grams.c.name_len, name_grams.c.subject_id)
    )
    found: list[Any] = []
    result = conn.execution_options(yield_per=256).execute(stmt)
    try:
        for r in result:
            if key in normalise(r.name):
                found.append(r)
                if len(found) >= want:
                    break
    finally:
        result.close()
    return found
