"""Sealing: entries → msgpack → zstd → age → minisign, written as one bundle file.

The four signature lines come first in the file but sign the ciphertext, which is
only known at the end; the ciphertext is therefore written to a caller-provided
``spool`` first and copied after the signature lines. docs/protocol.md §1 gives the
exact bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Final

from crypto.age import AgeRecipient, encrypt_stream
from crypto.hashing import Blake2bStream
from crypto.sign import MinisignSignature, SigningKey
from protocol.bundle.header import BundleHeader, BundleKind
from protocol.bundle.limits import DEFAULT_LIMITS, BundleLimits
from protocol.bundle.payload import PayloadEncoder
from protocol.errors import BundleTooLargeError

__all__ = ["UNTRUSTED_COMMENT", "SealedBundle", "bundle_file_hash", "seal_bundle"]

#: The untrusted comment Muster writes (not covered by any signature; informative only).
UNTRUSTED_COMMENT: Final = "muster bundle; verify: minisign -Vm B.age -x B.minisig -p sender.pub"
_COPY: Final = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedBundle:
    """What sealing produced.

    Attributes:
        header: the signed header.
        signature: the minisign signature over the ciphertext.
        bundle_hash: BLAKE2b-256 (hex) of the whole file — the next bundle's ``prev``.
        size: the file's size in bytes.
    """

    header: BundleHeader
    signature: MinisignSignature
    bundle_hash: str
    size: int


class _HashingReader:
    """Reads from the payload encoder while hashing what passes (the payload hash)."""

    __slots__ = ("_inner", "hash")

    def __init__(self, inner: PayloadEncoder) -> None:
        self._inner = inner
        self.hash = Blake2bStream()

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self.hash.update(data)
        return data


class _HashingWriter:
    """Writes ciphertext to the spool while hashing it (minisign's prehash)."""

    __slots__ = ("_limit", "_spool", "hash")

    def __init__(self, spool: IO[bytes], limit: int) -> None:
        self._spool = spool
        self._limit = limit
        self.hash = Blake2bStream()

    def write(self, data: bytes, /) -> int:
        self.hash.update(data)
        if self.hash.count > self._limit:
            raise BundleTooLargeError(f"bundle would exceed {self._limit} bytes")
        self._spool.write(data)
        return len(data)


def seal_bundle(
    entries: Iterable[Any],
    *,
    kind: BundleKind,
    sender: str,
    recipient: str,
    seq: int,
    prev: str | None,
    created: datetime,
    bundle_id: str,
    signer: SigningKey,
    recipients: Sequence[AgeRecipient],
    out: IO[bytes],
    spool: IO[bytes],
    schema: str | None = None,
    auth: Mapping[str, Any] | None = None,
    limits: BundleLimits = DEFAULT_LIMITS,
) -> SealedBundle:
    """Seal ``entries`` into a bundle written to ``out``.

    Args:
        entries: msgpack-able values (maps, lists, strings, numbers, bytes).
        spool: a writable, readable, seekable scratch stream for the ciphertext
            (a temporary file next to ``out`` for large bundles).
        Other arguments fill the header (see :class:`BundleHeader`).

    Raises:
        EntryLimitError: an entry cannot be encoded or breaks a limit.
        BundleTooLargeError: the header or the whole file would exceed a limit.
        HeaderSyntaxError: a header field is invalid.
    """
    encoder = PayloadEncoder(entries, bundle_id=bundle_id, sender=sender, kind=kind, limits=limits)
    plaintext = _HashingReader(encoder)
    spool.seek(0)
    spool.truncate()
    ciphertext = _HashingWriter(spool, limits.max_bundle_bytes)
    encrypt_stream(plaintext, ciphertext, recipients)

    header = BundleHeader(
        bundle_id=bundle_id,
        kind=kind,
        sender=sender,
        recipient=recipient,
        seq=seq,
        prev=prev,
        created=created,
        count=encoder.count,
        payload_b2=plaintext.hash.digest().hex(),
        payload_size=plaintext.hash.count,
        schema=schema,
        auth=auth,
    )
    header_json = header.to_json()
    if len(header_json.encode("utf-8")) > limits.max_header_bytes:
        raise BundleTooLargeError(
            f"header is {len(header_json.encode('utf-8'))} bytes, limit {limits.max_header_bytes}"
        )
    signature = signer.sign_minisign(
        ciphertext.hash.digest(), trusted_comment=header_json, untrusted_comment=UNTRUSTED_COMMENT
    )
    lines = signature.to_bytes()
    total = len(lines) + ciphertext.hash.count
    if total > limits.max_bundle_bytes:
        raise BundleTooLargeError(f"bundle would be {total} bytes, limit {limits.max_bundle_bytes}")

    file_hash = hashlib.blake2b(digest_size=32)
    out.write(lines)
    file_hash.update(lines)
    spool.seek(0)
    while chunk := spool.read(_COPY):
        out.write(chunk)
        file_hash.update(chunk)
    return SealedBundle(
        header=header, signature=signature, bundle_hash=file_hash.hexdigest(), size=total
    )


def bundle_file_hash(data: bytes) -> str:
    """BLAKE2b-256 (hex) of a whole bundle file, as ``b2sum -l 256`` prints it."""
    return hashlib.blake2b(data, digest_size=32).hexdigest()
