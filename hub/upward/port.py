"""The hub's agent toward its parent: :func:`node.services.sync.run_sync` over the hub's store.

:class:`HubSyncPort` is the hub's :class:`~node.services.sync.SyncPort`: its up half
is this package's (sealed packages in stream order, uploaded, receipted; the parent's
receipt verified against its certificate before anything is marked), its down half is
the one that applies the parent's down bundles (:class:`DownHalf`, hub/fromparent.py's
``ParentDownPort``). :func:`sync_with_parent` runs one sync over HTTP with the node's
client (retries with back-off and jitter: ``node.services.client``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from crypto.errors import MusterError
from hub.context import HubContext
from hub.errors import ConfigError
from hub.rawstore import bundle_path
from hub.upward.outbox import mark_sent, record_receipt, unacknowledged
from hub.upward.parent import require_parent, up_dir
from node.errors import HubResponseError
from node.services.client import HubClient, RetryPolicy
from node.services.inbox import DownResult
from node.services.sync import Outgoing, run_sync
from node.services.values import SyncReport
from protocol.trust import ReceiptStatus

__all__ = ["DownHalf", "HubSyncPort", "sync_with_parent"]


class DownHalf(Protocol):
    """The down half of a :class:`~node.services.sync.SyncPort` (see its methods)."""

    def down_after(self) -> int: ...

    def accept_down(self, data: bytes) -> DownResult: ...

    def refusal(self, data: bytes, error: MusterError) -> bytes | None: ...

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]: ...

    def receipt_posted(self, key: str) -> None: ...


class HubSyncPort:
    """The hub's store as a sync port: packages up, the parent's down bundles through ``down``."""

    def __init__(self, ctx: HubContext, down: DownHalf) -> None:
        self._ctx = ctx
        self._down = down

    def outgoing(self) -> Sequence[Outgoing]:
        with self._ctx.store.read() as session:
            require_parent(self._ctx, session)
            return [
                Outgoing(bundle_id=row.bundle_id, seq=row.seq or 0)
                for row in unacknowledged(session)
            ]

    def mark_sent(self, bundle_id: str) -> bytes:
        ctx = self._ctx
        with ctx.store.write() as session:
            row = mark_sent(session, bundle_id, at=ctx.now(), exported=False)
            digest = row.bundle_hash
        assert digest is not None
        return bundle_path(up_dir(ctx), digest).read_bytes()

    def take_receipt(self, bundle_id: str, receipt: Mapping[str, Any]) -> ReceiptStatus:
        with self._ctx.store.write() as session:
            taken = record_receipt(self._ctx, session, dict(receipt))
        if taken.bundle_id != bundle_id:
            raise HubResponseError(
                f"upload of package {bundle_id} answered with a receipt for {taken.bundle_id}"
            )
        return taken.status

    def down_after(self) -> int:
        return self._down.down_after()

    def accept_down(self, data: bytes) -> DownResult:
        return self._down.accept_down(data)

    def refusal(self, data: bytes, error: MusterError) -> bytes | None:
        return self._down.refusal(data, error)

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]:
        return self._down.unposted_receipts()

    def receipt_posted(self, key: str) -> None:
        self._down.receipt_posted(key)


async def sync_with_parent(
    ctx: HubContext, down: DownHalf, *, retry: RetryPolicy | None = None
) -> SyncReport:
    """One sync with the parent at ``parent_url``: packages up, down bundles, receipts.

    Raises:
        ConfigError: no ``parent_url`` is configured (packages travel by USB then).
        NotEnrolledError: the hub has no parent (the province, or not enrolled yet).
        HubUnreachableError: the parent did not answer after the retries.
        HubResponseError: the parent answered what the API does not allow.
    """
    if not ctx.config.parent_url:
        raise ConfigError(
            "parent_url is not set: this hub sends its packages by USB (muster hub export)"
        )
    async with HubClient(
        ctx.config.parent_url,
        subject=ctx.site,
        key=ctx.keys.signing,
        now=ctx.now,
        retry=retry,
        max_bundle_bytes=ctx.config.max_bundle_bytes,
    ) as client:
        return await run_sync(HubSyncPort(ctx, down), client)
