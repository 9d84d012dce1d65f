"""Batch authorisation: what approvers see, send back and sign, and what leaves the node."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from node.errors import (
    AuthenticationError,
    FormError,
    NoCertificateError,
    NotEnrolledError,
    NothingToDoError,
    NotPermittedError,
)
from node.services import NodeServices, RecordFlag
from node.store import transaction
from node.store.models import BatchRow, BundleState, OpRow, OpState, OutboxRow
from protocol.bundle import BundleKind
from protocol.entries import Blob, Manifest
from protocol.ops import Op
from protocol.trust import Authorisation, verify_authorisation
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NODE_ID,
    NodeUnderTest,
    approver_answer,
    enrollment_answer,
    form_for,
    hub_opens,
    hub_trust,
)


def _table_counts(node: NodeUnderTest) -> dict[str, int]:
    with transaction(node.services.context.engine) as session:
        return {
            model.__tablename__: session.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
            for model in (BatchRow, OutboxRow)
        } | {
            state.value: session.execute(
                select(func.count()).where(OpRow.state == state.value)
            ).scalar_one()
            for state in OpState
        }


def _save(node: NodeUnderTest, seed: int) -> str:
    categories, values = form_for(node.services, seed=seed)
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert result.saved
    return result.record_id or ""


def test_pending_changes_are_grouped_by_record_with_old_and_new(node: NodeUnderTest) -> None:
    services = node.services
    first = _save(node, 1)
    _save(node, 2)
    services.authorise(APPROVER[0], APPROVER[2], [first])
    view = services.get_record(first)
    services.save_record(first, view.categories, {"phone": "13955555555"}, COLLECTOR[0])
    pending = {p.record_id: p for p in services.pending_changes()}
    assert len(pending) == 2
    edited = pending[first]
    assert not edited.is_new
    assert [(c.field, c.new) for c in edited.changes] == [("phone", "13955555555")]
    assert edited.changes[0].old == view.values["phone"]
    assert edited.authors == ("370102001/zhang.wei",)
    assert any(p.is_new for p in pending.values())


def test_an_authorised_batch_is_one_delta_bundle_the_hub_can_check(node: NodeUnderTest) -> None:
    services = node.services
    records = [_save(node, seed) for seed in (1, 2, 3)]
    result = services.authorise(APPROVER[0], APPROVER[2])
    assert result.op_count == 3
    assert result.record_count == 3
    assert len(result.batches) == 1
    batch = result.batches[0]
    assert batch.blob_count > 0
    [item] = services.outbox()
    assert item.state is BundleState.PENDING
    assert (item.seq, item.op_count, item.batch_id) == (1, 3, batch.batch_id)

    with transaction(services.context.engine) as session:
        data = session.get(OutboxRow, item.bundle_id).data  # type: ignore[union-attr]
    header, entries = hub_opens(node, data)
    assert (header.kind, header.sender, header.recipient) == (BundleKind.DELTA, NODE_ID, "370102")
    manifest = entries[0]
    assert isinstance(manifest, Manifest)
    ops = [e for e in entries if isinstance(e, Op)]
    blobs = [e for e in entries if isinstance(e, Blob)]
    assert [op.op_id for op in ops] == list(manifest.op_ids)
    assert {op.record_id for op in ops} == set(records)
    assert len(blobs) == batch.blob_count
    assert header.auth is not None
    auth = Authorisation.from_dict(header.auth)
    assert auth == manifest.auth
    verify_authorisation(auth, op_ids=manifest.op_ids, store=hub_trust(node), origin=NODE_ID)
    assert _table_counts(node)["authorised"] == 3


def test_a_second_batch_chains_to_the_first_and_blobs_go_once(node: NodeUnderTest) -> None:
    services = node.services
    rid = _save(node, 1)
    services.authorise(APPROVER[0], APPROVER[2])
    view = services.get_record(rid)
    services.save_record(rid, view.categories, {"phone": "13966666666"}, COLLECTOR[0])
    second = services.authorise(APPROVER[0], APPROVER[2])
    assert second.batches[0].blob_count == 0
    newest, oldest = services.outbox()
    assert (oldest.seq, newest.seq) == (1, 2)
    with transaction(services.context.engine) as session:
        assert session.get(OutboxRow, newest.bundle_id).prev == oldest.bundle_hash  # type: ignore[union-attr]


def test_large_selections_are_split_into_several_signed_batches(node: NodeUnderTest) -> None:
    small = replace(
        node.services.context, config=replace(node.services.config, max_ops_per_bundle=2)
    )
    services = NodeServices(small)
    for seed in range(1, 6):
        _save(node, seed)
    result = services.authorise(APPROVER[0], APPROVER[2])
    assert [b.op_count for b in result.batches] == [2, 2, 1]
    assert [b.seq for b in result.batches] == [1, 2, 3]
    assert len({b.batch_id for b in result.batches}) == 3


def test_a_wrong_approver_password_authorises_nothing(node: NodeUnderTest) -> None:
    _save(node, 1)
    before = _table_counts(node)
    with pytest.raises(AuthenticationError, match="the approver's password is wrong"):
        node.services.authorise(APPROVER[0], "not the password")
    assert _table_counts(node) == before


def test_a_collector_cannot_authorise(node: NodeUnderTest) -> None:
    _save(node, 1)
    with pytest.raises(NotPermittedError, match="expected a approver account"):
        node.services.authorise(COLLECTOR[0], COLLECTOR[2])


def test_an_approver_without_a_certificate_cannot_authorise(node: NodeUnderTest) -> None:
    services = node.services
    services.create_account("wang.li", "王丽", "approver", "approver-pass-2")
    _save(node, 1)
    before = _table_counts(node)
    with pytest.raises(NoCertificateError, match="not certified by the parent hub yet"):
        services.authorise("wang.li", "approver-pass-2")
    assert _table_counts(node) == before
    services.install_approver_certificate(approver_answer(node, "wang.li"))
    assert services.authorise("wang.li", "approver-pass-2").op_count == 1


def test_nothing_is_sent_before_the_node_is_enrolled(bare_node: NodeUnderTest) -> None:
    services = bare_node.services
    with pytest.raises(NotEnrolledError, match="not enrolled"):
        services.authorise("admin", "admin-password-1")
    with pytest.raises(NotEnrolledError):
        services.export_to(bare_node.data_dir)
    services.enroll(enrollment_answer(bare_node))
    assert services.enrollment().enrolled


def test_nothing_pending_is_nothing_to_authorise(node: NodeUnderTest) -> None:
    with pytest.raises(NothingToDoError, match="no changes are waiting"):
        node.services.authorise(APPROVER[0], APPROVER[2])


def test_a_returned_record_waits_for_its_collector(node: NodeUnderTest) -> None:
    services = node.services
    returned = _save(node, 1)
    kept = _save(node, 2)
    with pytest.raises(FormError, match="note"):
        services.return_to_collector(returned, "  ", APPROVER[0])
    assert services.return_to_collector(returned, "照片不清晰，请重拍", APPROVER[0]) == 1
    view = services.get_record(returned)
    assert RecordFlag.RETURNED in view.flags
    assert view.returned_note == "照片不清晰，请重拍"
    assert [p.record_id for p in services.pending_changes()] == [kept]
    result = services.authorise(APPROVER[0], APPROVER[2])
    assert result.record_count == 1
    # The collector's correction puts the record back in the queue, create included.
    services.save_record(returned, view.categories, {"phone": "13977777777"}, COLLECTOR[0])
    [pending] = services.pending_changes()
    assert pending.record_id == returned
    assert pending.is_new
    assert len(pending.op_ids) == 2
