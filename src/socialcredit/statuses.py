"""The statuses of records, objections, repair applications and statements as a person reads
them, in each language the registry writes: one table for the pages and the notices alike
(the notices are written by the projector, below the pages' catalogue, so the words live
here). A status a pack adds that is not listed is shown as the pack writes it."""

from __future__ import annotations

NAMES: dict[str, dict[str, str]] = {
    # records (the statuses the default pack's record types declare)
    "in_force": {"zh": "生效中", "en": "in force"},
    "revoked": {"zh": "已撤销", "en": "revoked"},
    "unperformed": {"zh": "未履行", "en": "not performed"},
    "performed": {"zh": "已履行", "en": "performed"},
    "valid": {"zh": "有效", "en": "valid"},
    "issued": {"zh": "已颁发", "en": "issued"},
    "expired": {"zh": "已过期", "en": "expired"},
    "conferred": {"zh": "已授予", "en": "conferred"},
    "lifted": {"zh": "已解除", "en": "lifted"},
    "listed": {"zh": "已列入", "en": "listed"},
    "published": {"zh": "已公布", "en": "published"},
    "recorded": {"zh": "已记录", "en": "recorded"},
    "removed": {"zh": "已移出", "en": "removed"},
    "withdrawn": {"zh": "已撤回", "en": "withdrawn"},
    "ended": {"zh": "已结束", "en": "ended"},
    "revised": {"zh": "已修订", "en": "revised"},
    "active": {"zh": "有效", "en": "active"},
    # objections, repair applications, statements
    "open": {"zh": "待答复", "en": "open"},
    "escalated": {"zh": "已移交复核", "en": "escalated to a reviewer"},
    "corrected": {"zh": "已更正", "en": "corrected"},
    "rejected": {"zh": "已驳回", "en": "rejected"},
    "pending": {"zh": "待决定", "en": "pending"},
    "ineligible": {"zh": "不符合条件", "en": "not eligible"},
    "approved": {"zh": "已批准", "en": "approved"},
    "shown": {"zh": "展示中", "en": "shown"},
    "refused": {"zh": "不予展示", "en": "refused"},
    "replaced": {"zh": "已被替换", "en": "replaced"},
}


def status_name(status: str | None, lang: str) -> str:
    """``status`` in ``lang`` (English for a language the table does not have); the status
    itself when it is not listed."""
    if not status:
        return ""
    names = NAMES.get(status)
    if names is None:
        return status
    return names.get(lang) or names["en"]
