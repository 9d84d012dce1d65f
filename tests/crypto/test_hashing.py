"""Tagged hashing keeps purposes and part boundaries apart."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from crypto.hashing import TAG_BUNDLE, TAG_OP, Blake2bStream, blake2b_512, tagged_hash


def test_tags_separate_domains() -> None:
    assert tagged_hash(TAG_OP, b"x") != tagged_hash(TAG_BUNDLE, b"x")


def test_part_boundaries_matter() -> None:
    assert tagged_hash(TAG_OP, b"ab", b"c") != tagged_hash(TAG_OP, b"a", b"bc")


def test_plain_blake2b_matches_b2sum_definition() -> None:
    assert blake2b_512(b"abc") == hashlib.blake2b(b"abc").digest()
    # Published BLAKE2b-512("abc") (RFC 7693 appendix A).
    assert blake2b_512(b"abc").hex().startswith("ba80a53f981c4d0d6a2797b69f12f6e9")


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_streaming_equals_one_shot(chunks: list[bytes]) -> None:
    stream = Blake2bStream()
    for chunk in chunks:
        stream.update(chunk)
    assert stream.digest() == blake2b_512(b"".join(chunks))
    assert stream.count == sum(map(len, chunks))
