"""The node against the real hub (hub/), over real HTTP on a real port: enrollment of the
node and of an approver through the API, a batch authorised, uploaded, receipted and
merged at the hub, and a down bundle applied at the node and receipted back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.context import HubContext
from hub.downward import queue_down
from hub.pipeline import run_once
from hub.sites import approve_enrollment, list_enrollments, refuse_enrollment
from hub.store.models import DownBundle
from hub.store.models import RecordRow as HubRecord
from node.services import NodeServices
from node.services.client import HubClient, RetryPolicy
from node.store import transaction
from node.store.models import BundleState, OpState, RecordRow
from protocol.bundle import BundleKind
from protocol.entries import Problem
from tests.hub.conftest import make_hub
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NODE_ID,
    Clock,
    NodeUnderTest,
    form_for,
    make_node,
)
from tests.pki import Pki

ADMIN = "370102/wang.fang"


@dataclass
class Pair:
    hub: HubContext
    node: NodeUnderTest
    services: NodeServices
    url: str


@pytest.fixture
async def pair(tmp_path: Path, pki: Pki, clock: Clock) -> AsyncIterator[Pair]:
    # The hub learns the node's certificate when the node enrols through its API below;
    # it must not also hold the test PKI's certificate for the same node ID (other keys,
    # and a later not_after, so the hub would seal down bundles to those keys).
    chain = replace(pki, parties={n: p for n, p in pki.parties.items() if n != "node"})
    hub = make_hub(tmp_path / "hub", f"sqlite:///{tmp_path / 'hub.db'}", chain, workers=0)
    server = TestServer(create_app(hub.config, context=hub))
    await server.start_server()
    node = make_node(tmp_path, pki, clock)
    url = str(server.make_url(""))
    ctx = node.services.context
    services = NodeServices(replace(ctx, config=replace(ctx.config, parent_url=url)))
    try:
        yield Pair(hub, node, services, url)
    finally:
        node.services.close()
        await server.close()
        hub.store.dispose()


async def _enroll_through_the_api(pair: Pair, request: bytes) -> bytes:
    """Send a request to the hub, have its administrator approve it, fetch the answer."""
    ctx = pair.services.context
    async with HubClient(
        pair.url,
        subject=ctx.node_id,
        key=ctx.keys.signing,
        now=ctx.now,
        retry=RetryPolicy(attempts=1),
    ) as client:
        ident = await client.post_enrollment(request)
        assert (await client.enrollment(ident)).status == "pending"
        await asyncio.to_thread(approve_enrollment, pair.hub, ident, by=ADMIN)
        poll = await client.enrollment(ident)
    assert poll.status == "approved"
    assert poll.answer is not None
    return json.dumps(poll.answer).encode()


def services_row_versions(services: NodeServices, record_id: str) -> object:
    with transaction(services.context.engine) as session:
        row = session.get(RecordRow, record_id)
        assert row is not None
        return row.versions


async def test_enrollment_online_waits_for_the_administrator(pair: Pair) -> None:
    services = pair.services
    assert await asyncio.to_thread(services.enroll_online) == "pending"
    assert not services.enrollment().enrolled
    [pending] = await asyncio.to_thread(list_enrollments, pair.hub, "pending")
    await asyncio.to_thread(approve_enrollment, pair.hub, pending.id, by=ADMIN)
    assert await asyncio.to_thread(services.enroll_online) == "approved"
    assert services.enrollment().parent_id == "370102"
    services.create_account(*APPROVER[:2], "approver", APPROVER[2])
    assert await asyncio.to_thread(services.enroll_online, APPROVER[0]) == "pending"
    [request] = await asyncio.to_thread(list_enrollments, pair.hub, "pending")
    await asyncio.to_thread(refuse_enrollment, pair.hub, request.id, by=ADMIN, reason="不在编")
    assert await asyncio.to_thread(services.enroll_online, APPROVER[0]) == "refused: 不在编"
    assert not services.account(APPROVER[0]).certified  # type: ignore[union-attr]


async def test_a_node_and_the_real_hub_work_together(pair: Pair) -> None:
    services = pair.services
    request = (pair.node.data_dir / "enrollment-request.json").read_bytes()
    services.enroll(await _enroll_through_the_api(pair, request))
    assert services.enrollment().parent_id == "370102"

    services.create_account(*COLLECTOR[:2], "collector", COLLECTOR[2])
    services.create_account(*APPROVER[:2], "approver", APPROVER[2])
    answer = await _enroll_through_the_api(pair, services.approver_request(APPROVER[0]))
    assert services.install_approver_certificate(answer).certified

    for seed in (1, 2):
        categories, values = form_for(services, seed=seed)
        assert services.save_record(None, categories, values, COLLECTOR[0]).saved
    services.authorise(APPROVER[0], APPROVER[2])
    report = await asyncio.to_thread(services.sync_now)
    assert (report.uploaded, report.acknowledged, report.error) == (1, 1, None)
    assert services.outbox()[0].state is BundleState.ACKNOWLEDGED
    assert services.status().ops_in(OpState.ACKNOWLEDGED) == 2

    while await asyncio.to_thread(run_once, pair.hub):
        pass
    ours = {s.record_id: services.get_record(s.record_id) for s in services.search("")}
    with pair.hub.store.read() as session:
        held = {r.record_id: r for r in session.scalars(sa.select(HubRecord))}
    assert set(held) == set(ours)
    for record_id, view in ours.items():  # the hub holds what the node holds
        assert held[record_id].versions == services_row_versions(services, record_id)
        assert held[record_id].data["name"] == view.values["name"]

    record_id = next(iter(ours))
    with pair.hub.store.write() as session:
        queue_down(
            pair.hub,
            session,
            recipient=NODE_ID,
            kind=BundleKind.PROBLEMS,
            entries=[
                Problem(
                    body={
                        "id": "x-1",
                        "kind": "missing_photo",
                        "record_id": record_id,
                        "message_zh": "照片缺失",
                        "message_en": "Photo missing",
                    }
                )
            ],
        )
    report = await asyncio.to_thread(services.sync_now)
    assert (report.downloaded, report.applied, report.receipts_posted) == (1, 1, 1)
    [problem] = services.problems()
    assert (problem.problem_id, problem.record_id) == ("x-1", record_id)
    with pair.hub.store.read() as session:
        states = session.scalars(sa.select(DownBundle.state)).all()
    assert list(states) == ["delivered"]

    again = await asyncio.to_thread(services.sync_now)
    assert (again.uploaded, again.downloaded) == (0, 0)
    assert services.verify_audit() > 0
