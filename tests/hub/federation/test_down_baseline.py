"""Baseline from the province to the town nodes, through the city and district hubs, over
real HTTP: each hop verifies, applies what is for itself and re-issues per child."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.baseline import BaselineAdmin, import_baseline
from hub.rawstore import bundle_path
from hub.store.models import DownBundle, ParentBundle, RecordRow
from node.services import RecordFlag
from tests.hub.federation.downtree import (
    PROVINCE_ADMIN,
    Tree,
    baseline_rows,
    build_tree,
    close_tree,
    write_csv,
)


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path)
    try:
        yield built
    finally:
        await close_tree(built)


def _admin(tree: Tree) -> BaselineAdmin:
    return BaselineAdmin(subject=PROVINCE_ADMIN, key=tree.pki["province_admin"].keys.signing)


def _records(tree: Tree, hub: str) -> dict[str | None, str]:
    with tree.hubs[hub].store.read() as session:
        rows = session.execute(sa.select(RecordRow.id_number, RecordRow.site)).all()
    return {row.id_number: row.site for row in rows}


def _node_numbers(tree: Tree, node_id: str) -> set[str]:
    services = tree.nodes[node_id]
    found = set()
    for summary in services.search(""):
        view = services.get_record(summary.record_id)
        assert RecordFlag.TO_VERIFY in view.flags
        found.add(str(view.values["id_number"]))
    return found


def _numbers(rows: list[dict[str, object]], town: str) -> set[str]:
    return {str(r["id_number"]) for r in rows if str(r["hukou_division_code"]).startswith(town)}


async def test_a_province_baseline_reaches_the_town_nodes_through_every_hub(
    tree: Tree, tmp_path: Path
) -> None:
    rows = baseline_rows(
        [("370102001", 3), ("370102002", 2), ("370103001", 2), ("370105", 1), ("370200", 1)]
    )
    path = write_csv(tmp_path / "baseline.csv", rows)
    report = await asyncio.to_thread(
        import_baseline, tree.hubs["province"], path, admin=_admin(tree), source="国家系统"
    )
    assert (report.rows_read, report.records, report.refused) == (9, 9, 0)
    assert report.batches == 5  # one authorised batch per town (or county) of registration
    # Every town of the city goes to the city hub in one bundle; 370200 has no hub yet.
    assert report.children == (("370100", 1),)
    assert report.unrouted == 1
    province = _records(tree, "province")
    assert len(province) == 9
    assert province[str(rows[0]["id_number"])] == "370102001"

    await tree.cycle()

    city = _records(tree, "city")
    assert set(city) == {str(r["id_number"]) for r in rows[:8]}
    assert set(_records(tree, "district")) == _numbers(rows, "370102")
    assert set(_records(tree, "other_district")) == _numbers(rows, "370103")
    both = _numbers(rows, "370102001")
    assert _node_numbers(tree, "370102001-11") == both  # every machine of the town
    assert _node_numbers(tree, "370102001-12") == both
    assert _node_numbers(tree, "370102002-11") == _numbers(rows, "370102002")
    assert _node_numbers(tree, "370103001-11") == _numbers(rows, "370103001")
    with tree.hubs["district"].store.read() as session:
        states = dict(session.execute(sa.select(DownBundle.recipient, DownBundle.state)).all())
        applied = session.scalars(sa.select(ParentBundle.state)).all()
    # Every node's receipt came back; the PKI's own node 370102001-01 (certified, never
    # online in this test) has its copy waiting.
    assert states == {
        "370102001-01": "queued",
        "370102001-11": "delivered",
        "370102001-12": "delivered",
        "370102002-11": "delivered",
    }
    assert applied == ["applied"]


async def test_a_baseline_is_applied_once_when_delivered_twice_and_out_of_order(
    tree: Tree, tmp_path: Path
) -> None:
    province = tree.hubs["province"]
    first = baseline_rows([("370102001", 2)], seed=1)
    second = baseline_rows([("370102001", 2)], seed=2)
    for name, rows in (("one.csv", first), ("two.csv", second)):
        path = write_csv(tmp_path / name, rows)
        await asyncio.to_thread(import_baseline, province, path, admin=_admin(tree), source="s")
    await tree.sync_hub("city")
    await tree.sync_hub("district")
    district = tree.hubs["district"]
    with district.store.read() as session:
        files = [
            bundle_path(district.config.down_dir, digest)
            for digest in session.scalars(
                sa.select(DownBundle.bundle_hash)
                .where(DownBundle.recipient == "370102001-11")
                .order_by(DownBundle.seq)
            )
        ]
    assert len(files) == 2
    node = tree.nodes["370102001-11"]
    # By USB: the second bundle first (parked), then the first, then both again.
    later = await asyncio.to_thread(node.import_files, [files[1]])
    assert [i.outcome for i in later.items] == ["parked"]
    both = await asyncio.to_thread(node.import_files, [files[0], *files])
    assert [i.outcome for i in both.items] == ["applied", "duplicate", "duplicate"]
    assert _node_numbers(tree, "370102001-11") == _numbers(first + second, "370102001")
    again = await tree.sync_node("370102001-11")  # and by HTTP as well: nothing new
    assert again.applied == 0
    assert len(tree.nodes["370102001-11"].search("")) == 4
