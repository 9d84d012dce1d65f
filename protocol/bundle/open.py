"""Opening a bundle: the numbered verification steps of docs/protocol.md §4.

1. size limits            → BundleTooLargeError
2. header syntax          → HeaderSyntaxError
3. signature              → BadSignatureError
4. signer key trusted     → UntrustedSignerError
5. payload decrypts       → PayloadDecryptError
6. payload hash, ids      → PayloadMismatchError
7. entries within limits  → EntryLimitError (while iterating :meth:`OpenedBundle.entries`)

Nothing is decrypted before the signature over the whole ciphertext has verified,
and nothing is decoded before the payload's hash has matched the signed header.
The source is read twice (hash, then decrypt) and the entries a third time, as a
stream: a bundle never sits whole in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final, Protocol

from crypto.age import AGE_MAGIC, AgeIdentity, decrypt_stream
from crypto.errors import DecryptionError, KeyFormatError, SignatureError
from crypto.hashing import Blake2bStream
from crypto.sign import ALG_PREHASHED, MinisignSignature, PublicKey
from protocol.bundle.header import BundleHeader
from protocol.bundle.limits import DEFAULT_LIMITS, BundleLimits
from protocol.bundle.payload import decode_preamble, iter_entries
from protocol.bundle.seal import UNTRUSTED_COMMENT
from protocol.errors import (
    BadSignatureError,
    BundleTooLargeError,
    HeaderSyntaxError,
    PayloadDecryptError,
    PayloadMismatchError,
    TrustError,
    UntrustedSignerError,
)

__all__ = [
    "OpenedBundle",
    "SignerTrust",
    "StaticTrust",
    "VerifiedBundle",
    "inspect_bundle",
    "open_bundle",
    "verify_bundle",
]

_READ: Final = 1 << 20
#: The untrusted comment may be up to 1 KiB and the two signature lines are short.
_SIGNATURE_LINES_SLACK: Final = 1024 + 256
_PREFIX_KEEP: Final = 64 * 1024


class SignerTrust(Protocol):
    """How a receiver decides whose signatures it accepts (steps 3 and 4)."""

    def candidate_key(self, header: BundleHeader, key_id: bytes) -> PublicKey | None:
        """Return the public key with this id that ``header.sender`` may have used, if known."""
        ...

    def check_signer(self, header: BundleHeader, key: PublicKey) -> None:
        """Raise a :class:`TrustError` unless ``key`` may sign this bundle now."""
        ...


@dataclass(frozen=True, slots=True)
class StaticTrust:
    """Trust a fixed set of keys for any sender (``muster bundle verify --signer``)."""

    keys: Mapping[bytes, PublicKey]

    @classmethod
    def of(cls, keys: Iterable[PublicKey]) -> StaticTrust:
        return cls({key.key_id: key for key in keys})

    def candidate_key(self, header: BundleHeader, key_id: bytes) -> PublicKey | None:
        return self.keys.get(key_id)

    def check_signer(self, header: BundleHeader, key: PublicKey) -> None:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedBundle:
    """A bundle whose steps 1–4 passed: its header is authentic and its signer trusted.

    Attributes:
        header: the parsed, signed header.
        header_json: the exact signed header text.
        signature: the parsed signature lines.
        signer: the key that signed it.
        bundle_hash: BLAKE2b-256 (hex) of the whole file.
        size: file size in bytes.
        payload_offset: where the age ciphertext starts.
    """

    header: BundleHeader
    header_json: str
    signature: MinisignSignature
    signer: PublicKey
    bundle_hash: str
    size: int
    payload_offset: int


def _file_size(source: IO[bytes]) -> int:
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    return size


def _split_signature_lines(
    source: IO[bytes], size: int, limits: BundleLimits
) -> tuple[list[str], int]:
    """Steps 1–2 for the four signature lines: find them within the allowed bytes."""
    window = limits.max_header_bytes + _SIGNATURE_LINES_SLACK
    prefix = source.read(window)
    ends: list[int] = []
    start = 0
    for _ in range(4):
        end = prefix.find(b"\n", start)
        if end < 0:
            break
        ends.append(end)
        start = end + 1
    if len(ends) < 4:
        if size > window:
            raise BundleTooLargeError(
                f"signature lines do not end within {window} bytes (header limit "
                f"{limits.max_header_bytes})"
            )
        raise HeaderSyntaxError("bundle is truncated: fewer than four signature lines")
    raw_lines = [prefix[s:e] for s, e in zip([0, *[e + 1 for e in ends[:3]]], ends, strict=True)]
    if len(raw_lines[2]) > limits.max_header_bytes + len(b"trusted comment: "):
        raise BundleTooLargeError(
            f"header is {len(raw_lines[2])} bytes, limit {limits.max_header_bytes}"
        )
    try:
        lines = [line.decode("utf-8") for line in raw_lines]
    except UnicodeDecodeError as exc:
        raise HeaderSyntaxError("signature lines are not UTF-8 text") from exc
    return lines, ends[3] + 1


def inspect_bundle(
    source: IO[bytes], *, limits: BundleLimits = DEFAULT_LIMITS
) -> tuple[BundleHeader, MinisignSignature, int]:
    """Run steps 1–2 only: return the header *unverified*, its signature lines and the
    payload offset. For display (``muster bundle inspect``); never for decisions.

    Raises:
        BundleTooLargeError: step 1.
        HeaderSyntaxError: step 2.
    """
    # Step 1: size limits.
    size = _file_size(source)
    if size > limits.max_bundle_bytes:
        raise BundleTooLargeError(f"bundle is {size} bytes, limit {limits.max_bundle_bytes}")
    lines, offset = _split_signature_lines(source, size, limits)

    # Step 2: header syntax (signature lines, header JSON, age magic).
    try:
        signature = MinisignSignature.from_lines(lines)
    except KeyFormatError as exc:
        raise HeaderSyntaxError(f"signature lines: {exc.message}") from exc
    if signature.untrusted_comment != UNTRUSTED_COMMENT:
        # Not signed (minisign never signs line 1), but fixed: Muster writes nothing else,
        # so any change to it is tampering and is refused as such.
        raise HeaderSyntaxError("signature line 1 is not Muster's untrusted comment")
    if signature.algorithm != ALG_PREHASHED:
        raise HeaderSyntaxError("signature must be prehashed (minisign 'ED'), found legacy 'Ed'")
    header = BundleHeader.from_json(signature.trusted_comment)
    if header.count > limits.max_entries or header.payload_size > limits.max_bundle_bytes:
        # A size limit (step 1) that can only be read once the header parses.
        raise BundleTooLargeError(
            f"bundle {header.bundle_id} declares {header.count} entries and a "
            f"{header.payload_size}-byte payload; limits {limits.max_entries} entries, "
            f"{limits.max_bundle_bytes} bytes"
        )
    source.seek(offset)
    if source.read(len(AGE_MAGIC)) != AGE_MAGIC:
        raise HeaderSyntaxError("payload is not a binary age v1 file")
    return header, signature, offset


def verify_bundle(
    source: IO[bytes], *, trust: SignerTrust, limits: BundleLimits = DEFAULT_LIMITS
) -> VerifiedBundle:
    """Run steps 1–4 on a bundle read from a seekable binary stream.

    Raises:
        BundleTooLargeError: step 1.
        HeaderSyntaxError: step 2.
        BadSignatureError: step 3.
        UntrustedSignerError: step 4.
    """
    header, signature, offset = inspect_bundle(source, limits=limits)
    size = _file_size(source)

    # Step 3: signature over the ciphertext, and the global signature over the header.
    key = trust.candidate_key(header, signature.key_id)
    if key is None:
        raise BadSignatureError(
            f"bundle {header.bundle_id} from {header.sender} is signed with key "
            f"{signature.key_id_hex}, which this receiver does not know",
            key_id=signature.key_id_hex,
        )
    source.seek(0)
    file_hash = hashlib.blake2b(digest_size=32)
    file_hash.update(source.read(offset))
    prehash = Blake2bStream()
    while chunk := source.read(_READ):
        prehash.update(chunk)
        file_hash.update(chunk)
    try:
        signature.verify(key, prehash=prehash.digest())
    except SignatureError as exc:
        raise BadSignatureError(
            f"bundle {header.bundle_id} from {header.sender}: signature does not verify "
            f"under key {key.key_id_hex}",
            key_id=key.key_id_hex,
        ) from exc

    # Step 4: the signer's key is trusted for this sender, now.
    try:
        trust.check_signer(header, key)
    except TrustError as exc:
        raise UntrustedSignerError(
            f"bundle {header.bundle_id} from {header.sender}: signer not trusted: {exc.message}",
            reason=exc.code,
        ) from exc

    return VerifiedBundle(
        header=header,
        header_json=signature.trusted_comment,
        signature=signature,
        signer=key,
        bundle_hash=file_hash.hexdigest(),
        size=size,
        payload_offset=offset,
    )


class _Tail:
    """Reads a source from an offset to its end."""

    __slots__ = ("_source",)

    def __init__(self, source: IO[bytes], offset: int) -> None:
        source.seek(offset)
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        return self._source.read(size if size and size > 0 else _READ)


class _PlaintextDigest:
    """Sink for step 5: hashes the plaintext and keeps its first bytes for step 6."""

    __slots__ = ("hash", "prefix")

    def __init__(self) -> None:
        self.hash = Blake2bStream()
        self.prefix = bytearray()

    def write(self, data: bytes, /) -> int:
        self.hash.update(data)
        room = _PREFIX_KEEP - len(self.prefix)
        if room > 0:
            self.prefix += data[:room]
        return len(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedBundle:
    """A bundle whose steps 1–6 passed; iterate :meth:`entries` for step 7."""

    verified: VerifiedBundle
    _source: IO[bytes]
    _identities: tuple[AgeIdentity, ...]
    _limits: BundleLimits

    @property
    def header(self) -> BundleHeader:
        return self.verified.header

    def entries(self) -> Iterator[Any]:
        """Yield the payload's entries in order, decrypting and decoding as a stream.

        Raises:
            EntryLimitError: step 7.
            PayloadMismatchError: the entry count, or the payload itself, differs from
                what the header promised.
        """
        header = self.verified.header
        pipe = _DecryptPipe(_Tail(self._source, self.verified.payload_offset), self._identities)
        try:
            yield from iter_entries(pipe, expected_count=header.count, limits=self._limits)
            pipe.drain()
            if pipe.hash.digest().hex() != header.payload_b2:
                raise PayloadMismatchError(
                    f"bundle {header.bundle_id}: payload changed while it was being read"
                )
        finally:
            pipe.close()


def open_bundle(
    source: IO[bytes],
    *,
    trust: SignerTrust,
    identities: Iterable[AgeIdentity],
    limits: BundleLimits = DEFAULT_LIMITS,
) -> OpenedBundle:
    """Run steps 1–6 on a bundle; the result's :meth:`~OpenedBundle.entries` runs step 7.

    Raises:
        BundleTooLargeError, HeaderSyntaxError, BadSignatureError, UntrustedSignerError:
            steps 1–4 (see :func:`verify_bundle`).
        PayloadDecryptError: step 5.
        PayloadMismatchError: step 6.
    """
    verified = verify_bundle(source, trust=trust, limits=limits)
    header = verified.header
    keys = tuple(identities)

    # Step 5: the payload decrypts (whole, once, only hashed).
    digest = _PlaintextDigest()
    try:
        decrypt_stream(_Tail(source, verified.payload_offset), digest, keys)
    except DecryptionError as exc:
        raise PayloadDecryptError(
            f"bundle {header.bundle_id} from {header.sender}: payload cannot be decrypted "
            f"with this receiver's key ({exc.message})"
        ) from exc

    # Step 6: the payload is the one the header describes, from this sender.
    if digest.hash.count != header.payload_size or not hmac.compare_digest(
        digest.hash.digest().hex(), header.payload_b2
    ):
        raise PayloadMismatchError(
            f"bundle {header.bundle_id}: payload hash or size differs from the header"
        )
    preamble = decode_preamble(bytes(digest.prefix))
    expected = {"muster": 1, "id": header.bundle_id, "from": header.sender,
                "kind": header.kind.value}  # fmt: skip
    for key, value in expected.items():
        # By type too: msgpack's true or 1.0 would equal the version 1 in Python.
        found = preamble.get(key)
        if type(found) is not type(value) or found != value:
            raise PayloadMismatchError(
                f"bundle {header.bundle_id}: payload {key} {found!r} differs from "
                f"the header's {value!r}",
                field=key,
            )
    return OpenedBundle(verified=verified, _source=source, _identities=keys, _limits=limits)


_EOF: Final = object()


class _CancelledError(Exception):
    """Raised inside the worker when the consumer stopped reading."""


class _DecryptPipe:
    """Decrypts in a worker thread and hands plaintext to ``read(n)`` in order.

    pyrage drives decryption by pushing into a writer; a lazy iterator needs to
    pull. A small bounded queue between the two keeps memory at a few chunks.
    """

    def __init__(self, source: _Tail, identities: tuple[AgeIdentity, ...]) -> None:
        self.hash = Blake2bStream()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._buffer = memoryview(b"")
        self._finished = False
        self._thread = threading.Thread(
            target=self._run, args=(source, identities), name="bundle-decrypt", daemon=True
        )
        self._thread.start()

    def _run(self, source: _Tail, identities: tuple[AgeIdentity, ...]) -> None:
        try:
            decrypt_stream(source, self, identities)
        except _CancelledError:
            return
        except BaseException as exc:  # handed to the reading thread, which re-raises
            self._put(exc)
            return
        self._put(_EOF)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
            except queue.Full:
                continue
            return
        raise _CancelledError

    def write(self, data: bytes, /) -> int:
        self._put(bytes(data))
        return len(data)

    def read(self, size: int = -1, /) -> bytes:
        while not self._buffer:
            if self._finished:
                return b""
            item = self._queue.get()
            if item is _EOF:
                self._finished = True
                return b""
            if isinstance(item, BaseException):
                self._finished = True
                if isinstance(item, DecryptionError):
                    raise PayloadDecryptError(f"payload cannot be decrypted ({item.message})")
                raise item
            self.hash.update(item)
            self._buffer = memoryview(item)
        want = len(self._buffer) if size is None or size < 0 else size
        chunk, self._buffer = self._buffer[:want], self._buffer[want:]
        return bytes(chunk)

    def drain(self) -> None:
        """Read to the end, so the plaintext hash covers everything."""
        while self.read(_READ):
            pass

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10)
