"""Stream positions: where each (sender, receiver) chain stands, and parked bundles.

The decision is :func:`protocol.stream.classify`'s; this module keeps the positions in
the ``streams`` table, locked while a decision is made (``FOR UPDATE`` on PostgreSQL,
the writer lock on SQLite), and promotes parked bundles when a gap fills.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.states import HELD, BundleState, Event, transition
from hub.store.engine import insert_unless_present
from hub.store.models import Alert, BundleRow, StreamRow
from protocol.stream import Decision, StreamPosition, classify

__all__ = ["Gap", "Promotion", "lock_stream", "place", "raise_alert", "stream_gaps"]


def lock_stream(session: Session, sender: str, recipient: str) -> StreamRow:
    """The stream's row, created if new, locked until the transaction ends."""
    insert_unless_present(
        session, StreamRow, sender=sender, recipient=recipient, last_seq=0, last_hash=None
    )
    return session.execute(
        sa.select(StreamRow)
        .where(StreamRow.sender == sender, StreamRow.recipient == recipient)
        .with_for_update()
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class Promotion:
    """A parked bundle whose turn came (``promoted``) or whose chain broke (not)."""

    row_id: int
    promoted: bool
    reason: str = ""


def place(
    session: Session, row: BundleRow, *, on_promotion: Callable[[Promotion], None]
) -> Decision:
    """Decide ``row``'s place in its stream and move the stream (and parked bundles) on.

    ``row`` must be in state ``received`` with its header facts filled in.
    """
    assert row.sender is not None
    assert row.recipient is not None
    assert row.seq is not None
    stream = lock_stream(session, row.sender, row.recipient)

    def held(seq: int) -> str | None:
        return session.scalar(
            sa.select(BundleRow.bundle_hash).where(
                BundleRow.sender == row.sender,
                BundleRow.recipient == row.recipient,
                BundleRow.seq == seq,
                BundleRow.state.in_([s.value for s in HELD]),
                BundleRow.id != row.id,
            )
        )

    decision = classify(
        StreamPosition(stream.last_seq, stream.last_hash),
        seq=row.seq,
        prev=row.prev,
        bundle_hash=row.bundle_hash,
        held=held,
    )
    if decision.verdict.value == "accept":
        stream.last_seq, stream.last_hash = row.seq, row.bundle_hash
        _promote(session, stream, on_promotion)
    return decision


def _promote(
    session: Session, stream: StreamRow, on_promotion: Callable[[Promotion], None]
) -> None:
    while True:
        parked = session.scalar(
            sa.select(BundleRow).where(
                BundleRow.sender == stream.sender,
                BundleRow.recipient == stream.recipient,
                BundleRow.seq == stream.last_seq + 1,
                BundleRow.state == BundleState.PARKED.value,
            )
        )
        if parked is None:
            return
        if parked.prev != stream.last_hash:
            reason = f"seq {parked.seq}: prev does not match the hash of bundle {stream.last_seq}"
            parked.state = transition(parked.state, Event.REFUSE)
            parked.reason, parked.reason_code = reason, "stream_order"
            on_promotion(Promotion(parked.id, promoted=False, reason=reason))
            return
        parked.state = transition(parked.state, Event.PROMOTE)
        stream.last_seq, stream.last_hash = parked.seq or 0, parked.bundle_hash
        on_promotion(Promotion(parked.id, promoted=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """A stream with bundles parked beyond missing sequence numbers (for the console)."""

    sender: str
    recipient: str
    last_seq: int
    parked: tuple[int, ...]
    missing: tuple[int, ...]


def stream_gaps(session: Session) -> list[Gap]:
    """Every stream that waits for missing bundles."""
    gaps = []
    for stream in session.scalars(sa.select(StreamRow).order_by(StreamRow.sender)).all():
        parked = tuple(
            seq
            for seq in session.scalars(
                sa.select(BundleRow.seq)
                .where(
                    BundleRow.sender == stream.sender,
                    BundleRow.recipient == stream.recipient,
                    BundleRow.state == BundleState.PARKED.value,
                )
                .order_by(BundleRow.seq)
            ).all()
            if seq is not None
        )
        if not parked:
            continue
        have = set(parked)
        missing = tuple(s for s in range(stream.last_seq + 1, max(parked)) if s not in have)
        gaps.append(
            Gap(
                sender=stream.sender,
                recipient=stream.recipient,
                last_seq=stream.last_seq,
                parked=parked,
                missing=missing[:1000],
            )
        )
    return gaps


def raise_alert(
    session: Session, *, at: datetime, kind: str, subject: str, bundle: int | None, message: str
) -> None:
    """Record something an administrator must look at."""
    session.add(Alert(at=at, kind=kind, subject=subject, bundle=bundle, message=message))
