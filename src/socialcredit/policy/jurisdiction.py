"""What a jurisdiction declares of itself, checked as a pack loads: its time zone, calendar,
languages and the numbers that identify its subjects (``pack.yaml``), and that every text of
the pack is given in each of its languages. Nothing here is specific to one jurisdiction: a
pack of another country loads with no Python of its own (docs/packs.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel

from ..errors import InvalidIdentifier, PolicyError
from ..identifiers.schemes import scheme as identifier_scheme
from .model import LANGUAGES, IdentifierSpec, Pack, Text


def check_jurisdiction(pack: Pack) -> None:
    """What a jurisdiction declares of itself: time zone, calendar, languages, identifiers."""
    meta = pack.meta
    try:
        ZoneInfo(meta.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            "pack.yaml",
            "pack",
            f"unknown time zone {meta.timezone!r}",
            "use an IANA name such as Asia/Shanghai",
        ) from None
    try:
        holidays.country_holidays(meta.calendar_country)
    except NotImplementedError:
        raise PolicyError(
            "pack.yaml",
            "calendar",
            f"the holidays package has no calendar of {meta.calendar_country!r}",
            "name a country code it knows in calendar: {country: ...} (CN, GB, BE, ...)",
        ) from None
    for lang in meta.languages:
        if lang not in LANGUAGES:
            raise PolicyError(
                "pack.yaml",
                "languages",
                f"the registry's pages and notices are not written in {lang!r}",
                f"use languages the registry has catalogues for ({', '.join(LANGUAGES)}), or "
                "add its catalogue under web/locales",
            )
    if len(set(meta.languages)) != len(meta.languages):
        raise PolicyError("pack.yaml", "languages", "a language is named twice", "name it once")
    if meta.identifiers is None and meta.jurisdiction != "CN":
        raise PolicyError(
            "pack.yaml",
            "identifiers",
            f"a pack of {meta.jurisdiction} declares no identifiers, and the Chinese ones "
            "would refuse its subjects' numbers",
            "add identifiers: {organisation: {name: {...}, stdnum: <a python-stdnum module>} "
            "or {pattern: <a regular expression>}}, and person: if the pack lists persons",
        )
    ids = meta.ids
    for kind, spec in (("organisation", ids.organisation), ("person", ids.person)):
        if spec is not None:
            _check_identifier(kind, spec)
    person_kinds = [
        f"record type {rid!r}"
        for rid, rt in pack.record_types.items()
        if "person" in rt.subject_kinds
    ] + [f"list {lid!r}" for lid, ld in pack.lists.items() if "person" in ld.subject_kinds]
    person_kinds += [
        f"field {rid}.{name} (person_id)"
        for rid, rt in pack.record_types.items()
        for name, spec in rt.fields.items()
        if spec.type == "person_id"
    ]
    if ids.person is None and person_kinds:
        raise PolicyError(
            "pack.yaml",
            "identifiers",
            f"{person_kinds[0]} concerns persons, but the pack declares no person identifier",
            "add identifiers.person, or remove person from its subject_kinds",
        )


def _check_identifier(kind: str, spec: IdentifierSpec) -> None:
    entry = f"identifiers.{kind}"
    if sum(x is not None for x in (spec.scheme, spec.stdnum)) > 1 or (
        spec.scheme is not None and spec.pattern is not None
    ):
        raise PolicyError(
            "pack.yaml", entry, "names more than one scheme", "keep one of scheme, stdnum, pattern"
        )
    if spec.scheme is None and spec.stdnum is None and spec.pattern is None:
        raise PolicyError(
            "pack.yaml",
            entry,
            "says nothing of how the number is read",
            "add stdnum: <a python-stdnum module, e.g. eu.vat> or pattern: <a regular expression>",
        )
    try:
        parsed = identifier_scheme(spec.scheme, spec.stdnum, spec.pattern)
    except (ValueError, re.error) as exc:
        raise PolicyError("pack.yaml", entry, str(exc), "correct the scheme") from None
    if spec.example is not None:
        try:
            parsed.parse(spec.example)
        except InvalidIdentifier as exc:
            raise PolicyError(
                "pack.yaml",
                entry,
                f"its example {spec.example!r} is not valid: {exc.reason}",
                "give a valid number as the example, or correct the scheme",
            ) from None


def _texts(value: Any, path: str) -> Iterator[tuple[str, Text]]:
    """Every text of the pack inside ``value``, with where it is."""
    if isinstance(value, Text):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _texts(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _texts(v, f"{path}[{i}]")


def check_texts(pack: Pack, files: dict[str, str]) -> None:
    """Every text of the pack is given in each of its languages."""
    langs = pack.meta.languages
    sections: list[tuple[str, str, Any]] = [("pack.yaml", "pack", pack.meta)]
    for folder in ("record_types", "lists", "measures", "sources", "grading", "formats"):
        for eid, entry in getattr(pack, folder).items():
            sections.append((files.get(f"{folder}/{eid}", folder), eid, entry))
    for name, value in (
        ("lending.yaml", pack.lending),
        ("publication.yaml", pack.publication),
        ("intake.yaml", pack.intake),
        ("objections.yaml", pack.record_objections),
        ("statements.yaml", pack.statements),
        ("labels.yaml", pack.labels),
    ):
        sections.append((name, name.removesuffix(".yaml"), value))
    for file, entry, value in sections:
        for path, text in _texts(value, ""):
            missing = [lang for lang in langs if not text.root.get(lang)]
            if missing:
                raise PolicyError(
                    file,
                    entry,
                    f"'{path}' has no text in {', '.join(missing)} (the pack's languages: "
                    f"{', '.join(langs)})",
                    f"add {missing[0]}: ... to it",
                )
