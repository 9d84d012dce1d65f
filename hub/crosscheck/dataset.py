"""Imported registers as dated, immutable datasets, and the seam where they are stored.

An import writes normalised rows in chunks to a :class:`DatasetSink` and, only
when the whole file was read, commits a :class:`Dataset` describing it; a failed
import aborts and leaves nothing behind. Matching reads them back through a
:class:`DatasetReader`. The hub implements both over its database;
:mod:`hub.crosscheck.stores` has an in-memory and an SQLite-file implementation
for tests, the bench and small deployments.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Protocol

from crypto.errors import UsageError
from hub.crosscheck.cells import Value
from hub.crosscheck.fields import RegisterField, SourceKind
from hub.crosscheck.problems import RowProblem

__all__ = [
    "Dataset",
    "DatasetReader",
    "DatasetSink",
    "FileFormat",
    "RegisterRow",
]

_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_CONTENT_HASH: Final = re.compile(r"b2:[0-9a-f]{64}")
_NAME: Final = RegisterField.NAME.value
_BIRTH: Final = RegisterField.BIRTH_DATE.value
_SEX: Final = RegisterField.SEX.value
_DIVISION: Final = RegisterField.HUKOU_DIVISION_CODE.value


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterRow:
    """One normalised row of a register.

    Attributes:
        row: the row number in the file (header row included).
        id_number: the canonical 18-character ID number, when the cell held a valid one.
        bad_id_number: the cell's text when it held an ID number that fails GB 11643
            (kept so the office can correct it; never logged).
        values: canonical values by record field key (``name``, ``sex``,
            ``living_status``, ``death_date``, ...), sorted by key, the ID number excluded.
    """

    row: int
    # Personal data stays out of reprs (and so out of tracebacks and logs).
    id_number: str | None = field(repr=False)
    bad_id_number: str | None = field(default=None, repr=False)
    values: tuple[tuple[str, Value], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.row < 1:
            raise UsageError(f"register row: expected a row number >= 1, saw {self.row}")
        keys = [key for key, _value in self.values]
        if keys != sorted(set(keys)):
            raise UsageError(f"register row {self.row}: values must be sorted by unique key")
        if self.id_number is not None and self.bad_id_number is not None:
            raise UsageError(f"register row {self.row}: an ID number is either valid or bad")

    def get(self, key: str) -> Value | None:
        """The row's canonical value of a record field, or ``None``."""
        for found, value in self.values:
            if found == key:
                return value
        return None

    @property
    def name(self) -> str | None:
        value = self.get(_NAME)
        return value if isinstance(value, str) else None

    @property
    def birth_date(self) -> str | None:
        value = self.get(_BIRTH)
        return value if isinstance(value, str) else None

    @property
    def sex(self) -> str | None:
        value = self.get(_SEX)
        return value if isinstance(value, str) else None

    @property
    def division_code(self) -> str | None:
        """The household registration division code (6, 9 or 12 digits), if given."""
        value = self.get(_DIVISION)
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """One imported register: where it came from, who imported it, and what it held.

    Attributes:
        dataset_id: 32 hex digits, chosen before the import starts.
        source: the register's name (the column mapping's ``source``).
        source_kind: the department it comes from.
        file_name: the uploaded file's base name.
        file_format: CSV or XLSX.
        encoding: the text encoding a CSV was read with (``None`` for XLSX).
        content_hash: ``b2:`` + BLAKE2b-256 hex of the file's bytes (``b2sum -l 256``).
        imported_by: the login of the administrator who imported it.
        imported_at: when the import finished (aware).
        as_of: the register's own date (the extract date); dates after it are rejected.
        rows_read: data rows read, blank rows excluded.
        rows_stored: rows stored (``rows_read`` minus those skipped).
        rows_skipped: rows with nothing identifying the person.
        blank_rows: blank rows passed over.
        problem_count: row problems reported.
        mapping_json: the column mapping the import used (:meth:`ColumnMapping.to_json`).
    """

    dataset_id: str
    source: str
    source_kind: SourceKind
    file_name: str
    file_format: FileFormat
    encoding: str | None
    content_hash: str
    imported_by: str
    imported_at: datetime
    as_of: date
    rows_read: int
    rows_stored: int
    rows_skipped: int
    blank_rows: int
    problem_count: int
    mapping_json: str

    def __post_init__(self) -> None:
        if not _HEX32.fullmatch(self.dataset_id):
            raise UsageError("dataset: id must be 32 hex digits")
        if not _CONTENT_HASH.fullmatch(self.content_hash):
            raise UsageError(f"dataset {self.dataset_id}: content hash must be b2:<64 hex>")
        if self.imported_at.tzinfo is None:
            raise UsageError(f"dataset {self.dataset_id}: imported_at must be timezone-aware")
        counts = (self.rows_read, self.rows_stored, self.rows_skipped, self.blank_rows,
                  self.problem_count)  # fmt: skip
        if min(counts) < 0 or self.rows_stored + self.rows_skipped != self.rows_read:
            raise UsageError(
                f"dataset {self.dataset_id}: expected rows_stored + rows_skipped == rows_read, "
                f"saw {self.rows_stored} + {self.rows_skipped} != {self.rows_read}"
            )


class DatasetSink(Protocol):
    """Where an import writes a dataset: all of it on :meth:`commit`, none on :meth:`abort`."""

    def begin(self, dataset_id: str) -> None:
        """Start writing a new dataset (its id must be new)."""

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        """Write one chunk of rows and the problems found in them."""

    def commit(self, dataset: Dataset) -> None:
        """Make the dataset and everything written for it visible, at once."""

    def abort(self, dataset_id: str) -> None:
        """Drop everything written for the dataset; it never becomes visible."""


class DatasetReader(Protocol):
    """Committed datasets, read back for matching, re-checks and the console."""

    def dataset(self, dataset_id: str) -> Dataset:
        """The dataset's description; raises ``KeyError`` when it does not exist."""

    def rows(self, dataset_id: str) -> Iterator[RegisterRow]:
        """Every stored row, in row order, streamed (never all in memory)."""

    def rows_with_id(self, dataset_id: str, id_number: str) -> tuple[RegisterRow, ...]:
        """The rows holding a canonical ID number (for re-checks)."""

    def row(self, dataset_id: str, row: int) -> RegisterRow | None:
        """One row by its number, or ``None``."""

    def problems(self, dataset_id: str) -> Iterator[RowProblem]:
        """The row problems of the import, in row order."""

    def duplicate_id_numbers(self, dataset_id: str) -> Iterator[str]:
        """ID numbers that appear on more than one row of the dataset."""
