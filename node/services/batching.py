"""How draft ops are split into batches (pure: sizes in, a plan out).

An authorisation may cover more than one bundle holds. Ops are taken in the order they
were made, and a batch is closed before it would pass ``max_ops`` ops or ``max_bytes``
(an op's canonical bytes plus the blobs it brings along). A blob travels once, in the
first batch with an op that references it. An op that alone exceeds ``max_bytes`` gets
a batch of its own (sealing then says whether it fits the bundle limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crypto.errors import UsageError

__all__ = ["Batch", "Item", "plan_batches"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One op: its size, and the blobs (id, size) it references that are not sent yet."""

    size: int
    blobs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Positions of the items in one batch, and the blobs that travel with it."""

    items: tuple[int, ...]
    blobs: tuple[str, ...]


def plan_batches(items: Sequence[Item], *, max_ops: int, max_bytes: int) -> list[Batch]:
    """Split ``items`` (in order) into batches (see the module docstring).

    Raises:
        UsageError: a limit is not positive.
    """
    if max_ops < 1 or max_bytes < 1:
        raise UsageError("plan_batches: limits must be positive")
    batches: list[Batch] = []
    current: list[int] = []
    blobs: list[str] = []
    taken: set[str] = set()
    size = 0
    for index, item in enumerate(items):
        new = [(ref, n) for ref, n in dict(item.blobs).items() if ref not in taken]
        cost = item.size + sum(n for _ref, n in new)
        if current and (len(current) >= max_ops or size + cost > max_bytes):
            batches.append(Batch(items=tuple(current), blobs=tuple(blobs)))
            current, blobs, size = [], [], 0
        current.append(index)
        for ref, _n in new:
            blobs.append(ref)
            taken.add(ref)
        size += cost
    if current:
        batches.append(Batch(items=tuple(current), blobs=tuple(blobs)))
    return batches
