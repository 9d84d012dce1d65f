"""A hub applies its parent's baseline once and passes it on, on SQLite and on PostgreSQL
(the parent inbox, the bulk move of baseline records to their town, the op log)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.fromparent import accept_from_parent
from hub.store.models import BundleRow, DownBundle, OpBatch, ParentBundle, RecordRow
from protocol.bundle import BundleKind
from protocol.entries import Manifest, encode_entry
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.trust import authorise
from tests.hub.conftest import make_hub
from tests.hub.federation.downtree import CITY_ADMIN, TODAY, tree_pki
from tests.pki import NOW, Pki, seal


@pytest.fixture(scope="module")
def pki() -> Pki:
    return tree_pki()


@pytest.fixture
def district(tmp_path: Path, hub_db_url: str, pki: Pki) -> Iterator[HubContext]:
    ctx = make_hub(tmp_path / "data", hub_db_url, pki)
    yield ctx
    ctx.store.dispose()


def _baseline(pki: Pki, towns: list[str]) -> tuple[bytes, list[Op]]:
    rng = random.Random(11)
    ops = []
    for n, town in enumerate(towns):
        values = realistic_record(rng, category="retired_soldier", division_code=town, today=TODAY)
        keep = {k: v for k, v in values.items() if "b2:" not in repr(v)}
        ops.append(
            Op(
                kind=OpKind.CREATE,
                record_id=f"00000000-0000-4000-8000-{n:012d}",
                value=keep,
                author=CITY_ADMIN,
                site="370100",
                hlc=Timestamp(wall_ms=int(NOW.timestamp() * 1000) + n, counter=0, node="370100"),
            )
        )
    op_ids = [op.op_id for op in ops]
    auth = authorise(
        key=pki["city_admin"].keys.signing,
        by=CITY_ADMIN,
        batch_id="b" * 32,
        origin="370100",
        op_ids=op_ids,
        signed_at=NOW,
    )
    manifest = Manifest(batch_id="b" * 32, origin="370100", op_ids=tuple(op_ids), auth=auth)
    entries = [encode_entry(manifest), *(encode_entry(op) for op in ops)]
    data, _ = seal(entries, sender=pki["city"], to=pki["district"], kind=BundleKind.BASELINE)
    return data, ops


def test_a_baseline_from_the_parent_is_applied_once_and_passed_to_the_town_nodes(
    district: HubContext, pki: Pki
) -> None:
    data, ops = _baseline(pki, ["370102001", "370102001", "370102"])
    first = accept_from_parent(district, data, source="file")
    again = accept_from_parent(district, data, source="file")
    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert dict(first.counts)["op"] == 3
    assert dict(first.counts)["unrouted"] == 1
    with district.store.read() as session:
        sites = dict(session.execute(sa.select(RecordRow.record_id, RecordRow.site)).all())
        queued = session.execute(sa.select(DownBundle.recipient, DownBundle.kind)).all()
        batches = session.scalars(sa.select(OpBatch.source)).all()
        rows = session.scalars(sa.select(BundleRow.source)).all()
        inbox = session.scalars(sa.select(ParentBundle.state)).all()
    # Each record belongs to the town of its household registration.
    assert sites == {op.record_id: _town(op) for op in ops}
    assert _town(ops[2]) != "370102001"  # another town of the district: no node serves it
    assert [tuple(q) for q in queued] == [("370102001-01", "baseline")]
    assert list(batches) == ["parent"]  # never packaged up again
    assert (list(rows), list(inbox)) == (["parent"], ["applied"])


def _town(op: Op) -> str:
    code = dict(op.create_values())["hukou_division_code"]
    assert isinstance(code, str)
    return code[:9]
