"""Reading schema tables (CSV text) into rows that know where they came from.

Every complaint about a table names the file, the line and the column, so the
person who edited a deployment's table can find the cell to fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from protocol.errors import SchemaDefinitionError

__all__ = ["Row", "normalise_table_text", "read_table", "table_error"]


def table_error(table: str, line: int, column: str, message: str) -> SchemaDefinitionError:
    """Return the error for one cell of a table."""
    return SchemaDefinitionError(
        f"{table} line {line}, column {column}: {message}", table=table, line=line, column=column
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One data row of a table, with its file name and line number."""

    table: str
    line: int
    cells: Mapping[str, str]

    def get(self, column: str) -> str:
        """Return the stripped cell, or ``""`` when the column is absent or empty."""
        return (self.cells.get(column) or "").strip()

    def fail(self, column: str, message: str) -> SchemaDefinitionError:
        """Return the error for this row's ``column``."""
        return table_error(self.table, self.line, column, message)

    def flag(self, column: str, *, default: bool = False) -> bool:
        """Return a ``y``/``n`` cell as a bool (empty gives ``default``).

        Raises:
            SchemaDefinitionError: the cell is neither ``y``, ``n`` nor empty.
        """
        cell = self.get(column)
        if not cell:
            return default
        if cell not in ("y", "n"):
            raise self.fail(column, f"expected y or n, saw {cell!r}")
        return cell == "y"

    def nonempty(self, column: str) -> str:
        """Return a cell that must not be empty.

        Raises:
            SchemaDefinitionError: the cell is empty.
        """
        cell = self.get(column)
        if not cell:
            raise self.fail(column, "expected a value, saw an empty cell")
        return cell


def normalise_table_text(text: str) -> str:
    """Drop a byte-order mark and use ``\\n`` line ends, so edited copies hash alike."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def read_table(name: str, text: str, *, required: Iterable[str]) -> tuple[Row, ...]:
    """Parse CSV ``text`` (one header row) into rows.

    Raises:
        SchemaDefinitionError: a required column is missing, or a row has more
            cells than the header.
    """
    reader = csv.DictReader(io.StringIO(normalise_table_text(text)))
    header = reader.fieldnames or ()
    for column in required:
        if column not in header:
            raise table_error(name, 1, column, "expected this column in the header")
    rows: list[Row] = []
    for cells in reader:
        if None in cells:
            raise table_error(name, reader.line_num, "-", "row has more cells than the header")
        rows.append(Row(table=name, line=reader.line_num, cells=cells))
    return tuple(rows)


def unique(rows: Iterable[Row], column: str) -> None:
    """Check that no two rows share a value in ``column``.

    Raises:
        SchemaDefinitionError: naming the second row with a repeated value.
    """
    seen: dict[str, int] = {}
    for row in rows:
        value = row.get(column)
        if value in seen:
            raise row.fail(column, f"duplicate {value!r} (first on line {seen[value]})")
        seen[value] = row.line
