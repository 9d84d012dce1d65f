"""Shared set-ups of the cross-check wiring tests: records merged into a district hub through
its real pipeline, and a household register made from them with planted problems."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.context import HubContext
from hub.crosscheck import ColumnMapping, SourceKind, propose_mapping
from hub.crosscheck.synthetic import PLANTED_HEADERS, PlantedRegister, planted_register
from hub.rawstore import bundle_path
from hub.store.crosscheck_models import FindingRow
from hub.store.models import DownBundle, RecordRow
from protocol.bundle import open_bundle
from protocol.entries import decode_entry
from protocol.merge import RecordState
from protocol.ops import STATUS_LIVE
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import NOW, Pki

SOURCE = "历下区户籍"
ADMIN = "370102/wang.fang"


def household_mapping(source: str = SOURCE) -> ColumnMapping:
    return propose_mapping(PLANTED_HEADERS, source=source, source_kind=SourceKind.PUBLIC_SECURITY)


def merge_records(hub: HubContext, deltas: DeltaFactory, count: int) -> list[str]:
    """``count`` realistic records of town 370102001 merged at the hub; their ids."""
    ids = [record_id(n, "xc") for n in range(count)]
    submit(hub, deltas.bundle([deltas.create(rid) for rid in ids])[0])
    drain(hub)
    return ids


def live_values(hub: HubContext) -> list[tuple[str, dict[str, Any]]]:
    with hub.store.read() as session:
        rows = session.execute(
            sa.select(RecordRow.record_id, RecordRow.data)
            .where(RecordRow.status == STATUS_LIVE)
            .order_by(RecordRow.record_id)
        ).all()
    return [(rid, dict(data)) for rid, data in rows]


@dataclass
class Register:
    path: Path
    planted: PlantedRegister


def write_register(
    hub: HubContext, path: Path, *, seed: int = 5, rows: Sequence[tuple[str, ...]] | None = None
) -> Register:
    planted = planted_register(live_values(hub), random.Random(seed))
    if rows is not None:
        planted = PlantedRegister(headers=planted.headers, rows=tuple(rows),
                                  disagreements=(), deceased=(), missing=())  # fmt: skip
    path.write_text(planted.csv(), encoding="utf-8")
    return Register(path, planted)


def heads(hub: HubContext, record: str, field: str) -> tuple[str, ...]:
    """The op ids a ``set`` of ``field`` at the hub's current state is based on."""
    with hub.store.read() as session:
        row = session.get(RecordRow, record)
        assert row is not None
        state = RecordState.from_row(record, row.data, row.versions).field_state(field)
    assert state is not None
    return tuple(head.op_id for head in state.heads)


def findings(hub: HubContext) -> dict[str, FindingRow]:
    with hub.store.read() as session:
        return {row.finding_id: row for row in session.scalars(sa.select(FindingRow))}


def by_subject(hub: HubContext) -> dict[tuple[str | None, str | None, str], FindingRow]:
    """Findings by (record id, field, kind)."""
    return {(r.record_id, r.field, r.kind): r for r in findings(hub).values()}


def down_entries(hub: HubContext, pki: Pki, recipient: str = "node") -> list[list[object]]:
    """The decoded entries of every down bundle queued for ``recipient``, bundle by bundle."""
    party = pki[recipient]
    with hub.store.read() as session:
        hashes = session.scalars(
            sa.select(DownBundle.bundle_hash)
            .where(DownBundle.recipient == party.subject)
            .order_by(DownBundle.seq)
        ).all()
    found = []
    for digest in hashes:
        data = bundle_path(hub.config.down_dir, digest).read_bytes()
        opened = open_bundle(io.BytesIO(data), trust=pki.trust(NOW),
                             identities=[party.keys.age])  # fmt: skip
        found.append([decode_entry(e, i) for i, e in enumerate(opened.entries())])
    return found
