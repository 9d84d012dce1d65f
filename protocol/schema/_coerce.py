"""Turning web-form strings and JSON values into the canonical encoding.

The node UI and the JSON API take what people type (``2019/7/1``, ``是``, ``男``,
a 15-digit ID number, full-width digits) and store only canonical values
(docs/schema.md §3). Anything that cannot be made canonical becomes a
:class:`FieldValueError` carrying the same :class:`Problem` validation would
report, so the form can show it beside the field.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Final

from protocol.errors import FieldValueError, InvalidIdNumberError
from protocol.idnumber import parse_id_number
from protocol.schema._checks import Checker, Reject, compile_checker
from protocol.schema._messages import make_problem, type_names
from protocol.schema._model import FieldDef, FieldType, TextFormat
from protocol.values import format_date, normalise_text

__all__ = ["coerce_value"]

_DATE_FORMS: Final = (
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_TRUE: Final = frozenset({"true", "1", "y", "yes", "on", "是", "有"})
_FALSE: Final = frozenset({"false", "0", "n", "no", "off", "否", "无"})
_INTEGER: Final = re.compile(r"[+-]?\d+")
#: Values are split on this in a single form string for a multi-select field.
_MULTI_SEPARATOR: Final = "|"


@lru_cache(maxsize=1024)
def _checker(field: FieldDef) -> Checker:
    return compile_checker(field)


def _fail(field: FieldDef, code: str, **params: str) -> FieldValueError:
    problem = make_problem(field.key, field, code, **params)
    return FieldValueError(problem.message_en, problem=problem)


def _wide(text: str) -> str:
    """Fold full-width digits and letters (typed with a Chinese IME) to ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def _text(field: FieldDef, raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    if field.text_format is TextFormat.ID_NUMBER:
        try:
            return parse_id_number(raw).value
        except InvalidIdNumberError as exc:
            raise _fail(field, f"id_number_{exc.fields['rule']}") from None
    if field.text_format is TextFormat.CARD_EXPIRY:
        return _wide(raw).replace("-", "").replace(".", "")
    return normalise_text(raw)


def _date(field: FieldDef, raw: object) -> object:
    if isinstance(raw, datetime):
        raise _fail(field, "type", **type_names("date"))
    if isinstance(raw, date):
        return format_date(raw)
    if not isinstance(raw, str):
        return raw
    text = _wide(raw)
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match is not None:
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


def _choice(field: FieldDef, raw: object) -> object:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return raw
    text = _wide(raw) if field.code_table else normalise_text(raw)
    if text in field.allowed_values or not field.allowed:
        return text
    folded = text.casefold()
    for choice in field.allowed:
        if text == choice.label_zh or folded == choice.label_en.casefold():
            return choice.value
    return text


def _bool(field: FieldDef, raw: object) -> object:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in (0, 1):
        return bool(raw)
    if not isinstance(raw, str):
        return raw
    word = _wide(raw).casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _fail(field, "type", **type_names("bool"))


def _number(field: FieldDef, raw: object) -> object:
    if isinstance(raw, str):
        text = _wide(raw).replace(",", "")
        try:
            raw = int(text) if _INTEGER.fullmatch(text) else float(text)
        except ValueError:
            raise _fail(field, "type", **type_names("number")) from None
    if isinstance(raw, float) and math.isfinite(raw) and field.integer and raw.is_integer():
        return int(raw)
    return raw


def _photo(_field: FieldDef, raw: object) -> object:
    return raw.strip().lower() if isinstance(raw, str) else raw


_NORMALISERS: Final[dict[FieldType, Callable[[FieldDef, object], object]]] = {
    FieldType.TEXT: _text,
    FieldType.DATE: _date,
    FieldType.CODE: _choice,
    FieldType.ENUM: _choice,
    FieldType.BOOL: _bool,
    FieldType.NUMBER: _number,
    FieldType.PHOTO: _photo,
}


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _multi(field: FieldDef, raw: object) -> object:
    if isinstance(raw, str):
        raw = raw.split(_MULTI_SEPARATOR)
    if not isinstance(raw, list | tuple | set | frozenset):
        raise _fail(field, "type", **type_names("list"))
    normalise = _NORMALISERS[field.type]
    items = [normalise(field, item) for item in raw if not _blank(item)]
    texts = [item for item in items if isinstance(item, str)]
    if len(texts) < len(items):
        raise _fail(field, "type", **type_names("list"))
    return tuple(sorted(set(texts))) if texts else None


def coerce_value(field: FieldDef, raw: object) -> object:
    """Return ``raw`` in ``field``'s canonical encoding, or ``None`` when it is blank.

    Accepts form strings (any surrounding whitespace; full-width digits; dates as
    ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYYMMDD`` or ``YYYY年M月D日``; booleans as
    ``true``/``false``, ``1``/``0``, ``是``/``否``, ``on``; codes and enum values
    by value or by label; multi-select values as a list or ``a|b``; 15-digit ID
    numbers, upgraded) and JSON values of the right type. Checks that need
    today's date or the division table are left to
    :func:`protocol.validation.validate_record`.

    Raises:
        FieldValueError: the value cannot be made canonical; ``problem`` says why.
    """
    if _blank(raw):
        return None
    value = _multi(field, raw) if field.multi else _NORMALISERS[field.type](field, raw)
    if value is None:
        return None
    try:
        _checker(field)(value, None, None)
    except Reject as reject:
        raise _fail(field, reject.code, **reject.params) from None
    return value
