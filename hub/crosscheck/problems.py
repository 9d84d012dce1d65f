"""Row-level import problems: which row, which column, what rule, never what value.

One bad row never stops an import: each unreadable cell becomes a
:class:`RowProblem` naming the row number (as a spreadsheet shows it, the header
row included), the column's header and a code; the row is kept with the cells
that could be read, unless nothing identifies the person (``no_identity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from crypto.errors import UsageError
from hub.crosscheck.fields import RegisterField

__all__ = ["PROBLEM_MESSAGES", "RowProblem"]

#: code → (Chinese, English) template; ``{row}`` and ``{column}`` are filled in.
PROBLEM_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "blank_required": ("第{row}行“{column}”列为空，该列必填", "row {row}, column {column}: "
                       "expected a value, the cell is blank"),
    "invalid_date": ("第{row}行“{column}”列不是可识别的日期", "row {row}, column {column}: "
                     "expected a date such as 1956-03-12, saw something else"),
    "future_date": ("第{row}行“{column}”列的日期晚于名单日期", "row {row}, column {column}: "
                    "expected a date on or before the register's date"),
    "unknown_value": ("第{row}行“{column}”列的值不在可选范围内", "row {row}, column {column}: "
                      "expected one of the field's values, saw another"),
    "invalid_division": ("第{row}行“{column}”列不是有效的区划代码", "row {row}, column {column}: "
                         "expected a 6-, 9- or 12-digit division code"),
    "id_number_empty": ("第{row}行“{column}”列身份号码为空", "row {row}, column {column}: "
                        "expected an ID number, the cell is blank"),
    "id_number_length": ("第{row}行“{column}”列身份号码位数不对", "row {row}, column {column}: "
                         "expected an ID number of 18 (or 15) characters"),
    "id_number_characters": ("第{row}行“{column}”列身份号码含非法字符", "row {row}, column "
                             "{column}: expected 17 digits and a digit or X"),
    "id_number_birth_date": ("第{row}行“{column}”列身份号码中的出生日期无效", "row {row}, "
                             "column {column}: the ID number's digits 7-14 are not a real date"),
    "id_number_check_digit": ("第{row}行“{column}”列身份号码校验码错误", "row {row}, column "
                              "{column}: the ID number's check character does not match"),
    "id_number_numeric": ("第{row}行“{column}”列身份号码被存成了数字，末几位已丢失", "row {row}, "
                          "column {column}: the ID number was stored as a number and lost "
                          "digits; format the column as text"),
    "no_identity": ("第{row}行既无有效身份号码也无姓名，已跳过", "row {row}: neither a valid ID "
                    "number nor a name; the row was skipped"),
}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class RowProblem:
    """One problem of one row of an imported register.

    Attributes:
        row: the row number in the file, header row included (as a spreadsheet shows it).
        column: the header of the column, or ``None`` for a problem of the whole row.
        field: the canonical field the column is mapped to, if any.
        code: a key of :data:`PROBLEM_MESSAGES`.
    """

    row: int
    column: str | None
    field: RegisterField | None
    code: str

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_MESSAGES:
            raise UsageError(f"row problem code {self.code!r} is not defined", code=self.code)
        if self.row < 1:
            raise UsageError(f"row problem: expected a row number >= 1, saw {self.row}")

    def _render(self, index: int) -> str:
        column = self.column if self.column is not None else ""
        return PROBLEM_MESSAGES[self.code][index].format(row=self.row, column=column)

    @property
    def message_zh(self) -> str:
        return self._render(0)

    @property
    def message_en(self) -> str:
        return self._render(1)
