"""The policy loader never accepts a pack that violates DESIGN.md section 2, and still loads one
changed harmlessly.

Each example copies the default pack (src/socialcredit/packs/cn-national/) to a temporary
directory, applies generated mutations to its YAML and loads it:

- a violation, alone or among harmless changes, is refused with a PolicyError that names the
  file, the entry and what is wrong (the category of a prohibited name, the basis, the maximum);
- harmless changes only (labels renamed, points and shares within their bounds, periods within
  the maximum, an ordinary field added) load, and the loaded pack shows them.

The YAML is read with libyaml's loader for speed (the loader's own ``yaml.safe_load`` is pure
Python, about 0.3 s a pack here); both build the same data from these files.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import socialcredit.policy.load as loader
from socialcredit.errors import PolicyError
from socialcredit.policy import default_pack_path, load_pack
from socialcredit.policy.model import Pack
from socialcredit.policy.prohibited import prohibited_category

SETTINGS = settings(derandomize=True, deadline=None, max_examples=40)
PACK = default_pack_path()
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _read(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


@pytest.fixture(autouse=True)
def fast_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    shim = types.SimpleNamespace(
        safe_load=lambda text: yaml.load(text, Loader=LOADER), YAMLError=yaml.YAMLError
    )
    monkeypatch.setattr(loader, "yaml", shim)


# --- the pack as data ------------------------------------------------------------------------


def _entries(folder: str) -> dict[str, tuple[str, int | None]]:
    """id -> (file, index in the file's list, or None for a one-entry file)."""
    out: dict[str, tuple[str, int | None]] = {}
    for p in sorted((PACK / folder).glob("*.yaml")):
        data = _read(p)
        rel = f"{folder}/{p.name}"
        if isinstance(data, list):
            for i, item in enumerate(data):
                out[item["id"]] = (rel, i)
        else:
            out[data["id"]] = (rel, None)
    return out


RECORD_TYPES = _entries("record_types")
LISTS = _entries("lists")
MEASURES = _entries("measures")
GRADING = _entries("grading")
CITATIONS = sorted(_read(PACK / "citations.yaml"))
ENUM_FIELDS = [
    (rid, name)
    for rid, (rel, _) in RECORD_TYPES.items()
    for name, spec in _read(PACK / rel)["fields"].items()
    if spec.get("type") == "enum"
]
BASE = load_pack(PACK)


class PackDir:
    """A copy of the default pack whose YAML a mutation edits in place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: dict[str, Any] = {}

    def doc(self, rel: str) -> Any:
        if rel not in self.docs:
            self.docs[rel] = _read(self.root / rel)
        return self.docs[rel]

    def entry(self, ref: tuple[str, int | None]) -> dict[str, Any]:
        rel, i = ref
        d = self.doc(rel)
        return d if i is None else d[i]  # type: ignore[no-any-return]

    def record_type(self, rid: str) -> dict[str, Any]:
        return self.entry(RECORD_TYPES[rid])

    def list(self, lid: str) -> dict[str, Any]:
        return self.entry(LISTS[lid])

    def measure(self, mid: str) -> dict[str, Any]:
        return self.entry(MEASURES[mid])

    def grading(self, gid: str) -> dict[str, Any]:
        return self.entry(GRADING[gid])

    def add(self, rel: str, data: Any) -> None:
        self.docs[rel] = data

    def save(self) -> None:
        for rel, data in self.docs.items():
            (self.root / rel).write_text(
                yaml.dump(data, Dumper=DUMPER, allow_unicode=True), encoding="utf-8"
            )


@dataclass
class Mutation:
    what: str
    apply: Callable[[PackDir], None]
    #: fragments the refusal must contain; empty for a harmless change
    refused_with: tuple[str, ...] = ()
    #: for a harmless change: what the loaded pack must show
    shows: Callable[[Pack], bool] | None = None

    def __repr__(self) -> str:
        return f"Mutation({self.what!r})"


def load(*mutations: Mutation) -> Pack:
    """The default pack, copied, changed by ``mutations`` in order, and loaded."""
    with tempfile.TemporaryDirectory(prefix="pack-") as tmp:
        root = Path(tmp) / "cn-national"
        shutil.copytree(PACK, root)
        pd = PackDir(root)
        for m in mutations:
            m.apply(pd)
        pd.save()
        return load_pack(root)


def refusal(*mutations: Mutation) -> PolicyError:
    try:
        pack = load(*mutations)
    except PolicyError as exc:
        return exc
    raise AssertionError(f"the loader accepted {mutations}: {sorted(pack.lists)}")


# --- prohibited names ---------------------------------------------------------------------------

#: Names an agency might give data of each prohibited category, as lists of English words.
ENGLISH: dict[str, list[list[str]]] = {
    "biometrics": [
        ["fingerprint"],
        ["fingerprints"],
        ["face", "image"],
        ["facial", "features"],
        ["iris", "scan"],
        ["voiceprint"],
        ["dna", "sample"],
        ["genetic", "test"],
        ["photo"],
        ["photographs"],
        ["portrait"],
        ["gait", "pattern"],
        ["biometric", "template"],
    ],
    "political opinion": [
        ["political", "affiliation"],
        ["party", "membership"],
        ["party", "member"],
        ["political", "views"],
        ["petition", "history"],
        ["protest", "record"],
        ["ideology"],
        ["opinions"],
    ],
    "religious opinion": [
        ["religion"],
        ["religions"],
        ["religious", "belief"],
        ["faith"],
        ["creed"],
        ["beliefs"],
    ],
    "ethnicity": [
        ["ethnicity"],
        ["ethnic", "group"],
        ["race"],
        ["nationality"],
        ["racial", "origin"],
    ],
    "health": [
        ["health", "status"],
        ["medical", "history"],
        ["disease"],
        ["diagnoses"],
        ["disability"],
        ["blood", "type"],
        ["pregnancy"],
        ["mental", "illness"],
        ["hiv", "status"],
        ["vaccination", "record"],
    ],
    "online speech": [
        ["weibo", "posts"],
        ["wechat", "messages"],
        ["online", "comments"],
        ["social", "media", "handle"],
        ["rumours", "spread"],
        ["internet", "speech"],
        ["blog", "entries"],
        ["tweets"],
    ],
    "social connections": [
        ["relatives"],
        ["family", "members"],
        ["spouse", "name"],
        ["parents"],
        ["children"],
        ["friends"],
        ["social", "connections"],
        ["contacts"],
        ["father", "id"],
        ["mother", "name"],
        ["siblings"],
        ["associates"],
        ["classmates"],
    ],
}
CHINESE: dict[str, list[str]] = {
    "biometrics": ["指纹", "人脸照片", "面部特征", "虹膜", "声纹", "基因检测", "生物特征"],
    "political opinion": ["政治面貌", "党派", "上访记录", "政治观点"],
    "religious opinion": ["宗教信仰", "宗教", "信仰"],
    "ethnicity": ["民族", "种族"],
    "health": ["健康状况", "病史", "疾病", "残疾", "血型", "怀孕"],
    "online speech": ["网络言论", "微博", "微信", "帖子", "谣言", "评论"],
    "social connections": ["亲属", "家属", "配偶", "父母", "子女", "朋友", "社会关系", "家庭成员"],
}
PINYIN: dict[str, list[str]] = {
    "biometrics": ["zhiwen", "renlian"],
    "political opinion": ["zhengzhi_mianmao"],
    "religious opinion": ["zongjiao", "zongjiao_xinyang"],
    "ethnicity": ["minzu"],
    "health": ["jiankang_zhuangkuang", "xuexing"],
    "social connections": ["qinshu", "jiashu"],
}
CATEGORIES = sorted(ENGLISH)
PREFIXES = ["subject", "debtor", "person", "legal_rep", "applicant"]
SUFFIXES = ["hash", "code", "text", "flag", "id", "status", "list", "info"]
ZH_AFFIXES = ["", "被执行人", "当事人", "法定代表人"]
ZH_SUFFIXES = ["", "情况", "信息", "记录", "_code"]
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


def _case(words: list[str], style: str) -> str:
    if style == "snake":
        return "_".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "upper":
        return "_".join(words).upper()
    if style == "kebab":
        return "-".join(words)
    if style == "spaced":
        return " ".join(words)
    if style == "title":
        return " ".join(w.capitalize() for w in words)
    raise ValueError(style)


@st.composite
def prohibited_names(draw: st.DrawFn) -> tuple[str, str]:
    """(name, category): a prohibited term in English, Chinese or pinyin, spelt many ways."""
    category = draw(st.sampled_from(CATEGORIES))
    script = draw(st.sampled_from(["english", "english", "english", "chinese", "pinyin"]))
    if script == "chinese":
        term = draw(st.sampled_from(CHINESE[category]))
        return draw(st.sampled_from(ZH_AFFIXES)) + term + draw(
            st.sampled_from(ZH_SUFFIXES)
        ), category
    if script == "pinyin" and category in PINYIN:
        return draw(st.sampled_from(PINYIN[category])), category
    words = list(draw(st.sampled_from(ENGLISH[category])))
    if len(words[0]) >= 5 and draw(st.integers(0, 5)) == 0:
        # run together: caught when it begins with a prohibited word of 5 letters or more
        name = "".join(words)
        return (name.capitalize() if draw(st.booleans()) else name), category
    if draw(st.booleans()):
        words = [draw(st.sampled_from(PREFIXES)), *words]
    if draw(st.booleans()):
        words = [*words, draw(st.sampled_from(SUFFIXES))]
    name = _case(
        words,
        draw(st.sampled_from(["snake", "camel", "pascal", "upper", "kebab", "spaced", "title"])),
    )
    disguise = draw(
        st.sampled_from(["none", "none", "fullwidth", "accent", "cyrillic", "zero_width"])
    )
    if disguise == "fullwidth":
        name = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    elif disguise == "accent":
        i = next((i for i, c in enumerate(name) if c in "aeiou"), None)
        if i is not None:
            name = (
                name[:i]
                + {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü"}[name[i]]
                + name[i + 1 :]
            )
    elif disguise == "cyrillic":
        name = "".join(CYRILLIC.get(c, c) for c in name)
    elif disguise == "zero_width":
        mid = len(name) // 2
        name = name[:mid] + draw(st.sampled_from(["\u200b", "\u200d", "\u00ad"])) + name[mid:]
    return name, category


@st.composite
def prohibited_data(draw: st.DrawFn) -> Mutation:
    """A prohibited name put where data is named: a field, a record type's id, what a list's
    entry or a grading indicator reads. (Display names are free text and not read: a record
    type "Penalties of the health commission" is fine; see the harmless labels.)"""
    name, category = draw(prohibited_names())
    place = draw(
        st.sampled_from(["field", "field", "field", "record type", "entry where", "grading where"])
    )
    if place == "field":
        rid = draw(st.sampled_from(sorted(RECORD_TYPES)))
        spec = draw(
            st.sampled_from(
                [{"type": "string"}, {"type": "boolean"}, {"type": "enum", "values": ["a", "b"]}]
            )
        )

        def add_field(pd: PackDir) -> None:
            pd.record_type(rid)["fields"][name] = dict(spec)  # type: ignore[call-overload]

        return Mutation(f"field {name!r} on {rid}", add_field, (rid, category, "prohibited"))
    if place == "record type":
        source = draw(st.sampled_from(sorted(RECORD_TYPES)))
        rid = "_".join(name.split())

        def add_type(pd: PackDir) -> None:
            data = dict(pd.record_type(source))
            data["id"] = rid
            pd.add(f"record_types/zz_{len(name)}.yaml", data)

        return Mutation(f"record type {rid!r}", add_type, (category, "prohibited"))
    if place == "entry where":
        lid = draw(st.sampled_from(sorted(LISTS)))

        def where(pd: PackDir) -> None:
            pd.list(lid)["entry"].setdefault("where", {})[name] = ["yes"]

        return Mutation(f"list {lid} reads {name!r}", where, (lid, category))
    gid = draw(st.sampled_from(sorted(GRADING)))
    n = len(BASE.grading[gid].indicators)
    idx = draw(st.integers(0, n - 1))

    def grade_where(pd: PackDir) -> None:
        ind = pd.grading(gid)["indicators"][idx]
        rtype = ind.get("record", {}).get("type", "administrative_penalty")
        ind.pop("listing", None)
        ind["record"] = {"type": rtype, "where": {name: ["yes"]}}

    return Mutation(f"grading {gid} reads {name!r}", grade_where, (gid, category))


# --- measures that reach someone else ---------------------------------------------------------

OTHERS = [
    "relatives",
    "family",
    "family_members",
    "children",
    "spouse",
    "household",
    "associates",
    "employees",
    "shareholders",
    "guarantors",
    "legal_representative",
    "listed_subject_family",
    "relatives_of_listed_subject",
    "Listed_Subject",
    "listed-subject",
    "listedSubject",
    " listed_subject",
    "亲属",
    "被执行人子女",
    "all",
    "*",
]


@st.composite
def overreaching_measures(draw: st.DrawFn) -> Mutation:
    mid = draw(st.sampled_from(sorted(MEASURES)))
    kind = draw(st.sampled_from(["other", "other", "no subject", "persons basis", "person list"]))
    if kind == "other":
        other = draw(st.sampled_from(OTHERS))

        def reach(pd: PackDir) -> None:
            targets = pd.measure(mid)["targets"]
            targets.insert(draw(st.integers(0, len(targets))), other)

        return Mutation(
            f"{mid} reaches {other!r}", reach, (mid, f"targets {other!r}", "never relatives")
        )
    if kind == "no subject":

        def only_persons(pd: PackDir) -> None:
            m = pd.measure(mid)
            m["targets"] = ["responsible_persons"]
            m["responsible_persons_basis"] = [{"cite": CITATIONS[0]}]

        return Mutation(f"{mid} without the subject", only_persons, (mid, "listed_subject"))
    if kind == "persons basis":
        empty: list[Any] | None = draw(st.sampled_from([None, []]))

        def no_basis(pd: PackDir) -> None:
            m = pd.measure(mid)
            m["targets"] = ["listed_subject", "responsible_persons"]
            if empty is None:
                m.pop("responsible_persons_basis", None)
            else:
                m["responsible_persons_basis"] = empty

        return Mutation(
            f"{mid} responsible persons without basis", no_basis, (mid, "responsible_persons_basis")
        )

    def person_list(pd: PackDir) -> None:
        pd.list("dishonest_judgment_debtors")["subject_kinds"] = ["person"]
        m = pd.measure("restrict_air_travel")
        m["targets"] = ["listed_subject", "responsible_persons"]
        m["responsible_persons_basis"] = [{"cite": "spc_high_consumption", "article": "Art. 3"}]

    return Mutation("responsible persons of a person", person_list, ("lists natural persons only",))


# --- entries without a legal basis --------------------------------------------------------------


@st.composite
def missing_bases(draw: st.DrawFn) -> Mutation:
    kind = draw(st.sampled_from(["list", "list", "record type", "measure", "grading", "list part"]))
    how = draw(
        st.sampled_from(["absent", "empty", "null", "unknown", "blank cite", "blank citation"])
    )

    if kind == "list":
        eid = draw(st.sampled_from(sorted(LISTS)))
        get: Callable[[PackDir], dict[str, Any]] = lambda pd: pd.list(eid)  # noqa: E731
        key = "legal_basis"
    elif kind == "record type":
        eid = draw(st.sampled_from(sorted(RECORD_TYPES)))
        get = lambda pd: pd.record_type(eid)  # noqa: E731
        key = draw(st.sampled_from(["legal_basis", "retention"]))
    elif kind == "measure":
        eid = draw(st.sampled_from(sorted(MEASURES)))
        get = lambda pd: pd.measure(eid)  # noqa: E731
        key = "legal_basis"
    elif kind == "grading":
        eid = draw(st.sampled_from(sorted(GRADING)))
        get = lambda pd: pd.grading(eid)  # noqa: E731
        key = "legal_basis"
    else:
        eid = draw(st.sampled_from(sorted(LISTS)))
        part = draw(st.sampled_from(["exit", "objection"]))
        get = (
            (lambda pd: pd.list(eid)["exit"][-1])
            if part == "exit"
            else (lambda pd: pd.list(eid)["objection"])
        )
        key = "legal_basis"

    def apply(pd: PackDir) -> None:
        target = get(pd)
        if key == "retention":
            target = target["retention"]
        if how == "absent":
            del target["legal_basis"]
        elif how == "empty":
            target["legal_basis"] = []
        elif how == "null":
            target["legal_basis"] = None
        elif how == "unknown":
            target["legal_basis"] = [{"cite": "no_such_law", "article": "Art. 1"}]
        elif how == "blank cite":
            target["legal_basis"] = [{"cite": ""}]
        else:
            pd.doc("citations.yaml")["blank"] = {
                "title": " ",
                "gloss": "",
                "issuer": "",
                "year": 2020,
            }
            target["legal_basis"] = [{"cite": "blank"}]

    expect = ("must name the document",) if how == "blank citation" else (eid, "basis")
    return Mutation(f"{kind} {eid} basis {how}", apply, expect)


@st.composite
def dangling_citations(draw: st.DrawFn) -> Mutation:
    """An optional basis (notice, duration, publicity) that cites what citations.yaml lacks."""
    where = draw(st.sampled_from(["notice_basis", "duration", "publicity"]))
    cite = draw(st.sampled_from(["no_such_law", "", "SPC_DISHONEST_DEBTORS"]))
    if where == "publicity":
        rid = draw(st.sampled_from(sorted(RECORD_TYPES)))

        def apply(pd: PackDir) -> None:
            pd.record_type(rid)["publicity"]["basis"] = [{"cite": cite}]

        return Mutation(
            f"{rid} publicity cites {cite!r}", apply, (rid, "publicity.basis", "citations.yaml")
        )
    lid = draw(st.sampled_from(sorted(LISTS)))

    def apply_list(pd: PackDir) -> None:
        ld = pd.list(lid)
        if where == "notice_basis":
            ld["notice_basis"] = [*ld.get("notice_basis", []), {"cite": cite}]
        else:
            ld["duration"]["basis"] = [{"cite": cite}]

    what = "notice_basis" if where == "notice_basis" else "duration.basis"
    return Mutation(f"{lid} {what} cites {cite!r}", apply_list, (lid, what, "citations.yaml"))


# --- durations beyond the maximum, and other time limits -------------------------------------

UNIT_DAYS = {"d": 1, "m": 30, "y": 365}


def _max(lid: str) -> tuple[int, str]:
    text = BASE.lists[lid].duration.maximum
    return int(text[:-1]), text[-1]


@st.composite
def too_long(draw: st.DrawFn) -> Mutation:
    lid = draw(st.sampled_from(sorted(LISTS)))
    amount, unit = _max(lid)
    longer = draw(
        st.sampled_from(
            [
                f"{amount + draw(st.integers(1, 20))}{unit}",
                f"{amount * 12 + draw(st.integers(1, 50))}m"
                if unit == "y"
                else f"{amount + 1}{unit}",
                f"{amount * 366 + draw(st.integers(1, 900))}d"
                if unit == "y"
                else f"{amount + 1}{unit}",
                f"{amount * 260 + draw(st.integers(1, 900))}wd",  # working days: calendar-dependent
            ]
        )
    )
    where = draw(st.sampled_from(["default", "by_field", "from_field", "no expiry", "ruling"]))

    if where == "default":

        def apply(pd: PackDir) -> None:
            pd.list(lid)["duration"]["default"] = longer

        return Mutation(f"{lid} default {longer}", apply, (lid, "duration.default", "maximum"))
    if where == "by_field":
        rid = BASE.lists[lid].entry.record_type
        fname, values = next(
            ((n, s.values) for n, s in BASE.record_types[rid].fields.items() if s.values),
            (None, None),
        )
        if fname is None or values is None:
            return draw(too_long())
        value = draw(st.sampled_from(values))

        def apply_by(pd: PackDir) -> None:
            pd.list(lid)["duration"].setdefault("by_field", {})[fname] = {value: longer}

        return Mutation(
            f"{lid} {fname}={value} lasts {longer}", apply_by, (lid, "by_field", "maximum")
        )
    if where == "from_field":
        top = draw(st.integers(6, 99))

        def apply_from(pd: PackDir) -> None:
            pd.record_type("court_judgment")["fields"]["listing_term_years"]["maximum"] = top

        return Mutation(
            f"listing term up to {top} years",
            apply_from,
            ("dishonest_judgment_debtors", "listing_term_years", "maximum"),
        )
    if where == "no expiry":

        def apply_exit(pd: PackDir) -> None:
            ld = pd.list(lid)
            ld["exit"] = [x for x in ld["exit"] if x["trigger"] != "expiry"]

        return Mutation(f"{lid} never expires", apply_exit, (lid, "expiry"))
    lid = "dishonest_judgment_debtors"
    pattern = draw(st.sampled_from([".*", "", "^.*$", "\\s*", "(（\\d{4}）.*)?", "[^x]*"]))
    drop = draw(st.booleans())

    def apply_ruling(pd: PackDir) -> None:
        ld = pd.list(lid)
        if drop:
            ld.pop("decision_ref")
        else:
            ld["decision_ref"]["pattern"] = pattern

    return Mutation(
        f"ruling list {'without decision_ref' if drop else f'accepting {pattern!r}'}",
        apply_ruling,
        (lid, "requires_ruling" if drop else "empty reference"),
    )


@st.composite
def bad_grading(draw: st.DrawFn) -> Mutation:
    gid = draw(st.sampled_from(sorted(GRADING)))
    kind = draw(st.sampled_from(["persons", "nan", "inf"]))
    if kind == "persons":

        def apply(pd: PackDir) -> None:
            pd.grading(gid)["subject_kinds"] = draw(
                st.sampled_from([["person"], ["organisation", "person"]])
            )

        return Mutation(f"{gid} grades persons", apply, (gid, "natural persons"))
    n = len(BASE.grading[gid].indicators)
    idx = draw(st.integers(0, n - 1))
    value = math.nan if kind == "nan" else draw(st.sampled_from([math.inf, -math.inf]))

    def apply_points(pd: PackDir) -> None:
        pd.grading(gid)["indicators"][idx]["points"] = value

    return Mutation(f"{gid} points {value}", apply_points, (gid, "finite"))


violations = st.one_of(
    prohibited_data(),
    overreaching_measures(),
    missing_bases(),
    dangling_citations(),
    too_long(),
    bad_grading(),
)


# --- harmless changes -------------------------------------------------------------------------

SAFE_EN = ["Register", "Record", "of", "court", "enforcement", "penalty", "notice", "health", "tax"]
SAFE_ZH = ["行政", "处罚", "信息", "记录", "名单", "市场", "监管", "执行", "税务", "卫生健康"]
SAFE_FIELDS = [
    "case_number",
    "court_level",
    "postal_code",
    "decision_summary",
    "registered_capital",
    "penalty_reason",
    "business_scope",
    "enforcement_court",
    "settlement_date",
    "creditor_name",
    "legal_representative",
    "industry_code",
    "violation_article",
    "rectified_on",
    "third_party",
    "general_manager",
    "competent_authority",
]


@st.composite
def harmless(draw: st.DrawFn) -> Mutation:
    kind = draw(
        st.sampled_from(
            [
                "label",
                "label",
                "points",
                "shares",
                "periods",
                "default",
                "field",
                "value",
                "basis",
                "persons",
            ]
        )
    )
    if kind == "label":
        folder = draw(st.sampled_from(["record_types", "lists", "measures", "grading"]))
        table = {
            "record_types": RECORD_TYPES,
            "lists": LISTS,
            "measures": MEASURES,
            "grading": GRADING,
        }[folder]
        eid = draw(st.sampled_from(sorted(table)))
        zh = "".join(draw(st.lists(st.sampled_from(SAFE_ZH), min_size=1, max_size=4)))
        en = " ".join(draw(st.lists(st.sampled_from(SAFE_EN), min_size=1, max_size=5)))

        def relabel(pd: PackDir) -> None:
            pd.entry(table[eid])["name"] = {"zh": zh, "en": en}

        def shows(p: Pack) -> bool:
            tables: dict[str, dict[str, Any]] = {
                "record_types": p.record_types,
                "lists": p.lists,
                "measures": p.measures,
                "grading": p.grading,
            }
            got = tables[folder][eid]
            return bool(got.name.zh == zh and got.name.en == en)

        return Mutation(f"{eid} renamed {en!r}", relabel, shows=shows)
    if kind == "points":
        gid = draw(st.sampled_from(sorted(GRADING)))
        n = len(BASE.grading[gid].indicators)
        idx = draw(st.integers(0, n - 1))
        old = BASE.grading[gid].indicators[idx].points
        new = math.copysign(draw(st.integers(1, 50)) / 2, old)

        def repoint(pd: PackDir) -> None:
            pd.grading(gid)["indicators"][idx]["points"] = new

        return Mutation(
            f"{gid} indicator {idx} points {new}",
            repoint,
            shows=lambda p: p.grading[gid].indicators[idx].points == new,
        )
    if kind == "shares":
        gid = next(g for g, m in BASE.grading.items() if m.inspection is not None)
        inspection = BASE.grading[gid].inspection
        assert inspection is not None
        levels = sorted(inspection.shares)
        shares = {lv: draw(st.integers(0, 100)) / 100 for lv in levels}

        def reshare(pd: PackDir) -> None:
            pd.grading(gid)["inspection"]["shares"] = shares

        return Mutation(
            f"{gid} shares {shares}",
            reshare,
            shows=lambda p: getattr(p.grading[gid].inspection, "shares", None) == shares,
        )
    if kind == "periods":
        lid = draw(st.sampled_from(sorted(LISTS)))
        notice = f"{draw(st.integers(0, 30))}{draw(st.sampled_from(['d', 'wd']))}"
        deadline = f"{draw(st.integers(1, 20))}wd"

        def periods(pd: PackDir) -> None:
            ld = pd.list(lid)
            ld["notice_period"] = notice
            ld["objection"]["deadline"] = deadline
            for x in ld["exit"]:
                x["deadline"] = deadline

        return Mutation(
            f"{lid} notice {notice}, deadlines {deadline}",
            periods,
            shows=lambda p: p.lists[lid].notice_period == notice,
        )
    if kind == "default":
        lid = draw(st.sampled_from(sorted(LISTS)))
        amount, unit = _max(lid)
        shorter = draw(
            st.sampled_from(
                [
                    f"{draw(st.integers(1, amount))}{unit}",
                    f"{draw(st.integers(1, amount * 12))}m" if unit == "y" else f"{amount}{unit}",
                ]
            )
        )

        def default(pd: PackDir) -> None:
            pd.list(lid)["duration"]["default"] = shorter

        return Mutation(
            f"{lid} default {shorter}",
            default,
            shows=lambda p: p.lists[lid].duration.default == shorter,
        )
    if kind == "field":
        rid = draw(st.sampled_from(sorted(RECORD_TYPES)))
        name = draw(st.sampled_from(SAFE_FIELDS))

        def add_field(pd: PackDir) -> None:
            pd.record_type(rid)["fields"].setdefault(name, {"type": "string"})

        return Mutation(
            f"{rid} gains {name}", add_field, shows=lambda p: name in p.record_types[rid].fields
        )
    if kind == "value":
        rid, fname = draw(st.sampled_from(ENUM_FIELDS))
        value = draw(st.sampled_from(["other_ground", "pending_review", "xyz", "tier_4"]))

        def add_value(pd: PackDir) -> None:
            values = pd.record_type(rid)["fields"][fname]["values"]
            if value not in values:
                values.append(value)

        return Mutation(
            f"{rid}.{fname} gains {value}",
            add_value,
            shows=lambda p: value in (p.record_types[rid].fields[fname].values or []),
        )
    if kind == "basis":
        lid = draw(st.sampled_from(sorted(LISTS)))
        cite = draw(st.sampled_from(CITATIONS))

        def more_basis(pd: PackDir) -> None:
            pd.list(lid)["legal_basis"].append({"cite": cite, "article": "Art. 1"})

        return Mutation(
            f"{lid} also cites {cite}",
            more_basis,
            shows=lambda p: any(b.cite == cite for b in p.lists[lid].legal_basis),
        )
    mid = draw(
        st.sampled_from(
            [
                m
                for m, mm in BASE.measures.items()
                if all("organisation" in BASE.lists[x].subject_kinds for x in mm.lists)
            ]
        )
    )

    def persons(pd: PackDir) -> None:
        m = pd.measure(mid)
        m["targets"] = ["listed_subject", "responsible_persons"]
        m["responsible_persons_basis"] = [{"cite": "spc_high_consumption", "article": "Art. 3"}]

    return Mutation(
        f"{mid} reaches responsible persons, with basis",
        persons,
        shows=lambda p: "responsible_persons" in p.measures[mid].targets,
    )


# --- the properties -----------------------------------------------------------------------------


def _assert_clear(err: PolicyError, m: Mutation) -> None:
    text = str(err)
    for fragment in m.refused_with:
        assert fragment in text, (m.what, text)
    assert err.file.endswith(".yaml") or err.file.endswith("pack"), text
    assert err.fix and err.problem, text


@settings(SETTINGS, max_examples=600)
@given(
    prohibited_names(), st.sampled_from(SAFE_FIELDS), st.sampled_from(["snake", "camel", "upper"])
)
def test_every_spelling_of_a_prohibited_name_is_recognised_and_ordinary_names_are_not(
    named: tuple[str, str], ordinary: str, style: str
) -> None:
    """The vocabulary alone, over many more spellings than the packs below can afford."""
    name, category = named
    assert prohibited_category(name) == category, name
    assert prohibited_category(_case(ordinary.split("_"), style)) is None, ordinary


@SETTINGS
@given(prohibited_data())
def test_prohibited_data_is_refused_under_any_name(m: Mutation) -> None:
    _assert_clear(refusal(m), m)


@SETTINGS
@given(overreaching_measures())
def test_a_measure_reaching_anyone_but_the_listed_subject_is_refused(m: Mutation) -> None:
    _assert_clear(refusal(m), m)


@SETTINGS
@given(st.one_of(missing_bases(), dangling_citations()))
def test_an_entry_without_a_legal_basis_is_refused(m: Mutation) -> None:
    _assert_clear(refusal(m), m)


@SETTINGS
@given(st.one_of(too_long(), bad_grading()))
def test_time_limits_court_first_and_grading_bounds_hold(m: Mutation) -> None:
    _assert_clear(refusal(m), m)


@SETTINGS
@given(st.lists(harmless(), min_size=1, max_size=4))
def test_harmless_changes_still_load_and_show(changes: list[Mutation]) -> None:
    pack = load(*changes)
    for m in changes:
        assert m.shows is not None
        # a later change of the same thing may overwrite an earlier one
        last = [c for c in changes if c.what.split()[0] == m.what.split()[0]][-1]
        if last is m:
            assert m.shows(pack), m.what


@SETTINGS
@given(st.lists(harmless(), max_size=3), violations)
def test_one_violation_among_harmless_changes_is_still_refused(
    changes: list[Mutation], bad: Mutation
) -> None:
    # the violation comes last, so that no harmless change overwrites it (a default duration
    # set back within the maximum, say); the loader reads the files, not the order of edits
    _assert_clear(refusal(*changes, bad), bad)


def test_the_default_pack_loads_with_libyaml_as_with_pyyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = load_pack(PACK)
    monkeypatch.undo()
    assert load_pack(PACK) == fast
