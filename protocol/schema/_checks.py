"""Per-field checkers of canonical values, compiled once per field.

A checker takes a canonical value, today's date and the division table (both
optional: :func:`coerce_value` has neither) and returns the *typed* value the
cross-field rules need (a ``date`` for dates, :class:`IdFacts` for ID
numbers, the value itself otherwise), or raises :class:`Reject` with a problem
code. Compiling a closure per field keeps the per-value work to a few
comparisons: validation runs on every op at the hub.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from itertools import pairwise
from typing import TYPE_CHECKING, Final, NamedTuple

from protocol.errors import InvalidIdNumberError
from protocol.idnumber import verify_structure
from protocol.schema._messages import type_names
from protocol.schema._model import FieldDef, FieldType, TextFormat
from protocol.values import is_blob_ref, is_canonical_text, parse_date

if TYPE_CHECKING:
    from protocol.divisions import Divisions

__all__ = ["Checker", "IdFacts", "Reject", "compile_checker"]

Checker = Callable[[object, "date | None", "Divisions | None"], object]

#: ``长期``: an ID card that does not expire.
LONG_TERM: Final = "长期"


class Reject(Exception):  # noqa: N818 - internal control flow, never leaves the package
    """A value breaks a rule; ``code`` is the problem code, ``params`` fill its message."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _check_text(value: object, _today: date | None, _divisions: Divisions | None) -> str:
    if type(value) is not str:
        raise Reject("type", **type_names("text"))
    if not is_canonical_text(value):
        raise Reject("not_canonical")
    return value


class IdFacts(NamedTuple):
    """What the cross-field rules need from a valid ID number."""

    birth_date: date
    sex_code: str


def _check_id_number(value: object, today: date | None, divisions: Divisions | None) -> object:
    text = _check_text(value, None, None)
    try:
        born = verify_structure(text)
    except InvalidIdNumberError as exc:
        raise Reject(f"id_number_{exc.fields['rule']}") from None
    if today is not None and born > today:
        raise Reject("id_number_future_birth_date")
    if divisions is not None and not divisions.is_known(text[:6]):
        raise Reject("id_number_division")
    # Digit 17: odd for men (sex code 1), even for women (2).
    return IdFacts(born, "1" if text[16] in "13579" else "2")


def _check_card_expiry(value: object, _today: date | None, _divisions: Divisions | None) -> object:
    text = _check_text(value, None, None)
    if text != LONG_TERM and (
        len(text) != 8 or parse_date(f"{text[:4]}-{text[4:6]}-{text[6:]}") is None
    ):
        raise Reject("invalid_date", pattern=f"YYYYMMDD / {LONG_TERM}")
    return text


def _check_date(value: object, today: date | None, _divisions: Divisions | None) -> object:
    if type(value) is not str:
        raise Reject("type", **type_names("date"))
    parsed = parse_date(value)
    if parsed is None:
        raise Reject("invalid_date", pattern="YYYY-MM-DD")
    if today is not None and parsed > today:
        raise Reject("future_date")
    return parsed


def _check_bool(value: object, _today: date | None, _divisions: Divisions | None) -> object:
    if type(value) is not bool:
        raise Reject("type", **type_names("bool"))
    return value


def _check_blob(value: object, _today: date | None, _divisions: Divisions | None) -> object:
    if type(value) is not str or not is_blob_ref(value):
        raise Reject("blob_ref")
    return value


def _choice_checker(field: FieldDef) -> Checker:
    allowed = field.allowed_values

    def check(value: object, _today: date | None, _divisions: Divisions | None) -> object:
        if type(value) is not str:
            raise Reject("type", **type_names("code"))
        if value not in allowed:
            raise Reject("not_allowed")
        return value

    return check


def _division_checker(field: FieldDef) -> Checker:
    lengths = frozenset(field.division_lengths)
    shown = "/".join(str(n) for n in field.division_lengths)

    def check(value: object, _today: date | None, divisions: Divisions | None) -> object:
        if type(value) is not str:
            raise Reject("type", **type_names("code"))
        if len(value) not in lengths or not value.isascii() or not value.isdigit():
            raise Reject("division_length", lengths=shown)
        if divisions is not None and not divisions.is_valid(value):
            raise Reject("division_code")
        return value

    return check


def _number_checker(field: FieldDef) -> Checker:
    low, high, integer = field.minimum, field.maximum, field.integer
    bounds = f"{_show(low)}..{_show(high)}"

    def check(value: object, _today: date | None, _divisions: Divisions | None) -> object:
        if type(value) is float:
            if not math.isfinite(value):
                raise Reject("not_finite")
            if integer:
                raise Reject("not_integer")
            number: float = value
        elif type(value) is int:
            number = value
        else:
            raise Reject("type", **type_names("number"))
        if (low is not None and number < low) or (high is not None and number > high):
            raise Reject("out_of_range", bounds=bounds)
        return value

    return check


def _show(bound: float | None) -> str:
    if bound is None:
        return ""
    return str(int(bound)) if bound.is_integer() else str(bound)


def _multi_checker(field: FieldDef, item: Checker) -> Checker:
    exclusive = {c.value: c for c in field.allowed if c.exclusive}

    def check(value: object, today: date | None, divisions: Divisions | None) -> object:
        if type(value) is not list and type(value) is not tuple:
            raise Reject("type", **type_names("list"))
        if not value:
            raise Reject("not_canonical")
        for one in value:
            item(one, today, divisions)
        if any(a >= b for a, b in pairwise(value)):
            raise Reject("not_canonical")
        if len(value) > 1:
            for one in value:
                if one in exclusive:
                    choice = exclusive[one]
                    raise Reject("exclusive", value_zh=choice.label_zh, value_en=choice.label_en)
        return value

    return check


_TEXT_FORMATS: Final[dict[TextFormat | None, Checker]] = {
    None: _check_text,
    TextFormat.ID_NUMBER: _check_id_number,
    TextFormat.CARD_EXPIRY: _check_card_expiry,
}


def _single_checker(field: FieldDef) -> Checker:
    kind = field.type
    if kind is FieldType.TEXT:
        return _TEXT_FORMATS[field.text_format]
    if kind is FieldType.DATE:
        return _check_date
    if kind is FieldType.BOOL:
        return _check_bool
    if kind is FieldType.PHOTO:
        return _check_blob
    if kind is FieldType.NUMBER:
        return _number_checker(field)
    if field.division_lengths:
        return _division_checker(field)
    return _choice_checker(field)


def compile_checker(field: FieldDef) -> Checker:
    """Return the checker of ``field``'s canonical values."""
    single = _single_checker(field)
    return _multi_checker(field, single) if field.multi else single
