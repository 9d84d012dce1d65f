"""The escrow statement: which age recipients every bundle in the province is also sealed to.

The province keeps an offline *recovery identity* (an age X25519 key made in the key
ceremony); its recipient must be among the recipients of every bundle any node or hub
seals, so that a lost hub key loses no data (docs/operations.md, "Escrow recovery").
Parties do not type it into their configuration: it reaches them in their enrollment
answer, as a statement signed by the province root (in the ceremony) or by the province
hub, tag ``muster/escrow/v1``::

    {"body":{"at":"2026-11-29T12:00:00Z","by":"370000/root","key":"<key id>",
             "recipients":["age1…"],"site":"370000"},
     "sig":"<base64>","type":"muster-escrow","v":1}

An enrollment answer is not signed as a whole, so the recipients must be: whoever could
swap them in transit would read every bundle of the province. :func:`verify_escrow`
accepts a statement signed by the root anchor's key, or by a ``hub`` certificate of the
anchor's own site that is valid at the statement's time.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.age import AgeRecipient
from crypto.errors import KeyFormatError
from crypto.hashing import TAG_ESCROW
from crypto.sign import SigningKey
from protocol.errors import TrustError
from protocol.trust.certificate import Role
from protocol.trust.statement import (
    SUBJECT_PATTERN,
    decode_statement,
    encode_statement,
    format_instant,
    parse_instant,
    sign_body,
    text_field,
    verify_body,
)
from protocol.trust.store import TrustStore

__all__ = ["ESCROW_TYPE", "EscrowStatement", "issue_escrow", "verify_escrow"]

ESCROW_TYPE: Final = "muster-escrow"
_SITE: Final = re.compile(r"\d{6}", re.ASCII)
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")
_MAX_RECIPIENTS: Final = 8
_WHAT: Final = "escrow statement"


@dataclass(frozen=True, slots=True, kw_only=True)
class EscrowStatement:
    """The province's recovery recipients, signed.

    Attributes:
        site: the province's division code (the root anchor's site).
        recipients: the age recipients every bundle is also sealed to (1 to 8).
        by: the signer: the root (``370000/root``) or the province hub (``370000``).
        key_id: the signing key's id.
        issued_at: when it was signed; a newer statement replaces an older one.
        signature: the signature over the body.
    """

    site: str
    recipients: tuple[AgeRecipient, ...]
    by: str
    key_id: bytes
    issued_at: datetime
    signature: bytes = b""

    def __post_init__(self) -> None:
        if not _SITE.fullmatch(self.site):
            raise TrustError(f"{_WHAT}: site must be a 6-digit division code")
        if not 1 <= len(self.recipients) <= _MAX_RECIPIENTS:
            raise TrustError(f"{_WHAT}: expected 1 to {_MAX_RECIPIENTS} recipients")
        if len({r.text for r in self.recipients}) != len(self.recipients):
            raise TrustError(f"{_WHAT}: a recipient appears twice")
        if not SUBJECT_PATTERN.fullmatch(self.by):
            raise TrustError(f"{_WHAT}: signer id is malformed")

    def body(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "recipients": [r.text for r in self.recipients],
            "by": self.by,
            "key": self.key_id[::-1].hex().upper(),
            "at": format_instant(self.issued_at),
        }

    def to_bytes(self) -> bytes:
        """The statement: one line of canonical JSON."""
        return encode_statement(ESCROW_TYPE, self.body(), self.signature)

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> EscrowStatement:
        """Parse an escrow statement (its signature is checked by :func:`verify_escrow`).

        Raises:
            TrustError: malformed.
        """
        body, signature = decode_statement(data, ESCROW_TYPE)
        if set(body) != {"site", "recipients", "by", "key", "at"}:
            raise TrustError(f"{_WHAT}: expected the fields at, by, key, recipients, site")
        texts = body["recipients"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TrustError(f"{_WHAT}: recipients must be a list of age recipients")
        try:
            recipients = tuple(AgeRecipient(t) for t in texts)
        except KeyFormatError as exc:
            raise TrustError(f"{_WHAT}: {exc.message}") from exc
        return cls(
            site=text_field(body, "site", _WHAT, _SITE),
            recipients=recipients,
            by=text_field(body, "by", _WHAT, SUBJECT_PATTERN),
            key_id=bytes.fromhex(text_field(body, "key", _WHAT, _KEY_ID))[::-1],
            issued_at=parse_instant(body.get("at"), f"{_WHAT}.at"),
            signature=signature,
        )


def issue_escrow(
    *,
    key: SigningKey,
    by: str,
    site: str,
    recipients: Iterable[AgeRecipient],
    issued_at: datetime,
) -> EscrowStatement:
    """Sign the province's escrow recipients as ``by`` (the root, or the province hub).

    Raises:
        TrustError: a field is malformed.
    """
    unsigned = EscrowStatement(
        site=site,
        recipients=tuple(recipients),
        by=by,
        key_id=key.public_key.key_id,
        issued_at=issued_at,
    )
    return dataclasses.replace(unsigned, signature=sign_body(TAG_ESCROW, unsigned.body(), key))


def verify_escrow(statement: EscrowStatement, store: TrustStore) -> None:
    """Check that the province root, or the province hub, signed ``statement``.

    Raises:
        TrustError: it is for another province, or its signer is neither the root nor a
            province hub certificate valid at the statement's time (a subclass says
            which check failed), or the signature does not verify.
    """
    anchor = store.anchor
    if statement.site != anchor.site:
        raise TrustError(f"{_WHAT}: for province {statement.site}, expected {anchor.site}")
    if statement.by == anchor.subject:
        if statement.key_id != anchor.key.key_id:
            raise TrustError(f"{_WHAT}: not signed by the root key")
        verify_body(TAG_ESCROW, statement.body(), statement.signature, anchor.key, _WHAT)
        return
    if statement.by != anchor.site:
        raise TrustError(
            f"{_WHAT}: signed by {statement.by}, expected the root or the province hub "
            f"{anchor.site}"
        )
    certs = [c for c in store.find(statement.by, statement.key_id) if c.role is Role.HUB]
    if not certs:
        raise TrustError(f"{_WHAT}: no hub certificate of {statement.by} for its key")
    failure: TrustError | None = None
    for cert in certs:
        try:
            store.validate(cert, statement.issued_at)
            verify_body(TAG_ESCROW, statement.body(), statement.signature, cert.sign_key, _WHAT)
        except TrustError as exc:
            failure = exc
            continue
        return
    assert failure is not None
    raise failure
