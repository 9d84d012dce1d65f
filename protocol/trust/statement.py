"""Signed statements: canonical JSON bodies signed with Ed25519 under a purpose tag.

Certificates, revocation lists, receipts and authorisations all share this shape::

    {"type": "<muster-…>", "v": 1, "body": {…}, "sig": "<base64 Ed25519 signature>"}

The signature covers ``tagged_hash(TAG, canonical_json(body))``; the tag is fixed
per statement type, so a signature made for one purpose verifies for no other.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from crypto.errors import SignatureError
from crypto.hashing import tagged_hash
from crypto.sign import PublicKey, SigningKey
from protocol.errors import TrustError

__all__ = [
    "SUBJECT_PATTERN",
    "canonical_json",
    "decode_statement",
    "encode_statement",
    "format_instant",
    "load_json",
    "parse_instant",
    "require",
    "sign_body",
    "verify_body",
]

STATEMENT_VERSION: Final = 1
#: Node and hub ids (``370102001-01``, ``370100``) and people (``370102001/li.na``).
SUBJECT_PATTERN: Final = re.compile(
    r"\d{6}(\d{3}){0,2}(-\d{2})?(/[a-z0-9][a-z0-9._-]{0,63})?", re.ASCII
)
_INSTANT: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
_MAX_STATEMENT_BYTES: Final = 1 << 20

E = TypeVar("E", bound=TrustError)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_instant(moment: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is None:
        raise TrustError("statement times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: object, what: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises:
        TrustError: the text is not such a time.
    """
    if not isinstance(text, str) or not _INSTANT.fullmatch(text):
        raise TrustError(f"{what}: expected YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TrustError(f"{what}: not a real time") from exc


def require(ok: bool, message: str, error: type[TrustError] = TrustError) -> None:
    """Raise ``error(message)`` unless ``ok``."""
    if not ok:
        raise error(message)


def sign_body(tag: bytes, body: Mapping[str, Any], key: SigningKey) -> bytes:
    """Sign a statement body under ``tag``."""
    return key.sign(tagged_hash(tag, canonical_json(dict(body))))


def verify_body(
    tag: bytes, body: Mapping[str, Any], signature: bytes, key: PublicKey, what: str
) -> None:
    """Verify a statement body's signature.

    Raises:
        TrustError: the signature does not verify under ``key``.
    """
    try:
        key.verify_detached(signature, tagged_hash(tag, canonical_json(dict(body))))
    except SignatureError as exc:
        raise TrustError(f"{what}: signature does not verify under key {key.key_id_hex}") from exc


def encode_statement(kind: str, body: Mapping[str, Any], signature: bytes) -> bytes:
    """The statement file: one line of canonical JSON."""
    document = {
        "type": kind,
        "v": STATEMENT_VERSION,
        "body": dict(body),
        "sig": base64.b64encode(signature).decode("ascii"),
    }
    return canonical_json(document) + b"\n"


def load_json(data: bytes | str, what: str, limit: int) -> Any:
    """Parse a JSON document that came from outside, at most ``limit`` bytes long.

    Raises:
        TrustError: larger than ``limit``, not JSON, or text no UTF-8 can carry.
    """
    if len(data) > limit:
        raise TrustError(f"{what}: larger than {limit} bytes")
    try:
        document = json.loads(data)
    # ValueError, not only JSONDecodeError: Python refuses an integer of more than
    # 4300 digits with a plain ValueError, and bytes that are not UTF-8 raise a
    # UnicodeDecodeError (a ValueError too). RecursionError: arrays nested too deep.
    except (ValueError, RecursionError) as exc:
        raise TrustError(f"{what}: not valid JSON") from exc
    try:
        # JSON's "\ud800" escape gives a lone surrogate that no UTF-8 can carry: the
        # signature check (canonical_json) and every store downstream would fail on it.
        canonical_json(document)
    except UnicodeEncodeError:
        raise TrustError(f"{what}: text holds an unpaired surrogate escape (\\ud800…)") from None
    return document


def decode_statement(
    data: bytes | str | Mapping[str, Any], kind: str
) -> tuple[dict[str, Any], bytes]:
    """Parse a statement of type ``kind``; return its body and signature (not yet verified).

    Accepts the file's bytes or text, or the already-parsed mapping (statements
    travel inside bundle entries and headers as JSON objects).

    Raises:
        TrustError: not a statement of this type, or malformed.
    """
    document = (
        load_json(data, kind, _MAX_STATEMENT_BYTES) if isinstance(data, bytes | str) else data
    )
    if not isinstance(document, Mapping) or document.get("type") != kind:
        raise TrustError(f"expected a {kind} statement")
    if document.get("v") != STATEMENT_VERSION:
        raise TrustError(f"{kind}: version {document.get('v')!r} not supported")
    body, sig = document.get("body"), document.get("sig")
    if not isinstance(body, dict) or not isinstance(sig, str):
        raise TrustError(f"{kind}: needs a body object and a sig string")
    try:
        signature = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TrustError(f"{kind}: sig is not base64") from exc
    if len(signature) != 64:
        raise TrustError(f"{kind}: sig must be 64 bytes")
    return body, signature


def text_field(
    body: Mapping[str, Any], key: str, what: str, pattern: re.Pattern[str] | None = None
) -> str:
    """Read a required string field, optionally matching ``pattern``.

    Raises:
        TrustError: missing, not a string, or not matching.
    """
    value = body.get(key)
    if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
        raise TrustError(f"{what}: field {key!r} missing or malformed")
    return value


def int_field(body: Mapping[str, Any], key: str, what: str) -> int:
    """Read a required non-negative integer field.

    Raises:
        TrustError: missing or not a non-negative integer.
    """
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TrustError(f"{what}: field {key!r} must be a non-negative integer")
    return value
