"""Down bundles: what the hub seals for a child (decisions, trust), in that child's stream.

Each child has a stream from the hub, like every (sender, receiver) pair: sequence
numbers from 1, each bundle naming the previous one's hash. A down bundle is sealed to
the child's age recipient (from its certificate) and the province recovery key
(:mod:`hub.escrow`), written to ``DATA/down/<hash>.bundle`` and queued in the same
transaction as the decision that made it. The child fetches it with
``GET /api/v1/down`` and acknowledges it with a signed receipt.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crypto.age import AgeRecipient
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.escrow import escrow_recipients
from hub.faults import fault
from hub.rawstore import bundle_path
from hub.store.models import DownBundle
from hub.streams import lock_stream, raise_alert
from node.fsutil import atomic_writer
from protocol.bundle import BundleKind, seal_bundle
from protocol.entries import encode_entry
from protocol.errors import TrustError
from protocol.trust import Receipt, ReceiptStatus, Role, newest_certificate

__all__ = ["acknowledge", "queue_down", "recipient_key"]


def recipient_key(ctx: HubContext, session: Session, subject: str) -> AgeRecipient:
    """The age recipient of a child, from its newest node or hub certificate.

    Raises:
        NotFoundError: no certificate names this child.
    """
    certs = [
        c
        for c in ctx.trust(session).certificates_of(subject)
        if c.role in (Role.NODE, Role.HUB) and c.age is not None
    ]
    if not certs:
        raise NotFoundError(f"no node or hub certificate for {subject}: cannot seal to it")
    newest = newest_certificate(certs)
    assert newest.age is not None
    return newest.age


def queue_down(
    ctx: HubContext,
    session: Session,
    *,
    recipient: str,
    kind: BundleKind,
    entries: Iterable[object],
    about: int | None = None,
) -> DownBundle:
    """Seal ``entries`` for ``recipient`` as the next bundle of its stream; queue it.

    ``entries`` are typed values or already in wire form (``[tag, body]`` lists). The
    bundle is sealed to the child and the province recovery key (:mod:`hub.escrow`).

    Raises:
        NotFoundError: no certificate names the child.
        NoEscrowError: the hub is enrolled but holds no recovery key.
    """
    age = recipient_key(ctx, session, recipient)
    escrow = escrow_recipients(ctx, session)
    stream = lock_stream(session, ctx.site, recipient)
    seq = stream.last_seq + 1
    now = ctx.now()
    bundle_id = secrets.token_hex(16)
    directory = ctx.config.down_dir
    directory.mkdir(parents=True, exist_ok=True)
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    recipients = [age, *escrow]
    scratch = Path(tempfile.mkdtemp(prefix="down-", dir=ctx.config.scratch_dir))
    try:
        staging = scratch / "bundle"
        with staging.open("wb") as out, tempfile.TemporaryFile(dir=scratch) as spool:
            sealed = seal_bundle(
                (e if isinstance(e, list) else encode_entry(e) for e in entries),
                kind=kind,
                sender=ctx.site,
                recipient=recipient,
                seq=seq,
                prev=stream.last_hash,
                created=now,
                bundle_id=bundle_id,
                signer=ctx.keys.signing,
                recipients=recipients,
                out=out,
                spool=spool,
            )
        final = bundle_path(directory, sealed.bundle_hash)
        with atomic_writer(final, mode=0o440) as handle, staging.open("rb") as source:
            while chunk := source.read(1 << 20):
                handle.write(chunk)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        os.rmdir(scratch)
    fault("down.file_written")
    stream.last_seq, stream.last_hash = seq, sealed.bundle_hash
    row = DownBundle(
        recipient=recipient,
        seq=seq,
        bundle_id=bundle_id,
        kind=kind.value,
        bundle_hash=sealed.bundle_hash,
        size=sealed.size,
        created_at=now,
        state="queued",
        about=about,
    )
    session.add(row)
    session.flush()
    return row


def acknowledge(ctx: HubContext, session: Session, receipt: Receipt, *, caller: str) -> DownBundle:
    """Record a child's signed receipt for one of its down bundles.

    The receipt's signature must already be checked against the caller's key.

    Raises:
        NotFoundError: no such down bundle for this caller.
        TrustError: the receipt names another bundle, sender or receiver.
    """
    row = session.scalar(
        sa.select(DownBundle).where(
            DownBundle.recipient == caller, DownBundle.bundle_id == receipt.bundle_id
        )
    )
    if row is None:
        raise NotFoundError(f"no down bundle {receipt.bundle_id} for {caller}")
    if (
        receipt.bundle_hash != row.bundle_hash
        or receipt.sender != ctx.site
        or receipt.receiver != caller
        or receipt.seq != row.seq
    ):
        raise TrustError(f"receipt for {receipt.bundle_id}: hash, parties or seq differ")
    if row.state != "queued":
        return row  # a repeated receipt: the first one counts
    row.receipt = receipt.to_bytes().decode("utf-8")
    row.acknowledged_at = ctx.now()
    if receipt.status is ReceiptStatus.ACCEPTED:
        row.state = "delivered"
    else:
        row.state = "refused"
        raise_alert(
            session,
            at=ctx.now(),
            kind="down_refused",
            subject=caller,
            bundle=None,
            message=f"{caller} refused down bundle {row.seq}: {receipt.reason_code}",
        )
    return row
