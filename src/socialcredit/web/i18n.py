"""Languages of the pages: Simplified Chinese and English, from gettext catalogues.

Messages are written in English in the templates and the code (``_("...")``); the Chinese
catalogue is ``locales/zh/LC_MESSAGES/messages.po``, kept with Babel
(``pybabel extract -F babel.cfg`` then ``pybabel update``). The catalogue is compiled in memory
when the pages start, so running the registry needs no build step.

The reader's language is, in order: ``?lang=`` on the address, the ``lang`` cookie that a
switch sets, the browser's ``Accept-Language``, and Chinese.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from .. import statuses
from ..identifiers import divisions
from ..policy.model import LANGUAGES

LANGS = LANGUAGES  # the catalogues; a pack uses those of them it declares
DEFAULT = "zh"
LOCALES = {"zh": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_GB")}
HTML_LANG = {"zh": "zh-Hans", "en": "en"}
LOCALE_DIR = Path(__file__).resolve().parent / "locales"

_current: ContextVar[str] = ContextVar("lang", default=DEFAULT)


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of a language (English is the source language)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return GNUTranslations(buf)


def pick(
    query_lang: str | None,
    cookie_lang: str | None,
    accept_language: str | None,
    langs: tuple[str, ...] | list[str] = LANGS,
) -> str:
    """The reader's language among ``langs`` (the pack's languages, the first its default)."""
    langs = [lang for lang in langs if lang in LANGS] or [DEFAULT]
    for cand in (query_lang, cookie_lang):
        if cand in langs:
            return cand
    if accept_language:
        wanted = []
        for part in accept_language.split(","):
            tag, _, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                weight = 0.0
            if tag:
                wanted.append((weight, tag.strip().replace("-", "_")))
        wanted.sort(key=lambda w: -w[0])
        found = negotiate_locale([t for _w, t in wanted], list(langs), sep="_")
        if found:
            return found
        for _w, tag in wanted:  # "zh_TW", "en_US": the language part is enough
            if tag.split("_")[0].lower() in langs:
                return tag.split("_")[0].lower()
    return langs[0]


def use(lang: str) -> None:
    """Make ``lang`` the language of what is rendered next in this context."""
    _current.set(lang if lang in LANGS else DEFAULT)


def pack_languages(request_app_state: Any) -> list[str]:
    """The languages of the registry's pack (its pages are in those), or all catalogues."""
    reg = getattr(request_app_state, "registry", None)
    return list(reg.pack.meta.languages) if reg is not None else list(LANGS)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


_ = gettext


def text(value: Any) -> str:
    """A pack text ({zh, en} or a model with zh and en) in the reader's language."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(
            value.get(current())
            or value.get("zh")
            or value.get("en")
            or next(iter(value.values()), "")
        )
    if hasattr(value, "in_"):
        return str(value.in_(current()))
    return str(value)


def fdate(value: date | datetime | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, "medium", locale=LOCALES[current()])
    return format_date(value, "long", locale=LOCALES[current()])


def fday(value: date | datetime | str | None) -> str:
    """The date alone, also for a moment."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "long", locale=LOCALES[current()])


def fnum(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=LOCALES[current()])


def state_name(state: str | None) -> str:
    """A listing's state in the reader's language."""
    names = {
        "proposed": _("proposed"),
        "notified": _("notified (notice period)"),
        "active": _("in force"),
        "suspended": _("suspended"),
        "ended": _("ended"),
    }
    return names.get(state or "", state or "")


def status_name(status: str | None) -> str:
    """A record's, objection's, repair's or statement's status in the reader's language
    (``socialcredit.statuses``, which the notices share)."""
    return statuses.status_name(status, current())


def notice_kind_name(kind: str | None) -> str:
    """What a notice is about, in the reader's language."""
    names = {
        "record-filed": _("A record about you was filed"),
        "record-amended": _("A record about you was amended"),
        "listing-proposed": _("A listing was proposed"),
        "listing-notified": _("Notice of a listing"),
        "listing-ended": _("A listing ended"),
        "objection-decided": _("Your objection was decided"),
        "objection-filed": _("An objection was filed"),
        "repair-decided": _("Your credit repair application was decided"),
        "record-unlinked": _("A record left your file"),
        "statement-refused": _("Your statement was refused"),
        "correction": _("Correction"),
    }
    return names.get(kind or "", kind or "")


def read_kind_name(kind: str | None) -> str:
    """What kind of read of a file this was, in the reader's language."""
    names = {
        "check": _("a check"),
        "file": _("the file"),
        "export": _("the audit trail"),
        "copy": _("a copy of the file"),
        "evidence": _("an attachment"),
        "lending": _("a lender's report"),
        "lender-report": _("a lender's report"),
        "lending-score": _("a lending score"),
        "report": _("a report"),
        "public": _("the public profile"),
        "ftm": _("open data"),
        "opendata": _("open data"),
        "screening": _("a screening by an implementing agency"),
    }
    return names.get(kind or "", kind or "")


def purpose_name(purpose: str | None) -> str:
    """A read's purpose as the registry records it, in the reader's language (a purpose a
    reader wrote is shown as written)."""
    names = {
        "the subject reads its file": _("the subject reads its file"),
        "view the file": _("view the file"),
        "a copy of everything held": _("a copy of everything held"),
        "a copy of everything held (PIPL Art. 45)": _("a copy of everything held (PIPL Art. 45)"),
        "export the audit trail": _("export the audit trail"),
        "decide the objection": _("decide the objection"),
        "open data": _("open data"),
        "public profile": _("public profile"),
        "screening": _("screening of a counterparty by ID number"),
        "model training": _("training a lending scorecard on reported loan outcomes"),
        "fairness audit (aggregates only)": _(
            "a fairness audit of the lending scorecard (aggregates only)"
        ),
    }
    return names.get(purpose or "", purpose or "")


def improvement(change: dict[str, Any], refs: dict[str, str] | None = None) -> str:
    """One change that raises a grade (``to_improve.changes``), worded in the reader's
    language with the rule's name from the pack; the records and listings it names read as
    their decision references where ``refs`` knows them (``grade_refs``), not as ids."""
    rule = text(change.get("rule_name")) or str(change.get("rule", ""))
    known = refs or {}
    record = ("、" if current() == "zh" else ", ").join(
        known.get(part, part) for part in str(change.get("record", "")).split(", ") if part
    )
    if change.get("change") == "leaves":
        return _("%(rule)s (%(points)s points, %(record)s) leaves its window") % {
            "rule": rule,
            "points": fnum(change.get("points")),
            "record": record,
        }
    if change.get("change") == "fades":
        return _("%(rule)s (%(record)s) counts %(after)s points instead of %(before)s") % {
            "rule": rule,
            "record": record,
            "after": fnum(change.get("points_after")),
            "before": fnum(change.get("points")),
        }
    return _("%(rule)s (%(record)s) no longer sets the level") % {
        "rule": rule,
        "record": record,
    }


def grade_refs(file: dict[str, Any]) -> dict[str, str]:
    """How a grade's factors name a subject's entries (``SOURCE/ID``, ``listing ID``), mapped to
    the decision references a person knows them by."""
    refs = {r["record"]: r["decision_ref"] for r in file.get("records", []) if r.get("record")}
    refs.update({f"listing {li['id']}": li["decision_ref"] for li in file.get("listings", [])})
    return refs


#: The clauses ``resolution.deterministic`` writes about a queued row, as patterns; each is
#: shown in the reader's language with its values kept (a clause not listed is shown as is).
_QUEUE_CLAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^no subject_id and no legacy organisation code$"), "no_code_at_all"),
    (re.compile(r"^no subject_id$"), "no_code"),
    (
        re.compile(r"^a natural person is never linked from a name and address alone$"),
        "person",
    ),
    (
        re.compile(
            r"^a (?P<type>.+) is about a natural person, who is never linked from a name and "
            r"address alone$"
        ),
        "person_type",
    ),
    (
        re.compile(r"^legacy organisation code (?P<code>\S+) was not used: (?P<why>.+)$"),
        "bad_code",
    ),
    (
        re.compile(
            r"^legacy organisation code (?P<code>\S+) is valid, but no USCC can embed it"
            r"(?: \(.*\))?$"
        ),
        "unembeddable",
    ),
    (
        re.compile(
            r"^legacy organisation code (?P<code>\S+) is valid, but no registered "
            r"organisation's USCC embeds it$"
        ),
        "unknown_code",
    ),
    (
        re.compile(
            r"^legacy organisation code (?P<code>\S+) is embedded in (?P<n>\d+) registered "
            r"codes: (?P<listed>.+)$"
        ),
        "ambiguous",
    ),
    (
        re.compile(
            r"^legacy organisation code (?P<code>\S+) belongs to (?P<name>.+) "
            r"\((?P<sid>[^)]+)\), but the row names (?P<row_name>.+)$"
        ),
        "name_mismatch",
    ),
    (
        re.compile(r"^old registration number (?P<number>\S+) was not used: (?P<why>.+)$"),
        "bad_registration",
    ),
    (
        re.compile(
            r"^old registration number (?P<number>\S+) is well formed, but the register "
            r"holds no mapping from old registration numbers to codes$"
        ),
        "unmapped_registration",
    ),
    (re.compile(r"^the subject must be resolved from the name and other details$"), "by_name"),
)


def _queue_clause(kind: str, v: dict[str, str]) -> str:
    words = {
        "no_code_at_all": _("no subject code and no legacy organisation code"),
        "no_code": _("no subject code"),
        "person": _("a natural person is never linked from a name and address alone"),
        "person_type": _(
            "a record of this type is about a natural person, who is never linked from a "
            "name and address alone"
        ),
        "bad_code": _("the legacy organisation code %(code)s was not used (%(why)s)"),
        "unembeddable": _(
            "the legacy organisation code %(code)s is valid, but no unified code can embed it"
        ),
        "unknown_code": _(
            "the legacy organisation code %(code)s is valid, but no registered organisation's "
            "unified code embeds it"
        ),
        "ambiguous": _(
            "the legacy organisation code %(code)s is embedded in %(n)s registered codes: "
            "%(listed)s"
        ),
        "name_mismatch": _(
            "the legacy organisation code %(code)s belongs to %(name)s (%(sid)s), but the row "
            "names %(row_name)s"
        ),
        "bad_registration": _("the old registration number %(number)s was not used (%(why)s)"),
        "unmapped_registration": _(
            "the old registration number %(number)s is well formed, but the register holds no "
            "mapping from old registration numbers to codes"
        ),
        "by_name": _("the subject must be found from the name and the other details"),
    }
    return words[kind] % v


def queue_reason(reason: str | None) -> str:
    """Why a row waits for a reviewer (the resolution's own sentence, in English), in the
    reader's language: each clause the resolution writes is known and translated with its
    values; one it does not know is shown as written."""
    if not reason:
        return ""
    out = []
    head, sep, tail = reason.rpartition(": the subject must")
    clauses = [*(head.split("; ") if sep else reason.split("; "))]
    if sep:
        clauses.append("the subject must" + tail)
    for clause in clauses:
        for pattern, kind in _QUEUE_CLAUSES:
            m = pattern.match(clause.strip())
            if m:
                out.append(_queue_clause(kind, m.groupdict()))
                break
        else:
            out.append(clause)
    return ("；" if current() == "zh" else "; ").join(out)


def entry_name(
    file: dict[str, Any], pack: Any, listing_id: str | None, record_key: str | None
) -> str:
    """An entry of a subject's file as its subject knows it (an objection's, a statement's or
    a repair's target): the list or the record type by the pack's name, with the decision
    reference; the registry's id only when the file no longer holds the entry."""
    from ..services.filing import record_key as key_of

    if listing_id:
        for li in file.get("listings", []):
            if li.get("id") == listing_id:
                return f"{text(li.get('list_name'))} {li.get('decision_ref') or ''}".strip()
    if record_key:
        for r in file.get("records", []):
            if record_key in (r.get("record"), key_of(r["source"], r["source_record_id"])):
                rt = pack.record_types.get(r["record_type"])
                name = text(rt.name) if rt is not None else r["record_type"]
                return f"{name} {r.get('decision_ref') or ''}".strip()
    return listing_id or record_key or ""


def fbayes(value: float | None) -> str:
    """A Bayes factor as a person reads it: ×5,210 (that much likelier the same) or ÷20 (that
    much less likely), three significant digits, never 5.21e+03."""
    if value is None or value != value:  # NaN
        return "—"
    if value <= 0:
        return "÷∞"
    big = value if value >= 1 else 1 / value
    shown = fnum(round(big, 2 - math.floor(math.log10(big))))
    return f"×{shown}" if value >= 1 else f"÷{shown}"


def comparison_name(comparison: str) -> str:
    """A comparison of the resolution model by what it compares, in the reader's language."""
    names = {
        "name": _("Name"),
        "legal_form": _("Legal form"),
        "uscc": _("Unified social credit code"),
        "address": _("Address"),
        "legal_rep": _("Legal representative"),
        "date_of_birth": _("Date of birth"),
        "soc_sec_id": _("ID number"),
        "street_number": _("Street number"),
        "address_2": _("Address line 2"),
        "place": _("Place"),
    }
    return names.get(comparison, comparison)


_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:Null|\S+ is NULL|no part of the place on both sides)$"), "missing"),
    (re.compile(r"^Exact match on \S+$"), "exact"),
    (re.compile(r"^All other comparisons$"), "other"),
    (re.compile(r"^Jaro-Winkler distance of \S+ >= (?P<t>[\d.]+)$"), "similar"),
    (re.compile(r"^Jaccard distance of '\S+ >= (?P<t>[\d.]+)'$"), "same_characters"),
    (re.compile(r"^Damerau-Levenshtein distance of \S+ <= (?P<n>\d+)$"), "edits"),
    (re.compile(r"^same name, another branch$"), "branch"),
)


def level_name(label: str) -> str:
    """The level a comparison reached (Splink's label), in the reader's language; a label of
    the model's own that is not listed here is shown as written."""
    for pattern, kind in _LEVELS:
        m = pattern.match(label)
        if m is None:
            continue
        v = m.groupdict()
        if kind == "missing":
            return _("missing on one side")
        if kind == "exact":
            return _("the same")
        if kind == "other":
            return _("different")
        if kind == "similar":
            return _("similar (Jaro-Winkler at least %(t)s)") % v
        if kind == "same_characters":
            return _("mostly the same characters (Jaccard at least %(t)s)") % v
        if kind == "edits":
            n = int(v["n"])
            return ngettext(
                "differs by at most %(num)s character", "differs by at most %(num)s characters", n
            ) % {"num": n}
        return _("the same name, another branch")
    return label


def reader_name(label: str | None) -> str:
    """Who read a subject's file (``role:name`` as reads are recorded), for the subject: the
    role in the reader's language and the account's name; a subject's own account (named in
    the log by its opaque id) as "your own account"."""
    if not label:
        return ""
    role, sep, name = label.partition(":")
    if not sep:
        return label
    if role == "subject":
        return _("your own account")
    roles = {
        "agency": _("Implementing agency"),
        "lender": _("Lender"),
        "reviewer": _("Reviewer"),
        "auditor": _("Auditor"),
        "source": _("Source"),
        "public": _("The public"),
        "cli": _("Operator (command line)"),
    }
    if role not in roles:
        return label
    return _("%(role)s: %(name)s") % {"role": roles[role], "name": name}


def score_reason_name(feature: str) -> str:
    """An input of a lending scorecard that lowered a score, as the subject reads it."""
    names = {
        "late_payments_12m": _("payments made late in the last 12 months"),
        "arrears_24m": _("payments in arrears in the last 24 months"),
        "payment_months_24m": _("months of payment history"),
        "longest_delay_days_24m": _("the longest payment delay in the last 24 months"),
        "loan_months_24m": _("months of loan history"),
        "loan_max_days_past_due_24m": _("the most days a loan was past due in 24 months"),
        "loans_defaulted_36m": _("loans reported in default in the last 36 months"),
        "unperformed_judgments_36m": _("court judgments not performed"),
        "active_black_listings": _("listings on a black list"),
        "tax_credit_level": _("the tax credit rating"),
        "penalties_36m": _("administrative penalties in the last 36 months"),
        "abnormal_operations_36m": _("abnormal-operation records in the last 36 months"),
        "listing": _("a listing that restricts financing"),
        "history": _("not enough history to score"),
    }
    return names.get(feature, feature)


def division_name(code: str | None) -> str:
    """An administrative division code as the place it names (GB/T 2260, from python-stdnum's
    data): 421381 -> 湖北省广水市; the code itself if unknown."""
    if not code:
        return ""
    return divisions.division_name(str(code)) or str(code)


def template_globals() -> dict[str, Callable[..., Any]]:
    return {
        "_": gettext,
        "gettext": gettext,
        "ngettext": ngettext,
        "t": text,
        "fdate": fdate,
        "fday": fday,
        "fnum": fnum,
        "current_lang": current,
        "state_name": state_name,
        "status_name": status_name,
        "notice_kind_name": notice_kind_name,
        "division_name": division_name,
        "read_kind_name": read_kind_name,
        "purpose_name": purpose_name,
        "improvement": improvement,
        "grade_refs": grade_refs,
        "queue_reason": queue_reason,
        "score_reason_name": score_reason_name,
        "reader_name": reader_name,
        "fbayes": fbayes,
        "comparison_name": comparison_name,
        "level_name": level_name,
        "entry_name": entry_name,
    }
