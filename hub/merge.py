"""One merge step: apply a chunk of ops to the stored records with ``protocol.merge``.

The rules are the protocol's own (:func:`protocol.merge.apply_ops`), so a hub and
its nodes always agree; this module only loads the states the chunk touches, asks
the store who holds the ID numbers it writes (records of every town, so duplicates
across towns are found), and writes back the rows that changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hub.store.bulk import RecordWrite, dumps, live_holders, load_states, write_records
from protocol.divisions import parse_node_id
from protocol.merge import FieldPolicy, Outcome, apply_ops
from protocol.merge.policy import ID_NUMBER_FIELD
from protocol.ops import Op, OpKind

__all__ = ["ChunkResult", "apply_chunk"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkResult:
    """What a merge step did: the outcomes, and how many records it created."""

    outcomes: tuple[Outcome, ...]
    new_records: int
    changed_records: int


def _numbers(ops: Sequence[Op]) -> set[str]:
    found: set[str] = set()
    for op in ops:
        value: object
        if op.kind is OpKind.CREATE:
            value = op.create_map().get(ID_NUMBER_FIELD)
        elif op.field == ID_NUMBER_FIELD:
            value = op.value
        else:
            continue
        if isinstance(value, str):
            found.add(value)
    return found


def apply_chunk(session: Session, ops: Sequence[Op], policy: FieldPolicy) -> ChunkResult:
    """Apply ``ops`` (in order) to the store inside the caller's transaction."""
    stored = load_states(session, {op.record_id for op in ops})
    holders = live_holders(session, _numbers(ops))
    result = apply_ops(
        {rid: state for rid, (state, _, _) in stored.items()},
        ops,
        policy,
        holder_of=lambda number: holders.get(number, ()),
    )
    sites: dict[str, str] = {}
    for op in ops:
        if op.record_id not in sites:
            sites[op.record_id] = parse_node_id(op.site).site_code
    new: list[RecordWrite] = []
    changed: list[RecordWrite] = []
    for record_id, state in result.states.items():
        data, versions = state.to_row()
        previous = stored.get(record_id)
        if previous is not None and previous[1] == versions:
            continue  # a replay: nothing to write
        number = data.get(ID_NUMBER_FIELD)
        site = previous[2] if previous is not None else sites[record_id]
        row = (
            record_id,
            number if isinstance(number, str) else None,
            state.status,
            site,
            dumps(data),
            dumps(versions),
        )
        (changed if previous is not None else new).append(row)
    write_records(session, new, changed)
    return ChunkResult(outcomes=result.outcomes, new_records=len(new), changed_records=len(changed))
