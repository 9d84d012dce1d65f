"""Importing a register: file → normalised rows in chunks → a committed dataset.

:class:`RowReader` is the pure part: one raw row in, one :class:`RegisterRow`
(or none) and its :class:`RowProblem` values out. :func:`import_register` is the
shell around it: it streams the file (:mod:`hub.crosscheck.reading`), hands rows
to the sink in chunks, and commits the dataset only after the last row, so
memory stays bounded by the chunk size and a file that fails halfway leaves
nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

from crypto.errors import UsageError
from hub.crosscheck.cells import CellParser, CellReject, Value
from hub.crosscheck.dataset import Dataset, DatasetSink, RegisterRow
from hub.crosscheck.errors import MappingError
from hub.crosscheck.fields import DECEASED, RegisterField, header_key
from hub.crosscheck.mapping import ColumnMapping, ColumnRule
from hub.crosscheck.problems import RowProblem
from hub.crosscheck.reading import RawRow, open_register
from protocol.divisions import Divisions
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = ["DEFAULT_CHUNK_ROWS", "RowReader", "import_register"]

#: Rows handed to the sink at a time: large enough for fast bulk writes, small in memory.
DEFAULT_CHUNK_ROWS: Final = 5_000
_LIVING_KEY: Final = RegisterField.LIVING_STATUS.value
_DEATH_KEY: Final = RegisterField.DEATH_DATE.value
_MAX_BAD_ID: Final = 40


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


@dataclass(frozen=True, slots=True)
class _Column:
    position: int
    rule: ColumnRule
    key: str
    required: bool
    parse: Callable[[object], Value | None]


class RowReader:
    """Turns raw rows of one register into :class:`RegisterRow` values (pure).

    Args:
        mapping: the column mapping.
        headers: the file's header row.
        parser: reads single cells (schema, division table and the register's date).
        schema: checks the mapping's categories.

    Raises:
        MappingError: a mapped column is not in the header row, or a category is unknown.
    """

    __slots__ = ("_categories", "_columns", "_id_column", "_implied", "_parser")

    def __init__(
        self,
        mapping: ColumnMapping,
        headers: Sequence[str],
        *,
        parser: CellParser,
        schema: Schema,
    ) -> None:
        for key in mapping.categories:
            if key not in schema.category_field.allowed_values:
                raise MappingError(f"column mapping {mapping.source}: unknown subject "
                                   f"category {key[:40]!r}")  # fmt: skip
        self._parser = parser
        self._categories = tuple(sorted(set(mapping.categories)))
        self._implied = {field.value: value for field, value in mapping.implied}
        required = set(mapping.required)
        columns = [
            _Column(position, rule, _LIVING_KEY if rule.field is RegisterField.DECEASED
                    else rule.field.value, rule.field in required, parser.column(rule.field))
            for position, rule in mapping.locate(headers)
        ]  # fmt: skip
        self._id_column = next((c for c in columns if c.rule.field is RegisterField.ID_NUMBER),
                               None)  # fmt: skip
        self._columns = tuple(c for c in columns if c is not self._id_column)

    def read(self, number: int, cells: RawRow) -> tuple[RegisterRow | None, list[RowProblem]]:
        """Read one non-blank row; ``None`` when nothing in it identifies a person."""
        problems: list[RowProblem] = []
        id_number, bad_id = self._read_id(number, cells, problems)
        values: dict[str, Value] = {}
        for column in self._columns:
            raw = cells[column.position] if column.position < len(cells) else None
            try:
                value = column.parse(raw)
            except CellReject as reject:
                problems.append(self._problem(number, column, reject.code))
                continue
            if value is None:
                if column.required:
                    problems.append(self._problem(number, column, "blank_required"))
                continue
            values[column.key] = value
        if _DEATH_KEY in values and _LIVING_KEY not in values:
            values[_LIVING_KEY] = DECEASED
        for key, value in self._implied.items():
            values.setdefault(key, value)
        if self._categories:
            found = values.get(CATEGORY_FIELD, ())
            held = found if isinstance(found, tuple) else ()
            values[CATEGORY_FIELD] = tuple(sorted(set(held) | set(self._categories)))
        if id_number is None and bad_id is None and RegisterField.NAME.value not in values:
            problems.append(RowProblem(row=number, column=None, field=None, code="no_identity"))
            return None, problems
        row = RegisterRow(row=number, id_number=id_number, bad_id_number=bad_id,
                          values=tuple(sorted(values.items())))  # fmt: skip
        return row, problems

    def _read_id(
        self, number: int, cells: RawRow, problems: list[RowProblem]
    ) -> tuple[str | None, str | None]:
        column = self._id_column
        if column is None:
            return None, None
        raw = cells[column.position] if column.position < len(cells) else None
        if _blank(raw):
            if column.required:
                problems.append(self._problem(number, column, "blank_required"))
            return None, None
        try:
            value = self._parser.parse(RegisterField.ID_NUMBER, raw)
        except CellReject as reject:
            problems.append(self._problem(number, column, reject.code))
            return None, str(raw).strip()[:_MAX_BAD_ID]
        return (value if isinstance(value, str) else None), None

    @staticmethod
    def _problem(number: int, column: _Column, code: str) -> RowProblem:
        return RowProblem(row=number, column=column.rule.header, field=column.rule.field,
                          code=code)  # fmt: skip


def _mapped_header(mapping: ColumnMapping) -> Callable[[Sequence[str]], bool]:
    wanted = {header_key(rule.header) for rule in mapping.columns}

    def is_header(texts: Sequence[str]) -> bool:
        return wanted <= {header_key(text) for text in texts}

    return is_header


def import_register(
    path: Path,
    mapping: ColumnMapping,
    sink: DatasetSink,
    *,
    dataset_id: str,
    imported_by: str,
    imported_at: datetime,
    as_of: date | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    schema: Schema | None = None,
    divisions: Divisions | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    file_name: str | None = None,
) -> Dataset:
    """Import a register file into a new dataset.

    Args:
        path: the CSV or XLSX file.
        mapping: the source's column mapping.
        sink: where rows are written; committed at the end, aborted on any failure.
        dataset_id: 32 hex digits for the new dataset.
        imported_by: the administrator's login.
        imported_at: now (aware); the shell reads the clock.
        as_of: the register's extract date (default: the day of ``imported_at``).
        encoding: force a CSV's encoding; detected when ``None``.
        sheet: the XLSX worksheet; the first one when ``None``.
        schema: the record schema (default: the packaged one).
        divisions: the division table (default: the packaged one).
        chunk_rows: rows per :meth:`DatasetSink.add_rows` call.
        file_name: the name the file was uploaded under (default: ``path``'s name).

    Returns:
        The committed dataset, with its counts and content hash.

    Raises:
        RegisterFileError: the file cannot be read as a whole; nothing is stored.
        MappingError: the mapping does not fit the file's header row; nothing is stored.
    """
    if chunk_rows < 1:
        raise UsageError(f"import: expected chunk_rows >= 1, saw {chunk_rows}")
    schema = schema or Schema.default()
    as_of = as_of or imported_at.date()
    parser = CellParser(schema=schema, divisions=divisions or Divisions.default(), as_of=as_of)
    is_header = _mapped_header(mapping)
    sink.begin(dataset_id)
    try:
        with open_register(path, encoding=encoding, sheet=sheet, is_header=is_header) as register:
            reader = RowReader(mapping, register.headers, parser=parser, schema=schema)
            counts = _Counts()
            rows: list[RegisterRow] = []
            problems: list[RowProblem] = []
            for number, cells in register.rows():
                if all(_blank(cell) for cell in cells):
                    counts.blank += 1
                    continue
                counts.read += 1
                row, found = reader.read(number, cells)
                problems.extend(found)
                if row is None:
                    counts.skipped += 1
                else:
                    rows.append(row)
                if len(rows) >= chunk_rows or len(problems) >= chunk_rows:
                    counts.problems += len(problems)
                    sink.add_rows(dataset_id, rows, problems)
                    rows, problems = [], []
            counts.problems += len(problems)
            sink.add_rows(dataset_id, rows, problems)
            digest = register.finish()
            dataset = Dataset(
                dataset_id=dataset_id,
                source=mapping.source,
                source_kind=mapping.source_kind,
                file_name=(file_name or path.name)[:200],
                file_format=register.file_format,
                encoding=register.encoding,
                content_hash=digest,
                imported_by=imported_by,
                imported_at=imported_at,
                as_of=as_of,
                rows_read=counts.read,
                rows_stored=counts.read - counts.skipped,
                rows_skipped=counts.skipped,
                blank_rows=counts.blank,
                problem_count=counts.problems,
                mapping_json=mapping.to_json(),
            )
        sink.commit(dataset)
    except BaseException:
        sink.abort(dataset_id)
        raise
    return dataset


class _Counts:
    __slots__ = ("blank", "problems", "read", "skipped")

    def __init__(self) -> None:
        self.read = self.skipped = self.blank = self.problems = 0
