"""Resident identity numbers (GB 11643-1999) through python-stdnum, with the old 15-digit form.

python-stdnum's ``cn.ric`` knows only the 18-digit form; 15-digit numbers (no century, no check)
survive in old records, so we lift them to 18 digits (century 19, computed check) before
validating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from ..errors import InvalidIdentifier

#: python-stdnum accepts any valid calendar date; nobody alive was born before this year.
EARLIEST_BIRTH_YEAR = 1890


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # canonical 18-character form
    birth_date: date
    lifted_from_15: bool = False

    def masked(self, keep_last: int = 4) -> str:
        return mask_resident_id(self.number, keep_last)


#: The most of a number ever shown: its last four characters. The first six are the birth
#: registration division, which a court's case number gives away too, and characters 7-14 the
#: birth date; with the division and the check character known, the mask of court lists (first
#: four and last four) leaves ~2,600 candidates, few enough to try one by one.
MAX_SHOWN = 4


def mask_resident_id(number: str, keep_last: int = MAX_SHOWN) -> str:
    """Stars for every character but the last ``keep_last`` (at most four): no part of the
    division or the birth date is ever shown."""
    k = max(0, min(keep_last, MAX_SHOWN))
    return "*" * (len(number) - k) + (number[-k:] if k else "")


def lift_15(number: str) -> str:
    first17 = number[:6] + "19" + number[6:]
    return first17 + str(ric.calc_check_digit(first17 + "0"))


def parse_resident_id(value: str) -> ResidentId:
    raw = ric.compact(value or "")
    lifted = False
    if len(raw) == 15:
        # ASCII digits only (python-stdnum's compact has mapped full-width ones): ``isdigit``
        # is also true of '²' or '٣', which the check computation cannot read
        if not (raw.isascii() and raw.isdigit()):
            raise InvalidIdentifier(value, "a 15-digit resident ID has digits only")
        raw = lift_15(raw)
        lifted = True
    if len(raw) != 18:
        raise InvalidIdentifier(
            value, f"a resident ID has 18 characters (or 15), this has {len(raw)}"
        )
    try:
        number = ric.validate(raw)
    except stdnum_exc.InvalidChecksum:
        raise InvalidIdentifier(
            value, f"check character is {raw[-1]!r}, expected {ric.calc_check_digit(raw)!r}"
        ) from None
    except stdnum_exc.InvalidFormat:
        raise InvalidIdentifier(value, "the first 17 characters must be digits") from None
    except stdnum_exc.InvalidComponent:
        try:
            ric.get_birth_date(raw)
        except stdnum_exc.ValidationError:
            raise InvalidIdentifier(value, f"{raw[6:14]} is not a valid birth date") from None
        raise InvalidIdentifier(value, f"{raw[:6]} is not a known birth place division") from None
    except stdnum_exc.ValidationError as exc:
        raise InvalidIdentifier(value, str(exc)) from None
    except (KeyError, ValueError, IndexError):
        # python-stdnum 2.2 raises KeyError for a division known as a province but not as a
        # county; any such failure is an invalid birth place, not a crash.
        raise InvalidIdentifier(value, f"{raw[:6]} is not a known birth place division") from None
    born = ric.get_birth_date(number)
    if born.year < EARLIEST_BIRTH_YEAR:
        raise InvalidIdentifier(value, f"birth date {born.isoformat()} is not plausible")
    return ResidentId(number=number, birth_date=born, lifted_from_15=lifted)


def looks_like_resident_id(value: str) -> bool:
    """A resident ID is 15 digits, or 17 digits and a check character; a USCC is 18 of 31 symbols.

    Both are 18 characters long, so the shape decides: resident IDs are digits (and a final X)
    and carry a birth date; a USCC almost always starts with a letter-or-digit authority code
    followed by a division. We try the resident ID form only when the first 17 are digits and
    the USCC reading fails.
    """
    v = value.strip().upper()
    return (len(v) == 15 and v.isdigit()) or (
        len(v) == 18 and v[:17].isdigit() and v[17] in "0123456789X"
    )
