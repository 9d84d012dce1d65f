"""The outbox's delivery states, driven by the parent's signed receipts.

A bundle is ``pending`` when sealed, ``sent`` once uploaded or exported, and
``acknowledged`` only when a receipt signed by the parent's key for exactly that bundle
(id and file hash) is stored; its batch's ops follow it. A ``rejected`` receipt stops
the stream at that bundle: the parent did not take it, so its sequence number is free
again. The bundle and the unsent bundles after it are taken out of the chain, their ops
go back to the approver (the rejected ones with the hub's reason as a note), and the
next authorisation reuses the sequence number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.state import UP, require_parent, set_position
from node.services.streams import verify_receipt
from node.services.trust import load_trust
from node.store.models import BlobRow, BundleState, OpRow, OpState, OutboxRow, ReceiptRow
from protocol.bundle import SealedBundle
from protocol.errors import TrustError
from protocol.stream import StreamPosition
from protocol.trust import Receipt, ReceiptStatus
from protocol.trust.statement import canonical_json

__all__ = ["mark_sent", "queue_bundle", "record_receipt", "unacknowledged"]

_DONE: Final = (BundleState.ACKNOWLEDGED.value, BundleState.REJECTED.value)


def unacknowledged(session: Session) -> list[OutboxRow]:
    """Bundles still on their way to the parent, in stream order."""
    return list(
        session.execute(
            select(OutboxRow).where(OutboxRow.state.not_in(_DONE)).order_by(OutboxRow.seq)
        ).scalars()
    )


def queue_bundle(
    session: Session,
    *,
    recipient: str,
    data: bytes,
    sealed: SealedBundle,
    batch_id: str | None,
    now: datetime,
) -> OutboxRow:
    """Put a freshly sealed bundle in the outbox and make it the stream's last bundle."""
    header = sealed.header
    row = OutboxRow(
        bundle_id=header.bundle_id,
        recipient=recipient,
        seq=header.seq,
        kind=header.kind.value,
        prev=header.prev,
        bundle_hash=sealed.bundle_hash,
        size=sealed.size,
        entry_count=header.count,
        data=data,
        batch_id=batch_id,
        state=BundleState.PENDING.value,
        created_at=now,
    )
    session.add(row)
    set_position(
        session, recipient, UP, StreamPosition(last_seq=header.seq, last_hash=sealed.bundle_hash)
    )
    return row


def _set_ops(
    session: Session, batch_id: str | None, state: OpState, note: str | None = None
) -> None:
    if batch_id is None:
        return
    values: dict[str, Any] = {"state": state.value}
    if note is not None:
        values["note"] = note
    session.execute(update(OpRow).where(OpRow.batch_id == batch_id).values(**values))


def mark_sent(ctx: NodeContext, session: Session, bundle_id: str, *, exported: bool) -> None:
    """The bundle left (upload started, or written for a USB stick)."""
    row = session.get(OutboxRow, bundle_id)
    if row is None or row.state in _DONE:
        return
    now = ctx.now()
    if exported:
        row.exported_at = now
    else:
        row.sent_at = now
    if row.state == BundleState.PENDING.value:
        row.state = BundleState.SENT.value
        _set_ops(session, row.batch_id, OpState.SENT)


def record_receipt(
    ctx: NodeContext, session: Session, data: bytes | str | dict[str, Any]
) -> Receipt:
    """Verify and store the parent's receipt for one of our bundles; apply what it says.

    A receipt for a bundle already acknowledged changes nothing (a bundle both exported
    and uploaded gets two).

    Raises:
        NotEnrolledError: the node has no parent yet.
        TrustError: the receipt is malformed, for a bundle we did not send, or not signed
            by the parent's key.
    """
    parent = require_parent(session)
    draft = Receipt.from_bytes(data)
    row = session.get(OutboxRow, draft.bundle_id)
    if row is None:
        raise TrustError(f"receipt for bundle {draft.bundle_id}: not a bundle we sent")
    receipt = verify_receipt(
        data,
        sender=ctx.node_id,
        receiver=parent,
        bundles=[(row.bundle_id, row.bundle_hash)],
        trust=load_trust(session, ctx.anchor),
    )
    if row.state in _DONE:
        return receipt
    now = ctx.now()
    text = canonical_json(receipt.to_dict()).decode("utf-8")
    stored = session.get(ReceiptRow, receipt.bundle_id)
    if stored is None:
        session.add(
            ReceiptRow(
                bundle_id=receipt.bundle_id,
                bundle_hash=receipt.bundle_hash,
                status=receipt.status.value,
                reason=receipt.reason,
                received_at=now,
                data=text,
            )
        )
    if receipt.status is ReceiptStatus.ACCEPTED:
        row.state = BundleState.ACKNOWLEDGED.value
        row.acknowledged_at = now
        row.error = None
        _set_ops(session, row.batch_id, OpState.ACKNOWLEDGED)
        action = "bundle.acknowledged"
    else:
        _rewind(session, row, receipt, parent)
        action = "bundle.rejected"
    append_audit(
        session,
        at=now,
        actor=parent,
        action=action,
        subject=row.bundle_id,
        details={"seq": row.seq, "code": receipt.reason_code},
    )
    return receipt


def _rewind(session: Session, row: OutboxRow, receipt: Receipt, parent: str) -> None:
    """Take a rejected bundle (and the unsent ones after it) out of the stream."""
    reason = receipt.reason or receipt.reason_code or "rejected by the hub"
    row.state = BundleState.REJECTED.value
    row.error = reason
    later = [
        r
        for r in unacknowledged(session)
        if r.seq > row.seq and r.recipient == row.recipient and r.bundle_id != row.bundle_id
    ]
    if any(r.state != BundleState.PENDING.value for r in later):
        # Bundles after it already left: the hub holds them parked behind the gap, so
        # the chain cannot be rebuilt here. The error stays on the status page.
        row.error = f"{reason} (later bundles already sent: ask the hub's administrator)"
        _set_ops(session, row.batch_id, OpState.RETURNED, note=f"hub: {reason}")
        return
    _set_ops(session, row.batch_id, OpState.RETURNED, note=f"hub: {reason}")
    _release_blobs(session, row.batch_id)
    for other in later:
        other.state = BundleState.REJECTED.value
        other.error = f"withdrawn after bundle {row.bundle_id} was rejected"
        _set_ops(session, other.batch_id, OpState.DRAFT)
        _release_blobs(session, other.batch_id)
    set_position(session, parent, UP, StreamPosition(last_seq=row.seq - 1, last_hash=row.prev))


def _release_blobs(session: Session, batch_id: str | None) -> None:
    if batch_id is not None:
        session.execute(update(BlobRow).where(BlobRow.sent_in == batch_id).values(sent_in=None))
