"""The identifier schemes a pack can name for its subjects (``pack.yaml`` ``identifiers:``).

A jurisdiction identifies organisations (and, where its law lets the registry hold persons,
persons) by a number of its own. The pack names the scheme as data, one of:

- ``scheme: uscc`` or ``scheme: cn_resident_id``: the two Chinese numbers this package reads
  with the checks python-stdnum leaves out (``uscc.py``, ``resident_id.py``);
- ``stdnum: eu.vat`` (any python-stdnum module with ``compact`` and ``validate``): the library's
  own check, with its reason when a number fails;
- ``pattern: '^[0-9]{8}$'``: a regular expression over the compacted number (spaces, dots,
  dashes and slashes removed, upper case), alone or after a ``stdnum`` check.

A scheme reads a code into its canonical form; a code it cannot read raises
``InvalidIdentifier`` with the reason. Nothing here knows a pack: the policy layer builds a
scheme from its data with ``scheme()``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from stdnum import exceptions as stdnum_exc

from ..errors import InvalidIdentifier
from .resident_id import ResidentId, looks_like_resident_id, mask_resident_id, parse_resident_id
from .uscc import Uscc, parse_uscc

BUILTIN = ("uscc", "cn_resident_id")

_SEPARATORS = re.compile(r"[\s.\-/]+")


@dataclass(frozen=True, slots=True)
class Parsed:
    """A code read by its scheme: the canonical number, and what the Chinese schemes know of it
    (the code's parts, or a resident's birth date for the minors bar)."""

    number: str
    uscc: Uscc | None = None
    resident: ResidentId | None = None


@dataclass(frozen=True)
class Scheme:
    builtin: str | None = None
    stdnum: str | None = None
    pattern: str | None = None
    example: str | None = None  # a valid number, named when a code does not have the form

    @property
    def _module(self) -> ModuleType | None:
        return stdnum_module(self.stdnum) if self.stdnum else None

    def parse(self, value: str) -> Parsed:
        """The canonical form of ``value``, or InvalidIdentifier with the reason."""
        if self.builtin == "uscc":
            u = parse_uscc(value)
            return Parsed(u.code, uscc=u)
        if self.builtin == "cn_resident_id":
            r = parse_resident_id(value)
            return Parsed(r.number, resident=r)
        raw = (value or "").strip().upper()
        if not raw:
            raise InvalidIdentifier(value, "empty")
        number = _SEPARATORS.sub("", raw)
        mod = self._module
        if mod is not None:
            try:
                number = str(mod.validate(number)).upper()
            except stdnum_exc.ValidationError as exc:
                raise InvalidIdentifier(value, str(exc) or type(exc).__name__) from None
        if self.pattern is not None and not re.fullmatch(self.pattern, number):
            form = f"a number such as {self.example}" if self.example else self.pattern
            raise InvalidIdentifier(value, f"does not have the form of {form}")
        return Parsed(number)

    def looks_like(self, value: str) -> bool:
        """Could ``value`` be meant as a number of this scheme (a cheap test of its shape, to
        refuse a person's number where it must not travel and to choose how to read a code)?"""
        v = (value or "").strip().upper()
        if self.builtin == "cn_resident_id":
            return looks_like_resident_id(v)
        if self.builtin == "uscc":
            return len(v) == 18
        try:
            self.parse(v)
        except InvalidIdentifier:
            return False
        return True

    def mask(self, number: str, keep_last: int) -> str:
        """What may be shown of a person's number: stars but for the last ``keep_last``."""
        return mask_resident_id(number, keep_last)


@lru_cache(maxsize=64)
def scheme(
    builtin: str | None, stdnum: str | None, pattern: str | None, example: str | None = None
) -> Scheme:
    """A scheme from a pack's declaration (checked by the loader: one of the three is set)."""
    if builtin is not None and builtin not in BUILTIN:
        raise ValueError(f"unknown identifier scheme {builtin!r} (known: {', '.join(BUILTIN)})")
    if stdnum is not None:
        stdnum_module(stdnum)
    if pattern is not None:
        re.compile(pattern)
    return Scheme(builtin, stdnum, pattern, example)


def stdnum_module(name: str) -> ModuleType:
    """The python-stdnum module ``name`` (``eu.vat``), or ValueError if there is none usable."""
    if not re.fullmatch(r"[a-z]{2,3}(\.[a-z0-9_]+)+", name):
        raise ValueError(f"{name!r} is not a python-stdnum module name such as eu.vat")
    try:
        mod = importlib.import_module(f"stdnum.{name}")
    except ImportError:
        raise ValueError(f"python-stdnum has no module {name!r}") from None
    if not callable(getattr(mod, "validate", None)):
        raise ValueError(f"stdnum.{name} has no validate()")
    return mod
