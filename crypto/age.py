"""age v1 encryption with X25519 recipients, through pyrage (bindings to the Rust ``age`` crate).

Everything streams: :func:`encrypt_stream` and :func:`decrypt_stream` move data
between file-like objects in chunks, so a large payload never sits whole in memory.
The output is the binary age v1 format that the stock ``age`` tool reads and writes.
See docs/adr/0001-age-library.md for why pyrage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import pyrage

from crypto.errors import DecryptionError, KeyFormatError, UsageError

__all__ = [
    "AGE_MAGIC",
    "AgeIdentity",
    "AgeRecipient",
    "ByteSink",
    "ByteSource",
    "decrypt_bytes",
    "decrypt_stream",
    "encrypt_bytes",
    "encrypt_stream",
]

#: Every binary age v1 file starts with this line.
AGE_MAGIC: Final = b"age-encryption.org/v1\n"


class ByteSource(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ByteSink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class AgeRecipient:
    """An age X25519 recipient (``age1…``)."""

    text: str
    _native: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        text = self.text.strip()
        try:
            native = pyrage.x25519.Recipient.from_str(text)
        except Exception as exc:  # pyrage raises its own RecipientError / ValueError
            raise KeyFormatError("age recipient: expected an 'age1…' X25519 recipient") from exc
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "_native", native)

    @classmethod
    def from_file_text(cls, text: str) -> AgeRecipient:
        """Parse a recipients file holding one recipient (comments and blank lines skipped).

        Raises:
            KeyFormatError: no recipient, several, or a malformed one.
        """
        lines = [ln.strip() for ln in text.splitlines()]
        keys = [ln for ln in lines if ln and not ln.startswith("#")]
        if len(keys) != 1:
            raise KeyFormatError(f"age recipient file: expected 1 recipient, found {len(keys)}")
        return cls(keys[0])

    def __str__(self) -> str:
        return self.text


class AgeIdentity:
    """An age X25519 identity (secret key). Never shown in ``repr``."""

    __slots__ = ("_native", "_text", "recipient")

    def __init__(self, text: str) -> None:
        text = text.strip()
        try:
            native = pyrage.x25519.Identity.from_str(text)
        except Exception as exc:
            raise KeyFormatError("age identity: expected an 'AGE-SECRET-KEY-1…' identity") from exc
        self._native = native
        self._text = text
        self.recipient = AgeRecipient(str(native.to_public()))

    @classmethod
    def generate(cls) -> AgeIdentity:
        """Make a new identity.

        pyrage draws the key from the operating system's random source and offers no
        way to pass one in; we accept that rather than build X25519 keys by hand.
        """
        return cls(str(pyrage.x25519.Identity.generate()))

    @classmethod
    def from_file_text(cls, text: str) -> AgeIdentity:
        """Parse an identity file as ``age-keygen`` writes it (comments skipped).

        Raises:
            KeyFormatError: no identity, several, or a malformed one.
        """
        keys = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if len(keys) != 1:
            raise KeyFormatError(f"age identity file: expected 1 identity, found {len(keys)}")
        return cls(keys[0])

    def secret_text(self) -> str:
        """The ``AGE-SECRET-KEY-1…`` string, for keystores and auditors only."""
        return self._text

    def to_file_text(self) -> str:
        """An identity file as ``age-keygen`` writes it, readable by ``age -d -i``."""
        return f"# public key: {self.recipient.text}\n{self._text}\n"

    def __repr__(self) -> str:
        return f"AgeIdentity(recipient={self.recipient.text})"


def encrypt_stream(source: ByteSource, sink: ByteSink, recipients: Sequence[AgeRecipient]) -> None:
    """Encrypt everything ``source`` yields to ``sink`` for ``recipients`` (binary age v1).

    Exceptions raised by ``source.read`` or ``sink.write`` propagate unchanged.

    Raises:
        UsageError: no recipients, or the library refused to encrypt.
    """
    if not recipients:
        raise UsageError("age: at least one recipient is required")
    guard = _Guard(source, sink)
    try:
        pyrage.encrypt_io(guard, guard, [r._native for r in recipients])
    except (pyrage.EncryptError, OSError) as exc:
        guard.reraise()
        raise UsageError(f"age: encryption failed ({_reason(exc)})") from exc
    guard.reraise()


def decrypt_stream(source: ByteSource, sink: ByteSink, identities: Iterable[AgeIdentity]) -> None:
    """Decrypt an age v1 stream from ``source`` into ``sink``.

    age authenticates each 64 KiB chunk, so ``sink`` may receive the first chunks
    of a stream whose end turns out damaged or truncated: verify a signature over
    the whole ciphertext first when that matters (bundles do). Exceptions raised by
    ``source.read`` or ``sink.write`` propagate unchanged, so a consumer can stop
    early by raising its own error.

    Raises:
        DecryptionError: no identity matches, or the ciphertext is damaged or truncated.
    """
    natives = [i._native for i in identities]
    if not natives:
        raise UsageError("age: at least one identity is required")
    guard = _Guard(source, sink)
    try:
        pyrage.decrypt_io(guard, guard, natives)
    except (pyrage.DecryptError, OSError) as exc:
        guard.reraise()
        raise DecryptionError(f"age: cannot decrypt ({_reason(exc)})") from exc
    guard.reraise()


class _Guard:
    """Passes reads and writes through, keeping the caller's own exceptions.

    pyrage reports a failing reader as a DecryptError and a damaged stream as an
    OSError; remembering what our side raised tells the two apart.
    """

    __slots__ = ("_error", "_sink", "_source")

    def __init__(self, source: ByteSource, sink: ByteSink) -> None:
        self._source = source
        self._sink = sink
        self._error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._source.read(size)
        except BaseException as exc:
            self._error = exc
            raise

    def write(self, data: bytes, /) -> int:
        try:
            self._sink.write(data)
        except BaseException as exc:
            self._error = exc
            raise
        return len(data)

    def reraise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    # Keep it one short line; the library's messages hold no secret material.
    return text.splitlines()[0][:200]


def encrypt_bytes(data: bytes, recipients: Sequence[AgeRecipient]) -> bytes:
    """Encrypt a small buffer (receipts, test data)."""
    if not recipients:
        raise UsageError("age: at least one recipient is required")
    try:
        result: bytes = pyrage.encrypt(data, [r._native for r in recipients])
    except pyrage.EncryptError as exc:
        raise UsageError(f"age: encryption failed ({exc})") from exc
    return result


def decrypt_bytes(data: bytes, identities: Iterable[AgeIdentity]) -> bytes:
    """Decrypt a small buffer.

    Raises:
        DecryptionError: no identity matches, or the ciphertext is damaged.
    """
    try:
        result: bytes = pyrage.decrypt(data, [i._native for i in identities])
    except pyrage.DecryptError as exc:
        raise DecryptionError(f"age: cannot decrypt ({_reason(exc)})") from exc
    return result
