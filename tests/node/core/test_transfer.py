"""USB transfer: export for the parent, import what comes back; each bundle once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from node.errors import TransferFileError
from node.services import NodeServices
from node.store.models import BundleState
from protocol.bundle import BundleKind
from protocol.trust import Receipt, ReceiptStatus
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NODE_ID,
    NodeUnderTest,
    down_bundle,
    form_for,
    hub_create,
    hub_opens,
    hub_trust,
)
from tests.node.core.standin_hub import StandInHub, make_app


def _authorise(services: NodeServices, seed: int) -> None:
    categories, values = form_for(services, seed=seed)
    assert services.save_record(None, categories, values, COLLECTOR[0]).saved
    services.authorise(APPROVER[0], APPROVER[2])


def _hub(node: NodeUnderTest) -> StandInHub:
    return StandInHub(party=node.pki["district"], trust=hub_trust(node), now=node.clock)


def test_export_writes_each_pending_bundle_and_marks_it_sent(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    services = node.services
    _authorise(services, 1)
    _authorise(services, 2)
    usb = tmp_path / "usb"
    usb.mkdir()
    report = services.export_to(usb)
    assert (report.bundles, report.receipts) == (2, 0)
    names = sorted(p.name for p in usb.iterdir())
    assert [n.split("-")[2] for n in names] == ["000001", "000002"]
    assert all(n.startswith(NODE_ID) and n.endswith(".bundle") for n in names)
    assert [i.state for i in services.outbox()] == [BundleState.SENT] * 2
    assert all(i.exported_at is not None for i in services.outbox())


def test_a_round_trip_by_usb_acknowledges_the_bundles(node: NodeUnderTest, tmp_path: Path) -> None:
    services = node.services
    hub = _hub(node)
    _authorise(services, 1)
    usb = tmp_path / "usb"
    usb.mkdir()
    [path] = [Path(p) for p in services.export_to(usb).files]
    status, body = hub.take(path.read_bytes())
    assert (status, body["status"]) == (200, "accepted")
    receipt_file = usb / "receipt-000001.json"
    receipt_file.write_text(json.dumps(body["receipt"]), "utf-8")
    report = services.import_files([receipt_file])
    assert [(i.outcome, i.message) for i in report.items] == [("receipt", "accepted")]
    assert services.outbox()[0].state is BundleState.ACKNOWLEDGED


async def test_a_bundle_exported_and_uploaded_is_accepted_once(
    node: NodeUnderTest, tmp_path: Path, aiohttp_server: object
) -> None:
    hub = _hub(node)
    server: TestServer = await aiohttp_server(make_app(hub))  # type: ignore[operator]
    ctx = node.services.context
    services = NodeServices(
        replace(ctx, config=replace(ctx.config, parent_url=str(server.make_url(""))))
    )
    _authorise(services, 1)
    usb = tmp_path / "usb"
    usb.mkdir()
    [path] = [Path(p) for p in services.export_to(usb).files]
    report = await asyncio.to_thread(services.sync_now)
    assert report.acknowledged == 1
    # The stick reaches the hub later: the same bytes, answered with the original receipt.
    status, body = hub.take(path.read_bytes())
    assert (status, body["status"]) == (200, "duplicate")
    assert len(hub.held) == 1
    assert len(hub.ops) == 1
    receipt_file = usb / "receipt.json"
    receipt_file.write_text(json.dumps(body["receipt"]), "utf-8")
    before = services.outbox()
    assert services.import_files([receipt_file]).items[0].outcome == "receipt"
    assert services.outbox() == before


def test_down_bundles_on_a_stick_are_applied_once_in_order(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    services = node.services
    usb = tmp_path / "usb"
    usb.mkdir()
    first, first_hash = down_bundle(
        node,
        [hub_create(node, 1)],
        kind=BundleKind.BASELINE,
        seq=1,
        prev=None,
        bundle_id="1" * 32,
    )
    second, _ = down_bundle(
        node,
        [hub_create(node, 2)],
        kind=BundleKind.BASELINE,
        seq=2,
        prev=first_hash,
        bundle_id="2" * 32,
    )
    (usb / "b.bundle").write_bytes(second)
    (usb / "a.bundle").write_bytes(first)
    report = services.import_files([usb / "b.bundle", usb / "a.bundle", usb / "b.bundle"])
    assert [i.outcome for i in report.items] == ["parked", "applied", "duplicate"]
    assert len(services.search("")) == 2


def test_a_bad_file_is_refused_alone(node: NodeUnderTest, tmp_path: Path) -> None:
    services = node.services
    usb = tmp_path / "usb"
    usb.mkdir()
    good, _ = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id="1" * 32
    )
    (usb / "good.bundle").write_bytes(good)
    (usb / "junk.txt").write_bytes(b"hello")
    (usb / "broken.bundle").write_bytes(good[:-50])
    _authorise(services, 5)
    [own] = services.export_to(usb).files
    report = services.import_files(
        [
            usb / "junk.txt",
            usb / "missing.bundle",
            usb / "broken.bundle",
            Path(own),
            usb / "good.bundle",
        ]
    )
    outcomes = [(i.outcome, i.message) for i in report.items]
    assert outcomes[0] == ("rejected", "junk.txt: neither a bundle nor a receipt")
    assert outcomes[1][0] == "rejected"
    assert "cannot read" in outcomes[1][1]
    assert outcomes[2][0] == "rejected"
    assert "signature does not verify" in outcomes[2][1]
    assert outcomes[3][0] == "rejected"
    assert "one of this node's own bundles" in outcomes[3][1]
    assert outcomes[4][0] == "applied"
    assert len(report.rejected) == 4
    assert "junk.txt: neither a bundle nor a receipt" in services.status().last_errors[0]


def test_receipts_for_usb_down_bundles_travel_up_in_a_receipt_bundle(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    services = node.services
    usb = tmp_path / "usb"
    usb.mkdir()
    data, digest = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id="1" * 32
    )
    (usb / "in.bundle").write_bytes(data)
    services.import_files([usb / "in.bundle"])
    out = tmp_path / "out"
    out.mkdir()
    report = services.export_to(out)
    assert (report.bundles, report.receipts) == (1, 1)
    header, entries = hub_opens(node, Path(report.files[0]).read_bytes())
    assert header.kind is BundleKind.RECEIPT
    [receipt] = entries
    assert isinstance(receipt, Receipt)
    assert (receipt.bundle_hash, receipt.status) == (digest, ReceiptStatus.ACCEPTED)
    assert services.export_to(out).receipts == 0  # not twice


def test_export_to_a_missing_directory_is_refused(node: NodeUnderTest, tmp_path: Path) -> None:
    with pytest.raises(TransferFileError, match="does not exist"):
        node.services.export_to(tmp_path / "nowhere")
