"""Down bundles from this hub's parent: verified, applied once, and passed on below.

A district hub gets ``baseline``, ``decisions``, ``problems`` and ``trust`` bundles from
its city hub as a node gets them from its district (docs/federation.md §4), by HTTP
(:class:`ParentDownPort`, the down half of the agent's sync) or on a USB stick
(``muster hub import``). Each one is:

1. checked (docs/protocol.md §4, steps 1–4 with the hub's trust at its clock): signed
   by the parent (the issuer of this hub's certificate), addressed to this hub, of a
   down kind — a forged, foreign or tampered bundle stops here and changes nothing;
2. kept in ``bundles/`` (the raw evidence, also what escrow recovery restores);
3. placed in the parent's stream (``protocol.stream.classify``): the next one is
   applied, a resend is a duplicate, one beyond a gap is parked until the gap fills,
   another bundle with a used number is refused;
4. applied in one transaction (:class:`hub.reissue.Reissue`): what is for this hub
   into its store, what is for its children sealed into their down streams under this
   hub's key, the inbox row with our signed receipt, the stream position and an audit
   entry. A crash before the commit leaves nothing of it; after it, a second delivery
   is a duplicate.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from crypto.errors import MusterError, UsageError
from hub.audit import append_audit
from hub.context import HubContext
from hub.parentapply import apply_from_parent, flat_summary, inbox_row, take_parent_receipt
from hub.rawstore import bundle_path, store_file
from hub.reissue import ReceiptHandler
from hub.store.models import ParentBundle, StreamRow
from hub.streams import lock_stream
from hub.upward.parent import parent_of
from hub.verify import peek_header
from node.errors import ForeignBundleError, NotEnrolledError
from node.services.inbox import DownResult
from node.services.streams import refuse_down
from node.services.sync import Outgoing
from protocol.bundle import BundleHeader, BundleKind, verify_bundle
from protocol.errors import StreamError
from protocol.stream import StreamPosition, Verdict, classify
from protocol.trust import CertificateTrust, ReceiptStatus, TrustStore

__all__ = [
    "DOWN_KINDS",
    "ParentDownPort",
    "accept_from_parent",
    "apply_parked_from_parent",
    "import_down_file",
    "take_parent_receipt",
]

#: What a parent may send down to a hub.
DOWN_KINDS: Final = frozenset(
    {
        BundleKind.BASELINE,
        BundleKind.DECISIONS,
        BundleKind.PROBLEMS,
        BundleKind.TRUST,
        BundleKind.RECEIPT,
    }
)


def _require_parent(ctx: HubContext) -> tuple[str, TrustStore]:
    with ctx.store.read() as session:
        parent = parent_of(ctx, session)
        trust = ctx.trust(session)
    if parent is None:
        raise NotEnrolledError(
            f"hub {ctx.site} has no parent hub (not enrolled, or the province): "
            "it takes no down bundles"
        )
    return parent, trust


def _check(
    ctx: HubContext, data: bytes, parent: str, trust: TrustStore
) -> tuple[BundleHeader, str]:
    """Steps 1–4 and the down-bundle rules; the header and the bundle's hash."""
    verified = verify_bundle(
        io.BytesIO(data), trust=CertificateTrust(trust, ctx.now()), limits=ctx.config.limits
    )
    header = verified.header
    if header.sender != parent:
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is from {header.sender}, not from this hub's parent "
            f"{parent}",
            bundle=header.bundle_id,
        )
    if header.recipient != ctx.site:
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is addressed to {header.recipient}, not to {ctx.site}",
            bundle=header.bundle_id,
        )
    if header.kind not in DOWN_KINDS:
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is a {header.kind} bundle, which a parent does not "
            "send down",
            bundle=header.bundle_id,
        )
    return header, verified.bundle_hash


def accept_from_parent(
    ctx: HubContext, data: bytes, *, source: str, on_receipt: ReceiptHandler | None = None
) -> DownResult:
    """Verify a bundle from the parent and apply it once (or park it, or see a duplicate).

    Then apply any parked bundles its arrival un-blocks.

    Raises:
        NotEnrolledError: this hub has no parent.
        BundleError: a check of docs/protocol.md §4 failed (typed by step).
        ForeignBundleError: not from the parent, not for this hub, or of a wrong kind.
        StreamError: a different bundle already holds its sequence number.
        EntryError, OpError, TrustError: an entry is malformed or not acceptable; nothing
            was applied.
    """
    parent, trust = _require_parent(ctx)
    header, digest = _check(ctx, data, parent, trust)
    config = ctx.config
    store_file(
        io.BytesIO(data),
        directory=config.bundles_dir,
        scratch=config.scratch_dir,
        limit=config.max_bundle_bytes,
    )
    with ctx.store.writer() as session:
        ctx.store.lock_merges(session)
        stream = lock_stream(session, parent, ctx.site)

        def held(seq: int) -> str | None:
            return session.scalar(
                sa.select(ParentBundle.bundle_hash).where(
                    ParentBundle.sender == parent, ParentBundle.seq == seq
                )
            )

        decision = classify(
            StreamPosition(stream.last_seq, stream.last_hash),
            seq=header.seq,
            prev=header.prev,
            bundle_hash=digest,
            held=held,
        )
        if decision.verdict is Verdict.DUPLICATE:
            session.rollback()
            return DownResult(
                outcome="duplicate", bundle_id=header.bundle_id, seq=header.seq, kind=header.kind
            )
        if decision.verdict is Verdict.CONFLICT:
            session.rollback()
            raise StreamError(
                f"bundle {header.bundle_id} from {parent}: {decision.reason}",
                bundle=header.bundle_id,
                seq=header.seq,
            )
        row = inbox_row(ctx, header, digest, size=len(data), source=source)
        session.add(row)
        if decision.verdict is Verdict.PARK:
            append_audit(
                session,
                at=ctx.now(),
                actor=parent,
                action="parent.parked",
                subject=header.bundle_id,
                details={"seq": header.seq, "expected": stream.last_seq + 1},
            )
            session.commit()
            return DownResult(
                outcome="parked", bundle_id=header.bundle_id, seq=header.seq, kind=header.kind
            )
        counts = apply_from_parent(ctx, session, row, header, on_receipt)
        session.commit()
    apply_parked_from_parent(ctx, on_receipt=on_receipt)
    return DownResult(
        outcome="applied",
        bundle_id=header.bundle_id,
        seq=header.seq,
        kind=header.kind,
        counts=tuple(sorted((k, v) for k, v in flat_summary(counts).items())),
    )


def apply_parked_from_parent(ctx: HubContext, *, on_receipt: ReceiptHandler | None = None) -> int:
    """Apply parked bundles from the parent that are now next in its stream; return how many."""
    applied = 0
    while True:
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            parent = parent_of(ctx, session)
            if parent is None:
                return applied
            stream = lock_stream(session, parent, ctx.site)
            row = session.scalar(
                sa.select(ParentBundle).where(
                    ParentBundle.sender == parent,
                    ParentBundle.seq == stream.last_seq + 1,
                    ParentBundle.state == "parked",
                )
            )
            if row is None:
                session.rollback()
                return applied
            data = bundle_path(ctx.config.bundles_dir, row.bundle_hash).read_bytes()
            header, _ = _check(ctx, data, parent, ctx.trust(session))
            if header.prev != stream.last_hash:
                session.rollback()
                raise StreamError(
                    f"parked bundle {header.bundle_id} from {parent}: prev does not match the "
                    f"hash of bundle {stream.last_seq}",
                    bundle=header.bundle_id,
                    seq=header.seq,
                )
            apply_from_parent(ctx, session, row, header, on_receipt)
            session.commit()
        applied += 1


class ParentDownPort:
    """The down half of :class:`node.services.sync.SyncPort` over the hub's store.

    The hub's agent toward its parent (hub/upward) composes it with its up half; alone,
    ``run_sync(ParentDownPort(ctx), client)`` fetches and applies the parent's down
    bundles and posts our receipts.
    """

    def __init__(self, ctx: HubContext, *, on_receipt: ReceiptHandler | None = None) -> None:
        self._ctx = ctx
        self._on_receipt = on_receipt

    def outgoing(self) -> Sequence[Outgoing]:
        return ()

    def mark_sent(self, bundle_id: str) -> bytes:
        raise UsageError(f"the down port sends nothing (asked for {bundle_id})")

    def take_receipt(self, bundle_id: str, receipt: Mapping[str, Any]) -> ReceiptStatus:
        raise UsageError(f"the down port sends nothing (receipt for {bundle_id})")

    def down_after(self) -> int:
        parent, _ = _require_parent(self._ctx)
        with self._ctx.store.read() as session:
            row = session.get(StreamRow, (parent, self._ctx.site))
            return row.last_seq if row is not None else 0

    def accept_down(self, data: bytes) -> DownResult:
        return accept_from_parent(self._ctx, data, source="http", on_receipt=self._on_receipt)

    def refusal(self, data: bytes, error: MusterError) -> bytes | None:
        ctx = self._ctx
        try:
            parent, trust = _require_parent(ctx)
        except NotEnrolledError:
            return None
        return refuse_down(
            data,
            error,
            parent=parent,
            receiver=ctx.site,
            key=ctx.keys.signing,
            trust=trust,
            now=ctx.now(),
            limits=ctx.config.limits,
        )

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]:
        with self._ctx.store.read() as session:
            rows = session.execute(
                sa.select(ParentBundle.bundle_hash, ParentBundle.receipt)
                .where(ParentBundle.receipt_posted.is_(False), ParentBundle.receipt.is_not(None))
                .order_by(ParentBundle.seq)
            ).all()
        return [(digest, text.encode("utf-8")) for digest, text in rows if text]

    def receipt_posted(self, key: str) -> None:
        with self._ctx.store.write() as session:
            row = session.get(ParentBundle, key)
            if row is not None:
                row.receipt_posted = True


def import_down_file(ctx: HubContext, path: Path) -> DownResult | None:
    """A bundle file from a USB stick, if it comes down from our parent (by its unverified
    header); None for any other file (intake takes those).

    Raises:
        as :func:`accept_from_parent`.
    """
    header = peek_header(path, ctx.config.limits)
    if header is None or header.kind not in DOWN_KINDS:
        return None
    with ctx.store.read() as session:
        if header.sender != parent_of(ctx, session):
            return None
    return accept_from_parent(ctx, path.read_bytes(), source="file")
