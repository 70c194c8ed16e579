"""Load and validate a policy pack directory; refuse, with file, entry and fix, what may not load.

Two passes, as FollowTheMoney loads its schema: first each file is parsed into its model, then the
cross-references and the rights of DESIGN.md section 2 are checked over the whole pack.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PolicyError
from .durations import Duration
from .jurisdiction import check_jurisdiction, check_texts
from .model import (
    Basis,
    Citation,
    FormatSpec,
    GradingMethod,
    Indicator,
    IntakePolicy,
    Labels,
    LendingPolicy,
    ListDef,
    Measure,
    Override,
    Pack,
    PackMeta,
    PublicationPolicy,
    RecordObjections,
    RecordType,
    ResolutionPolicy,
    Source,
    StatementPolicy,
)
from .outputs import check_format, check_person_records
from .prohibited import prohibited_category
from .versions import load_version
from .vocabularies import text_category, values_category

#: Whom a measure may reach (DESIGN.md section 2, proportionality). Nothing else loads.
ALLOWED_TARGETS = ("listed_subject", "responsible_persons")

#: A field name is a plain identifier, so that every reader of a pack can read it (and no
#: look-alike letters or words of another script hide what it holds).
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

PROHIBITED_FIX = (
    "remove it: the registry holds no biometrics, political or religious opinion, ethnicity, "
    "health, online speech or social connections (DESIGN.md section 2)"
)

BASIS_FIX = (
    "add legal_basis: [{cite: <a citation id from citations.yaml>, article: <the article>}]; "
    "an entry without a legal basis does not load"
)

M = TypeVar("M", bound=BaseModel)


#: the packs that come with the registry; ``--pack NAME`` names one of them
PACKS_DIR = Path(__file__).resolve().parent.parent / "packs"


def default_pack_path() -> Path:
    return PACKS_DIR / "cn-national"


def bundled_packs() -> list[str]:
    return sorted(p.name for p in PACKS_DIR.iterdir() if (p / "pack.yaml").is_file())


def _read_yaml(path: Path, root: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(
            _rel(path, root), "(file)", f"not valid YAML: {exc}", "fix the syntax"
        ) from None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _entries(path: Path, root: Path) -> Iterator[dict[str, Any]]:
    data = _read_yaml(path, root)
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            raise PolicyError(
                _rel(path, root),
                "(file)",
                "each entry must be a mapping with an 'id'",
                "add id: <name>",
            )
        yield item


def _parse(model: type[M], data: dict[str, Any], file: str, entry: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing" and "legal_basis" in loc:
            raise PolicyError(file, entry, f"'{loc}' is missing", BASIS_FIX) from None
        if "legal_basis" in loc or loc.endswith("basis"):
            raise PolicyError(file, entry, f"'{loc}': {err['msg']}", BASIS_FIX) from None
        if err["type"] == "missing":
            raise PolicyError(file, entry, f"'{loc}' is missing", f"add '{loc}'") from None
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(model.model_fields))
            raise PolicyError(
                file,
                entry,
                f"unknown field '{loc}'",
                f"remove it or correct its spelling (known fields of a {model.__name__}: {allowed})",
            ) from None
        raise PolicyError(file, entry, f"'{loc}': {err['msg']}", "correct the value") from None


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.yaml")):
        h.update(str(p.relative_to(root)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def load_pack(path: Path | str | None = None) -> Pack:
    root = Path(path) if path else default_pack_path()
    if not root.exists() and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", str(path)):
        root = PACKS_DIR / str(path)  # a bundled pack by its name: --pack eu-edes
    if not (root / "pack.yaml").is_file():
        raise PolicyError(
            str(root),
            "(pack)",
            "no pack.yaml here",
            "point --pack at a pack directory, or name a bundled pack "
            f"({', '.join(bundled_packs())})",
        )
    meta = _parse(
        PackMeta, _read_yaml(root / "pack.yaml", root), _rel(root / "pack.yaml", root), "pack"
    )
    citations_file = root / "citations.yaml"
    raw_citations = _read_yaml(citations_file, root) if citations_file.is_file() else {}
    citations = {
        k: _parse(Citation, v, _rel(citations_file, root), k)
        for k, v in (raw_citations or {}).items()
    }
    files: dict[str, str] = {}

    def collect(folder: str, model: type[M], kind: str) -> dict[str, M]:
        out: dict[str, M] = {}
        for p in sorted((root / folder).glob("*.yaml")):
            for item in _entries(p, root):
                entry = f"{kind} '{item['id']}'"
                if item["id"] in out:
                    raise PolicyError(_rel(p, root), entry, "defined twice", "give it a unique id")
                out[item["id"]] = _parse(model, item, _rel(p, root), entry)
                files[f"{folder}/{item['id']}"] = _rel(p, root)
        return out

    record_types = collect("record_types", RecordType, "record type")
    lists = collect("lists", ListDef, "list")
    measures = collect("measures", Measure, "measure")
    sources = collect("sources", Source, "source")
    grading = (
        collect("grading", GradingMethod, "grading method") if (root / "grading").is_dir() else {}
    )
    formats = collect("formats", FormatSpec, "format") if (root / "formats").is_dir() else {}

    def optional(rel: str, model: type[M], entry: str) -> M | None:
        """A single-file section of the pack, or None when the pack has no such file."""
        f = root / rel
        return _parse(model, _read_yaml(f, root), _rel(f, root), entry) if f.is_file() else None

    lending = optional("lending.yaml", LendingPolicy, "lending")
    resolution = optional("resolution/thresholds.yaml", ResolutionPolicy, "resolution thresholds")
    publication = optional("publication.yaml", PublicationPolicy, "publication")
    intake = optional("intake.yaml", IntakePolicy, "intake")
    record_objections = optional("objections.yaml", RecordObjections, "record objections")
    statements = optional("statements.yaml", StatementPolicy, "statements")
    labels = optional("labels.yaml", Labels, "labels")
    pack = Pack(
        meta=meta,
        citations=citations,
        record_types=record_types,
        lists=lists,
        measures=measures,
        sources=sources,
        grading=grading,
        lending=lending,
        resolution=resolution,
        publication=publication or PublicationPolicy(),
        intake=intake or IntakePolicy(),
        record_objections=record_objections or RecordObjections(),
        statements=statements or StatementPolicy(),
        labels=labels or Labels(),
        formats=formats,
        digest=_digest(root),
    )
    _check(pack, files, root)
    versions = []
    for vdir in sorted(p for p in (root / "versions").glob("*") if p.is_dir()):
        versions.append(load_version(pack, files, root, vdir))
    if versions:
        pack = pack.model_copy(update={"versions": versions})
    return pack


def _check(pack: Pack, files: dict[str, str], root: Path) -> None:
    """The second pass: references resolve and the rights of DESIGN.md section 2 hold."""
    check_jurisdiction(pack)
    check_texts(pack, files)

    def basis(
        file: str, entry: str, b: Basis, what: str = "legal_basis", optional: bool = False
    ) -> None:
        """Every citation named resolves; a required basis is not empty."""
        if not b and not optional:
            raise PolicyError(file, entry, f"{what} is empty", BASIS_FIX)
        for ref in b:
            if ref.cite not in pack.citations:
                raise PolicyError(
                    file,
                    entry,
                    f"{what} cites {ref.cite!r}, which citations.yaml does not define",
                    "add the document to citations.yaml or correct the id",
                )

    def ceiling(file: str, entry: str, what: str, value: str, cites: Basis, kind: str) -> None:
        """``value`` stays within the ceiling of ``kind`` that each cited document sets."""
        for ref in cites:
            c = pack.citations.get(ref.cite)
            top = getattr(c.ceilings, kind) if c is not None and c.ceilings else None
            if top is None or c is None or c.ceilings is None:
                continue
            if _within(Duration.parse(value), Duration.parse(top)) is False:
                raise PolicyError(
                    file,
                    entry,
                    f"{what} {value} is longer than the {top} that {ref.cite} "
                    f"({c.ceilings.article}) allows",
                    "keep it within the law it cites (citations.yaml, ceilings), or cite the "
                    "law that allows more",
                )

    def prohibited(file: str, entry: str, what: str, *names: str) -> None:
        for name in names:
            category = prohibited_category(name)
            if category:
                raise PolicyError(
                    file,
                    entry,
                    f"{what} '{name}' falls in a prohibited category ({category})",
                    PROHIBITED_FIX,
                )

    for rid, rt in pack.record_types.items():
        f, e = files[f"record_types/{rid}"], f"record type '{rid}'"
        # the id names what the records hold (online_speech); display names are free text
        # ("Penalties of the health commission") and not read
        prohibited(f, e, "the record type", rid)
        basis(f, e, rt.legal_basis)
        basis(f, e, rt.retention.legal_basis, "retention.legal_basis")
        basis(f, e, rt.publicity.basis, "publicity.basis", optional=True)
        pub = rt.publicity
        for what, value in [
            ("publicity", pub.default),
            *((f"publicity for {k}={v}", d) for k, t in pub.by_field.items() for v, d in t.items()),
        ]:
            ceiling(f, e, what, value, pub.basis, "publicity")
        ceiling(
            f,
            e,
            "retention",
            rt.retention.after_publicity,
            rt.retention.legal_basis,
            "retention",
        )
        if rt.repair is not None:
            basis(f, e, rt.repair.legal_basis, "repair.legal_basis")
            basis(f, e, rt.repair.minimum_shown.basis, "repair.minimum_shown.basis", True)
            of = rt.repair.obligations_field
            if of is not None and of not in rt.fields:
                raise PolicyError(
                    f,
                    e,
                    f"repair.obligations_field {of!r} is unknown",
                    "name a field of this record type",
                )
        for name, spec in rt.fields.items():
            prohibited(f, e, "field", name)
            # a neutral name over prohibited values: group: [汉族, 回族], or its description
            named = values_category(spec.values or [])
            if named is None and spec.description:
                named = text_category(spec.description)
            if named is not None:
                raise PolicyError(
                    f,
                    e,
                    f"field '{name}' names {', '.join(named[1][:4])} in its values or "
                    f"description: it falls in a prohibited category ({named[0]})",
                    PROHIBITED_FIX,
                )
            if not FIELD_NAME.match(name):
                raise PolicyError(
                    f,
                    e,
                    f"field name {name!r} is not a plain identifier",
                    "name fields with ASCII letters, digits and underscores, e.g. "
                    "listing_decision_ref",
                )
            if spec.type == "enum" and not spec.values:
                raise PolicyError(f, e, f"enum field '{name}' has no values", "add values: [...]")
            if spec.name_field is not None and (
                spec.type != "person_id"
                or spec.name_field not in rt.fields
                or rt.fields[spec.name_field].type != "string"
            ):
                raise PolicyError(
                    f,
                    e,
                    f"field '{name}' has name_field {spec.name_field!r}: only a person_id field "
                    "has one, and it names a string field of the same record type",
                    "name the string field that holds the person's name",
                )
            for s in spec.required_when_status:
                if s not in rt.statuses:
                    raise PolicyError(
                        f,
                        e,
                        f"field '{name}' names unknown status {s!r}",
                        f"use one of {rt.statuses}",
                    )
        if rt.consent is not None:
            basis(f, e, rt.consent.legal_basis, "consent.legal_basis")
            for kind in rt.consent.required_for:
                if kind not in rt.subject_kinds:
                    raise PolicyError(
                        f,
                        e,
                        f"consent.required_for names {kind!r}, which this type has no records of",
                        f"use kinds of subject_kinds: {rt.subject_kinds}",
                    )
        for fname, table in rt.publicity.by_field.items():
            if fname not in rt.fields:
                raise PolicyError(
                    f,
                    e,
                    f"publicity.by_field names unknown field {fname!r}",
                    "name a field of this record type",
                )
            for v in table.values():
                _dur(f, e, v)
        for lid in rt.publicity.not_while_listed:
            if lid not in pack.lists:
                raise PolicyError(
                    f,
                    e,
                    f"publicity.not_while_listed names {lid!r}, not a list of this pack",
                    "name a list of this pack",
                )

    for lid, ld in pack.lists.items():
        f, e = files[f"lists/{lid}"], f"list '{lid}'"
        basis(f, e, ld.legal_basis)
        basis(f, e, ld.notice_basis, "notice_basis", optional=True)
        basis(f, e, ld.duration.basis, "duration.basis", optional=True)
        cites = [*ld.legal_basis, *ld.duration.basis]
        ceiling(f, e, "maximum duration", ld.duration.maximum, cites, "duration")
        kept = {b.kind for b in ld.bars}
        for ref in ld.legal_basis:
            c = pack.citations.get(ref.cite)
            missing = [b for b in (c.ceilings.bars if c and c.ceilings else []) if b not in kept]
            if missing and c is not None and c.ceilings is not None:
                raise PolicyError(
                    f,
                    e,
                    f"drops the bar {missing[0]!r} that {ref.cite} ({c.ceilings.article}) sets",
                    f"keep bars: [{{kind: {missing[0]}, legal_basis: ...}}]",
                )
        for n, entry in enumerate(ld.entries()):
            where_ = e if n == 0 else f"{e}, also[{n - 1}]"
            ert = pack.record_types.get(entry.record_type)
            if ert is None:
                raise PolicyError(
                    f,
                    where_,
                    f"entry.record_type {entry.record_type!r} is not defined",
                    "name a record type of this pack",
                )
            for s in entry.status:
                if s not in ert.statuses:
                    raise PolicyError(
                        f,
                        where_,
                        f"entry.status {s!r} is not a status of {ert.id}",
                        f"use one of {ert.statuses}",
                    )
            for fname, values in entry.where.items():
                prohibited(f, where_, "entry.where field", fname)
                fspec = ert.fields.get(fname)
                if fspec is None:
                    raise PolicyError(
                        f,
                        where_,
                        f"entry.where names unknown field {fname!r}",
                        f"use a field of {ert.id}",
                    )
                if fspec.values:
                    bad = [v for v in values if v not in fspec.values]
                    if bad:
                        raise PolicyError(
                            f,
                            where_,
                            f"entry.where.{fname} has unknown values {bad}",
                            f"use values from {fspec.values}",
                        )
            if entry.subject_field is not None:
                person_field = ert.fields.get(entry.subject_field)
                if (
                    person_field is None
                    or person_field.type != "person_id"
                    or ld.subject_kinds != ["person"]
                ):
                    raise PolicyError(
                        f,
                        where_,
                        f"entry.subject_field {entry.subject_field!r}: a list may list the person "
                        "a record names only through a person_id field of the record type, and "
                        "then lists persons only",
                        "name a person_id field and set subject_kinds: [person]",
                    )
            for kind in ld.subject_kinds:
                if kind not in ert.subject_kinds:
                    raise PolicyError(
                        f,
                        where_,
                        f"subject kind {kind!r} cannot have a {ert.id} record",
                        "restrict subject_kinds",
                    )
        ert = pack.record_types[ld.entry.record_type]
        if ld.served_when is not None:
            basis(f, e, ld.served_when.legal_basis, "served_when legal_basis")
            if ld.served_when.field not in ert.fields:
                raise PolicyError(
                    f,
                    e,
                    f"served_when.field {ld.served_when.field!r} is not a field of {ert.id}",
                    "name a field of the entry's record type",
                )
        for entry in ld.entries():
            if entry.notice_period is not None:
                basis(f, e, entry.notice_basis, f"{entry.record_type} notice_basis")
        statuses = {s for ent in ld.entries() for s in pack.record_types[ent.record_type].statuses}
        if ld.requires_ruling and ld.decision_ref is None:
            raise PolicyError(
                f,
                e,
                "requires_ruling is true but no decision_ref says where the ruling is",
                "add decision_ref: {field: <record field>, pattern: <regex>, description: ...}",
            )
        if ld.decision_ref is not None:
            for ent in ld.entries():
                xrt = pack.record_types[ent.record_type]
                if (
                    ld.decision_ref.field not in xrt.fields
                    and ld.decision_ref.field != "decision_ref"
                ):
                    raise PolicyError(
                        f,
                        e,
                        f"decision_ref.field {ld.decision_ref.field!r} is not a field of {xrt.id}",
                        "name a field of every entry's record type",
                    )
            try:
                pattern = re.compile(ld.decision_ref.pattern)
            except re.error as exc:
                raise PolicyError(
                    f,
                    e,
                    f"decision_ref.pattern does not compile: {exc}",
                    "correct the regular expression",
                ) from None
            if ld.requires_ruling and pattern.match(""):
                raise PolicyError(
                    f,
                    e,
                    "decision_ref.pattern accepts an empty reference, so a listing could "
                    "activate without a ruling (court first, DESIGN.md section 2)",
                    "write a pattern that only a real decision reference matches",
                )
        for bar in ld.bars:
            basis(f, e, bar.legal_basis, "bars.legal_basis")
        if ld.duration.from_field and ld.duration.from_field not in ert.fields:
            raise PolicyError(
                f,
                e,
                f"duration.from_field {ld.duration.from_field!r} is unknown",
                f"name a field of {ert.id}",
            )
        cap = Duration.parse(ld.duration.maximum)
        _within_maximum(f, e, "duration.default", Duration.parse(ld.duration.default), cap)
        for fname, table in ld.duration.by_field.items():
            if fname not in ert.fields:
                raise PolicyError(
                    f,
                    e,
                    f"duration.by_field names unknown field {fname!r}",
                    f"name a field of {ert.id}",
                )
            for key, v in table.items():
                _dur(f, e, v)
                _within_maximum(f, e, f"duration.by_field.{fname}.{key}", Duration.parse(v), cap)
        if ld.duration.from_field:
            unit = ld.duration.from_field_unit
            if not (unit == cap.unit or {unit, cap.unit} <= {"m", "y"}):
                raise PolicyError(
                    f,
                    e,
                    f"duration.from_field_unit {unit!r} cannot be compared with the maximum "
                    f"{cap} on every date",
                    f"give the maximum in the same unit as the field ({unit})",
                )
            top = ert.fields[ld.duration.from_field].maximum
            if top is not None:
                _within_maximum(
                    f,
                    e,
                    f"the largest {ld.duration.from_field} ({top:g})",
                    Duration(int(top), unit),
                    cap,
                )
        if not ld.exit:
            raise PolicyError(f, e, "no exit rule", "every list needs at least an expiry exit")
        if not any(x.trigger == "expiry" for x in ld.exit):
            raise PolicyError(
                f,
                e,
                "no expiry exit: a listing could last forever",
                "add an exit rule with trigger: expiry (time limits, DESIGN.md section 2)",
            )
        basis(f, e, ld.objection.legal_basis, "objection.legal_basis")
        _undecided(f, e, ld.objection, basis, "objection")
        if ld.repair is not None:
            basis(f, e, ld.repair.legal_basis, "repair.legal_basis")
            rf = ld.repair.obligations_field
            if rf is not None and rf not in ert.fields:
                raise PolicyError(
                    f,
                    e,
                    f"repair.obligations_field {rf!r} is not a field of {ert.id}",
                    f"name a field of {ert.id}",
                )
            for s in ld.repair.obligations_status:
                if s not in ert.statuses:
                    raise PolicyError(
                        f,
                        e,
                        f"repair.obligations_status {s!r} is not a status of {ert.id}",
                        f"use one of {ert.statuses}",
                    )
        for x in ld.exit:
            basis(f, e, x.legal_basis, f"exit ({x.trigger}) legal_basis")
            for s in x.status:
                if s not in statuses:
                    raise PolicyError(
                        f,
                        e,
                        f"exit status {s!r} is not a status of an entry's record type",
                        f"use one of {sorted(statuses)}",
                    )

    for mid, m in pack.measures.items():
        f, e = files[f"measures/{mid}"], f"measure '{mid}'"
        basis(f, e, m.legal_basis)
        for t in m.targets:
            if t not in ALLOWED_TARGETS:
                raise PolicyError(
                    f,
                    e,
                    f"targets {t!r}: a measure may reach only the listed subject "
                    "(and the responsible persons its legal basis names), never relatives or "
                    "anyone by association",
                    "set targets: [listed_subject] (add responsible_persons only with "
                    "responsible_persons_basis citing the provision that names them)",
                )
        if "listed_subject" not in m.targets:
            raise PolicyError(
                f,
                e,
                "targets does not include listed_subject",
                "a measure applies to the listed subject; add listed_subject",
            )
        if "responsible_persons" in m.targets:
            basis(f, e, m.responsible_persons_basis, "responsible_persons_basis")
            persons_only = [
                lid
                for lid in m.lists
                if lid in pack.lists
                and "organisation" not in pack.lists[lid].subject_kinds
                # a list of the persons a unit's record names is where they are restricted
                and not any(x.subject_field for x in pack.lists[lid].entries())
            ]
            if persons_only:
                raise PolicyError(
                    f,
                    e,
                    f"targets responsible_persons, but list {persons_only[0]!r} lists natural "
                    "persons only: only an organisation has responsible persons",
                    "remove responsible_persons, or link only lists of organisations",
                )
        named_lists = [
            lid
            for lid in m.lists
            if lid in pack.lists and any(x.subject_field for x in pack.lists[lid].entries())
        ]
        if named_lists and "responsible_persons" not in m.targets:
            raise PolicyError(
                f,
                e,
                f"links list {named_lists[0]!r}, which lists the persons a record names beside "
                "its subject, but does not target responsible_persons",
                "add responsible_persons to targets with responsible_persons_basis citing the "
                "provision that names them, or unlink the list",
            )
        if not m.lists:
            raise PolicyError(f, e, "linked to no list", "name the lists this measure applies to")
        if m.blocked_by:
            if m.kind != "incentive":
                raise PolicyError(
                    f, e, "blocked_by on a sanction", "only an incentive is withheld by a listing"
                )
            basis(f, e, m.blocked_by_basis, "blocked_by_basis")
            for lid in m.blocked_by:
                blocker = pack.lists.get(lid)
                if blocker is None or blocker.kind != "black":
                    raise PolicyError(
                        f,
                        e,
                        f"blocked_by names {lid!r}, which is not a black list of this pack",
                        "name black lists only",
                    )
        for lid in m.lists:
            linked = pack.lists.get(lid)
            if linked is None:
                raise PolicyError(f, e, f"list {lid!r} is not defined", "name a list of this pack")
            expected = "sanction" if linked.kind == "black" else "incentive"
            if m.kind != expected:
                raise PolicyError(
                    f,
                    e,
                    f"a {m.kind} linked to {linked.kind} list {lid!r}",
                    f"a {linked.kind} list carries {expected}s",
                )

    for gid, gm in pack.grading.items():
        f, e = files[f"grading/{gid}"], f"grading method '{gid}'"
        basis(f, e, gm.legal_basis)
        if gm.official is not None:
            ort = pack.record_types.get(gm.official.record_type)
            if ort is None:
                raise PolicyError(
                    f,
                    e,
                    f"official names record type {gm.official.record_type!r}, unknown",
                    "name the record type that carries the authority's rating",
                )
            for fld in (gm.official.level_field, gm.official.points_field):
                if fld is not None and fld not in ort.fields:
                    raise PolicyError(
                        f,
                        e,
                        f"official names field {fld!r}, not a field of {ort.id}",
                        f"use one of {sorted(ort.fields)}",
                    )
            basis(f, e, gm.official.legal_basis, "official.legal_basis")
        if "person" in gm.subject_kinds:
            raise PolicyError(
                f,
                e,
                "grades natural persons: the registry keeps no score of persons (DESIGN.md "
                "section 3; RULES.md section 10)",
                "set subject_kinds: [organisation]",
            )
        numbers = [
            ("start", gm.start),
            *((f"levels.{lv.level}.min", lv.min) for lv in gm.levels),
            *((f"indicator '{i.id}' points", i.points) for i in gm.indicators),
            *((f"indicator '{i.id}' cap", i.cap) for i in gm.indicators),
            *((f"override '{o.id}' min_points", o.min_points) for o in gm.overrides),
        ]
        for what, number in numbers:
            if number is not None and not math.isfinite(number):
                raise PolicyError(f, e, f"{what} is {number}", "give a finite number")
        levels = [lv.level for lv in gm.levels] + gm.special_levels
        if not levels or gm.levels[-1].min is not None:
            raise PolicyError(
                f,
                e,
                "the last level must have no minimum",
                "end levels with the lowest level and no min",
            )
        mins = [lv.min for lv in gm.levels[:-1]]
        if any(m is None for m in mins) or mins != sorted(mins, reverse=True):  # type: ignore[type-var]
            raise PolicyError(
                f,
                e,
                "level minimums must fall from the best level down",
                "order levels from the highest min to the lowest",
            )
        if gm.inspection is not None:
            basis(f, e, gm.inspection.legal_basis, "inspection.legal_basis")
            for lv, share in gm.inspection.shares.items():
                if lv not in levels or not 0 <= share <= 1:
                    raise PolicyError(
                        f,
                        e,
                        f"inspection share {lv}: {share}",
                        f"give each of {levels} a share between 0 and 1",
                    )
        if gm.publication is not None:
            basis(f, e, gm.publication.legal_basis, "publication.legal_basis")
            unknown = [lv for lv in gm.publication.levels if lv not in levels]
            if unknown:
                raise PolicyError(
                    f,
                    e,
                    f"publication names unknown levels {unknown}",
                    f"publish only levels of the method: {levels}",
                )
        items: list[Indicator | Override] = [*gm.indicators, *gm.overrides]
        for item in items:
            where = f"{e}, {type(item).__name__.lower()} '{item.id}'"
            basis(f, where, item.legal_basis)
            if (item.record is None) == (item.listing is None):
                raise PolicyError(
                    f,
                    where,
                    "needs exactly one of record or listing",
                    "say which records or which list it counts",
                )
            if item.record is not None:
                grt = pack.record_types.get(item.record.type)
                if grt is None:
                    raise PolicyError(
                        f,
                        where,
                        f"record type {item.record.type!r} is unknown",
                        "name a record type of this pack",
                    )
                for fname, values in item.record.where.items():
                    prohibited(f, where, "where field", fname)
                    gspec = grt.fields.get(fname)
                    if gspec is None or (
                        gspec.values and any(v not in gspec.values for v in values)
                    ):
                        raise PolicyError(
                            f,
                            where,
                            f"where.{fname} does not match {grt.id}",
                            f"use fields and values of {grt.id}",
                        )
            for lid in getattr(item, "unless_listed", ()):
                if lid not in pack.lists:
                    raise PolicyError(
                        f,
                        where,
                        f"unless_listed names {lid!r}, not a list of this pack",
                        "name a list of this pack",
                    )
            if item.listing is not None and item.listing.list not in pack.lists:
                raise PolicyError(
                    f, where, f"list {item.listing.list!r} is unknown", "name a list of this pack"
                )
            if item.window:
                _dur(f, where, item.window)
        for o in gm.overrides:
            target = o.level or o.at_most
            if (o.level is None) == (o.at_most is None) or target not in levels:
                raise PolicyError(
                    f,
                    f"{e}, override '{o.id}'",
                    "needs exactly one of level or at_most, naming a level",
                    f"use one of {levels}",
                )

    if pack.lending is not None:
        _check_lending(pack, pack.lending, basis)
    for fmt in pack.formats.values():
        check_format(pack, fmt, files.get(f"formats/{fmt.id}", "formats"), basis)
    if (root / "objections.yaml").is_file():
        basis("objections.yaml", "record objections", pack.record_objections.legal_basis)
        _undecided("objections.yaml", "record objections", pack.record_objections, basis, "")
    _check_labels(pack)
    if (root / "statements.yaml").is_file():
        basis("statements.yaml", "statements", pack.statements.legal_basis)
    if (root / "intake.yaml").is_file():
        basis("intake.yaml", "intake", pack.intake.legal_basis)
    if (root / "publication.yaml").is_file():
        basis("publication.yaml", "publication", pack.publication.legal_basis)
        check_person_records(pack)
        unknown = [r for r in pack.publication.profile_sections if r not in pack.record_types]
        if unknown:
            raise PolicyError(
                "publication.yaml",
                "profile_sections",
                f"names unknown record types {unknown}",
                "name record types of this pack",
            )
    if pack.resolution is not None:
        f, e = "resolution/thresholds.yaml", "resolution thresholds"
        basis(f, e, pack.resolution.legal_basis)
        for who, th in (
            ("persons", pack.resolution.persons),
            ("organisations", pack.resolution.organisations),
        ):
            if not (0 < th.lower <= th.upper <= 1):
                raise PolicyError(
                    f,
                    e,
                    f"{who}: lower {th.lower} and upper {th.upper} are not 0 < lower <= upper <= 1",
                    "give probabilities, the lower not above the upper (e.g. lower: 0.5, upper: 0.99)",
                )
            if not 0 <= th.margin <= 1:
                raise PolicyError(
                    f, e, f"{who}: margin {th.margin} is not 0 to 1", "give a difference, e.g. 0.5"
                )

    for sid, src in pack.sources.items():
        f, e = files[f"sources/{sid}"], f"source '{sid}'"
        for rid in src.competent_for:
            if rid not in pack.record_types:
                raise PolicyError(
                    f,
                    e,
                    f"competent_for names unknown record type {rid!r}",
                    "name a record type of this pack",
                )


def _check_lending(pack: Pack, lending: LendingPolicy, basis: Any) -> None:
    """The lending section: its references resolve, and the lending score stays the lender's.

    A score is for a lender's credit decision only (DESIGN.md section 1.8): nothing of the
    registry may take it as an input. Lists, measures and grades reach a subject only through
    record types and lists, so no record type, field, list or grading item may carry the
    score's id, and no source may submit it as a record."""
    f = "lending.yaml"
    basis(f, "lending consent", lending.consent.legal_basis)
    basis(f, "lending report", lending.report.legal_basis)
    basis(f, "lending score", lending.score.legal_basis)
    declines = lending.score.declines_when_listed
    if declines is not None:
        basis(f, "lending score declines_when_listed", declines.legal_basis)
        unknown = [lid for lid in declines.lists if lid not in pack.lists]
        if unknown or not declines.lists:
            raise PolicyError(
                f,
                "lending score declines_when_listed",
                f"names unknown lists {unknown}" if unknown else "names no list",
                "name lists of this pack",
            )
    if not lending.consent.purposes:
        raise PolicyError(f, "lending consent", "no purposes", "name at least one purpose")
    for rid in lending.report.payment_types:
        if rid not in pack.record_types:
            raise PolicyError(
                f,
                "lending report",
                f"payment_types names unknown record type {rid!r}",
                "name a record type of this pack",
            )
    score = lending.score.id
    fix = (
        "a lending score serves the lender's credit decision only and may not be an input of "
        "any record type, list, measure or grade; remove the reference"
    )
    names: list[tuple[str, str]] = [(f"record_types/{rid}", rid) for rid in pack.record_types]
    names += [
        (f"record_types/{rid}", fname)
        for rid, rt in pack.record_types.items()
        for fname in rt.fields
    ]
    names += [
        (f"lists/{lid}", x.record_type) for lid, ld in pack.lists.items() for x in ld.entries()
    ]
    names += [
        (f"lists/{lid}", fname)
        for lid, ld in pack.lists.items()
        for x in ld.entries()
        for fname in x.where
    ]
    names += [(f"lists/{lid}", lid) for lid in pack.lists]
    names += [(f"measures/{mid}", x) for mid, m in pack.measures.items() for x in (mid, *m.lists)]
    for gid, gm in pack.grading.items():
        gitems: list[Indicator | Override] = [*gm.indicators, *gm.overrides]
        for item in gitems:
            refs = [item.id]
            if item.record is not None:
                refs += [item.record.type, *item.record.where]
            if item.listing is not None:
                refs.append(item.listing.list)
            names += [(f"grading/{gid}", x) for x in refs]
    names += [(f"sources/{sid}", x) for sid, src in pack.sources.items() for x in src.competent_for]
    for where, name in names:
        if name.casefold() == score.casefold():
            raise PolicyError(
                where, "lending score", f"{where} names the lending score {score!r}", fix
            )


def _check_labels(pack: Pack) -> None:
    """A label names a field or a value some record type has: a misspelt one would be silently
    unused."""
    specs = [(n, f) for rt in pack.record_types.values() for n, f in rt.fields.items()]
    fields = {n for n, _f in specs}
    values = {v for _n, f in specs for v in (f.values or [])} | {"true", "false"}
    for name in pack.labels.fields:
        if name not in fields:
            raise PolicyError(
                "labels.yaml", "fields", f"{name!r} is a field of no record type",
                "correct its spelling or remove it",
            )  # fmt: skip
    for name in pack.labels.values:
        if name not in values:
            raise PolicyError(
                "labels.yaml", "values", f"{name!r} is a value of no field",
                "correct its spelling or remove it",
            )  # fmt: skip


def _undecided(file: str, entry: str, rule: Any, basis: Any, where: str) -> None:
    """An objection resolved in the subject's favour when no one decides it cites the law that
    says so, and names when: a reviewer's deadline after escalation."""
    key = f"{where}.if_undecided" if where else "if_undecided"
    if rule.if_undecided == "corrected":
        if rule.review_deadline is None:
            raise PolicyError(
                file, entry, f"'{key}: corrected' without a review_deadline",
                "add review_deadline: the time a reviewer has once the objection is escalated",
            )  # fmt: skip
        basis(file, entry, rule.if_undecided_basis, f"{key}_basis")


def _dur(file: str, entry: str, value: str) -> None:
    try:
        Duration.parse(value)
    except ValueError as exc:
        raise PolicyError(file, entry, str(exc), "write e.g. 3m, 1y or 3wd") from None


_DAYS = {"d": (1, 1), "m": (28, 31), "y": (365, 366)}


def _within(value: Duration, cap: Duration) -> bool | None:
    """Whether ``value`` ends no later than ``cap`` from any start: True, False (later from
    every start), or None (it depends on the calendar, e.g. 30d against 1m)."""
    if value.unit == cap.unit:
        return value.amount <= cap.amount
    if {value.unit, cap.unit} <= {"m", "y"}:
        months = {"m": 1, "y": 12}
        return value.amount * months[value.unit] <= cap.amount * months[cap.unit]
    if value.amount == 0:
        return True
    if "wd" in (value.unit, cap.unit):
        return None
    lo, hi = (value.amount * n for n in _DAYS[value.unit])
    cap_lo, cap_hi = (cap.amount * n for n in _DAYS[cap.unit])
    if hi <= cap_lo:
        return True
    if lo > cap_hi:
        return False
    return None


def _within_maximum(file: str, entry: str, what: str, value: Duration, cap: Duration) -> None:
    """A list's terms stay within its maximum duration (time limits, DESIGN.md section 2)."""
    within = _within(value, cap)
    if within is False:
        raise PolicyError(
            file,
            entry,
            f"{what} {value} is longer than the maximum duration {cap}",
            "shorten it to at most the maximum, or correct the maximum with its legal basis",
        )
    if within is None:
        raise PolicyError(
            file,
            entry,
            f"{what} {value} may be longer than the maximum duration {cap} on some dates",
            f"write it in the unit of the maximum ({cap.unit})",
        )
