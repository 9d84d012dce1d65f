"""Keystores: secrets under a passphrase (Argon2id + SecretBox)."""

from __future__ import annotations

import json

import pytest

from crypto.errors import KeystoreError, UsageError, WrongPassphraseError
from crypto.keys import KeyPair
from crypto.keystore import KDF_INTERACTIVE, KdfCost, open_keystore, seal_keystore


def test_a_key_pair_survives_the_keystore(rng) -> None:
    keys = KeyPair.generate(rng)
    data = seal_keystore(keys.to_secrets(), b"correct horse", rng=rng, cost=KDF_INTERACTIVE)
    again = KeyPair.from_secrets(open_keystore(data, b"correct horse"))
    assert again.public == keys.public
    assert keys.age.secret_text().encode() not in data
    assert keys.signing.seed not in data


def test_wrong_passphrase_is_a_clear_error(rng) -> None:
    data = seal_keystore({"a": "b"}, b"right", rng=rng, cost=KDF_INTERACTIVE)
    with pytest.raises(WrongPassphraseError, match="wrong passphrase") as caught:
        open_keystore(data, b"wrong")
    assert "passphrase" in caught.value.diagnostics()


def test_empty_passphrase_is_refused(rng) -> None:
    with pytest.raises(UsageError, match="must not be empty"):
        seal_keystore({"a": "b"}, b"", rng=rng, cost=KDF_INTERACTIVE)


def _document(rng) -> dict[str, object]:
    return json.loads(seal_keystore({"a": "b"}, b"pw", rng=rng, cost=KDF_INTERACTIVE))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "not a muster keystore"),
        (lambda d: d.update(version=9), "version 9 not supported"),
        (lambda d: d["kdf"].update(alg="scrypt"), "unknown key-derivation"),
        (lambda d: d["kdf"].update(memlimit=1 << 40), "cost out of range"),
        (lambda d: d["kdf"].update(opslimit="3"), "must be an integer"),
        (lambda d: d["kdf"].update(salt="***"), "not valid base64"),
        (lambda d: d.update(box=None), "must be base64 text"),
    ],
)
def test_damaged_keystores_are_rejected(rng, mutate, message: str) -> None:
    document = _document(rng)
    mutate(document)
    with pytest.raises(KeystoreError, match=message):
        open_keystore(json.dumps(document).encode(), b"pw")


def test_garbage_is_not_a_keystore() -> None:
    with pytest.raises(KeystoreError, match="not a JSON document"):
        open_keystore(b"\xff\x00garbage", b"pw")


def test_cost_bounds_are_checked() -> None:
    with pytest.raises(KeystoreError):
        KdfCost(opslimit=0, memlimit=1 << 20)


def test_missing_secret_is_named() -> None:
    with pytest.raises(KeystoreError, match="'age_identity' is missing"):
        KeyPair.from_secrets({"ed25519_seed": "A" * 44})
