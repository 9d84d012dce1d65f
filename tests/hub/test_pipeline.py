"""A delta bundle from intake to merged records: accepted, staged, merged, idempotent."""

from __future__ import annotations

import sqlalchemy as sa

from hub.audit import verify_audit
from hub.context import HubContext
from hub.intake import take_in
from hub.pipeline import run_once
from hub.rawstore import store_file
from hub.store.models import BundleRow, OpBatch, RecordRow, StageItem
from tests.hub.factory import DeltaFactory, record_id

import io


def submit(hub: HubContext, data: bytes, source: str = "http"):
    stored = store_file(
        io.BytesIO(data),
        directory=hub.config.bundles_dir,
        scratch=hub.config.scratch_dir,
        limit=hub.config.max_bundle_bytes,
    )
    return take_in(hub, stored, source=source)


def drain(hub: HubContext) -> int:
    count = 0
    while run_once(hub):
        count += 1
    return count


def test_a_clean_bundle_from_a_town_node_is_accepted_and_merged(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    ops = [deltas.create(record_id(i)) for i in range(5)]
    data, digest = deltas.bundle(ops)
    result = submit(hub, data)
    assert result.status == "accepted"
    assert result.receipt is not None and result.receipt.bundle_hash == digest
    drain(hub)
    with hub.store.read() as s:
        row = s.scalar(sa.select(BundleRow))
        assert row.state == "merged"
        assert row.summary["new_records"] == 5
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordRow)) == 5
        assert s.scalar(sa.select(sa.func.count()).select_from(OpBatch)) == 1
    assert verify_audit(hub.store) >= 2
