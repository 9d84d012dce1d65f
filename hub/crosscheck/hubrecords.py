"""The hub's records as the cross-check reads them: an index for matching, one record for a
re-check, the live holder of an ID number.

A hub's store holds the records of its jurisdiction only, so every live record is
matched. They are streamed a page at a time (keyset on the record id, each page its
own read transaction) into the engine's :class:`RecordIndex`, which keeps only the
matching keys and the compared fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.crosscheck.matching import RecordIndex
from hub.store.engine import Store
from hub.store.models import RecordRow
from protocol.ops import STATUS_LIVE

__all__ = ["holder_of", "index_records", "live_records", "record_values"]

_PAGE: Final = 5_000


def live_records(store: Store) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every live record as ``(record_id, values)``, in record id order, streamed."""
    last = ""
    while True:
        with store.read() as session:
            page = session.execute(
                sa.select(RecordRow.record_id, RecordRow.data)
                .where(RecordRow.status == STATUS_LIVE, RecordRow.record_id > last)
                .order_by(RecordRow.record_id)
                .limit(_PAGE)
            ).all()
        if not page:
            return
        yield from ((record_id, data) for record_id, data in page)
        last = page[-1][0]


def index_records(store: Store, compared: Iterable[str]) -> RecordIndex:
    """The live records indexed for matching, keeping the ``compared`` fields' values."""
    return RecordIndex.build(live_records(store), compared=compared)


def record_values(session: Session, record_id: str) -> dict[str, Any] | None:
    """A live record's current values, or ``None`` (unknown, deleted or merged away)."""
    row = session.execute(
        sa.select(RecordRow.data).where(
            RecordRow.record_id == record_id, RecordRow.status == STATUS_LIVE
        )
    ).first()
    return None if row is None else dict(row[0])


def holder_of(session: Session, id_number: str) -> tuple[str, dict[str, Any]] | None:
    """The live record holding an ID number (the first by id, if several), or ``None``."""
    row = session.execute(
        sa.select(RecordRow.record_id, RecordRow.data)
        .where(RecordRow.id_number == id_number, RecordRow.status == STATUS_LIVE)
        .order_by(RecordRow.record_id)
        .limit(1)
    ).first()
    return None if row is None else (row[0], dict(row[1]))
