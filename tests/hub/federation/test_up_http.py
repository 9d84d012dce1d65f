"""The tree over real HTTP on loopback: each hub a real app on a real port, each hub's
agent syncing with its parent through the node's client (tests/hub/federation/uptree.py
for the hubs); and the whole way from a real town node (encrypted store, collector,
approver, photos) to the province."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.context import HubContext
from hub.fromparent import ParentDownPort
from hub.pipeline import run_once
from hub.sites import approve_enrollment, list_enrollments
from hub.store.models import ManifestRow
from hub.upward.building import build_packages
from hub.upward.port import sync_with_parent
from hub.upward.provenance import manifest_of
from node.services import NodeServices
from node.services.client import HubClient, RetryPolicy
from node.services.values import SyncReport
from tests.hub.federation.uptree import HUBS, UpTree
from tests.node.core.helpers import APPROVER, COLLECTOR, Clock, form_for, make_node
from tests.pki import NOW

ONCE = RetryPolicy(attempts=1)


@pytest.fixture
async def served(tree: UpTree) -> AsyncIterator[dict[str, str]]:
    """Every hub of the tree on a real port; each one's parent_url set to its parent's."""
    servers = {
        name: TestServer(create_app(ctx.config, context=ctx)) for name, ctx in tree.hubs.items()
    }
    for server in servers.values():
        await server.start_server()
    urls = {name: str(server.make_url("")) for name, server in servers.items()}
    for name in tree.hubs:
        parent = HUBS[name][1]
        if parent is not None:
            tree.configure(name, parent_url=urls[parent], jobs=False)
    try:
        yield urls
    finally:
        for server in servers.values():
            await server.close()


async def _drain(ctx: HubContext) -> None:
    while await asyncio.to_thread(run_once, ctx):
        pass


async def _up(tree: UpTree, name: str) -> SyncReport:
    """Package what the hub merged and sync with its parent over HTTP; the parent merges."""
    ctx = tree[name]
    await asyncio.to_thread(build_packages, ctx)
    report = await sync_with_parent(ctx, ParentDownPort(ctx), retry=ONCE)
    parent = HUBS[name][1]
    assert parent is not None
    await _drain(tree[parent])
    return report


async def test_packages_travel_up_over_http(tree: UpTree, served: dict[str, str]) -> None:
    ours = tree.collect("town", 3) + tree.collect("town2", 2)
    for name in ("district", "district2", "city", "city2"):
        report = await _up(tree, name)
        assert (report.uploaded, report.acknowledged, report.error) == (1, 1, None)
    assert sorted(tree.records("province")) == sorted(ours)
    assert {r.state for name in ("district", "city") for r in tree.up_bundles(name)} == {
        "acknowledged"
    }
    again = await sync_with_parent(tree["district"], ParentDownPort(tree["district"]), retry=ONCE)
    assert (again.uploaded, again.downloaded) == (0, 0)


async def _enroll(services: NodeServices, district: HubContext, url: str, request: bytes) -> bytes:
    ctx = services.context
    async with HubClient(
        url, subject=ctx.node_id, key=ctx.keys.signing, now=ctx.now, retry=ONCE
    ) as client:
        ident = await client.post_enrollment(request)
        await asyncio.to_thread(approve_enrollment, district, ident, by="370102/wang.fang")
        poll = await client.enrollment(ident)
    assert poll.answer is not None
    return json.dumps(poll.answer).encode()


async def test_a_town_s_records_reach_the_province_from_a_real_node(
    tree: UpTree, served: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "town").mkdir()
    node = make_node(tmp_path / "town", tree.pki, Clock(NOW))
    ctx = node.services.context
    services = NodeServices(replace(ctx, config=replace(ctx.config, parent_url=served["district"])))
    try:
        request = (node.data_dir / "enrollment-request.json").read_bytes()
        services.enroll(await _enroll(services, tree["district"], served["district"], request))
        services.create_account(*COLLECTOR[:2], "collector", COLLECTOR[2])
        services.create_account(*APPROVER[:2], "approver", APPROVER[2])
        answer = await _enroll(
            services, tree["district"], served["district"], services.approver_request(APPROVER[0])
        )
        assert services.install_approver_certificate(answer).certified
        assert not await asyncio.to_thread(list_enrollments, tree["district"], "pending")

        for seed in (1, 2, 3):
            categories, values = form_for(services, seed=seed)
            assert services.save_record(None, categories, values, COLLECTOR[0]).saved
        services.authorise(APPROVER[0], APPROVER[2])
        report = await asyncio.to_thread(services.sync_now)
        assert (report.uploaded, report.acknowledged) == (1, 1)
        await _drain(tree["district"])
        for name in ("district", "city"):
            assert (await _up(tree, name)).acknowledged == 1

        held = {s.record_id: services.get_record(s.record_id) for s in services.search("")}
        province = tree.records("province")
        assert set(province) == set(held)
        for record_id, view in held.items():
            assert province[record_id]["data"]["name"] == view.values["name"]
            for value in view.values.values():
                if isinstance(value, str) and value.startswith("b2:"):  # the photos came up too
                    path = tree["province"].config.blobs_dir / value.removeprefix("b2:")
                    assert path.exists()
        with tree["province"].store.read() as session:
            kept = [manifest_of(m) for m in session.scalars(sa.select(ManifestRow))]
        origin = next(m for m in kept if m.origin == ctx.node_id)
        assert origin.auth is not None
        assert origin.auth.by == f"370102001/{APPROVER[0]}"
        assert {m.origin for m in kept} == {ctx.node_id, "370102", "370100"}
    finally:
        node.services.close()
