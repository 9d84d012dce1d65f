"""Turning one register cell into a canonical value, or saying why it cannot be.

Pure: a cell is what the CSV reader or openpyxl gives (text, a number, a date or
a datetime), and the result is the record schema's canonical encoding
(docs/schema.md §3), so a register value and a record value compare by ``==``.
What people and exports actually write is accepted: dates as ``1956-03-12``,
``1956/3/12``, ``1956.03.12``, ``19560312``, ``1956年3月12日``, with a time part,
as an Excel serial number or a date cell; ID numbers with spaces, full-width
digits, a lowercase ``x``, an Excel text marker ``'`` or 15 digits; ``男``/``M``;
``是``/``否``/``√``. A cell that cannot be read raises :class:`CellReject` with a
problem code (see :mod:`hub.crosscheck.problems`); the cell's value never appears
in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Final

from crypto.errors import MusterError
from hub.crosscheck.fields import DECEASED, LIVING, RegisterField
from protocol.divisions import Divisions
from protocol.errors import InvalidIdNumberError
from protocol.idnumber import IdNumber, parse_id_number
from protocol.schema import Schema, coerce_value
from protocol.values import EARLIEST_DATE, format_date

__all__ = [
    "CellParser",
    "CellReject",
    "Value",
    "normalise_name",
    "parse_date_cell",
    "parse_id_cell",
]

#: A canonical value: what records hold (docs/schema.md §3).
Value = str | bool | int | float | tuple[str, ...]

#: Excel's 1900 date system counts days from 1899-12-30 (its 1900-02-29 bug included).
_EXCEL_EPOCH: Final = date(1899, 12, 30)
_EXCEL_LAST: Final = 2_958_465  # 9999-12-31
_DATE_FORMS: Final = (
    re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
#: A time part after the date (exports of datetime columns): dropped.
_TIME_PART: Final = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_SERIAL_TEXT: Final = re.compile(r"\d{5}(\.0+)?")
_SPACES: Final = re.compile(r"\s+")
#: Digits beyond this are lost when Excel stores an ID number as a number.
_FLOAT_DIGITS: Final = 15
_DOTS: Final = str.maketrans(dict.fromkeys("•・．.", "·"))
_CJK: Final = re.compile(r"[\u4e00-\u9fff]")
#: Fields with few distinct values: their cells are parsed once per distinct text.
_MEMO_FIELDS: Final = frozenset(RegisterField) - {
    RegisterField.ID_NUMBER, RegisterField.NAME, RegisterField.HUKOU_ADDRESS, RegisterField.PHONE,
}  # fmt: skip
#: Distinct cells remembered per column; past this, cells are parsed each time.
_MEMO_LIMIT: Final = 50_000

_SEX: Final = {
    "1": "1", "男": "1", "男性": "1", "m": "1", "male": "1",
    "2": "2", "女": "2", "女性": "2", "f": "2", "female": "2",
    "0": "0", "未知": "0", "未知的性别": "0", "unknown": "0",
    "9": "9", "未说明": "9", "未说明的性别": "9",
}  # fmt: skip
_TRUE: Final = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "t"})
_FALSE: Final = frozenset({"否", "无", "n", "no", "false", "0", "×", "✗", "f"})
_LIVING_WORDS: Final = {
    "健在": LIVING, "在世": LIVING, "存活": LIVING, "正常": LIVING, "生存": LIVING,
    "living": LIVING, "alive": LIVING,
    "已故": DECEASED, "死亡": DECEASED, "去世": DECEASED, "故": DECEASED, "殁": DECEASED,
    "deceased": DECEASED, "dead": DECEASED,
}  # fmt: skip
_CHINESE_NUMERALS: Final = {
    "一": "1", "二": "2", "三": "3", "四": "4", "五": "5",
    "六": "6", "七": "7", "八": "8", "九": "9", "十": "10",
}  # fmt: skip
_MULTI_SPLIT: Final = re.compile(r"[|、,，;；/]")


class CellReject(Exception):  # noqa: N818 - a signal inside the parser, never raised out of it
    """A cell that cannot be read; ``code`` is a row-problem code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _fold(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _excel_serial(serial: float) -> date:
    if not 1 <= serial <= _EXCEL_LAST:
        raise CellReject("invalid_date")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _date_from_text(text: str) -> date:
    text = _TIME_PART.sub("", text).strip()
    if _SERIAL_TEXT.fullmatch(text):
        # A CSV saved from a sheet whose date column was formatted "General".
        return _excel_serial(float(text))
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match is not None:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise CellReject("invalid_date") from None
    raise CellReject("invalid_date")


def parse_date_cell(raw: object, *, as_of: date | None = None) -> date:
    """Read a date cell in any of the accepted forms.

    Raises:
        CellReject: ``invalid_date`` (not a date, or before 1800), or
            ``future_date`` (after ``as_of``, the register's date).
    """
    if isinstance(raw, datetime):
        found = raw.date()
    elif isinstance(raw, date):
        found = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        found = _excel_serial(raw)
    elif isinstance(raw, str):
        found = _date_from_text(_fold(raw))
    else:
        raise CellReject("invalid_date")
    if found < EARLIEST_DATE:
        raise CellReject("invalid_date")
    if as_of is not None and found > as_of:
        raise CellReject("future_date")
    return found


def parse_id_cell(raw: object) -> IdNumber:
    """Read an ID number cell: trimmed, spaces and ``'`` removed, 15 digits upgraded.

    Raises:
        CellReject: ``id_number_numeric`` (Excel stored it as a number and lost
            digits), or ``id_number_<rule>`` for the GB 11643 rule it breaks.
    """
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if isinstance(raw, float) and not raw.is_integer():
            raise CellReject("id_number_numeric")
        digits = str(int(raw))
        if len(digits) > _FLOAT_DIGITS:
            raise CellReject("id_number_numeric")
        raw = digits
    if not isinstance(raw, str):
        raise CellReject("id_number_characters")
    if len(raw) == 18 and raw.isascii() and raw.isalnum():
        # The common case, already clean: skip the folding.
        try:
            return IdNumber(value=raw.upper())
        except InvalidIdNumberError as exc:
            raise CellReject(f"id_number_{exc.fields['rule']}") from None
    text = _SPACES.sub("", _fold(raw)).lstrip("'")
    if "E+" in text.upper():
        raise CellReject("id_number_numeric")
    try:
        return parse_id_number(text)
    except InvalidIdNumberError as exc:
        raise CellReject(f"id_number_{exc.fields['rule']}") from None


def _text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFC", str(raw)).strip()
    return _SPACES.sub(" ", text)


def normalise_name(raw: object) -> str:
    """A name as registers and records are compared: width folded, CJK names unspaced."""
    text = str(raw)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    # Chinese names carry no spaces; registers pad two-character names ("王  芳").
    if _CJK.search(text) is not None:
        text = "".join(text.split()).translate(_DOTS)
    # An NFKC-normalised text is NFC-normalised too: nothing more to do.
    return text


def _word(raw: object) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return _fold(str(raw)).casefold()


def _sex(raw: object) -> str:
    found = _SEX.get(_word(raw))
    if found is None:
        raise CellReject("unknown_value")
    return found


def _bool(raw: object) -> bool:
    word = _word(raw)
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellReject("unknown_value")


def _living(raw: object) -> str:
    word = _word(raw)
    found = _LIVING_WORDS.get(word)
    if found is not None:
        return found
    # Longer statuses ("死亡注销", "非正常死亡"): a word of death decides first.
    for wanted in (DECEASED, LIVING):
        if any(key in word for key, value in _LIVING_WORDS.items() if value == wanted):
            return wanted
    raise CellReject("unknown_value")


def _deceased(raw: object) -> str:
    return DECEASED if _bool(raw) else LIVING


class CellParser:
    """Reads cells of each register field, with the schema and division table it needs.

    Args:
        schema: the record schema (choices of enum and code fields).
        divisions: the division table division codes are checked against.
        as_of: the register's date; dates after it are ``future_date``.
    """

    __slots__ = ("_as_of", "_divisions", "_parsers", "_schema")

    def __init__(self, *, schema: Schema, divisions: Divisions, as_of: date | None) -> None:
        self._schema = schema
        self._divisions = divisions
        self._as_of = as_of
        self._parsers: dict[RegisterField, Callable[[object], Value]] = {
            RegisterField.ID_NUMBER: lambda raw: parse_id_cell(raw).value,
            RegisterField.NAME: normalise_name,
            RegisterField.SEX: _sex,
            RegisterField.BIRTH_DATE: self._date,
            RegisterField.DEATH_DATE: self._date,
            RegisterField.ETHNICITY: self._ethnicity,
            RegisterField.HUKOU_DIVISION_CODE: self._division,
            RegisterField.HUKOU_ADDRESS: _text,
            RegisterField.PHONE: _text,
            RegisterField.LIVING_STATUS: _living,
            RegisterField.DECEASED: _deceased,
            RegisterField.MINIMUM_LIVING_ALLOWANCE: _bool,
            RegisterField.EXTREME_POVERTY_SUPPORT: _bool,
            RegisterField.PERIODIC_BENEFIT: _bool,
            RegisterField.PENSION_INSURANCE: partial(self._choice, "pension_insurance"),
            RegisterField.MEDICAL_INSURANCE: partial(self._choice, "medical_insurance"),
            RegisterField.DISABILITY_LEVEL: self._level,
            RegisterField.CATEGORY: self._categories,
        }

    def parse(self, field: RegisterField, raw: object) -> Value | None:
        """Return the cell's canonical value, or ``None`` when it is blank.

        Raises:
            CellReject: the cell cannot be read as ``field``; ``code`` says why.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value = self._parsers[field](raw)
        if isinstance(value, str) and not value:
            return None
        return value

    def column(self, field: RegisterField) -> Callable[[object], Value | None]:
        """A parser for one column: :meth:`parse` for ``field``, remembering the results
        for fields with few distinct values (dates, sex, yes/no, codes)."""
        if field not in _MEMO_FIELDS:
            return partial(self.parse, field)
        memo: dict[tuple[type, object], Value | str | None] = {}
        rejected: set[tuple[type, object]] = set()

        def parse_cell(raw: object) -> Value | None:
            # Keyed with the type too: 1, 1.0 and True are equal as keys, not as cells.
            key = (type(raw), raw)
            try:
                found = memo[key]
            except KeyError:
                pass
            except TypeError:  # an unhashable cell: not remembered
                return self.parse(field, raw)
            else:
                if key in rejected:
                    raise CellReject(str(found))
                return found
            try:
                value = self.parse(field, raw)
            except CellReject as reject:
                if len(memo) < _MEMO_LIMIT:
                    memo[key] = reject.code
                    rejected.add(key)
                raise
            if len(memo) < _MEMO_LIMIT:
                memo[key] = value
            return value

        return parse_cell

    def _date(self, raw: object) -> str:
        return format_date(parse_date_cell(raw, as_of=self._as_of))

    def _division(self, raw: object) -> str:
        text = _word(raw)
        if not self._divisions.is_valid(text):
            raise CellReject("invalid_division")
        return text

    def _coerce(self, key: str, raw: object) -> Value:
        try:
            value = coerce_value(self._schema.field(key), raw)
        except MusterError:
            raise CellReject("unknown_value") from None
        if not isinstance(value, str | bool | int | float | tuple):
            raise CellReject("unknown_value")
        return value

    def _choice(self, key: str, raw: object) -> Value:
        return self._coerce(key, _fold(str(raw)))

    def _ethnicity(self, raw: object) -> Value:
        text = _fold(str(raw))
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            text = f"{int(raw):02d}"
        try:
            return self._coerce("ethnicity", text)
        except CellReject:
            # Registers often drop the suffix: 汉 for 汉族.
            return self._coerce("ethnicity", text + "族")

    def _level(self, raw: object) -> Value:
        text = _fold(str(int(raw) if isinstance(raw, float) else raw))
        text = text.removesuffix("级").removeprefix("Level ").removeprefix("level ")
        return self._coerce("disability_level", _CHINESE_NUMERALS.get(text, text))

    def _categories(self, raw: object) -> tuple[str, ...]:
        keys = set()
        for part in _MULTI_SPLIT.split(_fold(str(raw))):
            if not part.strip():
                continue
            try:
                keys.add(self._schema.category(part.strip()).key)
            except MusterError:
                value = self._coerce("subject_category", part.strip())
                keys.update(value if isinstance(value, tuple) else (str(value),))
        if not keys:
            raise CellReject("unknown_value")
        return tuple(sorted(keys))
