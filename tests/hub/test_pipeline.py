"""A delta bundle from intake to merged records, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from hub.audit import verify_audit
from hub.context import HubContext
from hub.store.models import BundleRow, OpBatch, RecordRow
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, count, drain, submit


def test_a_clean_bundle_from_a_town_node_is_accepted_and_merged(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    ops = [deltas.create(record_id(i)) for i in range(5)]
    data, digest = deltas.bundle(ops)
    result = submit(hub, data)
    assert result.status == "accepted"
    assert result.receipt is not None
    assert result.receipt.bundle_hash == digest
    assert result.receipt.status.value == "accepted"
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "merged"
    assert row.summary is not None
    assert row.summary["new_records"] == 5
    assert row.batch_id is not None
    assert row.approver == "370102001/li.na"
    assert count(hub, RecordRow) == 5
    assert count(hub, OpBatch) == 1
    assert verify_audit(hub.store) >= 2


def test_records_keep_their_values_and_the_site_they_came_from(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    values = deltas.record()
    op = deltas.create(record_id(1), values)
    submit(hub, deltas.bundle([op])[0])
    drain(hub)
    with hub.store.read() as session:
        row = session.get(RecordRow, record_id(1))
        assert row is not None
        assert row.site == "370102001"
        assert row.id_number == values["id_number"]
        assert row.data["name"] == values["name"]
        assert row.versions["v"][1] == op.op_id


def test_merging_a_resent_bundle_changes_nothing(hub: HubContext, deltas: DeltaFactory) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(i)) for i in range(3)])
    first = submit(hub, data)
    drain(hub)
    again = submit(hub, data)
    assert again.status == "duplicate"
    assert again.receipt is not None
    assert first.receipt is not None
    assert again.receipt.to_dict() == first.receipt.to_dict()
    assert drain(hub) == 0
    assert count(hub, RecordRow) == 3
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BundleRow)) == 1
