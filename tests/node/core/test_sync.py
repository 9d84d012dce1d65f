"""Sync over real HTTP with a stand-in hub (tests/node/core/standin_hub.py): uploads in
order with receipts, retries and resumes, down bundles applied once, refusals."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from node.errors import ConflictError, HubUnreachableError
from node.services import NodeServices
from node.store import transaction
from node.store.models import BundleState, OpRow, OpState
from protocol.bundle import BundleKind
from protocol.trust import ReceiptStatus
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NodeUnderTest,
    down_bundle,
    form_for,
    hub_create,
    hub_trust,
)
from tests.node.core.standin_hub import StandInHub, make_app
from tests.pki import Party, seal

ServerFactory = Callable[..., Awaitable[TestServer]]


def _with_parent(node: NodeUnderTest, url: str) -> NodeServices:
    ctx = node.services.context
    config = replace(
        ctx.config,
        parent_url=url,
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
        retry_attempts=3,
        # No test here waits for a timeout (the faults cut connections or answer at
        # once), so this only guards against a hang; 10 s let a slow answer from the
        # in-process stand-in on a loaded machine become a retry, and `uploads` counts.
        http_timeout_seconds=60,
    )
    return NodeServices(replace(ctx, config=config))


async def _hub(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> tuple[StandInHub, NodeServices]:
    hub = StandInHub(party=node.pki["district"], trust=hub_trust(node), now=node.clock)
    server = await aiohttp_server(make_app(hub))
    return hub, _with_parent(node, str(server.make_url("")))


def _authorised(services: NodeServices, *seeds: int) -> None:
    for seed in seeds:
        categories, values = form_for(services, seed=seed)
        assert services.save_record(None, categories, values, COLLECTOR[0]).saved
        services.authorise(APPROVER[0], APPROVER[2])


def _op_states(services: NodeServices) -> set[str]:
    with transaction(services.context.engine) as session:
        return set(session.execute(select(OpRow.state).distinct()).scalars())


async def test_sync_uploads_in_order_and_acknowledges_on_signed_receipts(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    _authorised(services, 1, 2)
    report = await asyncio.to_thread(services.sync_now)
    assert (report.uploaded, report.acknowledged, report.error) == (2, 2, None)
    assert sorted(hub.held) == [1, 2]
    assert [i.state for i in services.outbox()] == [BundleState.ACKNOWLEDGED] * 2
    assert _op_states(services) == {OpState.ACKNOWLEDGED.value}
    status = services.status()
    assert status.last_sync_ok is True
    again = await asyncio.to_thread(services.sync_now)
    assert again.uploaded == 0


async def test_a_connection_dropped_mid_upload_is_retried(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    hub.faults["drop_upload_midway"] = 1
    _authorised(services, 1)
    report = await asyncio.to_thread(services.sync_now)
    assert (report.uploaded, report.acknowledged) == (1, 1)
    assert hub.uploads == 2


async def test_a_receipt_lost_with_the_connection_comes_back_on_the_resend(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    hub.faults["drop_after_store"] = 1
    _authorised(services, 1)
    report = await asyncio.to_thread(services.sync_now)
    assert report.acknowledged == 1
    assert hub.uploads == 2
    assert len(hub.held) == 1  # held once, answered twice


@pytest.mark.parametrize("fault", ["fail_503", "fail_507"], ids=["busy", "disk_full"])
async def test_busy_answers_are_retried_with_back_off(
    node: NodeUnderTest, aiohttp_server: ServerFactory, fault: str
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    hub.faults[fault] = 2
    _authorised(services, 1)
    report = await asyncio.to_thread(services.sync_now)
    assert report.acknowledged == 1


async def test_a_hub_whose_disk_stays_full_is_named_and_nothing_is_lost(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    hub.faults["fail_507"] = 100
    _authorised(services, 1)
    with pytest.raises(HubUnreachableError, match=r"HTTP 507 \(the hub's disk is full\)"):
        await asyncio.to_thread(services.sync_now)
    [item] = services.outbox()
    assert item.state is not BundleState.ACKNOWLEDGED
    assert hub.held == {}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_hub_loses_nothing_and_says_so(node: NodeUnderTest) -> None:
    services = _with_parent(node, f"http://127.0.0.1:{_closed_port()}")
    _authorised(services, 1)
    with pytest.raises(HubUnreachableError, match="did not answer after 3 attempts"):
        await asyncio.to_thread(services.sync_now)
    [item] = services.outbox()
    assert item.state is BundleState.SENT  # on its way, not acknowledged
    status = services.status()
    assert status.last_sync_ok is False
    assert "did not answer" in status.last_errors[0]


async def test_a_rejected_bundle_goes_back_to_the_approver_and_its_seq_is_reused(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    hub.faults["reject_upload"] = 1
    _authorised(services, 1)
    report = await asyncio.to_thread(services.sync_now)
    assert (report.rejected, report.error) == (1, "bundle seq 1 was rejected by the hub")
    [item] = services.outbox()
    assert item.state is BundleState.REJECTED
    assert services.pending_changes() == []  # returned: they wait for the collector
    record_id = services.search("")[0].record_id
    view = services.get_record(record_id)
    assert view.returned_note == "hub: 照片不清晰"
    services.save_record(record_id, view.categories, {"phone": "13800001111"}, COLLECTOR[0])
    result = services.authorise(APPROVER[0], APPROVER[2])
    assert result.batches[0].seq == 1
    report = await asyncio.to_thread(services.sync_now)
    assert report.acknowledged == 1
    assert sorted(hub.held) == [1]


async def test_down_bundles_are_applied_once_and_receipted(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    first, first_hash = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id="1" * 32
    )
    second, _ = down_bundle(
        node,
        [hub_create(node, 2)],
        kind=BundleKind.BASELINE,
        seq=2,
        prev=first_hash,
        bundle_id="2" * 32,
    )
    hub.add_down(1, "1" * 32, "baseline", first)
    hub.add_down(2, "2" * 32, "baseline", second)
    report = await asyncio.to_thread(services.sync_now)
    assert (report.downloaded, report.applied, report.receipts_posted) == (2, 2, 2)
    assert len(services.search("")) == 2
    assert [r.status for r in hub.node_receipts] == [ReceiptStatus.ACCEPTED] * 2
    again = await asyncio.to_thread(services.sync_now)
    assert (again.downloaded, again.receipts_posted) == (0, 0)


async def test_a_down_bundle_that_fails_its_checks_is_refused_with_a_signed_receipt(
    node: NodeUnderTest, aiohttp_server: ServerFactory
) -> None:
    hub, services = await _hub(node, aiohttp_server)
    pki = node.pki
    # Signed by the parent, but encrypted to another node: step 5 fails.
    data, _ = seal(
        [],
        sender=pki["district"],
        to=Party("370102001-01", pki["other_node"].keys),
        kind=BundleKind.PROBLEMS,
        created=node.clock(),
        bundle_id="3" * 32,
    )
    hub.add_down(1, "3" * 32, "problems", data)
    report = await asyncio.to_thread(services.sync_now)
    assert report.error is not None
    assert "down bundle seq 1 refused" in report.error
    [receipt] = hub.node_receipts
    assert receipt.status is ReceiptStatus.REJECTED
    assert receipt.reason_code == "payload_not_decryptable"
    assert services.search("") == []


async def test_two_syncs_never_run_at_once(node: NodeUnderTest) -> None:
    services = _with_parent(node, "http://127.0.0.1:9")
    with services._exclusive_sync(), pytest.raises(ConflictError, match="already running"):
        services.sync_now()
