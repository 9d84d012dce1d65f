"""A parent refuses a package whose ops lack provenance, naming the op, and changes
nothing: one test per named asset (tests/hub/federation/assets.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.store.models import (
    BundleRow,
    CertificateRow,
    DownBundle,
    ManifestRow,
    OpBatch,
    RecordRow,
    RevocationRow,
    StageItem,
)
from tests.hub.federation import assets
from tests.hub.federation.assets import Forge
from tests.hub.federation.uptree import UpTree
from tests.hub.helpers import bundle_row, count, drain, submit


@pytest.fixture
def forge(tree: UpTree) -> Forge:
    return Forge(tree)


def _held(hub: HubContext) -> dict[str, Any]:
    """What a refused package must leave as it was."""
    with hub.store.read() as session:
        certificates = sorted(session.scalars(sa.select(CertificateRow.serial)))
    return {
        "records": count(hub, RecordRow),
        "ops": count(hub, OpBatch),
        "manifests": count(hub, ManifestRow),
        "items": count(hub, StageItem),
        "crls": count(hub, RevocationRow),
        "certificates": certificates,
    }


def _refused(hub: HubContext, data: bytes) -> BundleRow:
    """Take ``data`` in, stage it; it must fail staging and change nothing but its row and
    the decision that tells the sender."""
    before = _held(hub)
    result = submit(hub, data)
    assert result.status == "accepted"  # what is wrong is inside: found when staged
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "rejected"
    assert _held(hub) == before
    with hub.store.read() as session:
        down = session.scalars(sa.select(DownBundle).where(DownBundle.about == row.id)).all()
    assert [(d.recipient, d.kind) for d in down] == [(row.sender, "decisions")]
    return row


def test_the_honest_package_merges(tree: UpTree, forge: Forge) -> None:
    city = tree["city"]
    result = submit(city, assets.honest(forge))
    drain(city)
    assert bundle_row(city, result.row_id).state == "merged"
    assert count(city, RecordRow) == 3


def test_an_op_without_an_authorised_batch_at_its_origin_is_refused_by_name(
    tree: UpTree, forge: Forge
) -> None:
    data, invented = assets.op_without_origin_batch(forge)
    row = _refused(tree["city"], data)
    assert row.reason_code == "no_provenance"
    assert row.reason == (
        f"op {invented.op_id} of record {invented.record_id}: no authorised batch from its "
        "origin 370102001-01"
    )


def test_an_op_swapped_after_the_approver_signed_is_refused_by_name(
    tree: UpTree, forge: Forge
) -> None:
    data, swapped = assets.op_authorised_for_another_batch(forge)
    row = _refused(tree["city"], data)
    assert row.reason_code == "no_provenance"
    assert (row.reason or "").startswith(f"op {swapped.op_id} of record {swapped.record_id}")


def test_a_batch_listing_ops_its_approver_did_not_sign_is_refused(
    tree: UpTree, forge: Forge
) -> None:
    row = _refused(tree["city"], assets.batch_with_a_forged_signature(forge))
    assert row.reason_code == "no_provenance"
    assert (row.reason or "").endswith(": 3 ops, authorisation covers 2")
    assert (row.reason or "").startswith("manifest of batch ")


def test_a_batch_whose_approver_certificate_is_missing_is_refused(
    tree: UpTree, forge: Forge
) -> None:
    row = _refused(tree["city"], assets.batch_without_its_signer_certificate(forge))
    assert row.reason_code == "no_provenance"
    assert "370102001/li.na holds no approver certificate for this key" in (row.reason or "")


def test_a_certificate_outside_the_sender_s_jurisdiction_is_refused(
    tree: UpTree, forge: Forge
) -> None:
    row = _refused(tree["city"], assets.certificate_outside_the_jurisdiction(forge))
    assert row.reason_code == "name_constraint"
    assert row.reason == (
        "package from 370102: certificate "
        f"{tree.pki['other_node'].cert.serial} of 370103001-01 lies outside the sender's "  # type: ignore[union-attr]
        "jurisdiction"
    )


def test_ops_out_of_the_package_manifest_order_are_refused(tree: UpTree, forge: Forge) -> None:
    row = _refused(tree["city"], assets.ops_out_of_manifest_order(forge))
    assert row.reason_code == "not_authorised"
    assert "not op 1 of the package's manifest" in (row.reason or "")


def test_entries_out_of_the_package_order_are_refused(tree: UpTree, forge: Forge) -> None:
    row = _refused(tree["city"], assets.certificate_after_the_manifests(forge))
    assert row.reason_code == "bad_entry_content"
    assert "a certificate after the op entries" in (row.reason or "")


def test_a_package_nobody_authorised_is_refused_at_intake(tree: UpTree, forge: Forge) -> None:
    city = tree["city"]
    before = _held(city)
    result = submit(city, assets.without_authorisation(forge))
    assert result.status == "rejected"
    assert result.error is not None
    assert result.error.code == "not_authorised"
    assert result.error.message.endswith("a package needs an administrator's authorisation")
    assert _held(city) == before


def test_an_op_that_skipped_a_hub_on_the_way_is_refused_by_name(tree: UpTree) -> None:
    data, op = assets.op_skipping_a_hub(tree)
    row = _refused(tree["province"], data)
    assert row.reason_code == "no_provenance"
    assert row.reason == (
        f"op {op.op_id} of record {op.record_id}: hub 370102 on the way from 370102001-01 "
        "did not authorise it"
    )
