"""Datasets in the hub's own store (SQLite or PostgreSQL): the engine's storage seam, filled.

:class:`DatasetWriter` is the :class:`~hub.crosscheck.dataset.DatasetSink` of one
import. Each chunk is its own short transaction (the rows by ``COPY`` on
PostgreSQL, ``executemany`` on SQLite: :func:`hub.store.bulk.insert_rows`), so
a million-row import never holds the store's writer lock for long and never
holds more than a chunk in memory. Until :meth:`~DatasetWriter.commit` the
dataset's row says ``writing`` and readers do not see it; ``abort`` deletes
what was written, and :func:`sweep_abandoned` does the same for an import whose
process died (its heartbeat stopped).

:class:`StoreDatasets` is the :class:`~hub.crosscheck.dataset.DatasetReader`:
committed datasets only, rows streamed a page at a time, each page its own read
transaction (nothing stays open across the caller's work).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crypto.errors import UsageError
from hub.crosscheck.dataset import Dataset, FileFormat, RegisterRow
from hub.crosscheck.fields import RegisterField, SourceKind
from hub.crosscheck.problems import RowProblem
from hub.crosscheck.stores import pack_values, row_from
from hub.store.bulk import insert_rows
from hub.store.crosscheck_models import DatasetRow, RegisterRowRow, RowProblemRow
from hub.store.engine import Store

__all__ = ["COMMITTED", "WRITING", "DatasetWriter", "StoreDatasets", "sweep_abandoned"]

WRITING: Final = "writing"
COMMITTED: Final = "committed"
_PAGE: Final = 5_000
_ROW_COLUMNS: Final = ("dataset_id", "row", "id_number", "bad_id_number", "data")
_PROBLEM_COLUMNS: Final = ("dataset_id", "seq", "row", "column_name", "field", "code")
_ROW_FIELDS: Final = (
    RegisterRowRow.row,
    RegisterRowRow.id_number,
    RegisterRowRow.bad_id_number,
    RegisterRowRow.data,
)


def _in_use(dataset_id: str) -> UsageError:
    return UsageError(f"dataset {dataset_id}: already exists or is being written")


class DatasetWriter:
    """Writes one import into the store (a :class:`~hub.crosscheck.dataset.DatasetSink`).

    Args:
        store: the hub's store.
        source: the register's name; ``source_kind`` its department.
        now: the clock (heartbeats and the start time).
    """

    def __init__(
        self, store: Store, *, source: str, source_kind: SourceKind, now: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._source = source
        self._kind = source_kind
        self._now = now
        self._writing: str | None = None
        self._seq = 0
        self._rows = 0

    def begin(self, dataset_id: str) -> None:
        if self._writing is not None:
            raise _in_use(dataset_id)
        now = self._now()
        with self._store.write() as session:
            if session.get(DatasetRow, dataset_id) is not None:
                raise _in_use(dataset_id)
            session.add(
                DatasetRow(
                    dataset_id=dataset_id,
                    state=WRITING,
                    source=self._source,
                    source_kind=self._kind.value,
                    started_at=now,
                    heartbeat_at=now,
                    rows_written=0,
                )
            )
        self._writing, self._seq, self._rows = dataset_id, 0, 0

    def _check(self, dataset_id: str) -> None:
        if self._writing != dataset_id:
            raise UsageError(f"dataset {dataset_id}: not being written by this writer")

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        self._check(dataset_id)
        start, self._seq = self._seq, self._seq + len(problems)
        with self._store.write() as session:
            written = session.get(DatasetRow, dataset_id, with_for_update=True)
            if written is None or written.state != WRITING:
                raise UsageError(f"dataset {dataset_id}: its import was swept away as abandoned")
            insert_rows(
                session,
                RegisterRowRow.__tablename__,
                _ROW_COLUMNS,
                [(dataset_id, r.row, r.id_number, r.bad_id_number, pack_values(r.values))
                 for r in rows],
            )  # fmt: skip
            insert_rows(
                session,
                RowProblemRow.__tablename__,
                _PROBLEM_COLUMNS,
                [(dataset_id, start + i, p.row, p.column, p.field.value if p.field else None,
                  p.code) for i, p in enumerate(problems)],
            )  # fmt: skip
            self._rows += len(rows)
            written.rows_written = self._rows
            written.heartbeat_at = self._now()

    def commit(self, dataset: Dataset) -> None:
        self._check(dataset.dataset_id)
        if dataset.rows_stored != self._rows:
            raise UsageError(
                f"dataset {dataset.dataset_id}: {self._rows} rows written, "
                f"the description says {dataset.rows_stored}"
            )
        with self._store.write() as session:
            row = session.get(DatasetRow, dataset.dataset_id, with_for_update=True)
            if row is None or row.state != WRITING:
                raise UsageError(
                    f"dataset {dataset.dataset_id}: its import was swept away as abandoned"
                )
            _describe(row, dataset)
            row.state = COMMITTED
            row.heartbeat_at = self._now()
        self._writing = None

    def abort(self, dataset_id: str) -> None:
        if self._writing != dataset_id:
            return
        self._writing = None
        with self._store.write() as session:
            _delete(session, dataset_id)


def _describe(row: DatasetRow, dataset: Dataset) -> None:
    row.source = dataset.source
    row.source_kind = dataset.source_kind.value
    row.file_name = dataset.file_name
    row.file_format = dataset.file_format.value
    row.encoding = dataset.encoding
    row.content_hash = dataset.content_hash
    row.imported_by = dataset.imported_by
    row.imported_at = dataset.imported_at
    row.as_of = dataset.as_of
    row.rows_read = dataset.rows_read
    row.rows_stored = dataset.rows_stored
    row.rows_skipped = dataset.rows_skipped
    row.blank_rows = dataset.blank_rows
    row.problem_count = dataset.problem_count
    row.mapping_json = dataset.mapping_json


def _delete(session: Session, dataset_id: str) -> None:
    for model in (RegisterRowRow, RowProblemRow):
        session.execute(sa.delete(model).where(model.dataset_id == dataset_id))
    session.execute(
        sa.delete(DatasetRow).where(
            DatasetRow.dataset_id == dataset_id, DatasetRow.state == WRITING
        )
    )


def sweep_abandoned(store: Store, *, now: datetime, older_than: timedelta) -> tuple[str, ...]:
    """Delete imports still ``writing`` whose last chunk is older than ``older_than``.

    Returns:
        The dataset ids swept away.
    """
    with store.write() as session:
        stale = tuple(
            session.scalars(
                sa.select(DatasetRow.dataset_id).where(
                    DatasetRow.state == WRITING, DatasetRow.heartbeat_at < now - older_than
                )
            )
        )
        for dataset_id in stale:
            _delete(session, dataset_id)
    return stale


def dataset_of(row: DatasetRow) -> Dataset:
    """A committed dataset row as the engine's :class:`Dataset`."""
    # A committed row was described in full by DatasetWriter.commit.
    assert row.imported_at is not None
    assert row.as_of is not None
    assert row.content_hash is not None
    assert row.file_format is not None
    return Dataset(
        dataset_id=row.dataset_id,
        source=row.source,
        source_kind=SourceKind(row.source_kind),
        file_name=row.file_name or "",
        file_format=FileFormat(row.file_format),
        encoding=row.encoding,
        content_hash=row.content_hash,
        imported_by=row.imported_by or "",
        imported_at=row.imported_at,
        as_of=row.as_of,
        rows_read=row.rows_read or 0,
        rows_stored=row.rows_stored or 0,
        rows_skipped=row.rows_skipped or 0,
        blank_rows=row.blank_rows or 0,
        problem_count=row.problem_count or 0,
        mapping_json=row.mapping_json or "",
    )


class StoreDatasets:
    """Committed datasets in the hub store (a :class:`~hub.crosscheck.dataset.DatasetReader`)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def dataset(self, dataset_id: str) -> Dataset:
        with self._store.read() as session:
            row = session.get(DatasetRow, dataset_id)
            if row is None or row.state != COMMITTED:
                raise KeyError(dataset_id)
            return dataset_of(row)

    def newest(self, source: str) -> Dataset | None:
        """The newest committed dataset of a source (by import time), or ``None``."""
        with self._store.read() as session:
            row = session.scalars(
                sa.select(DatasetRow)
                .where(DatasetRow.source == source, DatasetRow.state == COMMITTED)
                .order_by(DatasetRow.imported_at.desc(), DatasetRow.dataset_id.desc())
                .limit(1)
            ).first()
            return None if row is None else dataset_of(row)

    def rows(self, dataset_id: str) -> Iterator[RegisterRow]:
        self.dataset(dataset_id)
        last = 0
        while True:
            with self._store.read() as session:
                page = session.execute(
                    sa.select(*_ROW_FIELDS)
                    .where(RegisterRowRow.dataset_id == dataset_id, RegisterRowRow.row > last)
                    .order_by(RegisterRowRow.row)
                    .limit(_PAGE)
                ).all()
            if not page:
                return
            for record in page:
                yield row_from(record)
            last = page[-1][0]

    def rows_with_id(self, dataset_id: str, id_number: str) -> tuple[RegisterRow, ...]:
        with self._store.read() as session:
            found = session.execute(
                sa.select(*_ROW_FIELDS)
                .where(
                    RegisterRowRow.dataset_id == dataset_id, RegisterRowRow.id_number == id_number
                )
                .order_by(RegisterRowRow.row)
            ).all()
        return tuple(row_from(record) for record in found)

    def row(self, dataset_id: str, row: int) -> RegisterRow | None:
        with self._store.read() as session:
            found = session.execute(
                sa.select(*_ROW_FIELDS).where(
                    RegisterRowRow.dataset_id == dataset_id, RegisterRowRow.row == row
                )
            ).first()
        return None if found is None else row_from(found)

    def problems(self, dataset_id: str, *, limit: int | None = None) -> Iterator[RowProblem]:
        last, given = -1, 0
        while limit is None or given < limit:
            with self._store.read() as session:
                page = session.execute(
                    sa.select(
                        RowProblemRow.seq,
                        RowProblemRow.row,
                        RowProblemRow.column_name,
                        RowProblemRow.field,
                        RowProblemRow.code,
                    )
                    .where(RowProblemRow.dataset_id == dataset_id, RowProblemRow.seq > last)
                    .order_by(RowProblemRow.seq)
                    .limit(_PAGE if limit is None else min(_PAGE, limit - given))
                ).all()
            if not page:
                return
            for _seq, row, column, field, code in page:
                given += 1
                yield RowProblem(row=row, column=column,
                                 field=RegisterField(field) if field else None,
                                 code=code)  # fmt: skip
            last = page[-1][0]

    def duplicate_id_numbers(self, dataset_id: str) -> Iterator[str]:
        with self._store.read() as session:
            found = session.scalars(
                sa.select(RegisterRowRow.id_number)
                .where(
                    RegisterRowRow.dataset_id == dataset_id, RegisterRowRow.id_number.is_not(None)
                )
                .group_by(RegisterRowRow.id_number)
                .having(sa.func.count() > 1)
                .order_by(RegisterRowRow.id_number)
            ).all()
        return iter(number for number in found if number is not None)
