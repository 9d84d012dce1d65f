"""National ID numbers (公民身份号码) as defined by GB 11643-1999.

An 18-character number is: address code (digits 1-6, the county-level division
code in force when the number was issued), birth date ``YYYYMMDD`` (7-14),
sequence code (15-17, odd digit 17 for men, even for women) and a check
character (18) computed with ISO 7064 MOD 11-2, ``X`` standing for 10. Numbers
issued before 1999 had 15 digits (two-digit year, no check character); they are
upgraded by inserting the century ``19`` and appending the check character.

Error messages name the rule that failed and never repeat the number, not even
masked: a partial number is still personal data in a log.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from operator import mul
from typing import TYPE_CHECKING, Final

from crypto.errors import UsageError
from protocol.errors import InvalidIdNumberError
from protocol.values import EARLIEST_DATE

if TYPE_CHECKING:
    from protocol.divisions import Divisions

__all__ = [
    "IdNumber",
    "check_digit",
    "make_id_number",
    "parse_id_number",
    "upgrade_15_to_18",
    "verify_structure",
]

#: Weights 2^(18-i) mod 11 for positions 1..17 (GB 11643-1999 §7.2).
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for each weighted sum mod 11.
_CHECK_CHARS: Final = "10X98765432"
#: The weighted sum is taken over the ASCII bytes; subtract the bias of b"0".
_ASCII_BIAS: Final = ord("0") * sum(_WEIGHTS)
_CHECK_SET: Final = frozenset(_CHECK_CHARS)
_LENGTH: Final = 18
_LEGACY_LENGTH: Final = 15


def _bad(message: str, rule: str) -> InvalidIdNumberError:
    return InvalidIdNumberError(f"ID number: {message}", rule=rule)


def _all_digits(text: str) -> bool:
    # str.isdigit() alone also accepts other scripts' digits and superscripts.
    return text.isascii() and text.isdigit()


def _check_char(first17: str) -> str:
    total = sum(map(mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_BIAS
    return _CHECK_CHARS[total % 11]


def check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits.

    Args:
        first17: exactly 17 ASCII digits.

    Returns:
        One of ``0``-``9`` or ``X`` (for 10).

    Raises:
        InvalidIdNumberError: ``first17`` is not 17 ASCII digits (rule ``characters``).
    """
    if len(first17) != _LENGTH - 1 or not _all_digits(first17):
        raise _bad("expected 17 digits before the check character", "characters")
    return _check_char(first17)


def upgrade_15_to_18(number15: str) -> str:
    """Upgrade a 15-digit number (issued before 1999) to its 18-character form.

    The century ``19`` is inserted before the two-digit year and the check
    character appended; every 15-digit number was issued to someone born in
    the twentieth century.

    Raises:
        InvalidIdNumberError: ``number15`` is not 15 ASCII digits (rule ``characters``).
    """
    if len(number15) != _LEGACY_LENGTH or not _all_digits(number15):
        raise _bad("expected 15 digits to upgrade", "characters")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + _check_char(first17)


def _birth_date(value: str) -> date | None:
    # Digits 7-14 are eight ASCII digits here, which fromisoformat reads as YYYYMMDD.
    try:
        born = date.fromisoformat(value[6:14])
    except ValueError:
        return None
    return born if born >= EARLIEST_DATE else None


def verify_structure(value: str) -> date:
    """Check an 18-character number's structure and return its birth date.

    The checks of :class:`IdNumber` without building one, for validation's hot
    path; the value must already be canonical (no trimming or case folding).

    Raises:
        InvalidIdNumberError: with ``rule`` ``length``, ``characters``,
            ``birth_date`` or ``check_digit``.
    """
    if len(value) != _LENGTH:
        raise _bad(f"expected 18 characters, saw {len(value)}", "length")
    head = value[:17]
    if not _all_digits(head) or value[17] not in _CHECK_SET:
        raise _bad("expected 17 digits followed by a digit or X", "characters")
    born = _birth_date(value)
    if born is None:
        raise _bad("digits 7-14 are not a real birth date", "birth_date")
    if _check_char(head) != value[17]:
        raise _bad("check character does not match digits 1-17 (MOD 11-2)", "check_digit")
    return born


@dataclass(frozen=True, slots=True, kw_only=True)
class IdNumber:
    """A structurally valid 18-character ID number (uppercase ``X``).

    Building one checks length, characters, birth date and check character, so
    an invalid number cannot exist; :func:`parse_id_number` adds the checks that
    need context (today's date, the division table).

    Raises:
        InvalidIdNumberError: on construction, naming the rule that failed.
    """

    value: str
    #: The birth date in digits 7-14, parsed once by the check.
    birth_date: date = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "birth_date", verify_structure(self.value))

    @property
    def sex_code(self) -> str:
        """``"1"`` (male) when digit 17 is odd, ``"2"`` (female) when even (GB/T 2261.1)."""
        return "1" if int(self.value[16]) % 2 else "2"

    @property
    def division_code(self) -> str:
        """The address code, digits 1-6."""
        return self.value[:6]

    def __str__(self) -> str:
        return self.value


def parse_id_number(
    text: str, *, divisions: Divisions | None = None, today: date | None = None
) -> IdNumber:
    """Parse an ID number as typed or read from a card.

    Surrounding whitespace is ignored, full-width digits and a lowercase ``x``
    are accepted, and a 15-digit number is upgraded to 18 characters.

    Args:
        text: the number as entered.
        divisions: when given, digits 1-6 must be a division code known in some
            revision (numbers keep the code in force when they were issued).
        today: when given, the birth date must not be after it.

    Returns:
        The checked number.

    Raises:
        InvalidIdNumberError: with ``rule`` one of ``empty``, ``length``,
            ``characters``, ``birth_date``, ``check_digit``, ``future_birth_date``
            or ``division``.
    """
    value = unicodedata.normalize("NFKC", text).strip().upper()
    if not value:
        raise _bad("expected 18 characters, saw none", "empty")
    if len(value) == _LEGACY_LENGTH and _all_digits(value):
        value = upgrade_15_to_18(value)
    number = IdNumber(value=value)
    if today is not None and number.birth_date > today:
        raise _bad("birth date in digits 7-14 is after today", "future_birth_date")
    if divisions is not None and not divisions.is_known(number.division_code):
        raise _bad("digits 1-6 are not a division code of any revision", "division")
    return number


def make_id_number(division_code: str, birth_date: date, sequence: int, sex_code: str) -> str:
    """Build a valid 18-character number, for demo and test data generators.

    Args:
        division_code: the six-digit address code.
        birth_date: the birth date (year 1800 or later).
        sequence: 0..99, written as digits 15-16; it also picks which odd or
            even digit 17 is, so the 100 sequences give 100 distinct numbers.
        sex_code: ``"1"`` (male) or ``"2"`` (female).

    Raises:
        UsageError: an argument is outside the ranges above.
    """
    if len(division_code) != 6 or not _all_digits(division_code):
        raise UsageError("division code: expected 6 digits", field="division_code")
    if not 0 <= sequence <= 99:
        raise UsageError(f"sequence: expected 0..99, saw {sequence}", field="sequence")
    if sex_code not in ("1", "2"):
        raise UsageError(f"sex code: expected 1 or 2, saw {sex_code!r}", field="sex_code")
    if not EARLIEST_DATE <= birth_date <= date(9999, 12, 31):
        raise UsageError("birth date: expected year 1800 or later", field="birth_date")
    parity = 1 if sex_code == "1" else 0
    first17 = f"{division_code}{birth_date:%Y%m%d}{sequence:02d}{2 * (sequence % 5) + parity}"
    return first17 + _check_char(first17)
