"""Stream order: each (sender, receiver) pair is a hash chain of bundles.

The receiver accepts ``seq = last + 1`` whose ``prev`` is the hash of the last
accepted bundle; a resend of a bundle it already holds is a duplicate (answered
with the original receipt); a different bundle with a used sequence number, or one
whose ``prev`` breaks the chain, is a conflict (rejected and alarmed); a bundle
beyond a gap is parked until the gap fills (USB sticks arrive out of order).

This module decides; the hub and node store the positions.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Decision", "StreamPosition", "Verdict", "classify"]


class Verdict(enum.Enum):
    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    PARK = "park"


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """The receiver's view of one stream: the last accepted seq and its bundle hash."""

    last_seq: int = 0
    last_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str = ""


def classify(
    position: StreamPosition,
    *,
    seq: int,
    prev: str | None,
    bundle_hash: str,
    held: Callable[[int], str | None],
) -> Decision:
    """Decide what to do with a bundle arriving on a stream.

    Args:
        position: the stream's last accepted bundle.
        seq, prev, bundle_hash: the arriving bundle's header fields and file hash.
        held: the hash of the bundle the receiver already holds (accepted or parked) at a
            sequence number, or None.
    """
    existing = held(seq)
    if existing is not None:
        if existing == bundle_hash:
            return Decision(Verdict.DUPLICATE)
        return Decision(
            Verdict.CONFLICT,
            f"seq {seq} is already used by another bundle (expected {position.last_seq + 1})",
        )
    if seq <= position.last_seq:
        return Decision(
            Verdict.CONFLICT,
            f"seq {seq} is behind the stream (expected {position.last_seq + 1})",
        )
    if seq == position.last_seq + 1:
        if prev != position.last_hash:
            return Decision(
                Verdict.CONFLICT,
                f"seq {seq}: prev does not match the hash of bundle {position.last_seq}",
            )
        return Decision(Verdict.ACCEPT)
    return Decision(
        Verdict.PARK,
        f"seq {seq} arrived before {position.last_seq + 1}: parked until the gap fills",
    )
