"""Ed25519 through our wrapper, and minisign's file formats."""

from __future__ import annotations

import base64

import pytest

from crypto.errors import KeyFormatError, SignatureError
from crypto.hashing import blake2b_512
from crypto.sign import ALG_LEGACY, MinisignSignature, PublicKey, SigningKey

# RFC 8032 §7.1, tests 1-3 (secret seed, public key, message, signature).
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors_through_our_wrapper(
    seed: str, public: str, message: str, signature: str
) -> None:
    key = SigningKey(bytes.fromhex(seed))
    assert key.public_key.key == bytes.fromhex(public)
    assert key.sign(bytes.fromhex(message)) == bytes.fromhex(signature)
    key.public_key.verify_detached(bytes.fromhex(signature), bytes.fromhex(message))


def test_a_flipped_bit_in_an_rfc8032_signature_is_rejected() -> None:
    seed, _public, message, signature = RFC8032_VECTORS[1]
    key = SigningKey(bytes.fromhex(seed))
    bad = bytearray(bytes.fromhex(signature))
    bad[5] ^= 0x01
    with pytest.raises(SignatureError, match="does not verify under key"):
        key.public_key.verify_detached(bytes(bad), bytes.fromhex(message))


def test_public_key_file_round_trips_and_matches_minisign_layout(rng) -> None:
    key = SigningKey.generate(rng)
    text = key.public_key.to_minisign()
    first, second = text.splitlines()
    assert first == f"untrusted comment: minisign public key {key.public_key.key_id_hex}"
    blob = base64.b64decode(second)
    assert blob[:2] == b"Ed"
    assert blob[2:10] == key.public_key.key_id
    assert blob[10:] == (key.public_key.key)
    assert PublicKey.from_minisign(text) == key.public_key
    assert PublicKey.from_minisign(second) == key.public_key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("untrusted comment: x\n", "expected one base64 line"),
        ("untrusted comment: x\n!!!notbase64\n", "not valid base64"),
        ("untrusted comment: x\n" + base64.b64encode(b"Ed" + bytes(10)).decode(), "42 bytes"),
        ("untrusted comment: x\n" + base64.b64encode(b"XX" + bytes(40)).decode(), "'Ed'"),
    ],
)
def test_malformed_public_key_files_are_rejected(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        PublicKey.from_minisign(text)


def test_minisign_signature_round_trips_and_verifies(rng) -> None:
    key = SigningKey.generate(rng)
    data = b"the file"
    sig = key.sign_minisign(blake2b_512(data), trusted_comment='{"v":1}')
    text = sig.to_text()
    assert text.count("\n") == 4
    assert text.endswith("\n")
    parsed = MinisignSignature.from_text(text)
    assert parsed == sig
    parsed.verify(key.public_key, message=data)
    parsed.verify(key.public_key, prehash=blake2b_512(data))


def test_changing_the_trusted_comment_breaks_the_global_signature(rng) -> None:
    key = SigningKey.generate(rng)
    sig = key.sign_minisign(blake2b_512(b"f"), trusted_comment="seq 1")
    forged = MinisignSignature.from_text(sig.to_text().replace("seq 1", "seq 2"))
    with pytest.raises(SignatureError):
        forged.verify(key.public_key, message=b"f")


def test_a_signature_by_another_key_names_both_key_ids(rng) -> None:
    signer, other = SigningKey.generate(rng), SigningKey.generate(rng)
    sig = signer.sign_minisign(blake2b_512(b"f"), trusted_comment="t")
    with pytest.raises(SignatureError, match=signer.public_key.key_id_hex):
        sig.verify(other.public_key, message=b"f")


def test_legacy_signatures_need_the_whole_message(rng) -> None:
    key = SigningKey.generate(rng)
    signature = key.sign(b"msg")
    legacy = MinisignSignature(
        algorithm=ALG_LEGACY,
        key_id=key.public_key.key_id,
        signature=signature,
        trusted_comment="t",
        global_signature=key.sign(signature + b"t"),
    )
    legacy.verify(key.public_key, message=b"msg")
    with pytest.raises(SignatureError, match="needs the whole message"):
        legacy.verify(key.public_key, prehash=blake2b_512(b"msg"))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["untrusted comment: a", "x", "trusted comment: b"], "expected 4 lines"),
        (["comment: a", "x", "trusted comment: b", "y"], "line 1"),
        (["untrusted comment: a", "x", "comment: b", "y"], "line 3"),
        (
            ["untrusted comment: a", base64.b64encode(b"ED").decode(), "trusted comment: b", "y"],
            "74 bytes",
        ),
    ],
)
def test_malformed_signature_files_are_rejected(lines: list[str], message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        MinisignSignature.from_lines(lines)


def test_signing_key_repr_shows_no_secret(rng) -> None:
    key = SigningKey.generate(rng)
    assert key.seed.hex() not in repr(key)
    assert key.public_key.key_id_hex in repr(key)
