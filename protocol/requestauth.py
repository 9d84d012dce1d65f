"""Signed HTTP requests: how a node or hub proves who is asking.

Bundles authenticate themselves; requests that carry no bundle (fetching down
bundles, polling an enrollment, posting a receipt) carry a signature header::

    Authorization: Muster-Signature subject=370102001-01,key=945BAFFDBBB8A3AB,
                   ts=2026-11-29T20:00:00Z,sig=<base64>

``sig`` is Ed25519 over ``tagged_hash("muster/request/v1", method, path?query, ts,
BLAKE2b-256(body))``. The receiver checks the subject's certificate for that key
(at ``ts``, with its chain) and that ``ts`` is within ``max_skew`` of its clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from crypto.errors import SignatureError
from crypto.hashing import TAG_REQUEST, tagged_hash
from crypto.sign import SigningKey
from protocol.errors import RequestAuthError, TrustError
from protocol.trust.certificate import Certificate
from protocol.trust.statement import SUBJECT_PATTERN, format_instant, parse_instant
from protocol.trust.store import TrustStore

__all__ = ["SCHEME", "Caller", "RequestAuthError", "sign_request", "verify_request"]

SCHEME: Final = "Muster-Signature"
_HEADER: Final = re.compile(
    r"Muster-Signature subject=(?P<subject>[^,]{1,80}),key=(?P<key>[0-9A-F]{16}),"
    r"ts=(?P<ts>[0-9TZ:-]{20}),sig=(?P<sig>[A-Za-z0-9+/=]{86,90})"
)
DEFAULT_SKEW: Final = timedelta(minutes=5)


def _message(method: str, target: str, ts: str, body: bytes) -> bytes:
    body_hash = hashlib.blake2b(body, digest_size=32).digest()
    return tagged_hash(
        TAG_REQUEST, method.upper().encode(), target.encode(), ts.encode(), body_hash
    )


def sign_request(
    key: SigningKey, *, subject: str, method: str, target: str, body: bytes, at: datetime
) -> str:
    """Return the ``Authorization`` header value for a request.

    Args:
        target: the path with its query string, as sent (``/api/v1/down?after=3``).
    """
    ts = format_instant(at)
    sig = base64.b64encode(key.sign(_message(method, target, ts, body))).decode("ascii")
    return f"{SCHEME} subject={subject},key={key.public_key.key_id_hex},ts={ts},sig={sig}"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who signed a request, and the certificate that says so."""

    subject: str
    certificate: Certificate


def verify_request(
    header: str | None,
    *,
    method: str,
    target: str,
    body: bytes,
    store: TrustStore,
    now: datetime,
    max_skew: timedelta = DEFAULT_SKEW,
) -> Caller:
    """Check a request's signature header.

    Raises:
        RequestAuthError: missing, malformed, outside the time window, unknown key, or a
            signature that does not verify.
        TrustError: the caller's certificate chain is not valid now.
    """
    if not header:
        raise RequestAuthError("request is not signed (no Authorization header)")
    match = _HEADER.fullmatch(header.strip())
    if match is None:
        raise RequestAuthError("Authorization header is not a Muster-Signature")
    subject, ts = match["subject"], match["ts"]
    if not SUBJECT_PATTERN.fullmatch(subject):
        raise RequestAuthError("Authorization header: subject id is malformed")
    try:
        at = parse_instant(ts, "request time")
        signature = base64.b64decode(match["sig"], validate=True)
    except (TrustError, binascii.Error, ValueError) as exc:
        raise RequestAuthError("Authorization header: time or signature malformed") from exc
    if abs(now - at) > max_skew:
        raise RequestAuthError(
            f"request signed at {ts}, more than {int(max_skew.total_seconds())} s from the "
            "receiver's clock"
        )
    key_id = bytes.fromhex(match["key"])[::-1]
    certificates = store.find(subject, key_id)
    if not certificates:
        raise RequestAuthError(f"no certificate binds {subject} to key {match['key']}")
    message = _message(method, target, ts, body)
    failure: Exception | None = None
    for certificate in certificates:
        try:
            certificate.sign_key.verify_detached(signature, message)
            store.validate(certificate, now)
        except (SignatureError, TrustError) as exc:
            failure = exc
            continue
        return Caller(subject=subject, certificate=certificate)
    if isinstance(failure, TrustError):
        raise failure
    raise RequestAuthError(f"request signature from {subject} does not verify")
