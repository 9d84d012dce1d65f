"""Fuzzing ``open_bundle``: random and mutated inputs raise only our typed errors.

Two layers: mutations of a real bundle (which stop at the syntax and signature
steps), and validly signed, validly encrypted bundles whose *payload* is garbage
(which reach decryption, the payload checks and entry decoding). Any exception
that is not a :class:`BundleError` fails the test, as does a hang.
"""

from __future__ import annotations

import io
import random
from collections import Counter

import msgpack
import zstandard

from crypto.age import encrypt_bytes
from crypto.hashing import blake2b_512
from protocol.bundle import BundleHeader, BundleKind, BundleLimits, open_bundle
from protocol.bundle.seal import UNTRUSTED_COMMENT
from protocol.errors import BundleError
from tests.conftest import IN_CI
from tests.pki import NOW, Pki, seal

PKI = Pki.build()
NODE, DISTRICT = PKI["node"], PKI["district"]
TRUST = PKI.trust()
LIMITS = BundleLimits(max_entries=1000, max_payload_bytes=1 << 20, max_string_bytes=1024)
SEED_ENTRIES = [{"i": i, "name": "刘德华", "list": [1, 2, {"x": b"\x00\x01"}]} for i in range(20)]
VALID, _ = seal(SEED_ENTRIES, sender=NODE, to=DISTRICT)

MUTATION_INPUTS = 10_000 if IN_CI else 2_000
PAYLOAD_INPUTS = 1_500 if IN_CI else 300


def _attempt(data: bytes) -> str:
    """Open and read ``data``; return the name of the typed error, or "ok"."""
    try:
        opened = open_bundle(io.BytesIO(data), trust=TRUST, identities=[DISTRICT.keys.age],
                             limits=LIMITS)  # fmt: skip
        for _ in opened.entries():
            pass
    except BundleError as exc:
        return type(exc).__name__
    return "ok"


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        at = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buf[at:at] = rng.randbytes(rng.randint(1, 16))
        elif choice == 2:
            del buf[at : at + rng.randint(1, 64)]
        elif choice == 3:
            buf = buf[:at]
        elif choice == 4:
            # Duplicate a line: confuses the four-line split.
            buf[at:at] = b"\n"
        else:
            other = rng.randrange(len(data))
            buf[at:at] = data[other : other + rng.randint(1, 200)]
    return bytes(buf)


def test_mutated_and_random_bundles_raise_only_bundle_errors() -> None:
    rng = random.Random(20261129)
    outcomes: Counter[str] = Counter()
    for i in range(MUTATION_INPUTS):
        data = rng.randbytes(rng.randint(0, 3000)) if i % 10 == 0 else _mutate(rng, VALID)
        if data == VALID:  # mutations that cancel out (a bit flipped twice, a cut at the end)
            continue
        outcomes[_attempt(data)] += 1
    # The fuzzer exercises the early steps; nothing tampered gets through.
    assert outcomes["HeaderSyntaxError"] > 0
    assert outcomes["BadSignatureError"] > 0
    assert outcomes["ok"] == 0


def _signed_bundle_around(payload: bytes, count: int) -> bytes:
    ciphertext = encrypt_bytes(payload, [DISTRICT.keys.age.recipient])
    header = BundleHeader(
        bundle_id="0123456789abcdef0123456789abcdef", kind=BundleKind.DELTA,
        sender=NODE.subject, recipient=DISTRICT.subject, seq=1, prev=None, created=NOW,
        count=count, payload_b2=blake2b_512(payload).hex(), payload_size=len(payload),
    )  # fmt: skip
    signature = NODE.keys.signing.sign_minisign(
        blake2b_512(ciphertext), trusted_comment=header.to_json(),
        untrusted_comment=UNTRUSTED_COMMENT,
    )  # fmt: skip
    return signature.to_bytes() + ciphertext


def _garbage_payload(rng: random.Random) -> tuple[bytes, int]:
    preamble = zstandard.ZstdCompressor().compress(
        msgpack.packb(
            {
                "muster": 1,
                "id": "0123456789abcdef0123456789abcdef",
                "from": NODE.subject,
                "kind": "delta",
            }
        )
    )
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 500)), rng.randint(0, 5)
    if kind == 1:
        return preamble + rng.randbytes(rng.randint(0, 500)), rng.randint(0, 5)
    body = bytearray(b"".join(msgpack.packb(e) for e in SEED_ENTRIES[: rng.randint(0, 5)]))
    if kind == 2:
        for _ in range(rng.randint(1, 5)):
            if body:
                body[rng.randrange(len(body))] = rng.randrange(256)
    elif kind == 3:
        body += bytes([0x91]) * rng.randint(1, 3000) + b"\xc0"  # deep nesting
    else:
        body += msgpack.packb("x" * rng.randint(1000, 3000))  # long strings
    compressed = zstandard.ZstdCompressor().compress(bytes(body))
    if rng.random() < 0.3 and compressed:
        cut = rng.randrange(len(compressed))
        compressed = compressed[:cut]
    return preamble + compressed, rng.randint(0, 8)


def test_validly_signed_bundles_with_garbage_payloads_raise_only_bundle_errors() -> None:
    rng = random.Random(7)
    outcomes: Counter[str] = Counter()
    for _ in range(PAYLOAD_INPUTS):
        payload, count = _garbage_payload(rng)
        outcomes[_attempt(_signed_bundle_around(payload, count))] += 1
    # These inputs get past the signature: they reach the payload and entry checks.
    assert outcomes["PayloadMismatchError"] > 0
    assert outcomes["EntryLimitError"] > 0
