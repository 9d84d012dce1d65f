"""Shared steps of the hub tests: submit a bundle, run the pipeline, snapshot the store."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa

from hub.context import HubContext
from hub.intake import IntakeResult, take_in
from hub.pipeline import run_once
from hub.rawstore import store_file
from hub.store.models import (
    Alert,
    BundleRow,
    DownBundle,
    OpBatch,
    RecordRow,
    StageItem,
    StreamRow,
)


def submit(hub: HubContext, data: bytes, source: str = "http") -> IntakeResult:
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


def count(hub: HubContext, model: Any) -> int:
    with hub.store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def bundle_row(hub: HubContext, row_id: int) -> BundleRow:
    with hub.store.read() as session:
        row = session.get(BundleRow, row_id)
        assert row is not None
        return row


def snapshot(hub: HubContext) -> dict[str, Any]:
    """Everything a refused bundle must leave as it was (its own row aside)."""
    with hub.store.read() as session:
        held = sorted(
            (r.sender, r.seq, r.state)
            for r in session.scalars(sa.select(BundleRow).where(BundleRow.state != "rejected"))
        )
        streams = sorted(
            (s.sender, s.recipient, s.last_seq, s.last_hash)
            for s in session.scalars(sa.select(StreamRow))
        )
    files = sorted(p.name for p in hub.config.bundles_dir.glob("*.bundle"))
    return {
        "records": count(hub, RecordRow),
        "ops": count(hub, OpBatch),
        "items": count(hub, StageItem),
        "down": count(hub, DownBundle),
        "alerts": count(hub, Alert),
        "held": held,
        "streams": streams,
        "files": files,
    }
