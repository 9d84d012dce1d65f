"""The up stream on a USB stick: packages out, receipts back.

``muster hub export --to DIR`` (:func:`export_up`) writes every package still on its way
to the parent as a file, the bytes an upload would send, named
``<site>-<seq>-<kind>-<bundle id>.bundle``; first, our receipts for the parent's down
bundles that it has not had are sealed into one ``receipt`` bundle of the up stream (as
a node does: node/services/transfer.py). The parent takes the files with ``muster hub
import`` (parked if they arrive out of order) and writes its receipts with
``--receipts-to DIR`` (:func:`write_receipts`); ``muster hub import`` here takes those
receipt files back (:func:`import_receipt`). A package both exported and uploaded is
taken once: the parent answers the second copy as a duplicate, and a second receipt
changes nothing here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from hub.context import HubContext
from hub.rawstore import bundle_path
from hub.store.models import BundleRow, UpBundle
from hub.upward.building import seal_entries
from hub.upward.outbox import mark_sent, record_receipt, unacknowledged
from hub.upward.parent import require_parent, up_dir
from hub.upward.port import DownHalf
from node.errors import TransferFileError
from node.fsutil import write_atomic
from node.services.values import ExportReport
from protocol.bundle import BundleKind
from protocol.entries import encode_entry
from protocol.trust import Receipt

__all__ = ["RECEIPT_SUFFIX", "export_up", "import_receipt", "write_receipts"]

#: How the parent names a receipt file it writes for a USB stick.
RECEIPT_SUFFIX: Final = ".receipt.json"


def _seal_receipts(ctx: HubContext, down: DownHalf) -> int:
    """Seal our receipts the parent has not had into one receipt bundle; return how many."""
    pending = list(down.unposted_receipts())
    if not pending:
        return 0
    receipts = [Receipt.from_bytes(data) for _key, data in pending]
    with ctx.store.writer() as session:
        parent = require_parent(ctx, session)
        row = UpBundle(
            bundle_id=secrets.token_hex(16),
            recipient=parent,
            kind=BundleKind.RECEIPT.value,
            state="draft",
            op_count=0,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        seal_entries(ctx, session, row, [encode_entry(r) for r in receipts])
        session.commit()
    for key, _data in pending:
        down.receipt_posted(key)
    return len(pending)


def export_up(ctx: HubContext, directory: Path, *, down: DownHalf | None = None) -> ExportReport:
    """Write every bundle on its way to the parent into ``directory``.

    Raises:
        NotEnrolledError: the hub has no parent.
        TransferFileError: ``directory`` is missing or cannot be written (a full stick);
            the files written before the failure stay valid.
    """
    target = Path(directory)
    if not target.is_dir():
        raise TransferFileError(f"export directory {target} does not exist")
    receipts = _seal_receipts(ctx, down) if down is not None else 0
    with ctx.store.read() as session:
        require_parent(ctx, session)
        rows = [(r.bundle_id, r.seq, r.kind, r.bundle_hash) for r in unacknowledged(session)]
    files: list[str] = []
    for bundle_id, seq, kind, digest in rows:
        assert digest is not None
        path = target / f"{ctx.site}-{seq or 0:06d}-{kind}-{bundle_id}.bundle"
        try:
            write_atomic(path, bundle_path(up_dir(ctx), digest).read_bytes(), mode=0o644)
        except OSError as exc:
            raise TransferFileError(
                f"could not write {path.name} to {target} ({exc.strerror or exc}); "
                f"{len(files)} of {len(rows)} bundles were written",
                written=len(files),
            ) from exc
        with ctx.store.write() as session:
            mark_sent(session, bundle_id, at=ctx.now(), exported=True)
        files.append(str(path))
    return ExportReport(files=tuple(files), bundles=len(files), receipts=receipts)


def import_receipt(ctx: HubContext, data: bytes) -> Receipt:
    """Take the parent's receipt for one of our bundles (a file from a USB stick).

    Raises:
        TrustError: malformed, for a bundle we did not send, or not signed by the parent.
    """
    with ctx.store.write() as session:
        return record_receipt(ctx, session, data)


def write_receipts(ctx: HubContext, row_ids: Iterable[int], directory: Path) -> list[Path]:
    """At the parent: write the receipts of bundles taken in from a USB stick, one file
    each (``<bundle id>.receipt.json``), for the child to import."""
    written: list[Path] = []
    with ctx.store.read() as session:
        found = [session.get(BundleRow, row_id) for row_id in row_ids]
    for row in found:
        if row is None or row.receipt is None or row.bundle_id is None:
            continue
        path = Path(directory) / f"{row.bundle_id}{RECEIPT_SUFFIX}"
        write_atomic(path, row.receipt.encode("utf-8") + b"\n", mode=0o644)
        written.append(path)
    return written
