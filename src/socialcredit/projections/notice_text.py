"""The text of notices that follow from an event without one of their own (a new or amended
record, a proposed listing). Shared by the projector and the replayed self-view."""

from __future__ import annotations

import hashlib
from typing import Any


def derived_notice_id(event_id: str) -> str:
    return "N" + hashlib.sha256(event_id.encode()).hexdigest()[:31]


def record_notice(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    verb_zh, verb_en = ("新增", "New") if kind == "record-filed" else ("更新", "Updated")
    return {
        "zh": f"{verb_zh}信用记录：{p['record_type']}，{p['authority']}，{p['decision_ref']}"
        f"（{p['decided_on']}），状态 {p['status']}。如有异议可提出异议。",
        "en": f"{verb_en} record about you: {p['record_type']} by {p['authority']}, "
        f"{p['decision_ref']} ({p['decided_on']}), status {p['status']}. You may object.",
        "record": f"{p['source']}/{p['source_record_id']}",
    }


def proposal_notice(p: dict[str, Any]) -> dict[str, Any]:
    pending = p.get("pending_reason")
    return {
        "zh": f"拟将您列入名单 {p['list_id']}。" + (f"待定：{pending}" if pending else ""),
        "en": f"You are proposed for the list {p['list_id']}."
        + (f" Pending: {pending}" if pending else ""),
    }


def unlink_notice(p: dict[str, Any]) -> dict[str, Any]:
    """A reviewer found that a record the registry had linked to the subject is not about it."""
    return {
        "zh": f"经复核，记录 {p['record']} 并非关于您，已从您的档案中移除。理由：{p['reason']}",
        "en": f"On review, record {p['record']} is not about you and has left your file. "
        f"Reasons: {p['reason']}",
        "record": p["record"],
    }
