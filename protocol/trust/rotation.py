"""Key rotation: a party asks its parent to certify new keys, vouched for by its old key.

A rotation request is an enrollment request for the new keys (self-signed by the new
key: proof of possession) wrapped in a statement signed by the *old* key, tag
``muster/rotation/v1`` (proof of continuity: whoever holds the certified key asks to
move to the new one)::

    {"body":{"old_key":"<key id>","old_serial":"<serial>",
             "request":<muster-enrollment-request statement>},
     "sig":"<base64, by the old key>","type":"muster-rotation-request","v":1}

The parent checks it with :func:`verify_rotation`: the old certificate is one it
holds for the same subject and role, the old key signed the request, and that
certificate is valid now (a key revoked as ``key_compromise`` cannot vouch for a
successor: such a party enrolls again). The answer is an ordinary enrollment answer
for the new keys. The old certificate stays valid until it expires or is revoked as
``superseded``, so bundles sealed under it before then are still accepted.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.hashing import TAG_ROTATION
from crypto.keys import KeyPair
from crypto.sign import SigningKey
from protocol.errors import TrustError
from protocol.trust.certificate import Certificate, Role
from protocol.trust.enrollment import EnrollmentRequest, make_enrollment_request
from protocol.trust.statement import (
    decode_statement,
    encode_statement,
    sign_body,
    text_field,
    verify_body,
)
from protocol.trust.store import TrustStore

__all__ = [
    "ROTATION_TYPE",
    "RotationRequest",
    "make_rotation_request",
    "new_keys_rotation_request",
    "verify_rotation",
]

ROTATION_TYPE: Final = "muster-rotation-request"
_SERIAL: Final = re.compile(r"[0-9a-f]{32}")
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")
_WHAT: Final = "rotation request"


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationRequest:
    """A request for new keys, signed by the old key.

    Attributes:
        request: the enrollment request for the new keys (self-signed by them).
        old_serial: the serial of the certificate whose key vouches for the new one.
        old_key_id: that certificate's signing key id.
        signature: the old key's signature over the body.
    """

    request: EnrollmentRequest
    old_serial: str
    old_key_id: bytes
    signature: bytes = b""

    def __post_init__(self) -> None:
        if not _SERIAL.fullmatch(self.old_serial):
            raise TrustError(f"{_WHAT}: old serial must be 32 hex digits")
        if self.request.sign_key.key_id == self.old_key_id:
            raise TrustError(f"{_WHAT}: the new signing key is the old one")

    @property
    def subject(self) -> str:
        return self.request.subject

    def body(self) -> dict[str, Any]:
        return {
            "request": json.loads(self.request.to_bytes()),
            "old_serial": self.old_serial,
            "old_key": self.old_key_id[::-1].hex().upper(),
        }

    def to_bytes(self) -> bytes:
        """The request file: one line of canonical JSON."""
        return encode_statement(ROTATION_TYPE, self.body(), self.signature)

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> RotationRequest:
        """Parse a rotation request and check the new key's self-signature.

        The old key's signature is checked by :func:`verify_rotation`, which knows the
        old certificate.

        Raises:
            TrustError: malformed, or the inner request's self-signature fails.
        """
        body, signature = decode_statement(data, ROTATION_TYPE)
        if set(body) != {"request", "old_serial", "old_key"}:
            raise TrustError(f"{_WHAT}: expected the fields old_key, old_serial, request")
        inner = body["request"]
        if not isinstance(inner, dict):
            raise TrustError(f"{_WHAT}: request must be an enrollment request object")
        return cls(
            request=EnrollmentRequest.from_bytes(inner),
            old_serial=text_field(body, "old_serial", _WHAT, _SERIAL),
            old_key_id=bytes.fromhex(text_field(body, "old_key", _WHAT, _KEY_ID))[::-1],
            signature=signature,
        )


def make_rotation_request(
    request: EnrollmentRequest, *, old_key: SigningKey, old_serial: str
) -> RotationRequest:
    """Vouch for ``request`` (the new keys' enrollment request) with the old key.

    Raises:
        TrustError: the serial is malformed, or the new key is the old one.
    """
    unsigned = RotationRequest(
        request=request, old_serial=old_serial, old_key_id=old_key.public_key.key_id
    )
    return dataclasses.replace(
        unsigned, signature=sign_body(TAG_ROTATION, unsigned.body(), old_key)
    )


def new_keys_rotation_request(
    new: KeyPair,
    *,
    old_key: SigningKey,
    old_serial: str,
    subject: str,
    role: Role,
    name: str,
    at: datetime,
) -> RotationRequest:
    """The new keys' self-signed enrollment request (signing key and age recipient),
    signed again by ``old_key``, whose certificate is ``old_serial``.

    A node and a hub roll their keys the same way (only who they are and where they
    keep the new keys differ), so both build their request here.

    Raises:
        TrustError: a field or the serial is malformed, or the new key is the old one.
    """
    request = make_enrollment_request(
        new.signing, subject=subject, role=role, name=name, at=at, age=new.age.recipient
    )
    return make_rotation_request(request, old_key=old_key, old_serial=old_serial)


def verify_rotation(rotation: RotationRequest, store: TrustStore, at: datetime) -> Certificate:
    """Check a rotation request against the old certificate; return that certificate.

    Raises:
        TrustError: the old certificate is unknown here or names another subject, role
            or key; the old key did not sign the request; or the old certificate is not
            valid at ``at`` (expired, revoked: a subclass says which).
    """
    request = rotation.request
    old = next((c for c in store.certificates if c.serial == rotation.old_serial), None)
    if old is None:
        raise TrustError(f"{_WHAT} of {request.subject}: no certificate {rotation.old_serial}")
    if old.subject != request.subject or old.role is not request.role:
        raise TrustError(
            f"{_WHAT} of {request.subject}: certificate {old.serial} is for {old.subject} "
            f"as {old.role}, expected {request.subject} as {request.role}"
        )
    if old.sign_key.key_id != rotation.old_key_id:
        raise TrustError(f"{_WHAT} of {request.subject}: old key differs from certificate's")
    verify_body(TAG_ROTATION, rotation.body(), rotation.signature, old.sign_key, _WHAT)
    store.validate(old, at)
    return old
