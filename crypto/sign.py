"""Ed25519 signing keys and the minisign file formats.

Muster's signatures are minisign signatures, so that an auditor can check any
bundle with the stock ``minisign`` tool. This module wraps PyNaCl's Ed25519 and
implements only the *encodings* minisign defines:

* public key file: ``untrusted comment: …`` then base64 of
  ``"Ed" || key_id (8 bytes) || public key (32 bytes)``;
* signature file (four lines): ``untrusted comment: …``, base64 of
  ``"ED" || key_id || Ed25519(BLAKE2b-512(file))``, ``trusted comment: …``, and
  base64 of the *global signature* ``Ed25519(signature || trusted comment)``, which
  binds the trusted comment to the signed file.

The legacy non-prehashed algorithm (``"Ed"``, signature over the raw file) is
accepted when verifying, never produced.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.signing

from crypto.errors import KeyFormatError, SignatureError, UsageError
from crypto.hashing import TAG_KEY_ID, blake2b_512, tagged_hash

__all__ = [
    "ALG_LEGACY",
    "ALG_PREHASHED",
    "MAX_TRUSTED_COMMENT_BYTES",
    "MinisignSignature",
    "PublicKey",
    "SigningKey",
    "derive_key_id",
]

#: Signature algorithm id for a signature over BLAKE2b-512 of the file (minisign's default).
ALG_PREHASHED: Final = b"ED"
#: Signature algorithm id for a signature over the raw file (legacy minisign).
ALG_LEGACY: Final = b"Ed"
#: Key algorithm id in public key files.
_KEY_ALG: Final = b"Ed"
#: minisign refuses longer trusted comments (TRUSTEDCOMMENTMAXBYTES in minisign.h).
MAX_TRUSTED_COMMENT_BYTES: Final = 8192
_UNTRUSTED_PREFIX: Final = "untrusted comment: "
_TRUSTED_PREFIX: Final = "trusted comment: "
_MAX_UNTRUSTED_COMMENT_BYTES: Final = 1024

Random = Callable[[int], bytes]


def _b64decode(text: str, what: str) -> bytes:
    """Decode strict, canonical base64: one text for each byte string.

    Unused padding bits must be zero, so that no two texts decode to the same bytes
    (otherwise a flipped bit in a signature line could go unnoticed).
    """
    text = text.strip()
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"{what}: not valid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise KeyFormatError(f"{what}: not canonical base64")
    return data


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key with its 8-byte minisign key id."""

    key_id: bytes
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key_id) != 8:
            raise KeyFormatError(f"key id must be 8 bytes, got {len(self.key_id)}")
        if len(self.key) != 32:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(self.key)}")

    @classmethod
    def from_raw(cls, key: bytes) -> PublicKey:
        """Wrap a raw Ed25519 public key; its key id is derived from the key."""
        return cls(key_id=derive_key_id(key), key=key)

    @property
    def key_id_hex(self) -> str:
        """The key id as minisign prints it (little-endian integer, 16 uppercase hex digits)."""
        return self.key_id[::-1].hex().upper()

    def to_minisign(self, comment: str | None = None) -> str:
        """Return the two-line minisign public key file text."""
        comment = comment or f"minisign public key {self.key_id_hex}"
        blob = base64.b64encode(_KEY_ALG + self.key_id + self.key).decode("ascii")
        return f"{_UNTRUSTED_PREFIX}{comment}\n{blob}\n"

    def to_base64(self) -> str:
        """Return the key line alone (what ``minisign -P`` takes)."""
        return base64.b64encode(_KEY_ALG + self.key_id + self.key).decode("ascii")

    @classmethod
    def from_minisign(cls, text: str) -> PublicKey:
        """Parse a minisign public key file (or its bare base64 line).

        Raises:
            KeyFormatError: the text is not a minisign Ed25519 public key.
        """
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        if lines and lines[0].startswith(_UNTRUSTED_PREFIX):
            lines = lines[1:]
        if len(lines) != 1:
            raise KeyFormatError("public key: expected one base64 line after the comment")
        blob = _b64decode(lines[0], "public key")
        if len(blob) != 42 or blob[:2] != _KEY_ALG:
            raise KeyFormatError(
                f"public key: expected 42 bytes starting with 'Ed', got {len(blob)} bytes"
            )
        return cls(key_id=blob[2:10], key=blob[10:])

    def verify_detached(self, signature: bytes, message: bytes) -> None:
        """Check a raw Ed25519 signature over ``message``.

        Raises:
            SignatureError: the signature does not verify under this key.
        """
        try:
            nacl.signing.VerifyKey(self.key).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as exc:
            raise SignatureError(
                f"signature does not verify under key {self.key_id_hex}", key_id=self.key_id_hex
            ) from exc


def derive_key_id(public_key: bytes) -> bytes:
    """Derive Muster's 8-byte key id from a public key (stable, no extra state)."""
    return tagged_hash(TAG_KEY_ID, public_key, size=8)


class SigningKey:
    """An Ed25519 signing key. The seed never appears in ``repr`` or messages."""

    __slots__ = ("_key", "public_key")

    def __init__(self, seed: bytes, *, key_id: bytes | None = None) -> None:
        if len(seed) != 32:
            raise UsageError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._key = nacl.signing.SigningKey(seed)
        raw_public = bytes(self._key.verify_key)
        self.public_key = PublicKey(key_id=key_id or derive_key_id(raw_public), key=raw_public)

    @classmethod
    def generate(cls, rng: Random) -> SigningKey:
        """Make a new key from 32 bytes of ``rng`` (pass ``secrets.token_bytes``)."""
        return cls(rng(32))

    @property
    def seed(self) -> bytes:
        """The 32-byte seed, for the keystore only."""
        return bytes(self._key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message).signature

    def sign_minisign(
        self,
        blake2b_512_digest: bytes,
        *,
        trusted_comment: str,
        untrusted_comment: str = "signature from muster",
    ) -> MinisignSignature:
        """Sign a file given its BLAKE2b-512 digest, as ``minisign -S`` would.

        Raises:
            UsageError: the digest is not 64 bytes or a comment is too long or multi-line.
        """
        if len(blake2b_512_digest) != 64:
            raise UsageError("minisign prehash must be a 64-byte BLAKE2b-512 digest")
        signature = self.sign(blake2b_512_digest)
        trusted = trusted_comment.encode("utf-8")
        global_signature = self.sign(signature + trusted)
        return MinisignSignature(
            algorithm=ALG_PREHASHED,
            key_id=self.public_key.key_id,
            signature=signature,
            trusted_comment=trusted_comment,
            global_signature=global_signature,
            untrusted_comment=untrusted_comment,
        )

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.public_key.key_id_hex})"


@dataclass(frozen=True, slots=True, kw_only=True)
class MinisignSignature:
    """The four lines of a minisign signature file, parsed."""

    algorithm: bytes
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes
    untrusted_comment: str = "signature from muster"

    def __post_init__(self) -> None:
        if self.algorithm not in (ALG_PREHASHED, ALG_LEGACY):
            raise KeyFormatError("signature: unknown algorithm (expected 'ED' or 'Ed')")
        if len(self.key_id) != 8 or len(self.signature) != 64 or len(self.global_signature) != 64:
            raise KeyFormatError("signature: wrong key id or signature length")
        for name, text, limit in (
            ("trusted comment", self.trusted_comment, MAX_TRUSTED_COMMENT_BYTES),
            ("untrusted comment", self.untrusted_comment, _MAX_UNTRUSTED_COMMENT_BYTES),
        ):
            if "\n" in text or "\r" in text:
                raise KeyFormatError(f"signature: {name} must be one line")
            if len(text.encode("utf-8")) > limit:
                raise KeyFormatError(f"signature: {name} longer than {limit} bytes")

    @property
    def key_id_hex(self) -> str:
        return self.key_id[::-1].hex().upper()

    def to_text(self) -> str:
        """Return the four-line signature file, each line ending in ``\\n``."""
        sig_line = base64.b64encode(self.algorithm + self.key_id + self.signature).decode()
        global_line = base64.b64encode(self.global_signature).decode()
        return (
            f"{_UNTRUSTED_PREFIX}{self.untrusted_comment}\n{sig_line}\n"
            f"{_TRUSTED_PREFIX}{self.trusted_comment}\n{global_line}\n"
        )

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")

    @classmethod
    def from_lines(cls, lines: list[str]) -> MinisignSignature:
        """Parse the four lines of a signature file (without their newlines).

        Raises:
            KeyFormatError: a line is missing, misplaced or malformed.
        """
        if len(lines) != 4:
            raise KeyFormatError(f"signature: expected 4 lines, got {len(lines)}")
        untrusted, sig_line, trusted, global_line = lines
        if not untrusted.startswith(_UNTRUSTED_PREFIX):
            raise KeyFormatError("signature: line 1 must start with 'untrusted comment: '")
        if not trusted.startswith(_TRUSTED_PREFIX):
            raise KeyFormatError("signature: line 3 must start with 'trusted comment: '")
        blob = _b64decode(sig_line, "signature line 2")
        if len(blob) != 74:
            raise KeyFormatError(f"signature: line 2 must decode to 74 bytes, got {len(blob)}")
        global_signature = _b64decode(global_line, "signature line 4")
        return cls(
            algorithm=blob[:2],
            key_id=blob[2:10],
            signature=blob[10:],
            trusted_comment=trusted[len(_TRUSTED_PREFIX) :],
            global_signature=global_signature,
            untrusted_comment=untrusted[len(_UNTRUSTED_PREFIX) :],
        )

    @classmethod
    def from_text(cls, text: str) -> MinisignSignature:
        """Parse a whole signature file.

        Raises:
            KeyFormatError: the text is not a minisign signature file.
        """
        return cls.from_lines(text.rstrip("\n").split("\n"))

    def verify(
        self,
        public_key: PublicKey,
        *,
        prehash: bytes | None = None,
        message: bytes | None = None,
    ) -> None:
        """Verify the signature and the global signature, as ``minisign -V`` does.

        Pass ``prehash`` (BLAKE2b-512 of the file) for prehashed signatures and
        ``message`` (the whole file) for legacy ones; passing ``message`` works for both.

        Raises:
            SignatureError: the key id differs, or either signature fails.
        """
        if self.key_id != public_key.key_id:
            raise SignatureError(
                f"signature made with key {self.key_id_hex}, expected {public_key.key_id_hex}",
                key_id=self.key_id_hex,
            )
        if self.algorithm == ALG_PREHASHED:
            if prehash is None:
                if message is None:
                    raise UsageError("verify needs the prehash or the message")
                prehash = blake2b_512(message)
            signed = prehash
        else:
            if message is None:
                raise SignatureError("legacy (non-prehashed) signature needs the whole message")
            signed = message
        public_key.verify_detached(self.signature, signed)
        public_key.verify_detached(
            self.global_signature, self.signature + self.trusted_comment.encode("utf-8")
        )
