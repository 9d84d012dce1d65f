"""Upward streams, independent of who sends what: sealing the next bundle of a stream and
checking the receiver's receipts.

A node seals ``delta`` bundles toward its district hub; a hub's own agent seals
``package`` bundles toward its parent with the same functions (ARCHITECTURE §6): the
sender id, its key, the bundle kind and the receiver are parameters, never assumed.
Each (sender, receiver) stream is a hash chain: bundle *n* names the BLAKE2b-256 of
bundle *n − 1* as its ``prev`` (docs/protocol.md §2).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto.age import AgeRecipient
from crypto.errors import MusterError
from crypto.sign import SigningKey
from node.errors import StoreError
from protocol.bundle import BundleKind, BundleLimits, SealedBundle, seal_bundle, verify_bundle
from protocol.errors import TrustError
from protocol.stream import StreamPosition
from protocol.trust import (
    CertificateTrust,
    Receipt,
    ReceiptStatus,
    Role,
    TrustStore,
    issue_receipt,
)

__all__ = [
    "StreamSender",
    "issue_down_receipt",
    "refuse_down",
    "seal_next",
    "verify_receipt",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSender:
    """One upward stream's sending side.

    Attributes:
        sender: the sender's id (a node id, or a hub's site code).
        recipient: the receiving hub's id.
        signer: the sender's signing key.
        recipients: age recipients, the receiving hub's first, then escrow recipients.
        scratch_dir: where the ciphertext is spooled while sealing (same disk as the store).
        limits: the bundle limits to seal within.
    """

    sender: str
    recipient: str
    signer: SigningKey
    recipients: tuple[AgeRecipient, ...]
    scratch_dir: Path
    limits: BundleLimits


def seal_next(
    entries: Iterable[Any],
    *,
    stream: StreamSender,
    position: StreamPosition,
    kind: BundleKind,
    created: datetime,
    bundle_id: str,
    schema: str | None = None,
    auth: dict[str, Any] | None = None,
) -> tuple[bytes, SealedBundle]:
    """Seal the bundle after ``position`` in ``stream``; return its bytes and description.

    Nothing is written but scratch files, which are gone when this returns.

    Raises:
        StoreError: the scratch directory cannot be written (disk full, I/O error).
        EntryLimitError, BundleTooLargeError: the entries break a bundle limit.
    """
    try:
        with (
            tempfile.TemporaryFile(dir=stream.scratch_dir) as spool,
            tempfile.TemporaryFile(dir=stream.scratch_dir) as out,
        ):
            sealed = seal_bundle(
                entries,
                kind=kind,
                sender=stream.sender,
                recipient=stream.recipient,
                seq=position.last_seq + 1,
                prev=position.last_hash,
                created=created,
                bundle_id=bundle_id,
                signer=stream.signer,
                recipients=list(stream.recipients),
                out=out,
                spool=spool,
                schema=schema,
                auth=auth,
                limits=stream.limits,
            )
            out.seek(0)
            data = out.read()
    except OSError as exc:
        raise StoreError(
            f"could not write bundle {bundle_id} to {stream.scratch_dir} "
            f"({exc.strerror or exc}); nothing was authorised",
            reason=exc.strerror or str(exc),
        ) from exc
    return data, sealed


def verify_receipt(
    data: bytes | str | dict[str, Any],
    *,
    sender: str,
    receiver: str,
    bundles: Sequence[tuple[str, str]],
    trust: TrustStore,
) -> Receipt:
    """Check a receipt from ``receiver`` for one of ``sender``'s bundles.

    Args:
        bundles: the ``(bundle id, bundle hash)`` pairs the receipt may be for.

    Raises:
        TrustError: malformed, for another bundle or party, or not signed by a hub key
            the receiver holds a valid certificate for (at the receipt's time).
    """
    receipt = Receipt.from_bytes(data)
    if (receipt.bundle_id, receipt.bundle_hash) not in set(bundles):
        raise TrustError(f"receipt for bundle {receipt.bundle_id}: not a bundle we sent")
    if receipt.sender != sender or receipt.receiver != receiver:
        raise TrustError(
            f"receipt for bundle {receipt.bundle_id}: between {receipt.sender} and "
            f"{receipt.receiver}, expected {sender} and {receiver}"
        )
    certs = [c for c in trust.find(receiver, receipt.receiver_key_id) if c.role is Role.HUB]
    if not certs:
        raise TrustError(f"receipt for bundle {receipt.bundle_id}: signed by an unknown key")
    failure: TrustError | None = None
    for cert in certs:
        try:
            trust.validate(cert, receipt.received_at)
            receipt.verify_signature(cert.sign_key)
        except TrustError as exc:
            failure = exc
            continue
        return receipt
    assert failure is not None
    raise failure


def issue_down_receipt(
    *,
    key: SigningKey,
    receiver: str,
    sender: str,
    bundle_id: str,
    bundle_hash: str,
    seq: int,
    at: datetime,
    accepted: bool,
    reason: str = "",
    reason_code: str = "",
) -> Receipt:
    """Our signed receipt for a bundle that came down from ``sender``."""
    return issue_receipt(
        key=key,
        bundle_id=bundle_id,
        bundle_hash=bundle_hash,
        sender=sender,
        receiver=receiver,
        seq=seq,
        status=ReceiptStatus.ACCEPTED if accepted else ReceiptStatus.REJECTED,
        received_at=at,
        reason=reason,
        reason_code=reason_code,
    )


def refuse_down(
    data: bytes,
    error: MusterError,
    *,
    parent: str,
    receiver: str,
    key: SigningKey,
    trust: TrustStore,
    now: datetime,
    limits: BundleLimits,
) -> bytes | None:
    """A signed ``rejected`` receipt for a down bundle that failed (a node's or a hub's),
    when its signature verifies and it is from ``parent``; None otherwise."""
    try:
        verified = verify_bundle(
            io.BytesIO(data), trust=CertificateTrust(trust, now), limits=limits
        )
    except MusterError:
        return None
    header = verified.header
    if header.sender != parent:
        return None
    receipt = issue_down_receipt(
        key=key,
        receiver=receiver,
        sender=parent,
        bundle_id=header.bundle_id,
        bundle_hash=verified.bundle_hash,
        seq=header.seq,
        at=now,
        accepted=False,
        reason=error.message,
        reason_code=error.code,
    )
    return receipt.to_bytes()
