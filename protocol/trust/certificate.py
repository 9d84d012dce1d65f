"""Certificates: a parent's signed statement binding a subject to its keys and role."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.age import AgeRecipient
from crypto.errors import KeyFormatError
from crypto.hashing import TAG_CERTIFICATE
from crypto.sign import PublicKey, SigningKey
from protocol.divisions import parse_node_id
from protocol.errors import DivisionCodeError, TrustError
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

__all__ = [
    "CERTIFICATE_TYPE",
    "Certificate",
    "Role",
    "issue_certificate",
    "newest_certificate",
    "site_of",
]

CERTIFICATE_TYPE: Final = "muster-certificate"
_SERIAL: Final = re.compile(r"[0-9a-f]{32}")
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")
_SITE: Final = re.compile(r"\d{6}(\d{3}){0,2}", re.ASCII)


class Role(enum.StrEnum):
    """What a certified key may do."""

    #: Runs a hub: issues certificates in its jurisdiction, signs packages and down bundles.
    HUB = "hub"
    #: A collection point's agent: signs delta bundles and receipts.
    NODE = "node"
    #: A person who authorises a node's batches.
    APPROVER = "approver"
    #: A hub administrator who authorises packages and resolutions.
    ADMIN = "admin"


def site_of(subject: str) -> str:
    """The division code of a subject id (``370102001-01`` → ``370102001``).

    Raises:
        TrustError: the subject id is malformed.
    """
    base = subject.split("/", 1)[0]
    try:
        return parse_node_id(base).site_code
    except DivisionCodeError as exc:
        raise TrustError(f"subject id {subject!r} is malformed") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """A verified-shape certificate (its signature is checked by the trust store).

    Attributes:
        serial: 32 hex digits, unique per issuer.
        subject: node/hub id or person id (``370102001/li.na``).
        site: the subject's division code; must lie in the issuer's jurisdiction.
        role: what the key may do.
        sign_key: the subject's Ed25519 public key.
        age: the subject's age recipient (None for people, who receive nothing).
        not_before, not_after: the validity window.
        issuer: the issuer's subject id.
        issuer_key_id: the 8-byte key id of the key that signed this certificate.
        name: a display name (the office or person), informative only.
        signature: the issuer's signature over the body.
    """

    serial: str
    subject: str
    site: str
    role: Role
    sign_key: PublicKey
    age: AgeRecipient | None
    not_before: datetime
    not_after: datetime
    issuer: str
    issuer_key_id: bytes
    name: str = ""
    signature: bytes = b""

    def __post_init__(self) -> None:
        what = "certificate"
        if not _SERIAL.fullmatch(self.serial):
            raise TrustError(f"{what}: serial must be 32 hex digits")
        if not SUBJECT_PATTERN.fullmatch(self.subject):
            raise TrustError(f"{what}: subject id is malformed")
        if not _SITE.fullmatch(self.site) or site_of(self.subject) != self.site:
            raise TrustError(f"{what} {self.serial}: site must be the subject's division code")
        if self.not_after <= self.not_before:
            raise TrustError(f"{what} {self.serial}: not_after must be after not_before")
        if len(self.issuer_key_id) != 8:
            raise TrustError(f"{what} {self.serial}: issuer key id must be 8 bytes")
        if self.role in (Role.HUB, Role.NODE) and self.age is None:
            raise TrustError(f"{what} {self.serial}: a {self.role} needs an age recipient")
        if len(self.name) > 200:
            raise TrustError(f"{what} {self.serial}: name longer than 200 characters")

    def body(self) -> dict[str, Any]:
        """The signed body."""
        return {
            "serial": self.serial,
            "subject": self.subject,
            "site": self.site,
            "role": self.role.value,
            "sign_key": self.sign_key.to_base64(),
            "age": self.age.text if self.age else None,
            "not_before": format_instant(self.not_before),
            "not_after": format_instant(self.not_after),
            "issuer": self.issuer,
            "issuer_key": self.issuer_key_id[::-1].hex().upper(),
            "name": self.name,
        }

    def to_bytes(self) -> bytes:
        """The certificate file (one line of JSON)."""
        return encode_statement(CERTIFICATE_TYPE, self.body(), self.signature)

    def to_dict(self) -> dict[str, Any]:
        """The certificate as a JSON object (inside bundle entries)."""
        result: dict[str, Any] = json.loads(self.to_bytes())
        return result

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> Certificate:
        """Parse a certificate (its signature is verified later, by the trust store).

        Raises:
            TrustError: malformed.
        """
        body, signature = decode_statement(data, CERTIFICATE_TYPE)
        what = "certificate"
        try:
            role = Role(str(body.get("role")))
        except ValueError as exc:
            raise TrustError(f"{what}: unknown role {body.get('role')!r}") from exc
        try:
            sign_key = PublicKey.from_minisign(text_field(body, "sign_key", what))
            age_text = body.get("age")
            age = AgeRecipient(age_text) if isinstance(age_text, str) else None
        except KeyFormatError as exc:
            raise TrustError(f"{what}: {exc.message}") from exc
        if body.get("age") is not None and age is None:
            raise TrustError(f"{what}: age must be a recipient or null")
        issuer_key = text_field(body, "issuer_key", what, _KEY_ID)
        name = body.get("name", "")
        if not isinstance(name, str):
            raise TrustError(f"{what}: name must be a string")
        if set(body) - {"serial", "subject", "site", "role", "sign_key", "age", "not_before",
                        "not_after", "issuer", "issuer_key", "name"}:  # fmt: skip
            raise TrustError(f"{what}: unknown fields")
        return cls(
            serial=text_field(body, "serial", what, _SERIAL),
            subject=text_field(body, "subject", what, SUBJECT_PATTERN),
            site=text_field(body, "site", what, _SITE),
            role=role,
            sign_key=sign_key,
            age=age,
            not_before=parse_instant(body.get("not_before"), f"{what}.not_before"),
            not_after=parse_instant(body.get("not_after"), f"{what}.not_after"),
            issuer=text_field(body, "issuer", what, SUBJECT_PATTERN),
            issuer_key_id=bytes.fromhex(issuer_key)[::-1],
            name=name,
            signature=signature,
        )

    def verify_signature(self, issuer_key: PublicKey) -> None:
        """Check the issuer's signature.

        Raises:
            TrustError: the signature does not verify under ``issuer_key``.
        """
        verify_body(
            TAG_CERTIFICATE, self.body(), self.signature, issuer_key, f"certificate {self.serial}"
        )

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after


def issue_certificate(
    *,
    issuer_key: SigningKey,
    issuer: str,
    serial: str,
    subject: str,
    role: Role,
    sign_key: PublicKey,
    age: AgeRecipient | None,
    not_before: datetime,
    not_after: datetime,
    name: str = "",
) -> Certificate:
    """Make and sign a certificate. Name constraints are checked when it is used.

    Raises:
        TrustError: a field is malformed.
    """
    unsigned = Certificate(
        serial=serial,
        subject=subject,
        site=site_of(subject),
        role=role,
        sign_key=sign_key,
        age=age,
        not_before=not_before,
        not_after=not_after,
        issuer=issuer,
        issuer_key_id=issuer_key.public_key.key_id,
        name=name,
    )
    signature = sign_body(TAG_CERTIFICATE, unsigned.body(), issuer_key)
    return dataclasses.replace(unsigned, signature=signature)


def newest_certificate(certs: Iterable[Certificate]) -> Certificate:
    """The most recently issued of ``certs`` (the latest ``not_before``; then the latest
    ``not_after``): a party's current certificate, the one to seal to.

    Not the one that lasts longest: a replacement issued after a rekey or a rotation
    may end sooner than the one it replaces (a shorter ``certificate_days``, or a
    root's five years against a hub's two), and peers must still move to the new key.

    Raises:
        ValueError: ``certs`` is empty.
    """
    return max(certs, key=lambda c: (c.not_before, c.not_after))
