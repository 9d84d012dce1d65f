"""Typed bundle entries: every type round-trips; malformed bodies are typed errors."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given

from protocol.entries import (
    Blob,
    Decision,
    DecisionStatus,
    Manifest,
    Problem,
    blob_id_of,
    decode_entry,
    encode_entry,
)
from protocol.errors import EntryError
from protocol.trust import ReceiptStatus, authorise, issue_receipt, issue_revocation_list
from tests.pki import NOW, Pki
from tests.protocol.op_strategies import ops

PKI = Pki.build()
OP_IDS = tuple(f"{i:032x}" for i in range(3))


def _wire(value: object) -> object:
    """Through msgpack, as inside a bundle."""
    return msgpack.unpackb(msgpack.packb(encode_entry(value)), raw=False)


@given(ops())
def test_ops_round_trip_through_the_wire(op) -> None:
    assert decode_entry(_wire(op)).op_id == op.op_id


def test_every_other_entry_type_round_trips() -> None:
    auth = authorise(
        key=PKI["approver"].keys.signing, by=PKI["approver"].subject, batch_id="a" * 32,
        origin="370102001-01", op_ids=OP_IDS, signed_at=NOW,
    )  # fmt: skip
    values = [
        Blob.of(b"\xff\xd8 photo", "image/jpeg"),
        Manifest(batch_id="a" * 32, origin="370102001-01", op_ids=OP_IDS, auth=auth),
        Manifest(batch_id="b" * 32, origin="370102", op_ids=()),
        PKI["node"].cert,
        issue_revocation_list(
            issuer_key=PKI["district"].keys.signing,
            issuer="370102",
            number=3,
            issued_at=NOW,
            entries=[],
        ),
        issue_receipt(
            key=PKI["district"].keys.signing,
            bundle_id="c" * 32,
            bundle_hash="d" * 64,
            sender="370102001-01",
            receiver="370102",
            seq=1,
            status=ReceiptStatus.ACCEPTED,
            received_at=NOW,
        ),
        Decision(
            bundle_id="e" * 32,
            status=DecisionStatus.REJECTED,
            reason="照片不清晰",
            by="370102/wang.fang",
            decided_at=NOW,
            record_ids=("r1",),
        ),
        Problem(body={"kind": "value_disagrees", "field": "name"}),
    ]
    for value in values:
        assert decode_entry(_wire(value)) == value


def test_a_blob_whose_content_does_not_match_its_id_is_refused() -> None:
    wire = _wire(Blob.of(b"photo", "image/jpeg"))
    wire[1]["data"] = b"other"
    with pytest.raises(EntryError, match=r"entry 4 \(blob\): .*content does not match its id"):
        decode_entry(wire, 4)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("op", r"expected \[tag, body\]"),
        (["gossip", {}], "unknown entry type 'gossip'"),
        (["op", [1, 2]], r"entry 0 \(op\): op entry: expected an array of 11 items"),
        (["blob", {"id": "x"}], "blob must be an object with keys"),
        (["manifest", {"batch": "a" * 32, "origin": "x", "ops": ["zz"], "auth": None}],
         "16-byte op ids"),
        (["decision", {"bundle": "a" * 32, "status": "maybe", "reason": "", "by": "x",
                       "at": "2026-01-01T00:00:00Z", "records": []}], "approved or rejected"),
        (["decision", {"bundle": "a" * 32, "status": "rejected", "reason": " ", "by": "x",
                       "at": "2026-01-01T00:00:00Z", "records": []}], "needs a reason"),
        (["cert", {"type": "muster-certificate"}], "version None not supported"),
        # A statement sent as text with a number Python's json will not read (fuzzing).
        (["crl", "9" * 5000], r"entry 0 \(crl\): .*not valid JSON"),
    ],
)  # fmt: skip
def test_malformed_entries_name_their_position_and_problem(entry: object, message: str) -> None:
    with pytest.raises(EntryError, match=message):
        decode_entry(entry)


def test_a_manifest_listing_an_op_twice_is_refused() -> None:
    with pytest.raises(EntryError, match="appears twice"):
        Manifest(batch_id="a" * 32, origin="370102001-01", op_ids=(OP_IDS[0], OP_IDS[0]))


def test_blob_ids_are_b2sum_256() -> None:
    assert blob_id_of(b"abc") == (
        "b2:bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
    )
