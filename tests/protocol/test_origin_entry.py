"""The ``origin`` entry: where answers passed up a hub were signed — the node's
authorisation and the digests of its batch's answers — decoded strictly."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.entries import AnswerOrigin, EntryTag, decode_entry, encode_entry
from protocol.errors import EntryError
from protocol.trust import answer_digest, authorise
from tests.pki import NOW, Pki

PKI = Pki.build()


def _origin(answers: list[bytes]) -> AnswerOrigin:
    approver = PKI["approver"]
    auth = authorise(
        key=approver.keys.signing, by=approver.subject, batch_id="d" * 32,
        origin="370102001-01", op_ids=[], signed_at=NOW, answers=answers,
    )  # fmt: skip
    return AnswerOrigin(auth=auth, digests=tuple(map(answer_digest, answers)))


def _wire(value: object) -> Any:
    return msgpack.unpackb(msgpack.packb(encode_entry(value)), raw=False)


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=8))
def test_an_origin_survives_the_wire(answers: list[bytes]) -> None:
    origin = _origin(answers)
    assert decode_entry(_wire(origin)) == origin


def test_the_wire_form_is_the_statement_and_the_raw_digests() -> None:
    tag, body = _wire(_origin([b"one", b"two"]))
    assert tag == EntryTag.ORIGIN.value
    assert set(body) == {"auth", "answers"}
    assert body["answers"] == [answer_digest(b"one"), answer_digest(b"two")]
    assert body["auth"]["type"] == "muster-authorisation"


def test_digests_the_authorisation_does_not_cover_are_refused() -> None:
    tag, body = _wire(_origin([b"one", b"two"]))
    body["answers"] = body["answers"][:1]
    with pytest.raises(EntryError, match=r"entry 4 \(origin\): .*does not cover these answer"):
        decode_entry([tag, body], 4)


@pytest.mark.parametrize(
    ("digests", "message"),
    [
        ([], "expected 1 to 100000 answer digests"),
        ([b"short"], "must be 32 bytes each"),
        (["ab" * 16], "must be 32 bytes each"),
        ("not a list", "must be a list of 32-byte digests"),
    ],
)
def test_malformed_digests_are_refused(digests: object, message: str) -> None:
    tag, body = _wire(_origin([b"one"]))
    body["answers"] = digests
    with pytest.raises(EntryError, match=message):
        decode_entry([tag, body])


def test_an_origin_without_a_valid_statement_is_refused() -> None:
    tag, body = _wire(_origin([b"one"]))
    with pytest.raises(EntryError, match=r"origin must be an object with keys auth, answers"):
        decode_entry([tag, {"answers": body["answers"]}])
    body["auth"] = {"type": "muster-authorisation"}
    with pytest.raises(EntryError, match=r"entry 0 \(origin\)"):
        decode_entry([tag, body])
