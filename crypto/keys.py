"""A party's key pair: an Ed25519 signing key and an age X25519 identity."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from crypto.age import AgeIdentity, AgeRecipient
from crypto.errors import KeystoreError
from crypto.sign import PublicKey, SigningKey

__all__ = ["KeyPair", "PublicKeys"]

_SIGN_SEED = "ed25519_seed"
_AGE_IDENTITY = "age_identity"


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """What a party publishes: its signing public key and its age recipient."""

    sign: PublicKey
    age: AgeRecipient


class KeyPair:
    """A node's, hub's or person's secret keys. Never printed."""

    __slots__ = ("age", "signing")

    def __init__(self, signing: SigningKey, age: AgeIdentity) -> None:
        self.signing = signing
        self.age = age

    @classmethod
    def generate(cls, rng: Callable[[int], bytes]) -> KeyPair:
        """Make new keys; the signing seed comes from ``rng``, the age key from pyrage."""
        return cls(SigningKey.generate(rng), AgeIdentity.generate())

    @property
    def public(self) -> PublicKeys:
        return PublicKeys(sign=self.signing.public_key, age=self.age.recipient)

    def to_secrets(self) -> dict[str, str]:
        """The secrets to store in a keystore."""
        return {
            _SIGN_SEED: base64.b64encode(self.signing.seed).decode("ascii"),
            _AGE_IDENTITY: self.age.secret_text(),
        }

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str]) -> KeyPair:
        """Rebuild keys from a keystore's secrets.

        Raises:
            KeystoreError: a secret is missing or malformed.
        """
        try:
            seed = base64.b64decode(secrets[_SIGN_SEED], validate=True)
            age_text = secrets[_AGE_IDENTITY]
        except KeyError as exc:
            raise KeystoreError(f"keystore: secret {exc.args[0]!r} is missing") from exc
        except (binascii.Error, ValueError) as exc:
            raise KeystoreError("keystore: signing seed is not valid base64") from exc
        if len(seed) != 32:
            raise KeystoreError("keystore: signing seed must be 32 bytes")
        return cls(SigningKey(seed), AgeIdentity(age_text))

    def __repr__(self) -> str:
        return f"KeyPair(sign={self.signing.public_key.key_id_hex}, age={self.age.recipient})"
