"""Receipts: the receiver's signed word that it holds (or refused) a bundle."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.hashing import TAG_RECEIPT
from crypto.sign import PublicKey, SigningKey
from protocol.errors import TrustError
from protocol.trust.statement import (
    SUBJECT_PATTERN,
    decode_statement,
    encode_statement,
    format_instant,
    int_field,
    parse_instant,
    sign_body,
    text_field,
    verify_body,
)

__all__ = ["RECEIPT_TYPE", "Receipt", "ReceiptStatus", "issue_receipt"]

RECEIPT_TYPE: Final = "muster-receipt"
_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")
_MAX_REASON: Final = 500


class ReceiptStatus(enum.StrEnum):
    #: Stored immutably and verified; the sender may mark its ops delivered.
    ACCEPTED = "accepted"
    #: Refused; ``reason`` says why. The sender must not mark anything delivered.
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    bundle_id: str
    bundle_hash: str
    sender: str
    receiver: str
    seq: int
    status: ReceiptStatus
    received_at: datetime
    receiver_key_id: bytes
    reason: str = ""
    reason_code: str = ""
    signature: bytes = b""

    def __post_init__(self) -> None:
        what = "receipt"
        if not _HEX32.fullmatch(self.bundle_id) or not _HEX64.fullmatch(self.bundle_hash):
            raise TrustError(f"{what}: bundle id or hash malformed")
        if not (
            SUBJECT_PATTERN.fullmatch(self.sender) and SUBJECT_PATTERN.fullmatch(self.receiver)
        ):
            raise TrustError(f"{what}: sender or receiver id malformed")
        if len(self.reason) > _MAX_REASON or len(self.reason_code) > 64:
            raise TrustError(f"{what}: reason too long")

    def body(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle_id,
            "hash": self.bundle_hash,
            "from": self.sender,
            "to": self.receiver,
            "seq": self.seq,
            "status": self.status.value,
            "at": format_instant(self.received_at),
            "key": self.receiver_key_id[::-1].hex().upper(),
            "reason": self.reason,
            "code": self.reason_code,
        }

    def to_bytes(self) -> bytes:
        return encode_statement(RECEIPT_TYPE, self.body(), self.signature)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.to_bytes())
        return result

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> Receipt:
        """Parse a receipt (verify it with :meth:`verify_signature`).

        Raises:
            TrustError: malformed.
        """
        what = "receipt"
        body, signature = decode_statement(data, RECEIPT_TYPE)
        try:
            status = ReceiptStatus(str(body.get("status")))
        except ValueError as exc:
            raise TrustError(f"{what}: unknown status") from exc
        reason, code = body.get("reason", ""), body.get("code", "")
        if not isinstance(reason, str) or not isinstance(code, str):
            raise TrustError(f"{what}: reason must be text")
        return cls(
            bundle_id=text_field(body, "bundle", what, _HEX32),
            bundle_hash=text_field(body, "hash", what, _HEX64),
            sender=text_field(body, "from", what, SUBJECT_PATTERN),
            receiver=text_field(body, "to", what, SUBJECT_PATTERN),
            seq=int_field(body, "seq", what),
            status=status,
            received_at=parse_instant(body.get("at"), f"{what}.at"),
            receiver_key_id=bytes.fromhex(text_field(body, "key", what, _KEY_ID))[::-1],
            reason=reason,
            reason_code=code,
            signature=signature,
        )

    def verify_signature(self, receiver_key: PublicKey) -> None:
        """Raises:
        TrustError: the receipt was not signed by ``receiver_key``.
        """
        if receiver_key.key_id != self.receiver_key_id:
            raise TrustError(f"receipt for {self.bundle_id}: signed by another key")
        verify_body(TAG_RECEIPT, self.body(), self.signature, receiver_key, "receipt")


def issue_receipt(
    *,
    key: SigningKey,
    bundle_id: str,
    bundle_hash: str,
    sender: str,
    receiver: str,
    seq: int,
    status: ReceiptStatus,
    received_at: datetime,
    reason: str = "",
    reason_code: str = "",
) -> Receipt:
    """Make and sign a receipt."""
    unsigned = Receipt(
        bundle_id=bundle_id,
        bundle_hash=bundle_hash,
        sender=sender,
        receiver=receiver,
        seq=seq,
        status=status,
        received_at=received_at,
        receiver_key_id=key.public_key.key_id,
        reason=reason[:_MAX_REASON],
        reason_code=reason_code,
    )
    return dataclasses.replace(unsigned, signature=sign_body(TAG_RECEIPT, unsigned.body(), key))
