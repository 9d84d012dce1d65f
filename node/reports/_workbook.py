"""Formatted tables in openpyxl workbooks, and writing a workbook without a half-written file."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from node.fsutil import write_atomic
from node.reports.errors import ReportWriteError

__all__ = ["Column", "Format", "add_table", "save_workbook", "title_cell"]

_HEADER_FONT: Final = Font(bold=True, color="FFFFFF")
_HEADER_FILL: Final = PatternFill("solid", fgColor="1F4E79")
_TITLE_FONT: Final = Font(bold=True, size=14)
#: The longest sheet name Excel accepts.
MAX_SHEET_NAME: Final = 31


class Format(Enum):
    """Number formats of the report columns."""

    TEXT = "@"
    COUNT = "#,##0"
    PERCENT = "0.0%"
    RATE = "0.00"
    DAYS = "0"
    DATE = "yyyy-mm-dd"


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One column of a table: its header, number format and width (in characters)."""

    header: str
    format: Format = Format.COUNT
    width: int = 12


def add_table(
    workbook: Workbook, name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> Worksheet:
    """Add a sheet holding one table: a frozen, filtered header row, widths and formats."""
    sheet: Worksheet = workbook.create_sheet(title=name[:MAX_SHEET_NAME])
    sheet.append([c.header for c in columns])
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    count = 0
    for count, row in enumerate(rows, start=2):
        sheet.append(list(row))
        for index, column in enumerate(columns, start=1):
            sheet.cell(row=count, column=index).number_format = column.format.value
    sheet.freeze_panes = "A2"
    if count:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count}"
    return sheet


def title_cell(sheet: Worksheet, text: str) -> None:
    """Put a sheet title in A1 in large bold type."""
    sheet["A1"] = text
    sheet["A1"].font = _TITLE_FONT


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Write ``workbook`` to ``path`` completely or not at all.

    Raises:
        ReportWriteError: the file cannot be written (no space, no permission,
            no such directory); nothing is left at ``path``.
    """
    buffer = io.BytesIO()
    workbook.save(buffer)
    try:
        write_atomic(Path(path), buffer.getvalue(), mode=0o640)
    except OSError as exc:
        raise ReportWriteError(
            f"report file: cannot write {Path(path).name} ({exc.strerror or type(exc).__name__})",
            errno=exc.errno,
        ) from exc
