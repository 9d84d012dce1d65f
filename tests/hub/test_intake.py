"""Intake: stream order, receipts, and one named test per bad bundle.

Every refusal is checked for its error type and message, its signed rejected receipt
(when the sender could be identified), its audit entry, and that nothing else
changed: no record, op, stream position, held bundle, down bundle, or other file.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crypto.errors import MusterError
from hub.context import HubContext
from hub.errors import WrongRecipientError
from hub.intake import IntakeResult
from hub.rawstore import bundle_path
from hub.store.models import Alert, AuditRow, BundleRow
from hub.streams import stream_gaps
from hub.trust import install_revocation_list
from protocol.entries import Blob, encode_entry
from protocol.errors import (
    AuthorisationError,
    BadSignatureError,
    BundleTooLargeError,
    HeaderSyntaxError,
    NameConstraintError,
    StreamError,
    UntrustedSignerError,
)
from protocol.trust import RevocationReason, Revoked, Role, issue_revocation_list
from tests.hub.conftest import make_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, drain, snapshot, submit
from tests.pki import NOW, Pki


def refused(hub: HubContext, data: bytes, error: type[MusterError], message: str) -> IntakeResult:
    """Submit ``data``; check it is refused as expected and that nothing else changed."""
    before = snapshot(hub)
    result = submit(hub, data)
    assert result.status == "rejected"
    assert isinstance(result.error, error), result.error
    assert message in result.error.message
    after = snapshot(hub)
    row = bundle_row(hub, result.row_id)
    after["files"] = [f for f in after["files"] if f != f"{row.bundle_hash}.bundle"]
    assert after == before
    assert row.state == "rejected"
    assert row.reason_code == result.error.code
    with hub.store.read() as session:
        last = session.scalar(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1))
        assert last is not None
        assert last.action == "intake.rejected"
    return result


def test_a_malformed_bundle_is_refused_without_a_receipt_and_its_file_is_removed(
    hub: HubContext,
) -> None:
    result = refused(hub, b"this is not a bundle\n" * 10, HeaderSyntaxError, "signature lines")
    assert result.receipt is None
    row = bundle_row(hub, result.row_id)
    assert not bundle_path(hub.config.bundles_dir, row.bundle_hash).exists()


def test_a_tampered_bundle_is_refused_with_a_signed_rejected_receipt(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))], advance=False)
    tampered = data[:-10] + bytes(b ^ 0xFF for b in data[-10:])
    result = refused(hub, tampered, BadSignatureError, "signature does not verify")
    assert result.receipt is not None
    assert result.receipt.status.value == "rejected"
    assert result.receipt.reason_code == "bad_signature"
    result.receipt.verify_signature(pki["district"].keys.signing.public_key)


def test_a_bundle_signed_by_an_unknown_key_is_refused(hub: HubContext, pki: Pki) -> None:
    stranger = Pki.build()
    stranger.add("rogue", "370102001-01", Role.NODE, issuer="district")  # never installed
    factory = DeltaFactory(stranger, node="rogue")
    data, _ = factory.bundle([factory.create(record_id(1))], to=pki["district"])
    refused(hub, data, BadSignatureError, "does not know")


def test_a_bundle_for_another_hub_is_refused(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))], to=pki["other_district"], advance=False)
    refused(hub, data, WrongRecipientError, "addressed to 370103")


def test_a_bundle_from_a_node_outside_the_jurisdiction_is_refused(
    hub: HubContext, pki: Pki
) -> None:
    outsider = DeltaFactory(pki, node="other_node")
    data, _ = outsider.bundle([outsider.create(record_id(1))])
    refused(hub, data, NameConstraintError, "outside 370102")


def test_a_bundle_from_a_revoked_node_is_refused(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    node_cert = pki["node"].cert
    assert node_cert is not None
    crl = issue_revocation_list(
        issuer_key=pki["district"].keys.signing,
        issuer="370102",
        number=1,
        issued_at=NOW - timedelta(days=1),
        entries=[
            Revoked(
                serial=node_cert.serial,
                revoked_at=NOW - timedelta(days=1),
                reason=RevocationReason.KEY_COMPROMISE,
            )
        ],
    )
    with hub.store.write() as session:
        install_revocation_list(hub, session, crl)
    data, _ = deltas.bundle([deltas.create(record_id(1))], advance=False)
    refused(hub, data, UntrustedSignerError, "revoked")


def test_a_delta_without_an_authorisation_is_refused(hub: HubContext, deltas: DeltaFactory) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))], auth=None, advance=False)
    refused(hub, data, AuthorisationError, "needs an approver's authorisation")


def test_a_delta_authorised_by_someone_who_is_no_approver_is_refused(
    hub: HubContext, pki: Pki
) -> None:
    factory = DeltaFactory(pki, approver="admin")
    data, _ = factory.bundle([factory.create(record_id(1))])
    refused(hub, data, AuthorisationError, "holds no approver certificate")


def test_an_oversized_bundle_is_refused_before_it_is_stored(
    tmp_path: Any, hub_db_url: str, pki: Pki
) -> None:
    hub = make_hub(tmp_path / "small", hub_db_url, pki, max_bundle_bytes=64 * 1024)
    factory = DeltaFactory(pki)
    blob = Blob.of(random.Random(1).randbytes(100_000), "image/jpeg")
    data, _ = factory.bundle([factory.create(record_id(1))], extra=[encode_entry(blob)])
    assert len(data) > 64 * 1024
    before = snapshot(hub)
    with pytest.raises(BundleTooLargeError, match="larger than 65536 bytes"):
        submit(hub, data)
    assert snapshot(hub) == before
    assert list(hub.config.scratch_dir.iterdir()) == []
    hub.store.dispose()


def test_a_replayed_bundle_gets_its_original_receipt_and_changes_nothing(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))])
    first = submit(hub, data)
    drain(hub)
    before = snapshot(hub)
    again = submit(hub, data)
    assert again.status == "duplicate"
    assert again.row_id == first.row_id
    assert again.receipt is not None
    assert first.receipt is not None
    assert again.receipt.signature == first.receipt.signature
    assert snapshot(hub) == before


def test_a_different_bundle_reusing_a_sequence_number_is_a_conflict_and_an_alert(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    other, _ = deltas.bundle([deltas.create(record_id(2))], seq=1, prev=None, advance=False)
    before = snapshot(hub)
    result = submit(hub, other)
    assert result.status == "rejected"
    assert isinstance(result.error, StreamError)
    assert result.error.http_status == 409
    assert "seq 1 is already used by another bundle" in result.error.message
    after = snapshot(hub)
    assert after["alerts"] == before["alerts"] + 1
    after["alerts"] = before["alerts"]
    after["files"] = before["files"]
    assert after == before
    with hub.store.read() as session:
        alert = session.scalar(sa.select(Alert))
        assert alert is not None
        assert alert.kind == "stream_conflict"


def test_a_bundle_ahead_of_a_gap_is_parked_and_merged_when_the_gap_fills(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    first, _ = deltas.bundle([deltas.create(record_id(1))])
    second, _ = deltas.bundle([deltas.create(record_id(2))])
    third, _ = deltas.bundle([deltas.create(record_id(3))])
    submit(hub, first)
    parked = submit(hub, third)
    assert parked.status == "accepted"
    assert parked.parked
    assert parked.receipt is not None
    drain(hub)
    assert bundle_row(hub, parked.row_id).state == "parked"
    with hub.store.read() as session:
        gaps = stream_gaps(session)
    assert [(g.last_seq, g.parked, g.missing) for g in gaps] == [(1, (3,), (2,))]
    filled = submit(hub, second)
    assert filled.status == "accepted"
    drain(hub)
    assert bundle_row(hub, parked.row_id).state == "merged"
    assert bundle_row(hub, filled.row_id).state == "merged"


def test_a_parked_bundle_whose_chain_breaks_is_refused_when_its_turn_comes(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    second, _ = deltas.bundle([deltas.create(record_id(2))])
    wrong, _ = deltas.bundle([deltas.create(record_id(3))], prev="ab" * 32)
    parked = submit(hub, wrong)
    assert parked.parked
    submit(hub, second)
    row = bundle_row(hub, parked.row_id)
    assert row.state == "rejected"
    assert row.reason_code == "stream_order"
    # It had an accepted receipt: the node learns of the refusal from a decision.
    assert snapshot(hub)["down"] == 1


def test_a_rejected_bundle_is_looked_at_again_when_it_is_resent(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))], to=pki["other_district"])
    first = submit(hub, data)
    assert first.status == "rejected"
    again = submit(hub, data)
    assert again.status == "rejected"
    assert again.row_id == first.row_id
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BundleRow)) == 1
