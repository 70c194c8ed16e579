"""The text of notices that follow from an event without one of their own (a new or amended
record, a proposed listing). Shared by the projector and the replayed self-view."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ..statuses import status_name


def _named(names: Mapping[str, str] | None, lang: str, fallback: str) -> str:
    return (names or {}).get(lang) or fallback


def with_names(body: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """A notice's texts with the pack's ids (``names``: a record type's or a list's id -> its
    name by language) replaced, in each language, by that language's name. The log's notices
    are written without the pack (a projection reads events alone), so a record type or a list
    is named there by its id; a message to a person names it as the pack does."""
    out = dict(body)
    for lang, text in body.items():
        if not isinstance(text, str) or len(lang) > 3:  # the texts are keyed by language
            continue
        for ident, by_lang in names.items():
            name = by_lang.get(lang)
            if name and ident in text:
                text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(ident)}(?![A-Za-z0-9_])", name, text)
        out[lang] = text
    return out


def derived_notice_id(event_id: str) -> str:
    return "N" + hashlib.sha256(event_id.encode()).hexdigest()[:31]


def record_notice(
    kind: str, p: dict[str, Any], type_name: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``type_name``: the record type's name in the pack's languages (the id without it)."""
    verb_zh, verb_en = ("新增", "New") if kind == "record-filed" else ("更新", "Updated")
    st_zh, st_en = status_name(p["status"], "zh"), status_name(p["status"], "en")
    rt_zh, rt_en = (
        _named(type_name, "zh", p["record_type"]),
        _named(type_name, "en", p["record_type"]),
    )
    return {
        "zh": f"{verb_zh}信用记录：{rt_zh}，{p['authority']}，{p['decision_ref']}"
        f"（{p['decided_on']}），状态：{st_zh}。如有异议可提出异议。",
        "en": f"{verb_en} record about you: {rt_en} by {p['authority']}, "
        f"{p['decision_ref']} ({p['decided_on']}), status: {st_en}. You may object.",
        "record": f"{p['source']}/{p['source_record_id']}",
    }


def proposal_notice(
    p: dict[str, Any], list_name: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``list_name``: the list's name in the pack's languages (the id without it)."""
    pending = p.get("pending_reason")
    zh, en = _named(list_name, "zh", p["list_id"]), _named(list_name, "en", p["list_id"])
    return {
        "zh": f"拟将您列入{zh}。" + (f"待定：{pending}" if pending else ""),
        "en": f"You are proposed for the {en}." + (f" Pending: {pending}" if pending else ""),
    }


def unlink_notice(p: dict[str, Any]) -> dict[str, Any]:
    """A reviewer found that a record the registry had linked to the subject is not about it."""
    return {
        "zh": f"经复核，记录 {p['record']} 并非关于您，已从您的档案中移除。理由：{p['reason']}",
        "en": f"On review, record {p['record']} is not about you and has left your file. "
        f"Reasons: {p['reason']}",
        "record": p["record"],
    }
