"""Credit reports: the public profile of an organisation at a moment, dated and verifiable.

A report carries a verification code ``<USCC>-<YYYYMMDDHHMMSS>-<seal>``. The seal is a MAC under
the registry's key, so nobody can make up a code; and because the registry can be read as it
stood at any past moment, checking a code shows the report exactly as it was issued, without
storing any copy.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, UnknownEntity
from .corrections import superseded
from .grading import public_grades
from .subjects import resolve_code
from .views import public_profile

if TYPE_CHECKING:
    from ..bootstrap import Registry

PURPOSE = "credit-report"
#: the organisation's code, the moment of issue (to the second; codes issued before named the
#: minute and still verify), the seal
CODE = re.compile(r"^([0-9A-Z]{18})-(\d{14}|\d{12})-([A-Z2-7]{10})$")


def _moment(reg: Registry, at: datetime | None) -> datetime:
    # reports are dated to the second: the code names it, and checking re-reads the file then
    # (dated to the minute, a report asked for in the minute its subject was registered read
    # the file before the registration and said there was nothing)
    return (at or reg.now()).astimezone(reg.tz).replace(microsecond=0)


def verification_code(reg: Registry, uscc: str, at: datetime) -> str:
    stamp = at.astimezone(reg.tz).strftime("%Y%m%d%H%M%S")
    return f"{uscc}-{stamp}-{reg.protector.seal(PURPOSE, f'{uscc}|{stamp}')}"


def credit_report(reg: Registry, code: str, at: datetime | None = None) -> dict[str, Any]:
    """The report on an organisation: identity, public records, listings, published grades."""
    ref = resolve_code(reg, code, subject_ids=False)
    if ref.kind != "organisation":
        raise UnknownEntity(f"credit reports are for organisations; {ref.display} is not one")
    moment = _moment(reg, at)
    profile = public_profile(reg, ref.subject_id, moment)
    # a merged code's report is its survivor's (public_profile answers for it), saying so
    sid = str(profile["subject"])
    return {
        **profile,
        "grades": public_grades(reg, sid, moment),
        "issued_at": moment.isoformat(),
        "rules": reg.pack.rules_on(moment.astimezone(reg.tz).date()),
        "verification_code": verification_code(reg, sid, moment),
        "pack": {"id": reg.pack.meta.id, "version": reg.pack.meta.version},
    }


def verify(reg: Registry, code: str) -> dict[str, Any]:
    """The report a verification code was issued for, read again at its moment."""
    m = CODE.match(code.strip().upper())
    if not m:
        raise InvalidInput(
            "a verification code looks like 91440300708461136T-20261123153012-ABCDEFGHJK"
        )
    uscc, stamp, seal = m.groups()
    expected = reg.protector.seal(PURPOSE, f"{uscc}|{stamp}")
    if not hmac.compare_digest(seal, expected):
        raise UnknownEntity("no report was issued with this verification code")
    moment = datetime.strptime(stamp, "%Y%m%d%H%M%S" if len(stamp) == 14 else "%Y%m%d%H%M")
    moment = moment.replace(tzinfo=reg.tz)
    if moment > reg.now():
        raise UnknownEntity("no report was issued with this verification code")
    report = credit_report(reg, uscc, moment)
    # a correction of the file since: the report no longer says what the file says
    report["superseded"] = superseded(reg, uscc, moment)
    return report
