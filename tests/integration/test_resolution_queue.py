"""Probabilistic resolution end to end, on SQLite and PostgreSQL: rows sent without a code are
linked by the model, proposed to a reviewer with candidates and the model's explanation, or left
unresolved, as the policy's two thresholds say; the listing rules then apply to the subject the
row was linked to; a reviewer accepts, rejects, and undoes a link (the record leaves the wrong
file, its listing ends, and the row can be linked again); a rebuild from the log gives the same
tables.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.db import events, listings, notices, records, review_queue, subject_details
from socialcredit.errors import Conflict, UnknownEntity
from socialcredit.events import types as T
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.policy.model import Threshold
from socialcredit.services import audit, checks, ingest, resolution, review
from tests.fixtures.rows import judgment, numbered, penalty

CITIES = ("杭州", "成都", "武汉", "西安", "南京", "苏州", "郑州", "长沙", "青岛", "沈阳")
WORDS = ("华信", "瑞丰", "恒通", "金鼎", "远航", "博雅", "天成", "嘉禾")
TRADES = ("科技", "贸易", "餐饮管理", "建筑工程", "物流")
PROVINCES = {
    "杭州": "浙江省", "成都": "四川省", "武汉": "湖北省", "西安": "陕西省", "南京": "江苏省",
    "苏州": "江苏省", "郑州": "河南省", "长沙": "湖南省", "青岛": "山东省", "沈阳": "辽宁省",
}  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵周吴"
GIVEN = ("建国", "秀英", "志强", "海燕", "伟", "静", "磊", "丽娟")


def population(n: int = 40) -> list[dict[str, str]]:
    """``n`` organisations, each with a code, a name, a registered address and a legal rep."""
    out = []
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        name = f"{city}{WORDS[i % len(WORDS)]}{TRADES[(i // 3) % len(TRADES)]}有限公司"
        out.append(
            {
                "code": build_uscc("9", "1", "330100", f"{71000000 + i * 7919:08d}"),
                "name": name,
                "address": f"{PROVINCES[city]}{city}市{WORDS[(i + 3) % 8]}路{10 + i}号",
                "rep": SURNAMES[i % 10] + GIVEN[(i * 3) % len(GIVEN)],
            }
        )
    names = [o["name"] for o in out]
    assert len(set(names)) == len(names)
    return out


def register(reg: Registry, orgs: list[dict[str, str]]) -> None:
    rows = []
    for i, o in enumerate(orgs):
        rows.append(
            penalty(
                f"SAMR-{i:04d}",
                o["code"],
                severity="minor",
                subject_name=o["name"],
                subject_address=o["address"],
                subject_legal_representative=o["rep"],
            )
        )
    s = ingest.ingest(reg, numbered(rows), "samr", actor="test:samr")
    assert s.accepted == len(orgs) and not s.rejects


def codeless_judgment(rid: str, name: str, **hints: str) -> dict[str, Any]:
    row = judgment(rid, "", listing_ref=f"（2026）浙0102执{rid[-3:]}号之一")
    row.update(subject_name=name, subject_kind="organisation", **hints)
    return row


def items(reg: Registry) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        return {r.source_record_id: r for r in conn.execute(select(review_queue))}


def active_listings(reg: Registry, subject_id: str) -> list[Any]:
    with reg.engine.connect() as conn:
        return list(
            conn.execute(
                select(listings).where(
                    listings.c.subject_id == subject_id, listings.c.status != "ended"
                )
            )
        )


def record_of(reg: Registry, rid: str) -> Any:
    with reg.engine.connect() as conn:
        return conn.execute(select(records).where(records.c.source_record_id == rid)).first()


@pytest.fixture
def orgs(reg: Registry) -> list[dict[str, str]]:
    o = population()
    register(reg, o)
    return o


def test_sources_details_of_an_organisation_are_kept_for_resolution(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    with reg.engine.connect() as conn:
        got = {r.subject_id: r for r in conn.execute(select(subject_details))}
    assert len(got) == len(orgs)
    assert got[orgs[0]["code"]].address == orgs[0]["address"]
    assert got[orgs[0]["code"]].legal_representative == orgs[0]["rep"]
    assert got[orgs[0]["code"]].source == "samr"


def test_rows_are_linked_proposed_or_left_as_the_thresholds_say(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    a, b = orgs[5], orgs[12]
    rows = [
        # A's name as a clerk types it (legal form dropped), its address without the
        # province, its legal representative: the model links it
        codeless_judgment(
            "CT-X-001",
            a["name"].removesuffix("有限公司"),
            subject_address=a["address"].split("省", 1)[1],
            subject_legal_representative=a["rep"],
        ),
        # B's name under another legal form, nothing else: likely B, for a person to decide
        codeless_judgment("CT-Y-002", b["name"].replace("有限公司", "股份有限公司")),
        # nobody the register knows
        codeless_judgment(
            "CT-Z-003",
            "哈尔滨北极星冷链运输有限公司",
            subject_address="黑龙江省哈尔滨市道里区中央大街1号",
            subject_legal_representative="孙悦",
        ),
    ]
    s = ingest.ingest(reg, numbered(rows), "court", actor="test:court")
    assert s.queued == 3 and s.accepted == 0
    found = resolution.run(reg, actor="resolution:test", item_ids=s.queued_items)
    assert (found.linked, found.review, found.unresolved) == (1, 1, 1)

    q = items(reg)
    # linked: the record is A's, the decision names the model and its probability
    assert q["CT-X-001"].status == "resolved"
    rec = record_of(reg, "CT-X-001")
    assert rec.subject_id == a["code"]
    with reg.engine.connect() as conn:
        decided = [
            json.loads(p)
            for (p,) in conn.execute(
                select(events.c.payload).where(events.c.type == T.REVIEW_ITEM_RESOLVED)
            )
        ]
    assert decided[0]["method"] == "probabilistic"
    assert decided[0]["decided_by"] == "resolution:test"
    assert decided[0]["match_probability"] >= reg.pack.resolution.organisations.upper  # type: ignore[union-attr]
    # the listing rules applied to A: the dishonest judgment lists A, and no one else
    assert [row.list_id for row in active_listings(reg, a["code"])] == [
        "dishonest_judgment_debtors"
    ]

    # review: B is the first candidate, with each comparison's level and Bayes factor
    y = json.loads(q["CT-Y-002"].resolution)
    assert q["CT-Y-002"].status == "open" and y["decision"] == "review"
    best = y["candidates"][0]
    assert best["subject_id"] == b["code"]
    th = reg.pack.resolution.organisations  # type: ignore[union-attr]
    assert th.lower <= best["match_probability"] < th.upper
    by = {e["comparison"]: e for e in best["explanation"]}
    assert by["name"]["bayes_factor"] > 1  # the names agree
    assert record_of(reg, "CT-Y-002") is None

    # unresolved: no candidate reaches the lower threshold
    z = json.loads(q["CT-Z-003"].resolution)
    assert q["CT-Z-003"].status == "open" and z["decision"] == "unresolved"
    assert all(c["match_probability"] < th.lower for c in z["candidates"])

    # the reviewer accepts B, rejects the unknown company
    review.resolve_item(reg, q["CT-Y-002"].item_id, b["code"], actor="test:reviewer")
    assert record_of(reg, "CT-Y-002").subject_id == b["code"]
    review.reject_item(reg, q["CT-Z-003"].item_id, reason="not registered", actor="test:reviewer")
    assert {r.status for r in items(reg).values()} == {"resolved", "rejected"}

    # a rebuild from the log gives the same tables
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before


def test_a_reviewer_undoes_a_link_and_links_the_row_again(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    a, c = orgs[5], orgs[6]
    row = codeless_judgment(
        "CT-X-001",
        a["name"],
        subject_address=a["address"],
        subject_legal_representative=a["rep"],
    )
    s = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert resolution.run(reg, item_ids=s.queued_items).linked == 1
    assert record_of(reg, "CT-X-001").subject_id == a["code"]
    [listing] = active_listings(reg, a["code"])

    with pytest.raises(Conflict, match="sent with its subject's code"):
        review.undo_link(reg, "samr", "SAMR-0005", reason="wrong", actor="test:reviewer")
    out = review.undo_link(
        reg, "court", "CT-X-001", reason="the court meant a namesake", actor="test:reviewer"
    )
    assert out["subject_id"] == a["code"] and out["listings_ended"] == [listing.listing_id]
    # the record left A's file, A's listing ended, the row is open again, saying why
    assert record_of(reg, "CT-X-001") is None
    assert active_listings(reg, a["code"]) == []
    item = items(reg)["CT-X-001"]
    assert item.status == "open" and "the court meant a namesake" in item.reason
    with reg.engine.connect() as conn:
        ended = conn.execute(select(events.c.payload).where(events.c.type == T.LISTING_ENDED)).all()
    payload = json.loads(ended[-1].payload)
    assert payload["reason"] == "link_undone" and payload["exit_basis"]  # cites PIPL
    # A is told, through the notices outbox
    with reg.engine.connect() as conn:
        told = conn.execute(
            select(notices.c.body).where(
                notices.c.subject_id == a["code"], notices.c.kind == "link-undone"
            )
        ).scalar_one()
    assert json.loads(told)["record"] == "court/CT-X-001"

    # the row is linked again, to the right subject; its listing follows it
    review.resolve_item(reg, item.item_id, c["code"], actor="test:reviewer")
    assert record_of(reg, "CT-X-001").subject_id == c["code"]
    assert [r.list_id for r in active_listings(reg, c["code"])] == ["dishonest_judgment_debtors"]
    assert active_listings(reg, a["code"]) == []
    # nothing of the first link is lost from the log
    with reg.engine.connect() as conn:
        types = [
            t
            for (t,) in conn.execute(
                select(events.c.type).where(events.c.subject_id == a["code"]).order_by(events.c.seq)
            )
        ]
    assert T.RECORD_ACCEPTED in types and T.LINK_UNDONE in types
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before


def test_a_link_made_by_the_law_can_be_undone_too(reg: Registry) -> None:
    from tests.fixtures.rows import ORG, ORG_NAME

    s = ingest.ingest(reg, numbered([penalty("SAMR-1", ORG, severity="minor")]), "samr", actor="t")
    assert s.accepted == 1
    row = codeless_judgment("CT-L-001", ORG_NAME, subject_legacy_code="60003734-1")
    s = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert s.accepted == 1 and s.queued == 0  # the law's mapping linked it at ingest
    out = review.undo_link(reg, "court", "CT-L-001", reason="code mistyped", actor="test:rev")
    item = items(reg)["CT-L-001"]
    assert out["item_id"] == item.item_id and item.status == "open"
    assert json.loads(item.row)["hints"] == {"subject_legacy_code": "60003734-1"}
    assert record_of(reg, "CT-L-001") is None
    # the law's mapping does not make the link a reviewer undid again
    again = resolution.run(reg, item_ids=[item.item_id])
    assert again.linked == 0, again.as_dict()
    assert record_of(reg, "CT-L-001") is None


def test_a_reviewer_s_judgement_sticks_until_lifted(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    """Undo is a judgement: the row is not about that subject. Every later run of the model
    honours it (the row is never linked to or proposed with that subject again, whatever the
    model scores), through a rebuild of the projections, until a reviewer lifts it."""
    a = orgs[5]
    row = codeless_judgment(
        "CT-X-002",
        a["name"],
        subject_address=a["address"],
        subject_legal_representative=a["rep"],
    )
    s = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert resolution.run(reg, item_ids=s.queued_items).linked == 1
    review.undo_link(reg, "court", "CT-X-002", reason="a namesake", actor="test:reviewer")
    [judged] = review.judgements(reg, "court", "CT-X-002")
    assert (judged["subject_id"], judged["verdict"], judged["lifted"]) == (
        a["code"],
        "different",
        None,
    )
    item_id = items(reg)["CT-X-002"].item_id

    out = resolution.run(reg, item_ids=[item_id], again=True)
    assert out.linked == 0, out.as_dict()
    assert record_of(reg, "CT-X-002") is None and active_listings(reg, a["code"]) == []
    finding = json.loads(items(reg)["CT-X-002"].resolution)
    assert a["code"] not in {c["subject_id"] for c in finding["candidates"]}
    assert finding["judged_different"] == [a["code"]]

    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    assert resolution.run(reg, item_ids=[item_id], again=True).linked == 0

    with pytest.raises(UnknownEntity):
        review.lift_judgement(reg, "court", "CT-X-002", orgs[6]["code"], reason="x", actor="r")
    review.lift_judgement(
        reg, "court", "CT-X-002", a["code"], reason="the court confirmed it", actor="test:rev"
    )
    assert review.judgements(reg, "court", "CT-X-002")[0]["lifted"]["reason"] == (
        "the court confirmed it"
    )
    assert resolution.run(reg, item_ids=[item_id], again=True).linked == 1
    assert record_of(reg, "CT-X-002").subject_id == a["code"]


def test_both_thresholds_come_from_policy(reg: Registry, orgs: list[dict[str, str]]) -> None:
    """The same two rows, evaluated again under other thresholds: each decision moves with the
    threshold it is compared with, and with nothing else."""
    policy = reg.pack.resolution
    assert policy is not None

    def thresholds(upper: float, lower: float) -> None:
        th = Threshold(upper=upper, lower=lower)
        reg.pack = reg.pack.model_copy(
            update={"resolution": policy.model_copy(update={"organisations": th})}
        )

    a, b = orgs[5], orgs[12]
    rows = [
        # a typo in the name, the legal representative agrees
        codeless_judgment(
            "CT-X-001", a["name"][:3] + "行" + a["name"][4:], subject_legal_representative=a["rep"]
        ),
        # B's name under another legal form, nothing else
        codeless_judgment("CT-Y-002", b["name"].replace("有限公司", "股份有限公司")),
    ]
    s = ingest.ingest(reg, numbered(rows), "court", actor="test:court")

    def best(rid: str) -> tuple[str, float | None]:
        it = items(reg)[rid]
        if it.status != "open":
            return str(it.status), None
        finding = json.loads(it.resolution)
        cands = finding["candidates"]
        return finding["decision"], cands[0]["match_probability"] if cands else None

    # nothing links at upper 1: both rows are proposed, X with the stronger evidence
    thresholds(1.0, 0.01)
    resolution.run(reg, item_ids=s.queued_items)
    (dx, px), (dy, py) = best("CT-X-001"), best("CT-Y-002")
    assert (dx, dy) == ("review", "review")
    assert px is not None and py is not None and py < px < 1.0
    # upper between them: X links, Y is still for a reviewer
    thresholds((px + py) / 2, py / 2)
    resolution.run(reg, item_ids=s.queued_items, again=True)
    assert best("CT-X-001") == ("resolved", None)
    assert best("CT-Y-002")[0] == "review"
    assert record_of(reg, "CT-X-001").subject_id == a["code"]
    # lower above Y: Y is unresolved
    thresholds(0.99, (py + 1) / 2)
    resolution.run(reg, item_ids=s.queued_items, again=True)
    assert best("CT-Y-002")[0] == "unresolved"
    assert record_of(reg, "CT-Y-002") is None


# -- dedupe of the register -------------------------------------------------------------------


def ghost_of(o: dict[str, str], n: int) -> str:
    """Another valid USCC: what a source that mistyped the organisation's code sent."""
    return build_uscc("9", "1", "330100", f"{89000000 + n:08d}")


def test_dedupe_proposes_a_merge_and_the_merge_loses_nothing(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    from socialcredit.services import dedupe
    from socialcredit.services.subjects import subject_file

    a, b = orgs[5], orgs[12]
    ga, gb = ghost_of(a, 1), ghost_of(b, 2)
    rows = [
        judgment(
            "CT-G-001",
            ga,
            subject_name=a["name"],
            subject_address=a["address"],
            subject_legal_representative=a["rep"],
        ),
        judgment(
            "CT-G-002",
            gb,
            subject_name=b["name"],
            subject_address=b["address"],
            subject_legal_representative=b["rep"],
            listing_ref="（2026）京0105执1235号之一",
        ),
    ]
    s = ingest.ingest(reg, numbered(rows), "court", actor="test:court")
    assert s.accepted == 2 and s.subjects_registered == 2
    with reg.engine.connect() as conn:
        n_events = len(conn.execute(select(events.c.seq)).all())

    found = dedupe.propose(reg, actor="test:dedupe")
    assert found["organisations"] == len(orgs) + 2
    props = {
        frozenset((p["a"]["subject"], p["b"]["subject"])): p
        for p in dedupe.proposals(reg)["proposals"]
    }
    assert set(props) == {frozenset((a["code"], ga)), frozenset((b["code"], gb))}
    pa = props[frozenset((a["code"], ga))]
    assert pa["match_probability"] >= reg.pack.resolution.organisations.lower  # type: ignore[union-attr]
    assert {e["comparison"] for e in pa["explanation"]} >= {"name", "address", "legal_rep"}
    assert dedupe.propose(reg, actor="test:dedupe")["proposed"] == 0  # never twice

    out = dedupe.merge(reg, pa["proposal_id"], a["code"], reason="code mistyped", actor="rev")
    assert (out["survivor"], out["merged"]) == (a["code"], ga)
    with pytest.raises(Conflict):
        dedupe.merge(reg, pa["proposal_id"], a["code"], reason="again", actor="rev")
    # the ghost's record and listing are A's now; A's file holds both histories
    assert record_of(reg, "CT-G-001").subject_id == a["code"]
    assert [r.list_id for r in active_listings(reg, a["code"])] == ["dishonest_judgment_debtors"]
    assert active_listings(reg, ga) == []
    file = subject_file(reg, a["code"])
    assert {r["record"] for r in file["records"]} == {"samr/SAMR-0005", "court/CT-G-001"}
    assert file["merged_from"] == [ga] and file["name"] == a["name"]
    assert subject_file(reg, ga)["merged_into"] == a["code"]
    assert file["merged_into"] is None
    # the merged record is in A's file: A may have it proved, B may not
    from socialcredit.services import audit

    ghost_record = next(r for r in file["records"] if r["record"] == "court/CT-G-001")
    assert audit.in_file_of(reg, ghost_record["log_seq"], a["code"])
    assert not audit.in_file_of(reg, ghost_record["log_seq"], b["code"])
    assert audit.prove(reg, ghost_record["log_seq"])["hash_verified"]
    # a check on the merged code answers for A, from the overlay and from a fresh file
    air, later = "restrict_air_travel", reg.now() + timedelta(days=40)  # once active
    idx = checks.index(reg)
    for fresh_file in (False, True):
        if fresh_file:
            idx.compile()
            assert not idx.overlay
        one = checks.answer(reg, ga, air, at=later)
        survivor = checks.answer(reg, a["code"], air, at=later)
        assert (one["restricted"], one["merged_into"]) == (True, a["code"])
        assert one["listings"] == survivor["listings"] != []
        assert "merged_into" not in survivor
        bulk = checks.answer_bulk(reg, [b["code"], ga, a["code"]], air, at=later)
        assert [x["index"] for x in bulk["answers"]] == [1, 2]
    # and so does every public answer on the merged code: profile, credit report, API, pages
    assert_answers_as_survivor(reg, ga, a["code"], later)
    # nothing left the log: the ghost's events are all there, under its own code
    with reg.engine.connect() as conn:
        assert len(conn.execute(select(events.c.seq)).all()) > n_events
        ghost_types = {
            t for (t,) in conn.execute(select(events.c.type).where(events.c.subject_id == ga))
        }
    assert {T.SUBJECT_REGISTERED, T.RECORD_ACCEPTED, T.LISTING_PROPOSED} <= ghost_types
    # a source still sending the ghost's code files for A
    later = penalty("SAMR-G-9", ga, severity="minor", subject_name=a["name"])
    s = ingest.ingest(reg, numbered([later]), "samr", actor="test:samr")
    assert s.accepted == 1 and s.subjects_registered == 0
    assert record_of(reg, "SAMR-G-9").subject_id == a["code"]

    # the other pair is kept apart, and not proposed again
    pb = props[frozenset((b["code"], gb))]
    dedupe.keep_apart(reg, pb["proposal_id"], reason="two companies", actor="rev")
    assert dedupe.propose(reg, actor="test:dedupe")["proposed"] == 0
    assert {p["proposal_id"] for p in dedupe.proposals(reg, "kept_apart")["proposals"]} == {
        pb["proposal_id"]
    }
    assert record_of(reg, "CT-G-002").subject_id == gb

    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before


def test_no_link_without_a_margin(reg: Registry, orgs: list[dict[str, str]]) -> None:
    """Two registered organisations the row matches equally well (a company registered again
    under the other legal form, at the same address, with the same legal representative): the
    model does not pick one; the row goes to a reviewer with both side by side, and no listing
    reaches either until the reviewer decides."""
    a = orgs[5]
    twin = {
        "code": build_uscc("9", "1", "330100", "79999999"),
        "name": a["name"].replace("有限公司", "有限责任公司"),
        "address": a["address"],
        "rep": a["rep"],
    }
    s = ingest.ingest(
        reg,
        numbered(
            [
                penalty(
                    "SAMR-TWIN",
                    twin["code"],
                    severity="minor",
                    subject_name=twin["name"],
                    subject_address=twin["address"],
                    subject_legal_representative=twin["rep"],
                )
            ]
        ),
        "samr",
        actor="test:samr",
    )
    assert s.accepted == 1
    row = codeless_judgment(
        "CT-X-777",
        a["name"],
        subject_address=a["address"],
        subject_legal_representative=a["rep"],
    )
    s = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    out = resolution.run(reg, item_ids=s.queued_items)
    assert (out.linked, out.review) == (0, 1), out.as_dict()
    item = items(reg)["CT-X-777"]
    assert item.status == "open"
    finding = json.loads(item.resolution)
    assert finding["decision"] == "review" and finding["ambiguous"] is True
    both = {c["subject_id"] for c in finding["candidates"][:2]}
    assert both == {a["code"], twin["code"]}
    assert finding["candidates"][0]["match_probability"] >= finding["thresholds"]["upper"]
    assert active_listings(reg, a["code"]) == [] and active_listings(reg, twin["code"]) == []
    assert record_of(reg, "CT-X-777") is None
    # the reviewer names the subject; the listing follows
    review.resolve_item(reg, item.item_id, a["code"], actor="test:reviewer")
    assert [r.list_id for r in active_listings(reg, a["code"])] == ["dishonest_judgment_debtors"]


def assert_answers_as_survivor(reg: Registry, merged: str, survivor: str, at: Any) -> None:
    """A merged code is answered as its survivor, saying so, wherever the public reads it:
    never as an empty file with a clean report ("not on any black list") while checks on the
    same code answer restricted."""
    from fastapi.testclient import TestClient

    from socialcredit.api.app import create_app
    from socialcredit.services import opendata, reports, views

    seen = views.public_profile(reg, merged, at)
    assert seen["asked"] == {"code": merged, "merged_into": survivor}
    own = views.public_profile(reg, survivor, at)
    assert {k: v for k, v in seen.items() if k != "asked"} == own
    assert [x["list"] for x in seen["listings"]] == ["dishonest_judgment_debtors"]
    report = reports.credit_report(reg, merged, at)
    assert report["subject"] == survivor and report["listings"] == own["listings"]
    assert report["verification_code"].startswith(survivor + "-")
    assert {r["subject"] for r in opendata.public_records(reg, at)} >= {survivor}
    assert merged not in {r["subject"] for r in opendata.public_records(reg, at)}
    with TestClient(create_app(reg)) as client:
        as_of = at.astimezone(reg.tz).strftime("%Y-%m-%dT%H:%M")
        got = client.get(f"/v1/subjects/{merged}", params={"as_of": as_of})
        assert got.status_code == 200 and got.json()["asked"]["merged_into"] == survivor
        assert got.json()["listings"] == own["listings"]
        page = client.get(f"/org/{merged}", headers={"accept-language": "en"})
        assert page.status_code == 200, page.text[:300]
        assert f"The code {merged} was merged into {survivor}" in page.text


def test_a_reviewer_s_judgement_survives_a_retrained_model(
    reg: Registry, orgs: list[dict[str, str]]
) -> None:
    """A model trained anew (other data, other parameters) still never links a row to a
    subject a reviewer judged it is not about; lifted, the judgement no longer holds it, and
    the retrained model links the row: it is the judgement, not the model, that kept them
    apart."""
    import sys
    from pathlib import Path

    from socialcredit.resolution import probabilistic as P

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from org_records import task  # bench/org_records.py: the organisations' training task

    a = orgs[5]
    row = codeless_judgment(
        "CT-X-003", a["name"], subject_address=a["address"], subject_legal_representative=a["rep"]
    )
    s = ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert resolution.run(reg, item_ids=s.queued_items).linked == 1
    review.undo_link(reg, "court", "CT-X-003", reason="a namesake", actor="test:reviewer")
    item_id = items(reg)["CT-X-003"].item_id

    register, incoming = task(800, seed=11)
    feats = ["name", "address", "legal_rep", "uscc"]
    retrained = P.train(
        incoming[feats], register[feats], kind="organisation", threads=1,
        metadata={"name": "retrained-for-test"},
    )  # fmt: skip
    assert retrained.settings != P.default_model("organisation").settings
    out = resolution.run(reg, item_ids=[item_id], again=True, model=retrained)
    assert out.linked == 0, out.as_dict()
    finding = json.loads(items(reg)["CT-X-003"].resolution)
    assert finding["model"] == "retrained-for-test"
    assert finding["judged_different"] == [a["code"]]
    assert a["code"] not in {c["subject_id"] for c in finding["candidates"]}

    review.lift_judgement(reg, "court", "CT-X-003", a["code"], reason="confirmed", actor="r")
    assert resolution.run(reg, item_ids=[item_id], again=True, model=retrained).linked == 1
    assert record_of(reg, "CT-X-003").subject_id == a["code"]
