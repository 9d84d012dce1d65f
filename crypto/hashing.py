"""BLAKE2b hashing with named, versioned domain-separation tags.

Every hash that Muster signs or compares is computed under a tag, so that a value
hashed for one purpose can never be mistaken for one hashed for another. The tag
is framed by its length before the data (``len(tag) || tag || data``), which keeps
the encoding injective without BLAKE2b's 16-byte personalisation limit.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = [
    "TAG_ANSWER",
    "TAG_ANSWERS",
    "TAG_AUDIT",
    "TAG_AUTHORISATION",
    "TAG_BUNDLE",
    "TAG_CERTIFICATE",
    "TAG_ENROLLMENT",
    "TAG_ESCROW",
    "TAG_KEY_ID",
    "TAG_MANIFEST",
    "TAG_OP",
    "TAG_RECEIPT",
    "TAG_REQUEST",
    "TAG_REVOCATION",
    "TAG_ROTATION",
    "TAG_STATE_DIGEST",
    "Blake2bStream",
    "blake2b_512",
    "tagged_hash",
]

#: A bundle file as a whole (the stream's ``prev`` link).
TAG_BUNDLE: Final = b"muster/bundle/v1"
#: One op's canonical encoding (its id).
TAG_OP: Final = b"muster/op/v1"
#: A batch manifest (the list of op ids an approver authorises).
TAG_MANIFEST: Final = b"muster/manifest/v1"
#: One answer to a cross-check problem (its digest, which an authorisation covers).
TAG_ANSWER: Final = b"muster/answer/v1"
#: The answers to cross-check problems a batch carries: the list of their digests.
TAG_ANSWERS: Final = b"muster/answers/v1"
#: An approver's or administrator's authorisation statement.
TAG_AUTHORISATION: Final = b"muster/authorisation/v1"
#: A certificate body.
TAG_CERTIFICATE: Final = b"muster/certificate/v1"
#: A revocation list body.
TAG_REVOCATION: Final = b"muster/revocation/v1"
#: A receipt body.
TAG_RECEIPT: Final = b"muster/receipt/v1"
#: An audit-log entry (the hash chain).
TAG_AUDIT: Final = b"muster/audit/v1"
#: The digest of a set of record states (divergence check).
TAG_STATE_DIGEST: Final = b"muster/state-digest/v1"
#: Derivation of internal key identifiers.
TAG_KEY_ID: Final = b"muster/key-id/v1"
#: An HTTP request signed by a node or hub (protocol/requestauth.py).
TAG_REQUEST: Final = b"muster/request/v1"
#: An enrollment request's self-signature (proof of possession of the key).
TAG_ENROLLMENT: Final = b"muster/enrollment/v1"
#: The province's escrow statement (the recovery recipients every bundle is sealed to).
TAG_ESCROW: Final = b"muster/escrow/v1"
#: A key rotation request's continuity signature, made with the old key.
TAG_ROTATION: Final = b"muster/rotation/v1"


def tagged_hash(tag: bytes, *parts: bytes, size: int = 32) -> bytes:
    """Hash ``parts`` under ``tag`` with BLAKE2b.

    Each part is length-framed, so ``("ab", "c")`` and ``("a", "bc")`` differ.

    Args:
        tag: one of the ``TAG_*`` constants.
        parts: the byte strings to hash, in order.
        size: digest size in bytes (1..64).
    """
    h = hashlib.blake2b(digest_size=size)
    h.update(len(tag).to_bytes(2, "big"))
    h.update(tag)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def blake2b_512(data: bytes) -> bytes:
    """Return the plain (untagged) BLAKE2b-512 digest, as ``b2sum`` prints it."""
    return hashlib.blake2b(data, digest_size=64).digest()


class Blake2bStream:
    """An incremental plain BLAKE2b-512 hasher that also counts bytes.

    Used where stock tools must reproduce the value (minisign's prehash,
    ``b2sum`` of a payload), so it carries no tag.
    """

    __slots__ = ("_h", "count")

    def __init__(self) -> None:
        self._h = hashlib.blake2b(digest_size=64)
        self.count = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)
        self.count += len(data)

    def digest(self) -> bytes:
        return self._h.digest()
