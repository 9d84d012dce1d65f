"""One sync run with the parent hub, over any store that implements :class:`SyncPort`.

:func:`run_sync` is the whole protocol of docs/api.md from the sender's side; it does
not know whether it runs for a node (delta bundles up, baselines and decisions down) or
for a hub's agent toward its own parent: the port says what to send and what to do with
what comes back. :class:`NodeSyncPort` is the node's port over its store.

A run:

1. uploads every outgoing bundle in stream order; a bundle is marked ``sent`` before
   the upload and ``acknowledged`` only once the hub's receipt has been verified and
   stored. A rejection stops the uploads (later bundles would only wait behind it);
2. fetches the down bundles after the last one applied, and applies each once
   (:mod:`node.services.inbox`), even after a rejected upload (the revocation list
   that explains it may be waiting); one that fails its checks is refused with a
   signed ``rejected`` receipt and stops the downloads;
3. posts our receipts for applied down bundles that the hub has not had yet.

A dropped connection is retried (:mod:`node.services.client`); a run that still fails
leaves everything as it was, and the next run starts over where this one stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import select

from crypto.errors import InputError, MusterError
from node.errors import HubResponseError
from node.services.client import DownListing, HubClient
from node.services.context import NodeContext
from node.services.faults import pause_point
from node.services.inbox import DownResult, accept_down
from node.services.outbox import mark_sent, record_receipt, unacknowledged
from node.services.state import DOWN, position, require_parent
from node.services.streams import refuse_down
from node.services.trust import load_trust
from node.services.values import SyncReport
from node.store import transaction
from node.store.models import InboxRow, OutboxRow
from protocol.bundle import BundleLimits
from protocol.errors import TrustError
from protocol.trust import ReceiptStatus

__all__ = ["NodeSyncPort", "Outgoing", "SyncPort", "run_sync"]

_log = logging.getLogger("muster.node.sync")
#: The hub lists at most this many down bundles per answer (docs/api.md).
_PAGE: Final = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """A sealed bundle waiting for its receipt (its bytes are read when it is sent)."""

    bundle_id: str
    seq: int


class SyncPort(Protocol):
    """What :func:`run_sync` needs from a store. Every method is one transaction."""

    def outgoing(self) -> Sequence[Outgoing]:
        """Bundles not yet acknowledged (nor rejected), in stream order."""
        ...

    def mark_sent(self, bundle_id: str) -> bytes:
        """The bundle is being uploaded: note it, and return its bytes."""
        ...

    def take_receipt(self, bundle_id: str, receipt: Mapping[str, Any]) -> ReceiptStatus:
        """Verify and store the hub's receipt for the bundle; return its status."""
        ...

    def down_after(self) -> int:
        """The sequence number of the last down bundle applied."""
        ...

    def accept_down(self, data: bytes) -> DownResult:
        """Verify and apply (or park) a down bundle; a duplicate changes nothing."""
        ...

    def refusal(self, data: bytes, error: MusterError) -> bytes | None:
        """A signed ``rejected`` receipt for a down bundle that failed, if its sender
        can be identified (its signature verified); None otherwise. Stores nothing."""
        ...

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]:
        """Our receipts for down bundles the hub has not had: ``(key, receipt)``."""
        ...

    def receipt_posted(self, key: str) -> None:
        """The hub has the receipt named by ``key``."""
        ...


async def run_sync(port: SyncPort, client: HubClient) -> SyncReport:
    """Run one sync (see the module docstring) and say what moved.

    Raises:
        HubUnreachableError: the hub stopped answering; what was done so far is kept.
        HubResponseError: the hub answered something the API does not allow.
    """
    uploaded = acknowledged = rejected = downloaded = applied = posted = 0
    error: str | None = None
    for item in port.outgoing():
        answer = await client.upload(port.mark_sent(item.bundle_id))
        uploaded += 1
        pause_point("sync.before_receipt")
        if answer.receipt is None:
            message = (answer.error or {}).get("message", "no reason given")
            raise HubResponseError(
                f"bundle {item.bundle_id} refused without a receipt (HTTP {answer.http_status}: "
                f"{str(message)[:200]})"
            )
        try:
            status = port.take_receipt(item.bundle_id, answer.receipt)
        except TrustError as exc:
            # Signed by a key we do not know yet (the parent rolled its keys): the trust
            # bundle with its new certificate comes down below; the next sync resends
            # the bundle, gets the same receipt back as a duplicate, and can check it.
            error = f"bundle seq {item.seq}: receipt not checked yet ({exc.message})"
            break
        if status is ReceiptStatus.ACCEPTED:
            acknowledged += 1
        else:
            rejected += 1
            error = f"bundle seq {item.seq} was rejected by the hub"
            break
    # Downloads run even after a rejected upload: a decision, or the revocation list that
    # explains the rejection, may be waiting.
    after = port.down_after()
    refused = False
    while not refused:
        listing = await client.list_down(after)
        for entry in listing:
            refusal = await _down(port, client, entry)
            downloaded += 1
            if isinstance(refusal, str):
                error, refused = error or refusal, True
                break
            applied += refusal
            after = max(after, entry.seq)
        if len(listing) < _PAGE:
            break
    for key, receipt in port.unposted_receipts():
        await client.post_receipt(receipt)
        port.receipt_posted(key)
        posted += 1
    return SyncReport(
        uploaded=uploaded,
        acknowledged=acknowledged,
        rejected=rejected,
        downloaded=downloaded,
        applied=applied,
        receipts_posted=posted,
        error=error,
    )


async def _down(port: SyncPort, client: HubClient, entry: DownListing) -> int | str:
    """Fetch and apply one down bundle: 1 if applied, 0 if parked or held, or the error."""
    data = await client.fetch_down(entry)
    try:
        result = port.accept_down(data)
    except InputError as exc:
        _log.warning("down bundle %d refused: %s", entry.seq, exc.code)
        receipt = port.refusal(data, exc)
        if receipt is not None:
            await client.post_receipt(receipt)
        return f"down bundle seq {entry.seq} refused: {exc.message}"
    return 1 if result.outcome == "applied" else 0


class NodeSyncPort:
    """The node's store as a :class:`SyncPort`."""

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx

    def outgoing(self) -> Sequence[Outgoing]:
        with transaction(self._ctx.engine) as session:
            require_parent(session)
            return [
                Outgoing(bundle_id=row.bundle_id, seq=row.seq) for row in unacknowledged(session)
            ]

    def mark_sent(self, bundle_id: str) -> bytes:
        with transaction(self._ctx.engine) as session:
            mark_sent(self._ctx, session, bundle_id, exported=False)
            row = session.get(OutboxRow, bundle_id)
            return row.data if row is not None else b""

    def take_receipt(self, bundle_id: str, receipt: Mapping[str, Any]) -> ReceiptStatus:
        with transaction(self._ctx.engine) as session:
            taken = record_receipt(self._ctx, session, dict(receipt))
        if taken.bundle_id != bundle_id:
            raise HubResponseError(
                f"upload of bundle {bundle_id} answered with a receipt for {taken.bundle_id}"
            )
        return taken.status

    def down_after(self) -> int:
        with transaction(self._ctx.engine) as session:
            return position(session, require_parent(session), DOWN).last_seq

    def accept_down(self, data: bytes) -> DownResult:
        return accept_down(self._ctx, data, source="http")

    def refusal(self, data: bytes, error: MusterError) -> bytes | None:
        ctx = self._ctx
        with transaction(ctx.engine) as session:
            parent = require_parent(session)
            trust = load_trust(session, ctx.anchor)
        return refuse_down(
            data,
            error,
            parent=parent,
            receiver=ctx.node_id,
            key=ctx.keys.signing,
            trust=trust,
            now=ctx.now(),
            limits=BundleLimits(max_bundle_bytes=ctx.config.max_bundle_bytes),
        )

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]:
        with transaction(self._ctx.engine) as session:
            rows = session.execute(
                select(InboxRow.bundle_hash, InboxRow.receipt)
                .where(InboxRow.receipt_posted.is_(False), InboxRow.receipt.is_not(None))
                .order_by(InboxRow.seq)
            ).all()
        return [(digest, text.encode("utf-8")) for digest, text in rows if text]

    def receipt_posted(self, key: str) -> None:
        with transaction(self._ctx.engine) as session:
            row = session.get(InboxRow, key)
            if row is not None:
                row.receipt_posted = True
