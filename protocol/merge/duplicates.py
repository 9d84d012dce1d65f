"""Duplicates: live records that share a national ID number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from protocol.merge.policy import ID_NUMBER_FIELD
from protocol.merge.state import RecordState
from protocol.ops import STATUS_LIVE

__all__ = ["find_duplicates", "held_number"]


def held_number(state: RecordState | None) -> str | None:
    """The ID number a record holds: its current one if it is live, else None."""
    if state is None or state.status != STATUS_LIVE:
        return None
    number = state.value(ID_NUMBER_FIELD)
    return number if isinstance(number, str) else None


def find_duplicates(states: Iterable[RecordState]) -> dict[str, frozenset[str]]:
    """Group live records by ID number; return only the groups of two or more.

    Returns:
        ID number → the record ids of the live records holding it.
    """
    groups: defaultdict[str, set[str]] = defaultdict(set)
    for state in states:
        number = held_number(state)
        if number is not None:
            groups[number].add(state.record_id)
    return {number: frozenset(ids) for number, ids in groups.items() if len(ids) > 1}
