"""Applying one bundle from the parent: what it holds, here and for the children.

:func:`apply_from_parent` runs inside the caller's transaction (:mod:`hub.fromparent`
decides *whether* a bundle is applied: stream order, parking, duplicates): the entries
go through :class:`hub.reissue.Reissue`, the ops are logged under a bundle row of source
``parent`` (the console's record history names the parent's bundle; the packager never
sends them up again), then the inbox row, the stream position and an audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext
from hub.rawstore import bundle_path
from hub.reissue import ReceiptHandler, Reissue
from hub.states import BundleState
from hub.store.models import BundleRow, ParentBundle
from hub.streams import lock_stream
from hub.upward.outbox import record_receipt
from node.services.streams import issue_down_receipt
from protocol.bundle import BundleHeader, open_bundle
from protocol.entries import decode_entry
from protocol.trust import CertificateTrust, Receipt

__all__ = ["apply_from_parent", "flat_summary", "inbox_row", "take_parent_receipt"]


def inbox_row(
    ctx: HubContext, header: BundleHeader, digest: str, *, size: int, source: str
) -> ParentBundle:
    now = ctx.now()
    receipt = issue_down_receipt(
        key=ctx.keys.signing,
        receiver=ctx.site,
        sender=header.sender,
        bundle_id=header.bundle_id,
        bundle_hash=digest,
        seq=header.seq,
        at=now,
        accepted=True,
    )
    return ParentBundle(
        bundle_hash=digest,
        bundle_id=header.bundle_id,
        sender=header.sender,
        seq=header.seq,
        kind=header.kind.value,
        count=header.count,
        size=size,
        source=source,
        state="parked",
        received_at=now,
        receipt=receipt.to_bytes().decode("utf-8"),
        receipt_posted=False,
    )


def take_parent_receipt(ctx: HubContext, session: Session, receipt: Receipt) -> None:
    """A receipt for one of our packages, from a ``receipt`` bundle the parent sent (USB)."""
    record_receipt(ctx, session, receipt.to_dict())


def apply_from_parent(
    ctx: HubContext,
    session: Session,
    row: ParentBundle,
    header: BundleHeader,
    on_receipt: ReceiptHandler | None,
) -> dict[str, Any]:
    now = ctx.now()
    log_row: list[int] = []

    def op_log_row() -> int:
        if not log_row:
            log_row.append(_log_row(session, header, row, now))
        return log_row[0]

    path = bundle_path(ctx.config.bundles_dir, row.bundle_hash)
    work = Reissue(
        ctx,
        session,
        header.kind,
        row=op_log_row,
        source="parent",
        actor=header.sender,
        on_receipt=on_receipt or take_parent_receipt,
    )
    try:
        with path.open("rb") as source:
            opened = open_bundle(
                source,
                trust=CertificateTrust(ctx.trust(session), now),
                identities=ctx.identities,
                limits=ctx.config.limits,
            )
            for index, raw in enumerate(opened.entries()):
                work.add(decode_entry(raw, index))
        summary = work.finish(about=log_row[0] if log_row else None)
    finally:
        work.close()
    row.state, row.applied_at = "applied", now
    row.row = log_row[0] if log_row else None
    position = lock_stream(session, header.sender, ctx.site)
    position.last_seq, position.last_hash = header.seq, row.bundle_hash
    append_audit(
        session,
        at=now,
        actor=header.sender,
        action="parent.applied",
        subject=header.bundle_id,
        details={
            "kind": header.kind.value,
            "seq": header.seq,
            "source": row.source,
            **flat_summary(summary),
        },
    )
    session.flush()
    return summary


def flat_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in summary.items() if isinstance(v, int)}
    flat["children"] = len(summary.get("children", {}))
    return flat


def _log_row(session: Session, header: BundleHeader, row: ParentBundle, now: datetime) -> int:
    """A bundle row for the op log (record history names the parent's bundle)."""
    log = BundleRow(
        bundle_hash=row.bundle_hash,
        size=row.size,
        source="parent",
        received_at=row.received_at,
        state=BundleState.MERGED.value,
        bundle_id=header.bundle_id,
        kind=header.kind.value,
        sender=header.sender,
        recipient=header.recipient,
        seq=header.seq,
        prev=header.prev,
        created=header.created,
        count=header.count,
        merged_at=now,
        attempts=0,
    )
    session.add(log)
    session.flush()
    return log.id
