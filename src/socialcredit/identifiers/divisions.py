"""Administrative division codes (GB/T 2260) as the places they name, from python-stdnum's data:
``421381`` -> 湖北省广水市.

python-stdnum keeps a name's years of use in brackets, and a code reused under another name as
alternatives (``[-1991]东郊区,[1992-]东丽区``); the place a reader wants is the name in use now
(open-ended), or else the last one the code had, without its years.
"""

from __future__ import annotations

import re
from functools import cache

from stdnum import numdb

_YEARS = re.compile(r"^\[(\d{4})?-(\d{4})?\]")


def current_name(value: str) -> str:
    """``[-1991]东郊区,[1992-]东丽区`` -> 东丽区; ``[-2010]崇文区`` -> 崇文区."""
    alternatives = [v.strip() for v in value.split(",") if v.strip()]
    if not alternatives:
        return ""
    chosen = alternatives[-1]
    for alt in alternatives:
        m = _YEARS.match(alt)
        if m is None or m.group(2) is None:  # no years, or still in use
            chosen = alt
    return _YEARS.sub("", chosen)


@cache
def division_name(code: str | None) -> str | None:
    """The place a six-digit division code names, province first; None if it names none."""
    if not code or not code.isdigit() or len(code) != 6:
        return None
    names: list[str] = []
    for _part, info in numdb.get("cn/loc").info(code):
        for key in ("province", "prefecture", "county"):
            v = info.get(key)
            if v:
                name = current_name(v)
                if name and name not in names:
                    names.append(name)
    return "".join(names) or None
