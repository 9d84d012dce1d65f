"""Pure cryptographic primitives and key formats (minisign, age, BLAKE2b, keystore).

Thin wrappers over PyNaCl and pyrage; no home-made primitives, no I/O. Randomness
is passed in (``rng``), except where a library draws it itself (age keys and
ephemeral shares inside pyrage).
"""

from crypto.age import (
    AgeIdentity,
    AgeRecipient,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_stream,
)
from crypto.errors import (
    DecryptionError,
    InputError,
    KeyFormatError,
    KeystoreError,
    MusterError,
    SignatureError,
    StateError,
    UsageError,
    WrongPassphraseError,
)
from crypto.hashing import Blake2bStream, blake2b_512, tagged_hash
from crypto.keys import KeyPair, PublicKeys
from crypto.keystore import KDF_INTERACTIVE, KDF_MODERATE, KdfCost, open_keystore, seal_keystore
from crypto.sign import MinisignSignature, PublicKey, SigningKey

__all__ = [
    "KDF_INTERACTIVE",
    "KDF_MODERATE",
    "AgeIdentity",
    "AgeRecipient",
    "Blake2bStream",
    "DecryptionError",
    "InputError",
    "KdfCost",
    "KeyFormatError",
    "KeyPair",
    "KeystoreError",
    "MinisignSignature",
    "MusterError",
    "PublicKey",
    "PublicKeys",
    "SignatureError",
    "SigningKey",
    "StateError",
    "UsageError",
    "WrongPassphraseError",
    "blake2b_512",
    "decrypt_bytes",
    "decrypt_stream",
    "encrypt_bytes",
    "encrypt_stream",
    "open_keystore",
    "seal_keystore",
    "tagged_hash",
]
