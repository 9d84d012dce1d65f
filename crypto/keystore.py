"""Secret keys at rest, encrypted under a passphrase.

The passphrase is stretched with Argon2id (libsodium ``crypto_pwhash``) into a
32-byte key for XSalsa20-Poly1305 (``SecretBox``). The file is compact JSON::

    {"format": "muster-keystore", "version": 1,
     "kdf": {"alg": "argon2id13", "opslimit": 3, "memlimit": 268435456, "salt": "<b64>"},
     "box": "<b64 nonce||ciphertext>"}

and the plaintext is JSON mapping secret names to strings. This module turns
values into bytes and back; writing the file with mode 0600 is the caller's job
(see ``node.keyfiles``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from crypto.errors import KeystoreError, UsageError, WrongPassphraseError

__all__ = [
    "KDF_INTERACTIVE",
    "KDF_MODERATE",
    "KdfCost",
    "open_keystore",
    "seal_keystore",
]

_FORMAT: Final = "muster-keystore"
_VERSION: Final = 1
_ALG: Final = "argon2id13"
#: Refuse keystores that demand absurd work: a crafted file must not exhaust the machine.
_MAX_MEMLIMIT: Final = 1 << 30
_MAX_OPSLIMIT: Final = 16
_MAX_FILE_BYTES: Final = 64 * 1024

Random = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class KdfCost:
    """Argon2id work factors."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not (
            nacl.pwhash.argon2id.OPSLIMIT_MIN <= self.opslimit <= _MAX_OPSLIMIT
            and nacl.pwhash.argon2id.MEMLIMIT_MIN <= self.memlimit <= _MAX_MEMLIMIT
        ):
            raise KeystoreError(
                f"keystore: Argon2id cost out of range (ops {self.opslimit}, mem {self.memlimit})"
            )


#: libsodium's MODERATE cost (about 0.7 s, 256 MiB): the default for node and hub keys.
KDF_MODERATE: Final = KdfCost(
    nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE
)
#: libsodium's INTERACTIVE cost (about 0.1 s, 64 MiB): approver keys unlocked per batch, tests.
KDF_INTERACTIVE: Final = KdfCost(
    nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
)


def _derive(passphrase: bytes, salt: bytes, cost: KdfCost) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase,
        salt,
        opslimit=cost.opslimit,
        memlimit=cost.memlimit,
    )


def seal_keystore(
    secrets: Mapping[str, str],
    passphrase: bytes,
    *,
    rng: Random,
    cost: KdfCost = KDF_MODERATE,
) -> bytes:
    """Encrypt ``secrets`` under ``passphrase``; return the keystore file's bytes.

    Raises:
        UsageError: the passphrase is empty or a secret is not a string.
    """
    if not passphrase:
        raise UsageError("keystore: the passphrase must not be empty")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()):
        raise UsageError("keystore: secrets must map names to strings")
    salt = rng(nacl.pwhash.argon2id.SALTBYTES)
    nonce = rng(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, cost))
    plaintext = json.dumps(dict(secrets), sort_keys=True).encode("utf-8")
    sealed = bytes(box.encrypt(plaintext, nonce))
    document = {
        "format": _FORMAT,
        "version": _VERSION,
        "kdf": {
            "alg": _ALG,
            "opslimit": cost.opslimit,
            "memlimit": cost.memlimit,
            "salt": base64.b64encode(salt).decode("ascii"),
        },
        "box": base64.b64encode(sealed).decode("ascii"),
    }
    return (json.dumps(document, sort_keys=True) + "\n").encode("utf-8")


def open_keystore(data: bytes, passphrase: bytes) -> dict[str, str]:
    """Decrypt a keystore file's bytes with ``passphrase``.

    Raises:
        KeystoreError: the file is damaged, of another format or version, or too costly.
        WrongPassphraseError: the passphrase does not unlock it.
    """
    if len(data) > _MAX_FILE_BYTES:
        raise KeystoreError(f"keystore: file larger than {_MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError("keystore: not a JSON document") from exc
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise KeystoreError("keystore: not a muster keystore")
    if document.get("version") != _VERSION:
        raise KeystoreError(
            f"keystore: version {document.get('version')!r} not supported, expected {_VERSION}"
        )
    kdf = document.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("alg") != _ALG:
        raise KeystoreError("keystore: unknown key-derivation function")
    cost = KdfCost(_int(kdf, "opslimit"), _int(kdf, "memlimit"))
    salt = _b64(kdf.get("salt"), "salt")
    sealed = _b64(document.get("box"), "box")
    if len(salt) != nacl.pwhash.argon2id.SALTBYTES:
        raise KeystoreError("keystore: salt has the wrong length")
    box = nacl.secret.SecretBox(_derive(passphrase, salt, cost))
    try:
        plaintext = box.decrypt(sealed)
    except nacl.exceptions.CryptoError as exc:
        raise WrongPassphraseError("keystore: wrong passphrase (or a damaged keystore)") from exc
    try:
        secrets = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError("keystore: decrypted content is not JSON") from exc
    if not isinstance(secrets, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()
    ):
        raise KeystoreError("keystore: decrypted content is not a name → secret mapping")
    return secrets


def _int(mapping: dict[str, Any], key: str) -> int:
    value = mapping.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise KeystoreError(f"keystore: kdf.{key} must be an integer")
    return value


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeystoreError(f"keystore: {what} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeystoreError(f"keystore: {what} is not valid base64") from exc
