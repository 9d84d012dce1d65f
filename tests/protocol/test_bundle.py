"""Sealing and opening bundles: round trips, header fields, payload checks and limits."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import msgpack
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from crypto.age import decrypt_bytes, encrypt_bytes
from crypto.hashing import blake2b_512
from protocol.bundle import (
    BundleHeader,
    BundleKind,
    BundleLimits,
    StaticTrust,
    bundle_file_hash,
    open_bundle,
    verify_bundle,
)
from protocol.bundle.seal import UNTRUSTED_COMMENT
from protocol.errors import (
    BundleTooLargeError,
    EntryLimitError,
    HeaderSyntaxError,
    PayloadMismatchError,
)
from tests.pki import NOW, Pki, seal

PKI = Pki.build()
NODE, DISTRICT = PKI["node"], PKI["district"]

RECORDS = [
    {
        "op": "create",
        "record": f"r{i}",
        "fields": {"name": "王建国", "sex": "1", "tags": ["a", "b"]},
    }
    for i in range(50)
]


def _open(data: bytes, **kwargs):
    return open_bundle(
        io.BytesIO(data),
        trust=kwargs.pop("trust", PKI.trust()),
        identities=[DISTRICT.keys.age],
        **kwargs,
    )


def test_entries_round_trip_and_the_header_says_what_was_sealed() -> None:
    data, sealed = seal(RECORDS, sender=NODE, to=DISTRICT, seq=3, prev="ab" * 32)
    opened = _open(data)
    assert list(opened.entries()) == RECORDS
    header = opened.header
    assert header == sealed.header
    assert (header.sender, header.recipient, header.seq, header.count) == (
        "370102001-01",
        "370102",
        3,
        50,
    )
    assert header.prev == "ab" * 32
    assert header.created == NOW
    assert opened.verified.bundle_hash == sealed.bundle_hash == bundle_file_hash(data)
    assert opened.verified.size == sealed.size == len(data)


def test_the_file_is_four_signature_lines_then_binary_age() -> None:
    data, sealed = seal(RECORDS, sender=NODE, to=DISTRICT)
    lines = data.split(b"\n", 4)
    assert lines[0] == f"untrusted comment: {UNTRUSTED_COMMENT}".encode()
    assert lines[2] == b"trusted comment: " + sealed.header.to_json().encode()
    assert lines[4].startswith(b"age-encryption.org/v1\n")


def test_payload_hash_is_the_b2sum_of_the_decrypted_payload() -> None:
    data, sealed = seal(RECORDS, sender=NODE, to=DISTRICT)
    ciphertext = data.split(b"\n", 4)[4]
    payload = decrypt_bytes(ciphertext, [DISTRICT.keys.age])
    assert blake2b_512(payload).hex() == sealed.header.payload_b2
    assert len(payload) == sealed.header.payload_size
    # Two zstd frames: the preamble, then the entries.
    reader = zstandard.ZstdDecompressor().stream_reader(
        io.BytesIO(payload), read_across_frames=True
    )
    objects = list(msgpack.Unpacker(reader, raw=False))
    assert objects[0] == {"muster": 1, "id": sealed.header.bundle_id, "from": NODE.subject,
                          "kind": "delta"}  # fmt: skip
    assert objects[1:] == RECORDS


def test_an_empty_bundle_round_trips() -> None:
    data, _ = seal([], sender=DISTRICT, to=NODE, kind=BundleKind.TRUST)
    opened = open_bundle(io.BytesIO(data), trust=PKI.trust(), identities=[NODE.keys.age])
    assert list(opened.entries()) == []


def test_escrow_recipients_can_open_the_same_bundle() -> None:
    escrow = PKI.root.keys.age
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT, extra_recipients=[escrow])
    opened = open_bundle(io.BytesIO(data), trust=PKI.trust(), identities=[escrow])
    assert list(opened.entries()) == RECORDS


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=20)
    | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.lists(json_values | st.binary(max_size=40), max_size=12))
def test_any_msgpack_value_round_trips(entries) -> None:
    data, _ = seal(entries, sender=NODE, to=DISTRICT)
    assert list(_open(data).entries()) == entries


def test_verify_alone_needs_no_identity() -> None:
    data, sealed = seal(RECORDS, sender=NODE, to=DISTRICT)
    verified = verify_bundle(io.BytesIO(data), trust=StaticTrust.of([NODE.keys.signing.public_key]))
    assert verified.header == sealed.header


def test_breaking_early_out_of_entries_stops_cleanly() -> None:
    data, _ = seal(RECORDS * 200, sender=NODE, to=DISTRICT)
    entries = _open(data).entries()
    assert next(entries) == RECORDS[0]
    entries.close()  # the decrypting worker must stop; a hang here fails the test run


# --- payload checks (step 6) and entry limits (step 7) --------------------------------


def _resign(data: bytes, change) -> bytes:
    """Re-sign a bundle after changing its header: a sender with a valid key lying."""
    _comment, _sig, trusted, _global_sig, ciphertext = data.split(b"\n", 4)
    header = BundleHeader.from_json(trusted.decode()[len("trusted comment: ") :])
    lied = dataclasses.replace(header, **change)
    signature = NODE.keys.signing.sign_minisign(
        blake2b_512(ciphertext), trusted_comment=lied.to_json(), untrusted_comment=UNTRUSTED_COMMENT
    )
    return signature.to_bytes() + ciphertext


def test_a_header_that_lies_about_the_payload_hash_is_a_mismatch() -> None:
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    lying = _resign(data, {"payload_b2": "0" * 128})
    with pytest.raises(PayloadMismatchError, match="payload hash or size differs"):
        _open(lying)


def test_a_header_that_lies_about_the_count_is_a_mismatch() -> None:
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    with pytest.raises(PayloadMismatchError, match="holds 50 entries, header says 51"):
        list(_open(_resign(data, {"count": 51})).entries())
    with pytest.raises(PayloadMismatchError, match="more entries than the header's count 49"):
        list(_open(_resign(data, {"count": 49})).entries())


@pytest.mark.parametrize("version", [True, 1.0])
def test_a_preamble_version_that_only_equals_one_is_a_mismatch(
    monkeypatch: pytest.MonkeyPatch, version: object
) -> None:
    # A sealer writing msgpack's true or 1.0 where the integer 1 belongs: equal to 1 in
    # Python, but not the format's version.
    def preamble(bundle_id: str, sender: str, kind: BundleKind) -> bytes:
        body = {"muster": version, "id": bundle_id, "from": sender, "kind": kind.value}
        packed: bytes = msgpack.packb(body)
        return packed

    monkeypatch.setattr("protocol.bundle.payload._preamble", preamble)
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    with pytest.raises(PayloadMismatchError, match=f"payload muster {version!r} differs"):
        _open(data)


def test_a_relay_cannot_pass_a_payload_off_as_its_own() -> None:
    # The node's ciphertext under a header claiming another bundle id: the preamble disagrees.
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    with pytest.raises(PayloadMismatchError, match="payload id"):
        _open(_resign(data, {"bundle_id": "f" * 32}))


def test_entries_nested_too_deep_are_refused() -> None:
    deep: object = "leaf"
    for _ in range(20):
        deep = [deep]
    data, _ = seal([{"ok": 1}, deep], sender=NODE, to=DISTRICT)
    entries = _open(data).entries()
    assert next(entries) == {"ok": 1}
    with pytest.raises(EntryLimitError, match="entry 1: nested deeper than 16 levels"):
        next(entries)


def test_strings_longer_than_the_limit_are_refused() -> None:
    data, _ = seal([{"name": "x" * 70_000}], sender=NODE, to=DISTRICT)
    with pytest.raises(EntryLimitError, match="entry 0: cannot be decoded"):
        list(_open(data).entries())


def test_too_many_entries_are_refused_when_sealing_and_opening() -> None:
    small = BundleLimits(max_entries=10)
    with pytest.raises(EntryLimitError, match="more than 10 entries"):
        seal(RECORDS, sender=NODE, to=DISTRICT, limits=small)
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    with pytest.raises(BundleTooLargeError, match="declares 50 entries"):
        _open(data, limits=small)


def test_an_unencodable_entry_is_a_typed_error() -> None:
    with pytest.raises(EntryLimitError, match="entry 1: cannot be encoded"):
        seal([{"a": 1}, {"b": object()}], sender=NODE, to=DISTRICT)


def test_a_decompression_bomb_stops_at_the_payload_limit() -> None:
    data, _ = seal([b"\0" * 4_000_000] * 3, sender=NODE, to=DISTRICT)
    limits = BundleLimits(max_payload_bytes=5_000_000)
    with pytest.raises(EntryLimitError, match="expands beyond 5000000 bytes"):
        list(_open(data, limits=limits).entries())


def test_a_header_larger_than_the_limit_is_refused_at_seal_and_open() -> None:
    big_auth = {"note": "x" * 5000}
    with pytest.raises(BundleTooLargeError, match="header is"):
        seal(RECORDS, sender=NODE, to=DISTRICT, auth=big_auth)
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT, auth={"note": "x" * 3000})
    with pytest.raises(BundleTooLargeError, match="header limit 2048"):
        _open(data, limits=BundleLimits(max_header_bytes=2048))


def test_a_bundle_larger_than_the_limit_is_refused_before_reading_it() -> None:
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    with pytest.raises(BundleTooLargeError, match=f"bundle is {len(data)} bytes, limit 1000"):
        _open(data, limits=BundleLimits(max_bundle_bytes=1000))


def test_a_payload_that_is_not_age_is_a_syntax_error() -> None:
    data, _ = seal(RECORDS, sender=NODE, to=DISTRICT)
    head = data.split(b"age-encryption.org/v1\n")[0]
    with pytest.raises(HeaderSyntaxError, match="not a binary age v1 file"):
        _open(head + b"PK\x03\x04 a zip file")


def test_garbage_in_the_payload_preamble_is_a_mismatch() -> None:
    # A validly signed, validly encrypted payload that is not zstd at all.
    ciphertext = encrypt_bytes(b"not zstd", [DISTRICT.keys.age.recipient])
    header = BundleHeader(
        bundle_id="0" * 32, kind=BundleKind.DELTA, sender=NODE.subject, recipient="370102",
        seq=1, prev=None, created=NOW, count=0,
        payload_b2=blake2b_512(b"not zstd").hex(), payload_size=8,
    )  # fmt: skip
    signature = NODE.keys.signing.sign_minisign(
        blake2b_512(ciphertext),
        trusted_comment=header.to_json(),
        untrusted_comment=UNTRUSTED_COMMENT,
    )
    with pytest.raises(PayloadMismatchError, match="does not start with a bundle preamble"):
        _open(signature.to_bytes() + ciphertext)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"muster": 2}, "format version 2 not supported"),
        ({"muster": True}, "format version True not supported"),
        ({"muster": 1.0}, "format version 1.0 not supported"),
        ({"from": "３７０１０２００１-01"}, "header.from"),
        ({"created": "２０２６-11-29T00:00:00Z"}, "header.created"),
        ({"kind": "gossip"}, "not a bundle kind"),
        ({"seq": 0}, "header.seq"),
        ({"seq": 2, "prev": None}, "header.prev"),
        ({"id": "XYZ"}, "header.id"),
        ({"extra": 1}, "unknown keys: extra"),
        ({"created": "yesterday"}, "header.created"),
        ({"payload": {"b2": "00"}}, "payload must be"),
    ],
)
def test_header_syntax_errors_name_the_field(change: dict[str, object], message: str) -> None:
    _, sealed = seal(RECORDS, sender=NODE, to=DISTRICT)
    body = json.loads(sealed.header.to_json())
    body.update(change)
    with pytest.raises(HeaderSyntaxError, match=message):
        BundleHeader.from_json(json.dumps(body))


def test_bundle_hash_is_b2sum_256_of_the_file() -> None:
    data, sealed = seal(RECORDS, sender=NODE, to=DISTRICT)
    assert sealed.bundle_hash == hashlib.blake2b(data, digest_size=32).hexdigest()


def test_a_header_with_a_number_too_long_to_read_is_a_syntax_error() -> None:
    # Python's json refuses an integer of over 4300 digits with a bare ValueError, and a
    # header may be up to 8192 bytes (found by fuzzing).
    with pytest.raises(HeaderSyntaxError, match="not valid JSON"):
        BundleHeader.from_json('{"muster":' + "1" * 5000 + "}")
