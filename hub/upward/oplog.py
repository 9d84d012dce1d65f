"""The op log as the packager reads it: merged ops in merge order, after a cursor.

The hub keeps the ops of each merge step as one ``op_batches`` row (canonical bytes
back to back, zstd). A package covers a stretch of that log, from one *position*
(op batch row id, offset of the op in it) to another; the hub remembers where the
last package ended (``up_cursor``). Only ops merged from below go up: those of the
bundles children sent (``source = "bundle"``) and the resolutions made here
(``resolution``). Ops that came down from the parent are its own already and carry
another ``source``; they are skipped.

Nothing here decodes ops fully (``Op.from_entry`` is the costly part of a merge): an
op's id is the tagged hash of its canonical bytes, and its blob references are the
``b2:`` strings among the values it writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import msgpack
import sqlalchemy as sa
import zstandard
from sqlalchemy.orm import Session

from crypto.hashing import TAG_OP, tagged_hash
from hub.context import get_state, set_state
from hub.store.models import OpBatch

__all__ = [
    "UPWARD_SOURCES",
    "Cursor",
    "LoggedOp",
    "blob_refs",
    "get_cursor",
    "op_ids_of",
    "ops_between",
    "set_cursor",
]

#: Op batch sources that travel up: bundles from children, resolutions made here.
UPWARD_SOURCES: Final = ("bundle", "resolution")
_CURSOR_KEY: Final = "up_cursor"
#: The create op's kind code and the index of an op entry's value (docs/merge.md §2).
_CREATE: Final = 0
_VALUE: Final = 3


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in the op log: op ``offset`` of op batch row ``batch``."""

    batch: int = 0
    offset: int = 0

    def encode(self) -> str:
        return f"{self.batch}:{self.offset}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        batch, _, offset = text.partition(":")
        return cls(int(batch), int(offset or 0))


@dataclass(frozen=True, slots=True)
class LoggedOp:
    """One op of the log, as the packager needs it.

    Attributes:
        position: where it is in the log.
        op_id: its id (32 hex digits).
        raw: its canonical bytes (the msgpack of its wire form).
        blobs: the blob ids (``b2:…``) among the values it writes.
        bundle: the bundle row whose merge logged it.
        source: ``bundle`` or ``resolution``.
    """

    position: Cursor
    op_id: str
    raw: bytes
    blobs: tuple[str, ...]
    bundle: int
    source: str

    @property
    def after(self) -> Cursor:
        """The position just after this op."""
        return Cursor(self.position.batch, self.position.offset + 1)


def get_cursor(session: Session) -> Cursor:
    """Where the last package ended."""
    return Cursor.decode(get_state(session, _CURSOR_KEY))


def set_cursor(session: Session, cursor: Cursor) -> None:
    set_state(session, _CURSOR_KEY, cursor.encode())


def blob_refs(entry: list[Any]) -> tuple[str, ...]:
    """The ``b2:`` blob ids among the values an op entry writes."""
    value = entry[_VALUE]
    values = value.values() if entry[0] == _CREATE and isinstance(value, dict) else (value,)
    found: list[str] = []
    for item in values:
        for part in item if isinstance(item, list) else (item,):
            if isinstance(part, str) and part.startswith("b2:") and part not in found:
                found.append(part)
    return tuple(found)


def _split(data: bytes) -> Iterator[tuple[bytes, list[Any]]]:
    """The ops of one op batch: ``(canonical bytes, decoded entry)`` each."""
    raw = zstandard.ZstdDecompressor().decompress(data)
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    start = 0
    for entry in unpacker:
        end = unpacker.tell()
        yield raw[start:end], entry
        start = end


def ops_between(session: Session, start: Cursor, end: Cursor | None = None) -> Iterator[LoggedOp]:
    """The upward ops from ``start`` (included) to ``end`` (excluded; None: the log's end),
    in log order; one op batch is in memory at a time."""
    query = sa.select(OpBatch.id).where(
        OpBatch.id >= start.batch, OpBatch.source.in_(UPWARD_SOURCES)
    )
    if end is not None:
        query = query.where(OpBatch.id <= end.batch)
    ids = list(session.scalars(query.order_by(OpBatch.id)))
    for batch_id in ids:
        row = session.execute(
            sa.select(OpBatch.data, OpBatch.bundle, OpBatch.source).where(OpBatch.id == batch_id)
        ).one()
        for offset, (raw, entry) in enumerate(_split(row.data)):
            position = Cursor(batch_id, offset)
            if position < start:
                continue
            if end is not None and position >= end:
                return
            yield LoggedOp(
                position=position,
                op_id=tagged_hash(TAG_OP, raw, size=16).hex(),
                raw=raw,
                blobs=blob_refs(entry),
                bundle=row.bundle,
                source=row.source,
            )


def op_ids_of(session: Session, *, bundle: int, source: str) -> tuple[str, ...]:
    """The ids of the ops logged for ``bundle`` from ``source``, in log order."""
    rows = session.scalars(
        sa.select(OpBatch.data)
        .where(OpBatch.bundle == bundle, OpBatch.source == source)
        .order_by(OpBatch.id)
    )
    return tuple(
        tagged_hash(TAG_OP, raw, size=16).hex() for data in rows for raw, _entry in _split(data)
    )
