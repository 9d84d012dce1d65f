"""The up stream's delivery states, driven by the parent's signed receipts.

A package is ``pending`` when sealed, ``sent`` once uploaded or exported, and
``acknowledged`` only when a receipt signed by the parent's key for exactly that
bundle (id and file hash) is stored. A ``rejected`` receipt takes the bundle out of
the stream, as a node's outbox does (node/services/outbox.py): its sequence number is
free again, the packages sealed after it that have not left are withdrawn, and the
packaging cursor goes back to its first op, so the next packaging cycle packs the same
ops again. If later packages have left already (the parent holds them parked behind
the gap), the stream cannot be rebuilt here: the error stays on the bundle for an
administrator, and the status shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext
from hub.store.models import UpBundle
from hub.streams import lock_stream, raise_alert
from hub.upward.oplog import Cursor, set_cursor
from node.services.streams import verify_receipt
from protocol.errors import TrustError
from protocol.trust import Receipt, ReceiptStatus
from protocol.trust.statement import canonical_json

__all__ = ["DONE", "mark_sent", "record_receipt", "unacknowledged"]

#: States in which a bundle no longer waits for anything.
DONE: Final = ("acknowledged", "rejected")


def unacknowledged(session: Session) -> list[UpBundle]:
    """Sealed bundles still on their way to the parent, in stream order."""
    return list(
        session.scalars(
            sa.select(UpBundle)
            .where(UpBundle.state.in_(("pending", "sent")))
            .order_by(UpBundle.seq)
        )
    )


def mark_sent(session: Session, bundle_id: str, *, at: datetime, exported: bool) -> UpBundle:
    """The bundle left (an upload started, or it was written for a USB stick).

    Raises:
        TrustError: no such sealed bundle.
    """
    row = session.get(UpBundle, bundle_id)
    if row is None or row.bundle_hash is None:
        raise TrustError(f"no sealed up bundle {bundle_id}")
    if row.state in DONE:
        return row
    if exported:
        row.exported_at = at
    else:
        row.sent_at = at
    if row.state == "pending":
        row.state = "sent"
    return row


def record_receipt(
    ctx: HubContext, session: Session, data: bytes | str | dict[str, Any]
) -> Receipt:
    """Verify and store the parent's receipt for one of our bundles; apply what it says.

    A second receipt for a bundle already acknowledged changes nothing (a package both
    exported and uploaded gets two).

    Raises:
        TrustError: malformed, for a bundle we did not send, or not signed by the
            parent's key.
    """
    draft = Receipt.from_bytes(data)
    row = session.get(UpBundle, draft.bundle_id)
    if row is None or row.bundle_hash is None:
        raise TrustError(f"receipt for bundle {draft.bundle_id}: not a bundle we sent")
    receipt = verify_receipt(
        data,
        sender=ctx.site,
        receiver=row.recipient,
        bundles=[(row.bundle_id, row.bundle_hash)],
        trust=ctx.trust(session),
    )
    if row.state in DONE:
        return receipt
    now = ctx.now()
    row.receipt = canonical_json(receipt.to_dict()).decode("utf-8")
    if receipt.status is ReceiptStatus.ACCEPTED:
        row.state, row.acknowledged_at, row.error = "acknowledged", now, None
        action = "package.acknowledged"
    else:
        _rewind(ctx, session, row, receipt)
        action = "package.rejected"
    append_audit(
        session,
        at=now,
        actor=row.recipient,
        action=action,
        subject=row.bundle_id,
        details={"seq": row.seq, "code": receipt.reason_code},
    )
    return receipt


def _rewind(ctx: HubContext, session: Session, row: UpBundle, receipt: Receipt) -> None:
    """Take a rejected bundle (and the sealed ones after it that did not leave) out."""
    reason = receipt.reason or receipt.reason_code or "rejected by the parent"
    row.state, row.error = "rejected", reason[:2000]
    later = [r for r in unacknowledged(session) if (r.seq or 0) > (row.seq or 0)]
    drafts = list(session.scalars(sa.select(UpBundle).where(UpBundle.state == "draft")))
    if any(r.state != "pending" for r in later):
        row.error = f"{reason} (later packages already sent: ask the parent's administrator)"[:2000]
        raise_alert(
            session,
            at=ctx.now(),
            kind="package_rejected",
            subject=row.recipient,
            bundle=None,
            message=f"package seq {row.seq} was rejected by {row.recipient}: {receipt.reason_code}",
        )
        return
    for other in [*later, *drafts]:
        other.state = "rejected"
        other.error = f"withdrawn after package {row.bundle_id} was rejected"
    stream = lock_stream(session, ctx.site, row.recipient)
    stream.last_seq, stream.last_hash = (row.seq or 1) - 1, row.prev
    set_cursor(session, Cursor(row.from_batch, row.from_offset))
