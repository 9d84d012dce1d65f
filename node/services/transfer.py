"""Offline transfer: bundles to and from a USB stick.

``export_to(DIR)`` writes every bundle still on its way to the parent as a file, the
same bytes an upload would send, and first seals our receipts for down bundles the hub
has not had into one ``receipt`` bundle of the upward stream. Files are named
``<sender>-<seq>-<kind>-<bundle id>.bundle`` and written atomically.

``import_files(PATHS)`` takes what came back: down bundles (applied once, like a
download; a bundle already applied is a duplicate) and receipts for our bundles, as
receipt statements (``.json``) or inside ``receipt`` bundles. A file that fails is
reported and changes nothing; the others still go in.

A bundle both exported and uploaded is still accepted once: the hub answers the second
copy as a duplicate with its original receipt, and a second receipt for a bundle
already acknowledged changes nothing here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from sqlalchemy import select

from crypto.errors import MusterError
from node.errors import NotEnrolledError, TransferFileError
from node.fsutil import write_atomic
from node.services.approval import upward_stream
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.inbox import accept_down
from node.services.outbox import mark_sent, queue_bundle, record_receipt, unacknowledged
from node.services.state import UP, position, require_parent
from node.services.streams import seal_next
from node.services.trust import load_trust
from node.services.values import ExportReport, ImportItem, ImportReport
from node.store import transaction
from node.store.models import InboxRow, OutboxRow, SyncRunRow
from protocol.bundle import BundleKind, inspect_bundle
from protocol.entries import encode_entry
from protocol.errors import TrustError
from protocol.trust import Receipt

__all__ = ["export_bundles", "import_paths"]

_BUNDLE_MAGIC: Final = b"untrusted comment: "


def _seal_receipts(ctx: NodeContext) -> int:
    """Seal receipts the hub has not had into one receipt bundle; return how many."""
    with transaction(ctx.engine) as session:
        parent = require_parent(session)
        rows = list(
            session.execute(
                select(InboxRow)
                .where(InboxRow.receipt_posted.is_(False), InboxRow.receipt.is_not(None))
                .order_by(InboxRow.seq)
            ).scalars()
        )
        if not rows:
            return 0
        trust = load_trust(session, ctx.anchor)
        stream = upward_stream(ctx, session, trust, parent)
        current = position(session, parent, UP)
        now = ctx.now()
        bundle_id = ctx.rng(16).hex()
        receipts = [Receipt.from_bytes(row.receipt or "") for row in rows]
        data, sealed = seal_next(
            [encode_entry(r) for r in receipts],
            stream=stream,
            position=current,
            kind=BundleKind.RECEIPT,
            created=now,
            bundle_id=bundle_id,
        )
        queue_bundle(session, recipient=parent, data=data, sealed=sealed, batch_id=None, now=now)
        for row in rows:
            row.receipt_posted = True
        return len(rows)


def export_bundles(ctx: NodeContext, directory: Path, *, actor: str) -> ExportReport:
    """Write every bundle on its way to the parent into ``directory``.

    Raises:
        NotEnrolledError: the node is not enrolled (it sends nothing before).
        TransferFileError: ``directory`` is missing or cannot be written (a full stick);
            bundles written before the failure stay valid files.
    """
    target = Path(directory)
    if not target.is_dir():
        raise TransferFileError(f"export directory {target} does not exist")
    receipts = _seal_receipts(ctx)
    with transaction(ctx.engine) as session:
        require_parent(session)
        rows = [(r.bundle_id, r.seq, r.kind) for r in unacknowledged(session)]
    files: list[str] = []
    for bundle_id, seq, kind in rows:
        with transaction(ctx.engine) as session:  # one bundle in memory at a time
            found = session.get(OutboxRow, bundle_id)
            data = found.data if found is not None else b""
        path = target / f"{ctx.node_id}-{seq:06d}-{kind}-{bundle_id}.bundle"
        try:
            write_atomic(path, data, mode=0o644)
        except OSError as exc:
            raise TransferFileError(
                f"could not write {path.name} to {target} ({exc.strerror or exc}); "
                f"{len(files)} of {len(rows)} bundles were written",
                written=len(files),
            ) from exc
        with transaction(ctx.engine) as session:
            mark_sent(ctx, session, bundle_id, exported=True)
        files.append(str(path))
    with transaction(ctx.engine) as session:
        append_audit(
            session,
            at=ctx.now(),
            actor=actor,
            action="transfer.exported",
            subject=ctx.node_id,
            details={"bundles": len(files), "receipts": receipts},
        )
    return ExportReport(files=tuple(files), bundles=len(files), receipts=receipts)


def _read(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise TransferFileError(f"{path.name}: {size} bytes, larger than {limit}")
        return path.read_bytes()
    except OSError as exc:
        raise TransferFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _import_one(ctx: NodeContext, path: Path) -> ImportItem:
    data = _read(path, ctx.config.max_bundle_bytes)
    if data.startswith(_BUNDLE_MAGIC):
        header, _sig, _offset = inspect_bundle(io.BytesIO(data))
        if header.sender == ctx.node_id:
            raise TransferFileError(
                f"{path.name}: bundle {header.bundle_id} is one of this node's own bundles"
            )
        result = accept_down(ctx, data, source="usb")
        return ImportItem(path=str(path), outcome=result.outcome, bundle_id=result.bundle_id,
                          message=f"{result.kind} seq {result.seq}")  # fmt: skip
    if data.lstrip().startswith(b"{"):
        try:
            with transaction(ctx.engine) as session:
                receipt = record_receipt(ctx, session, data)
        except TrustError as exc:
            raise TransferFileError(f"{path.name}: {exc.message}") from exc
        return ImportItem(path=str(path), outcome="receipt", bundle_id=receipt.bundle_id,
                          message=receipt.status.value)  # fmt: skip
    raise TransferFileError(f"{path.name}: neither a bundle nor a receipt")


def import_paths(ctx: NodeContext, paths: Iterable[Path], *, actor: str) -> ImportReport:
    """Import files (see the module docstring); each file succeeds or fails alone.

    Raises:
        NotEnrolledError: the node is not enrolled yet.
    """
    with transaction(ctx.engine) as session:
        require_parent(session)
    items: list[ImportItem] = []
    started = ctx.now()
    for path in paths:
        try:
            item = _import_one(ctx, Path(path))
        except NotEnrolledError:
            raise
        except MusterError as exc:
            item = ImportItem(path=str(path), outcome="rejected", message=exc.message)
        items.append(item)
        with transaction(ctx.engine) as session:
            append_audit(
                session,
                at=ctx.now(),
                actor=actor,
                action=f"transfer.{item.outcome}",
                subject=item.bundle_id or "file",
                details={"code": item.outcome},
            )
    refused = [f"{Path(i.path).name}: {i.message}" for i in items if i.outcome == "rejected"]
    with transaction(ctx.engine) as session:  # the status page lists import errors too
        session.add(
            SyncRunRow(
                started_at=started,
                finished_at=ctx.now(),
                via="usb",
                downloaded=sum(i.outcome in ("applied", "parked") for i in items),
                error="; ".join(refused)[:2000] or None,
            )
        )
    return ImportReport(items=tuple(items))
