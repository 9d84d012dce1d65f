"""The op log and the record rows it determines.

Every change to a record goes through :func:`apply_and_log`: the op is applied to the
record's state with the merge rules (``protocol.merge``), the new state is written to
the record's row (``RecordState.to_row``), and the op is appended to the ``ops`` table
with its canonical bytes, in the caller's transaction. Nothing else writes record rows,
so a row is always what its ops say; :func:`replay` rebuilds a record from its ops (for
its history, and to check exactly that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgpack
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.store.models import OpRow, OpState, RecordRow
from protocol.merge import FieldPolicy, Outcome, RecordState, apply_op
from protocol.ops import STATUS_FIELD, STATUS_LIVE, Op, Value
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = [
    "AppliedOp",
    "SchemaPolicy",
    "apply_and_log",
    "categories_of",
    "decode_op",
    "held_by",
    "load_state",
    "replay",
    "save_state",
]

_NAME_FIELD = "name"
_ID_FIELD = "id_number"


@dataclass(frozen=True, slots=True)
class SchemaPolicy:
    """The merge policy of the schema: its ``review`` fields and ``_status`` go to review."""

    schema: Schema

    def requires_review(self, field: str) -> bool:
        if field == STATUS_FIELD:
            return True
        return self.schema.has_field(field) and self.schema.requires_review(field)


def decode_op(data: bytes) -> Op:
    """An op from its stored canonical bytes.

    Raises:
        OpError: the bytes are not a canonical op (the store was damaged).
    """
    return Op.from_entry(msgpack.unpackb(data, raw=False, strict_map_key=True))


def categories_of(values: dict[str, Any]) -> tuple[str, ...]:
    found = values.get(CATEGORY_FIELD)
    if isinstance(found, list | tuple):
        return tuple(str(c) for c in found)
    return ()


def load_state(session: Session, record_id: str) -> RecordState | None:
    """The record's current state, or None if no op has touched it."""
    row = session.get(RecordRow, record_id)
    if row is None:
        return None
    return RecordState.from_row(record_id, row.values, row.versions)


def save_state(session: Session, state: RecordState, now: datetime) -> RecordRow:
    """Write a state to its record row (the only writer of record rows)."""
    values, versions = state.to_row()
    row = session.get(RecordRow, state.record_id)
    if row is None:
        row = RecordRow(record_id=state.record_id)
        session.add(row)
    name, number = values.get(_NAME_FIELD), values.get(_ID_FIELD)
    row.name = name if isinstance(name, str) else None
    row.id_number = number if isinstance(number, str) else None
    row.categories = "|".join(categories_of(values))
    row.status = state.status
    row.values = values
    row.versions = versions
    row.version = state.version
    row.conflicts = len(state.open_conflicts())
    row.updated_at = now
    return row


def held_by(session: Session, id_number: str, *, besides: str | None = None) -> list[str]:
    """The live records on this node holding ``id_number`` (other than ``besides``)."""
    query = select(RecordRow.record_id).where(
        RecordRow.id_number == id_number, RecordRow.status == STATUS_LIVE
    )
    if besides is not None:
        query = query.where(RecordRow.record_id != besides)
    return list(session.execute(query).scalars())


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedOp:
    """An op applied and logged: the record's new state and what the merge rules said."""

    op: Op
    state: RecordState | None
    outcomes: tuple[Outcome, ...]
    already_held: bool


def apply_and_log(
    session: Session,
    ops: Iterable[Op],
    *,
    policy: FieldPolicy,
    op_state: OpState,
    now: datetime,
    bundle_id: str | None = None,
) -> list[AppliedOp]:
    """Apply ``ops`` in order to their records and log each op once.

    An op the log already holds changes nothing (the merge rules would say
    ALREADY_APPLIED; it is not logged twice).
    """
    states: dict[str, RecordState | None] = {}
    results: list[AppliedOp] = []
    for op in ops:
        if session.execute(select(OpRow.seq).where(OpRow.op_id == op.op_id)).first() is not None:
            results.append(AppliedOp(op=op, state=_state(session, states, op), outcomes=(),
                                     already_held=True))  # fmt: skip
            continue
        before = _state(session, states, op)
        record_id = op.record_id

        def holders(number: str, record_id: str = record_id) -> list[str]:
            return held_by(session, number, besides=record_id)

        applied = apply_op(before, op, policy, holder_of=holders)
        states[op.record_id] = applied.state
        save_state(session, applied.state, now)
        session.add(
            OpRow(
                op_id=op.op_id,
                record_id=op.record_id,
                kind=op.kind.value,
                field=op.field,
                hlc=op.hlc.encode(),
                author=op.author,
                site=op.site,
                data=op.canonical_bytes,
                state=op_state.value,
                bundle_id=bundle_id,
                created_at=now,
            )
        )
        # The next op's duplicate check must see this record's new ID number.
        session.flush()
        results.append(
            AppliedOp(op=op, state=applied.state, outcomes=applied.outcomes, already_held=False)
        )
    return results


def _state(session: Session, cache: dict[str, RecordState | None], op: Op) -> RecordState | None:
    if op.record_id not in cache:
        cache[op.record_id] = load_state(session, op.record_id)
    return cache[op.record_id]


def replay(
    session: Session, record_id: str, policy: FieldPolicy, *, states: Sequence[OpState] = ()
) -> tuple[RecordState | None, list[tuple[OpRow, Op, tuple[Outcome, ...]]]]:
    """Rebuild a record from its logged ops (in log order), optionally only those in
    ``states``; return the state and each op with what applying it did."""
    query = select(OpRow).where(OpRow.record_id == record_id).order_by(OpRow.seq)
    if states:
        query = query.where(OpRow.state.in_([s.value for s in states]))
    state: RecordState | None = None
    steps: list[tuple[OpRow, Op, tuple[Outcome, ...]]] = []
    for row in session.execute(query).scalars():
        op = decode_op(row.data)
        applied = apply_op(state, op, policy)
        state = applied.state
        steps.append((row, op, applied.outcomes))
    return state, steps


def count_ops(session: Session, record_id: str, state: OpState) -> int:
    """How many of the record's ops are in ``state``."""
    return int(
        session.execute(
            select(func.count()).where(OpRow.record_id == record_id, OpRow.state == state.value)
        ).scalar_one()
    )


def value_of(state: RecordState | None, field: str) -> Value:
    return None if state is None else state.value(field)
