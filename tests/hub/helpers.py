"""Shared steps of the hub tests: submit a bundle, run the pipeline, snapshot the store."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.accounts import create_account
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
from protocol.ops import Op
from tests.hub.conftest import make_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.pki import Pki


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


def held_rename(hub: HubContext, deltas: DeltaFactory, name: str = "王小明") -> tuple[Op, Op, int]:
    """Record 1 merged, then a bundle renaming it staged for review: (create, rename, row)."""
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    rename = deltas.set(record_id(1), "name", name, [create.op_id], create.op_id)
    held = submit(hub, deltas.bundle([rename])[0])
    drain(hub)
    return create, rename, held.row_id


def held_duplicate(hub: HubContext, deltas: DeltaFactory) -> int:
    """Record 1 merged (town 001), then record 2 of another town with its ID number staged."""
    first = deltas.record("370102001")
    submit(hub, deltas.bundle([deltas.create(record_id(1), first)])[0])
    second = {
        **deltas.record("370102002"),
        "id_number": first["id_number"],
        "birth_date": first["birth_date"],
        "sex": first["sex"],
    }
    held = submit(hub, deltas.bundle([deltas.create(record_id(2), second)])[0])
    drain(hub)
    return held.row_id


def make_city_hub(
    data: Path, url: str, pki: Pki, accounts: Iterable[tuple[str, str, str]], password: str
) -> HubContext:
    """A city hub (370100) whose pipeline the test drives, auto-approving clean town
    bundles, with ``(login, role, scope)`` accounts (display name: the login)."""
    hub = make_hub(
        data, url, pki, site="370100", party="city", workers=0, auto_approve_levels=("town",)
    )
    for login, role, scope in accounts:
        create_account(
            hub, login=login, display_name=login, role=role, password=password, by="t", scope=scope
        )
    return hub
