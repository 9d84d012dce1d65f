"""Dataset stores for tests, the bench and small deployments: in memory, or one SQLite file.

Both implement :class:`~hub.crosscheck.dataset.DatasetSink` and
:class:`~hub.crosscheck.dataset.DatasetReader`. The SQLite store writes a whole
import in one transaction, so an import that fails halfway leaves the file as
it was; rows go in with ``executemany`` on tuples, values packed with msgpack
(ARCHITECTURE §11: tuples and large commits are what make bulk writes fast).
The hub's own store replaces these with tables in its database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import msgpack

from crypto.errors import UsageError
from hub.crosscheck.cells import Value
from hub.crosscheck.dataset import Dataset, FileFormat, RegisterRow
from hub.crosscheck.fields import RegisterField, SourceKind
from hub.crosscheck.problems import RowProblem

__all__ = ["MemoryDatasets", "SqliteDatasets", "pack_values", "row_from", "unpack_values"]

_FETCH: Final = 10_000


def _in_use(dataset_id: str) -> UsageError:
    return UsageError(f"dataset {dataset_id}: already exists or is being written")


class MemoryDatasets:
    """Datasets held in memory: for tests and small registers."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[list[RegisterRow], list[RowProblem]]] = {}
        self._done: dict[str, tuple[Dataset, list[RegisterRow], list[RowProblem]]] = {}

    def begin(self, dataset_id: str) -> None:
        if dataset_id in self._open or dataset_id in self._done:
            raise _in_use(dataset_id)
        self._open[dataset_id] = ([], [])

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        stored, found = self._open[dataset_id]
        stored.extend(rows)
        found.extend(problems)

    def commit(self, dataset: Dataset) -> None:
        rows, problems = self._open.pop(dataset.dataset_id)
        self._done[dataset.dataset_id] = (dataset, rows, problems)

    def abort(self, dataset_id: str) -> None:
        self._open.pop(dataset_id, None)

    def dataset_ids(self) -> tuple[str, ...]:
        """The committed datasets, in commit order."""
        return tuple(self._done)

    def dataset(self, dataset_id: str) -> Dataset:
        return self._done[dataset_id][0]

    def rows(self, dataset_id: str) -> Iterator[RegisterRow]:
        return iter(self._done[dataset_id][1])

    def rows_with_id(self, dataset_id: str, id_number: str) -> tuple[RegisterRow, ...]:
        return tuple(r for r in self._done[dataset_id][1] if r.id_number == id_number)

    def row(self, dataset_id: str, row: int) -> RegisterRow | None:
        return next((r for r in self._done[dataset_id][1] if r.row == row), None)

    def problems(self, dataset_id: str) -> Iterator[RowProblem]:
        return iter(self._done[dataset_id][2])

    def duplicate_id_numbers(self, dataset_id: str) -> Iterator[str]:
        counts: dict[str, int] = {}
        for row in self._done[dataset_id][1]:
            if row.id_number is not None:
                counts[row.id_number] = counts.get(row.id_number, 0) + 1
        return iter(sorted(number for number, count in counts.items() if count > 1))


_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS datasets (
        dataset_id TEXT PRIMARY KEY, description TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS register_rows (
        dataset_id TEXT NOT NULL, row INTEGER NOT NULL, id_number TEXT,
        bad_id_number TEXT, data BLOB NOT NULL, PRIMARY KEY (dataset_id, row))""",
    """CREATE INDEX IF NOT EXISTS register_rows_id ON register_rows (dataset_id, id_number)""",
    """CREATE TABLE IF NOT EXISTS row_problems (
        dataset_id TEXT NOT NULL, row INTEGER NOT NULL, seq INTEGER NOT NULL,
        column_name TEXT, field TEXT, code TEXT NOT NULL, PRIMARY KEY (dataset_id, seq))""",
)


def pack_values(values: tuple[tuple[str, Value], ...]) -> bytes:
    """A register row's values as stored: a msgpack array of ``[key, value]`` pairs."""
    packed: bytes = msgpack.packb([[key, value] for key, value in values], use_bin_type=True)
    return packed


def unpack_values(data: bytes) -> tuple[tuple[str, Value], ...]:
    """The inverse of :func:`pack_values`."""
    items = msgpack.unpackb(data, use_list=False, raw=False)
    return tuple((key, value) for key, value in items)


def row_from(record: tuple[Any, ...] | Sequence[Any]) -> RegisterRow:
    """A stored ``(row, id_number, bad_id_number, data)`` tuple as a :class:`RegisterRow`."""
    row, id_number, bad_id_number, data = record
    return RegisterRow(row=row, id_number=id_number, bad_id_number=bad_id_number,
                       values=unpack_values(data))  # fmt: skip


def _describe(dataset: Dataset) -> str:
    body = asdict(dataset)
    body["imported_at"] = dataset.imported_at.isoformat()
    body["as_of"] = dataset.as_of.isoformat()
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _dataset_from(text: str) -> Dataset:
    body = json.loads(text)
    body["source_kind"] = SourceKind(body["source_kind"])
    body["file_format"] = FileFormat(body["file_format"])
    body["imported_at"] = datetime.fromisoformat(body["imported_at"])
    body["as_of"] = date.fromisoformat(body["as_of"])
    return Dataset(**body)


class SqliteDatasets:
    """Datasets in one SQLite file; an import is one transaction.

    Args:
        path: the database file (created when missing).
    """

    def __init__(self, path: Path | str) -> None:
        # Autocommit mode: transactions are begun and ended explicitly below.
        self._db = sqlite3.connect(str(path), isolation_level=None)
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._writing: str | None = None
        self._problem_seq = 0

    def close(self) -> None:
        if self._writing is not None:
            self.abort(self._writing)
        self._db.close()

    def __enter__(self) -> SqliteDatasets:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def begin(self, dataset_id: str) -> None:
        if self._writing is not None or self._exists(dataset_id):
            raise _in_use(dataset_id)
        self._db.execute("BEGIN IMMEDIATE")
        self._writing = dataset_id
        self._problem_seq = 0

    def _exists(self, dataset_id: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM datasets WHERE dataset_id = ?", (dataset_id,)
        ).fetchone()
        return found is not None

    def _check_writing(self, dataset_id: str) -> None:
        if self._writing != dataset_id:
            raise UsageError(f"dataset {dataset_id}: not being written by this store")

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        self._check_writing(dataset_id)
        self._db.executemany(
            "INSERT INTO register_rows VALUES (?, ?, ?, ?, ?)",
            [
                (dataset_id, r.row, r.id_number, r.bad_id_number, pack_values(r.values))
                for r in rows
            ],
        )
        start = self._problem_seq
        self._problem_seq += len(problems)
        self._db.executemany(
            "INSERT INTO row_problems VALUES (?, ?, ?, ?, ?, ?)",
            [
                (dataset_id, p.row, start + i, p.column, p.field.value if p.field else None, p.code)
                for i, p in enumerate(problems)
            ],
        )

    def commit(self, dataset: Dataset) -> None:
        self._check_writing(dataset.dataset_id)
        self._db.execute("INSERT INTO datasets VALUES (?, ?)",
                         (dataset.dataset_id, _describe(dataset)))  # fmt: skip
        self._db.execute("COMMIT")
        self._writing = None

    def abort(self, dataset_id: str) -> None:
        if self._writing == dataset_id:
            self._db.execute("ROLLBACK")
            self._writing = None

    def dataset_ids(self) -> tuple[str, ...]:
        """The committed datasets, in id order."""
        found = self._db.execute("SELECT dataset_id FROM datasets ORDER BY dataset_id")
        return tuple(row[0] for row in found)

    def dataset(self, dataset_id: str) -> Dataset:
        found = self._db.execute(
            "SELECT description FROM datasets WHERE dataset_id = ?", (dataset_id,)
        ).fetchone()
        if found is None:
            raise KeyError(dataset_id)
        return _dataset_from(found[0])

    def rows(self, dataset_id: str) -> Iterator[RegisterRow]:
        self.dataset(dataset_id)
        # Paged by row number, so no cursor stays open across the caller's work.
        last = 0
        while True:
            page = self._db.execute(
                "SELECT row, id_number, bad_id_number, data FROM register_rows "
                "WHERE dataset_id = ? AND row > ? ORDER BY row LIMIT ?",
                (dataset_id, last, _FETCH),
            ).fetchall()
            if not page:
                return
            for record in page:
                yield row_from(record)
            last = page[-1][0]

    def rows_with_id(self, dataset_id: str, id_number: str) -> tuple[RegisterRow, ...]:
        found = self._db.execute(
            "SELECT row, id_number, bad_id_number, data FROM register_rows "
            "WHERE dataset_id = ? AND id_number = ? ORDER BY row",
            (dataset_id, id_number),
        )
        return tuple(row_from(record) for record in found)

    def row(self, dataset_id: str, row: int) -> RegisterRow | None:
        found = self._db.execute(
            "SELECT row, id_number, bad_id_number, data FROM register_rows "
            "WHERE dataset_id = ? AND row = ?",
            (dataset_id, row),
        ).fetchone()
        return row_from(found) if found is not None else None

    def problems(self, dataset_id: str) -> Iterator[RowProblem]:
        # Paged like rows(): a badly broken file can have a problem on every row.
        last = -1
        while True:
            page = self._db.execute(
                "SELECT seq, row, column_name, field, code FROM row_problems "
                "WHERE dataset_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (dataset_id, last, _FETCH),
            ).fetchall()
            if not page:
                return
            for _seq, row, column, field, code in page:
                yield RowProblem(row=row, column=column,
                                 field=RegisterField(field) if field else None,
                                 code=code)  # fmt: skip
            last = page[-1][0]

    def duplicate_id_numbers(self, dataset_id: str) -> Iterator[str]:
        found = self._db.execute(
            "SELECT id_number FROM register_rows WHERE dataset_id = ? AND id_number IS NOT NULL "
            "GROUP BY id_number HAVING COUNT(*) > 1 ORDER BY id_number",
            (dataset_id,),
        ).fetchall()
        return iter(row[0] for row in found)
