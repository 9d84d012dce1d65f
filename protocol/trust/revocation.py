"""Revocation lists: an issuer's signed list of the certificates it has withdrawn."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.hashing import TAG_REVOCATION
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

__all__ = [
    "REVOCATION_TYPE",
    "RevocationList",
    "RevocationReason",
    "Revoked",
    "issue_revocation_list",
]

REVOCATION_TYPE: Final = "muster-revocation-list"
_SERIAL: Final = re.compile(r"[0-9a-f]{32}")
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")
_MAX_ENTRIES: Final = 100_000


class RevocationReason(enum.StrEnum):
    """Why a certificate was withdrawn; decides which bundles it invalidates."""

    #: The key may be in someone else's hands: nothing it signed is trusted, whatever
    #: time the signer claims (a thief can back-date).
    KEY_COMPROMISE = "key_compromise"
    #: Replaced by a newer certificate (key rotation): bundles created before the
    #: revocation time stay valid.
    SUPERSEDED = "superseded"
    #: The office closed or the person left.
    CESSATION = "cessation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Revoked:
    serial: str
    revoked_at: datetime
    reason: RevocationReason

    def __post_init__(self) -> None:
        if not _SERIAL.fullmatch(self.serial):
            raise TrustError("revocation entry: serial must be 32 hex digits")


@dataclass(frozen=True, slots=True, kw_only=True)
class RevocationList:
    """Attributes:
    issuer: subject id of the issuer (who certified the revoked certificates).
    issuer_key_id: the key that signed the list.
    number: increases with every new list from the issuer; the highest wins.
    issued_at: when it was made.
    entries: the revoked certificates.
    """

    issuer: str
    issuer_key_id: bytes
    number: int
    issued_at: datetime
    entries: tuple[Revoked, ...]
    signature: bytes = b""

    def __post_init__(self) -> None:
        if not SUBJECT_PATTERN.fullmatch(self.issuer):
            raise TrustError("revocation list: issuer id is malformed")
        if len(self.entries) > _MAX_ENTRIES:
            raise TrustError(f"revocation list: more than {_MAX_ENTRIES} entries")

    def body(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "issuer_key": self.issuer_key_id[::-1].hex().upper(),
            "number": self.number,
            "issued_at": format_instant(self.issued_at),
            "revoked": [
                {"serial": r.serial, "at": format_instant(r.revoked_at), "reason": r.reason.value}
                for r in self.entries
            ],
        }

    def to_bytes(self) -> bytes:
        return encode_statement(REVOCATION_TYPE, self.body(), self.signature)

    def find(self, serial: str) -> Revoked | None:
        for entry in self.entries:
            if entry.serial == serial:
                return entry
        return None

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> RevocationList:
        """Parse a revocation list (its signature is verified by the trust store).

        Raises:
            TrustError: malformed.
        """
        what = "revocation list"
        body, signature = decode_statement(data, REVOCATION_TYPE)
        revoked = body.get("revoked")
        if not isinstance(revoked, list):
            raise TrustError(f"{what}: revoked must be a list")
        entries = []
        for item in revoked:
            if not isinstance(item, dict):
                raise TrustError(f"{what}: each revoked entry must be an object")
            try:
                reason = RevocationReason(str(item.get("reason")))
            except ValueError as exc:
                raise TrustError(f"{what}: unknown reason {item.get('reason')!r}") from exc
            entries.append(
                Revoked(
                    serial=text_field(item, "serial", what, _SERIAL),
                    revoked_at=parse_instant(item.get("at"), f"{what}.at"),
                    reason=reason,
                )
            )
        return cls(
            issuer=text_field(body, "issuer", what, SUBJECT_PATTERN),
            issuer_key_id=bytes.fromhex(text_field(body, "issuer_key", what, _KEY_ID))[::-1],
            number=int_field(body, "number", what),
            issued_at=parse_instant(body.get("issued_at"), f"{what}.issued_at"),
            entries=tuple(entries),
            signature=signature,
        )

    def verify_signature(self, issuer_key: PublicKey) -> None:
        """Raises:
        TrustError: the signature does not verify.
        """
        verify_body(TAG_REVOCATION, self.body(), self.signature, issuer_key, "revocation list")


def issue_revocation_list(
    *,
    issuer_key: SigningKey,
    issuer: str,
    number: int,
    issued_at: datetime,
    entries: Iterable[Revoked],
) -> RevocationList:
    """Make and sign a revocation list."""
    unsigned = RevocationList(
        issuer=issuer,
        issuer_key_id=issuer_key.public_key.key_id,
        number=number,
        issued_at=issued_at,
        entries=tuple(entries),
    )
    return dataclasses.replace(
        unsigned, signature=sign_body(TAG_REVOCATION, unsigned.body(), issuer_key)
    )
