"""The internal form of a field's register, shared by the state and its row codec."""

from __future__ import annotations

from typing import Final, NamedTuple, TypeAlias

from protocol.ops import Value

__all__ = ["EMPTY", "Reg", "Version"]

#: ``(encoded hlc, op id)``. The hlc encoding sorts like the timestamps, so plain
#: tuple comparison gives the op order, with the op id as a last tie-break.
Version: TypeAlias = tuple[str, str]
EMPTY: Final[frozenset[str]] = frozenset()


class Reg(NamedTuple):
    """One field's register.

    ``heads`` are versions sorted winner first; ``others`` are the values of
    ``heads[1:]`` in the same order (the winner's value is in the record's value
    dict); ``covered`` holds every op id named in the base of an op delivered to
    the field.
    """

    heads: tuple[Version, ...]
    others: tuple[Value, ...]
    covered: frozenset[str]
