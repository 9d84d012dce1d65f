"""Crash safety: a node killed with SIGKILL in the middle of authorising or of applying a
down bundle restarts consistent; a full disk during either changes nothing. Real
subprocesses, real signals, a real RLIMIT_FSIZE."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from node.services import NodeServices
from node.store import transaction
from node.store.models import (
    AuditRow,
    BatchRow,
    BlobRow,
    BundleState,
    InboxRow,
    OpRow,
    OpState,
    OutboxRow,
    RecordRow,
    StreamRow,
)
from protocol.bundle import BundleKind
from protocol.entries import Blob
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

ROOT = Path(__file__).resolve().parents[3]
#: A hang guard for a worker process (its start, unlocking the store, its work): one
#: `muster` start alone has taken 50–70 s on this 2-core machine under load.
WORKER_SECONDS = 300
BIG = 600 * 1024  # larger than the file-size limit below
LIMIT = 256 * 1024


def _counts(node: NodeUnderTest) -> dict[str, int]:
    with transaction(node.services.context.engine) as session:
        counts = {
            model.__tablename__: int(
                session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in (RecordRow, OpRow, BatchRow, OutboxRow, InboxRow, StreamRow, BlobRow)
        }
        counts["draft"] = int(
            session.execute(
                select(func.count()).where(OpRow.state == OpState.DRAFT.value)
            ).scalar_one()
        )
    return counts


def _worker(
    node: NodeUnderTest,
    *args: str,
    pause: str | None = None,
    fsize: int | None = None,
    parent_url: str | None = None,
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    if parent_url:
        env["MUSTER_NODE_PARENT_URL"] = parent_url
        env["MUSTER_NODE_RETRY_BASE_SECONDS"] = "0.01"
    if pause:
        env["MUSTER_PAUSE_AT"] = pause
        env["MUSTER_PAUSE_FILE"] = str(node.data_dir / "paused")
    command = [sys.executable, "-m", "tests.node.core.crash_worker"]
    if fsize:
        command += ["--fsize", str(fsize)]
    return subprocess.Popen(
        [*command, str(node.data_dir), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _paused(node: NodeUnderTest, process: subprocess.Popen[str], point: str) -> bool:
    """Whether the worker waits at a pause point yet (fails the test if it ended instead).

    Not the marker's mere existence: the worker creates it empty and then writes the
    point's name (``Path.write_text``), so a check in between read "" for the point.
    """
    marker = node.data_dir / "paused"
    if marker.exists() and marker.read_text():
        return True
    if process.poll() is not None:
        pytest.fail(f"worker ended before {point}: {process.communicate()}")
    return False


def _kill_when_paused(node: NodeUnderTest, process: subprocess.Popen[str], point: str) -> None:
    marker = node.data_dir / "paused"
    deadline = time.monotonic() + WORKER_SECONDS
    while not _paused(node, process, point):
        if time.monotonic() > deadline:
            process.kill()
            process.communicate()
            pytest.fail(f"worker never reached {point}")
        time.sleep(0.05)
    assert marker.read_text() == point
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reaps it and closes its pipes
    assert process.returncode == -signal.SIGKILL
    marker.unlink()


def _finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=WORKER_SECONDS)
    assert out, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def _drafts(node: NodeUnderTest, *seeds: int) -> None:
    for seed in seeds:
        categories, values = form_for(node.services, seed=seed)
        assert node.services.save_record(None, categories, values, COLLECTOR[0]).saved


def _big_photo(node: NodeUnderTest) -> None:
    """A record whose scan makes the bundle larger than the file-size limit."""
    services = node.services
    rid = services.search("")[0].record_id
    scan = b"%PDF-1.4\n" + os.urandom(BIG)
    services.attach_blob(rid, "document_scans", scan, "application/pdf", author=COLLECTOR[0])


def test_killed_while_authorising_leaves_no_half_batch(node: NodeUnderTest) -> None:
    _drafts(node, 1, 2)
    before = _counts(node)
    node.services.close()
    process = _worker(node, "authorise", *APPROVER[::2], pause="authorise.before_commit")
    _kill_when_paused(node, process, "authorise.before_commit")
    services = node.reopen()
    assert _counts(node) == before
    assert services.verify_audit() > 0
    result = services.authorise(APPROVER[0], APPROVER[2])
    assert [b.seq for b in result.batches] == [1]
    assert _counts(node)["draft"] == 0


def test_killed_while_applying_a_down_bundle_applies_it_once_after_restart(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    data, _ = down_bundle(
        node,
        [hub_create(node, 1), hub_create(node, 2)],
        kind=BundleKind.BASELINE,
        seq=1,
        prev=None,
        bundle_id="1" * 32,
    )
    path = tmp_path / "baseline.bundle"
    path.write_bytes(data)
    before = _counts(node)
    node.services.close()
    process = _worker(node, "import", str(path), pause="apply.before_commit")
    _kill_when_paused(node, process, "apply.before_commit")
    services = node.reopen()
    assert _counts(node) == before
    assert services.verify_audit() > 0
    first = services.import_files([path])
    second = services.import_files([path])
    assert [i.outcome for i in first.items + second.items] == ["applied", "duplicate"]
    assert len(services.search("")) == 2


def test_a_full_disk_while_authorising_authorises_nothing(node: NodeUnderTest) -> None:
    _drafts(node, 1)
    _big_photo(node)
    before = _counts(node)
    with transaction(node.services.context.engine) as session:
        audit_before = session.execute(select(func.count()).select_from(AuditRow)).scalar_one()
    node.services.close()
    result = _finish(_worker(node, "authorise", *APPROVER[::2], fsize=LIMIT))
    assert result["ok"] is False
    assert result["error"] == "StoreError"
    assert "nothing" in str(result["message"])
    services = node.reopen()
    assert _counts(node) == before
    with transaction(services.context.engine) as session:
        assert session.execute(select(func.count()).select_from(AuditRow)).scalar_one() == (
            audit_before
        )
    assert services.verify_audit() == audit_before
    assert services.authorise(APPROVER[0], APPROVER[2]).op_count == 2


def test_a_full_disk_while_applying_a_down_bundle_applies_nothing(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    blob = Blob.of(b"\xff\xd8\xff" + os.urandom(BIG), "image/jpeg")
    data, _ = down_bundle(
        node,
        [hub_create(node, 1), blob],
        kind=BundleKind.BASELINE,
        seq=1,
        prev=None,
        bundle_id="1" * 32,
    )
    path = tmp_path / "baseline.bundle"
    path.write_bytes(data)
    before = _counts(node)
    node.services.close()
    result = _finish(_worker(node, "import", str(path), fsize=LIMIT))
    assert result["outcomes"] == ["rejected"]
    assert "could not write" in str(result["messages"])
    services = node.reopen()
    assert _counts(node) == before
    assert [i.outcome for i in services.import_files([path]).items] == ["applied"]


async def test_killed_after_an_upload_before_its_receipt_is_stored_acknowledges_once(
    node: NodeUnderTest, aiohttp_server: Any
) -> None:
    hub = StandInHub(party=node.pki["district"], trust=hub_trust(node), now=node.clock)
    server = await aiohttp_server(make_app(hub))
    url = str(server.make_url(""))
    _drafts(node, 1)
    node.services.authorise(APPROVER[0], APPROVER[2])
    node.services.close()
    process = _worker(node, "sync", pause="sync.before_receipt", parent_url=url)
    deadline = time.monotonic() + WORKER_SECONDS
    while not _paused(node, process, "sync.before_receipt"):  # the stand-in serves meanwhile
        assert time.monotonic() < deadline, "worker never reached sync.before_receipt"
        await asyncio.sleep(0.05)
    _kill_when_paused(node, process, "sync.before_receipt")
    assert sorted(hub.held) == [1]  # the hub has it; the node does not know yet
    services = node.reopen()
    assert [i.state for i in services.outbox()] == [BundleState.SENT]
    ctx = services.context
    resumed = NodeServices(replace(ctx, config=replace(ctx.config, parent_url=url)))
    report = await asyncio.to_thread(resumed.sync_now)
    assert (report.uploaded, report.acknowledged) == (1, 1)
    assert sorted(hub.held) == [1]
    assert hub.uploads == 2
    assert [i.state for i in resumed.outbox()] == [BundleState.ACKNOWLEDGED]
    assert resumed.verify_audit() > 0
