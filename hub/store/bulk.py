"""Bulk reads and writes of record rows, on the raw driver (executemany, or COPY).

SQLAlchemy's ORM costs several times the driver's own executemany on tuples
(ARCHITECTURE §11), and a merge writes one row per record, so the merge path talks
to the driver directly. PostgreSQL loads new rows with ``COPY``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
import zstandard
from sqlalchemy.orm import Session

from hub.store.models import OpBatch, RecordRow
from protocol.merge import RecordState
from protocol.ops import STATUS_LIVE

__all__ = [
    "RecordWrite",
    "dumps",
    "insert_op_batch",
    "insert_rows",
    "live_holders",
    "load_states",
    "write_records",
]

_COPY: Final = "COPY records (record_id, id_number, status, site, data, versions) FROM STDIN"
_INSERT: Final = (
    "INSERT INTO records (record_id, id_number, status, site, data, versions) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_SQLITE: Final = (
    "UPDATE records SET id_number = ?, status = ?, site = ?, data = ?, versions = ? "
    "WHERE record_id = ?"
)
_UPDATE_POSTGRES: Final = (
    "UPDATE records SET id_number = %s, status = %s, site = %s, data = %s::jsonb, "
    "versions = %s::jsonb WHERE record_id = %s"
)
#: One merge step's ops: zstd level 1 (fast) over their canonical bytes.
_COMPRESS: Final = 1

RecordWrite = tuple[str, str | None, str, str, str, str]
"""``(record_id, id_number, status, site, data JSON, versions JSON)``."""


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 text kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load_states(
    session: Session, record_ids: Iterable[str]
) -> dict[str, tuple[RecordState, dict[str, Any], str]]:
    """The stored states of these records: ``id → (state, versions, site)``."""
    found: dict[str, tuple[RecordState, dict[str, Any], str]] = {}
    ids = list(record_ids)
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            sa.select(
                RecordRow.record_id, RecordRow.data, RecordRow.versions, RecordRow.site
            ).where(RecordRow.record_id.in_(ids[start : start + 5000]))
        ).all()
        for record_id, data, versions, site in rows:
            found[record_id] = (RecordState.from_row(record_id, data, versions), versions, site)
    return found


def live_holders(session: Session, numbers: Iterable[str]) -> dict[str, set[str]]:
    """Which live records hold each of these ID numbers (any town in the store)."""
    holders: dict[str, set[str]] = {}
    wanted = list(numbers)
    for start in range(0, len(wanted), 5000):
        rows = session.execute(
            sa.select(RecordRow.id_number, RecordRow.record_id).where(
                RecordRow.id_number.in_(wanted[start : start + 5000]),
                RecordRow.status == STATUS_LIVE,
            )
        ).all()
        for number, record_id in rows:
            if number is not None:
                holders.setdefault(number, set()).add(record_id)
    return holders


def write_records(
    session: Session, new: Sequence[RecordWrite], changed: Sequence[RecordWrite]
) -> None:
    """Insert new rows and update changed ones, on the raw driver."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    if new:
        if postgres:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(_COPY) as copy:
                for row in new:
                    copy.write_row(row)
        else:
            connection.exec_driver_sql(_INSERT, list(new))
    if changed:
        connection.exec_driver_sql(
            _UPDATE_POSTGRES if postgres else _UPDATE_SQLITE,
            [(n, st, si, d, v, rid) for rid, n, st, si, d, v in changed],
        )


def insert_op_batch(
    session: Session,
    *,
    bundle: int,
    source: str,
    chunk: int,
    canonical: Sequence[bytes],
    author: str | None = None,
) -> None:
    """Keep one merge step's ops: their canonical bytes back to back, compressed."""
    data = zstandard.ZstdCompressor(level=_COMPRESS).compress(b"".join(canonical))
    session.add(
        OpBatch(
            bundle=bundle,
            source=source,
            author=author,
            chunk=chunk,
            count=len(canonical),
            data=data,
        )
    )


def insert_rows(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows of one table on the raw driver: ``COPY`` on PostgreSQL, else
    ``executemany`` on tuples. ``table`` and ``columns`` are the caller's constants."""
    if not rows:
        return
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - constants
        connection.exec_driver_sql(insert, list(rows))
