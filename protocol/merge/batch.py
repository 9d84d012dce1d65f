"""Applying a batch of ops to a set of record states, duplicates included."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from protocol.merge.apply import HolderLookup, Outcome, apply_op
from protocol.merge.duplicates import held_number
from protocol.merge.policy import FieldPolicy
from protocol.merge.state import RecordState
from protocol.ops import Op

__all__ = ["BatchResult", "apply_ops"]


class BatchResult(NamedTuple):
    """The states after a batch (every state given, changed or not) and what happened."""

    states: dict[str, RecordState]
    outcomes: tuple[Outcome, ...]


def apply_ops(
    states: Mapping[str, RecordState],
    ops: Iterable[Op],
    policy: FieldPolicy,
    *,
    holder_of: HolderLookup | None = None,
) -> BatchResult:
    """Apply ``ops`` in order to ``states`` (record id → state).

    Duplicates are looked up among the states as the batch changes them, and, for
    records not in ``states``, through ``holder_of`` (say, the hub's index over
    every record it holds).

    Raises:
        UsageError: a state is filed under another record's id.
    """
    result = dict(states)
    holders: defaultdict[str, set[str]] = defaultdict(set)
    for state in result.values():
        number = held_number(state)
        if number is not None:
            holders[number].add(state.record_id)

    def lookup(number: str) -> Iterable[str]:
        found = set(holders.get(number, ()))
        if holder_of is not None:
            # Records in the batch are judged by their states here, which may be newer.
            found.update(rid for rid in holder_of(number) if rid not in result)
        return found

    outcomes: list[Outcome] = []
    for op in ops:
        before = result.get(op.record_id)
        applied = apply_op(before, op, policy, holder_of=lookup)
        old_number, new_number = held_number(before), held_number(applied.state)
        if old_number != new_number:
            if old_number is not None:
                holders[old_number].discard(op.record_id)
            if new_number is not None:
                holders[new_number].add(op.record_id)
        result[op.record_id] = applied.state
        outcomes.extend(applied.outcomes)
    return BatchResult(states=result, outcomes=tuple(outcomes))
