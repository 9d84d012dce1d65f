"""The op log and the record rows it determines.

Every change to a record goes through :func:`apply_and_log`: the op is applied to the
record's state with the merge rules (``protocol.merge``), the new state is written to
the record's row (``RecordState.to_row``), and the op is appended to the ``ops`` table
with its canonical bytes, in the caller's transaction. Nothing else writes record rows,
so a row is always what its ops say; :func:`replay` rebuilds a record from its ops (for
its history, and to check exactly that).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgpack
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from node.store.models import OpRow, OpState, RecordRow
from protocol.merge import FieldPolicy, Outcome, RecordState, apply_op, apply_ops
from protocol.ops import STATUS_FIELD, STATUS_LIVE, Op, Value
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = [
    "AppliedOp",
    "SchemaPolicy",
    "apply_and_log",
    "categories_of",
    "chunks",
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


def _row_values(state: RecordState, now: datetime) -> dict[str, Any]:
    values, versions = state.to_row()
    name, number = values.get(_NAME_FIELD), values.get(_ID_FIELD)
    return {
        "record_id": state.record_id,
        "name": name if isinstance(name, str) else None,
        "id_number": number if isinstance(number, str) else None,
        "categories": "|".join(categories_of(values)),
        "status": state.status,
        "values": values,
        "versions": versions,
        "version": state.version,
        "conflicts": len(state.open_conflicts()),
        "updated_at": now,
    }


def save_state(session: Session, state: RecordState, now: datetime) -> RecordRow:
    """Write a state to its record row (the only writer of record rows)."""
    row = session.get(RecordRow, state.record_id)
    if row is None:
        row = RecordRow(record_id=state.record_id)
        session.add(row)
    for key, value in _row_values(state, now).items():
        setattr(row, key, value)
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
    ALREADY_APPLIED; it is not logged twice). The batch is applied in memory with
    ``protocol.merge.apply_ops`` (which keeps its own index of ID numbers, so a
    duplicate inside the batch is seen) and written with one statement per table:
    a baseline of thousands of records costs a few round trips, not thousands.
    """
    ops = list(ops)
    held = _held_op_ids(session, [op.op_id for op in ops])
    fresh: list[Op] = []
    for op in ops:
        if op.op_id not in held:
            held.add(op.op_id)
            fresh.append(op)
    fresh_ids = {op.op_id for op in fresh}
    rows = _record_rows(session, {op.record_id for op in ops})
    states = {rid: RecordState.from_row(rid, r.values, r.versions) for rid, r in rows.items()}
    holders = _holders(session, _id_numbers(fresh))
    result = apply_ops(states, fresh, policy, holder_of=lambda n: holders.get(n, ()))
    new_rows: list[dict[str, Any]] = []
    for record_id in sorted({op.record_id for op in fresh}):
        values = _row_values(result.states[record_id], now)
        row = rows.get(record_id)
        if row is None:
            new_rows.append(values)
        else:
            for key, value in values.items():
                setattr(row, key, value)
    if new_rows:
        session.execute(insert(RecordRow), new_rows)
    if fresh:
        session.execute(
            insert(OpRow),
            [
                {
                    "op_id": op.op_id,
                    "record_id": op.record_id,
                    "kind": op.kind.value,
                    "field": op.field,
                    "hlc": op.hlc.encode(),
                    "author": op.author,
                    "site": op.site,
                    "data": op.canonical_bytes,
                    "state": op_state.value,
                    "bundle_id": bundle_id,
                    "created_at": now,
                }
                for op in fresh
            ],
        )
    by_op: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in result.outcomes:
        by_op[outcome.op_id].append(outcome)
    session.flush()
    return [
        AppliedOp(
            op=op,
            state=result.states.get(op.record_id, states.get(op.record_id)),
            outcomes=tuple(by_op.get(op.op_id, ())) if op.op_id in fresh_ids else (),
            already_held=op.op_id not in fresh_ids,
        )
        for op in ops
    ]


_CHUNK: Final = 500


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _held_op_ids(session: Session, op_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(set(op_ids))):
        found.update(session.execute(select(OpRow.op_id).where(OpRow.op_id.in_(chunk))).scalars())
    return found


def _record_rows(session: Session, record_ids: set[str]) -> dict[str, RecordRow]:
    rows: dict[str, RecordRow] = {}
    for chunk in chunks(sorted(record_ids)):
        for row in session.execute(
            select(RecordRow).where(RecordRow.record_id.in_(chunk))
        ).scalars():
            rows[row.record_id] = row
    return rows


def _id_numbers(ops: Iterable[Op]) -> set[str]:
    numbers: set[str] = set()
    for op in ops:
        for name, value in op.writes():
            if name == _ID_FIELD and isinstance(value, str):
                numbers.add(value)
    return numbers


def _holders(session: Session, numbers: set[str]) -> dict[str, list[str]]:
    """The live records on this node holding each of ``numbers``."""
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(sorted(numbers)):
        query = select(RecordRow.id_number, RecordRow.record_id).where(
            RecordRow.id_number.in_(chunk), RecordRow.status == STATUS_LIVE
        )
        for number, record_id in session.execute(query).all():
            if number is not None:
                found[number].append(record_id)
    return found


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
