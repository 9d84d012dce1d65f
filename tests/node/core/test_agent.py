"""The agent: the UI and the sync schedule in one process, never two syncs at once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.demo.http import NodeUi, wait_until_up
from node.agent import SYNC_JOB, SyncSchedule, build_app, run_scheduled_sync
from node.collector.config import CollectorConfig
from node.errors import StoppingError
from node.services import NodeServices
from node.services.context import _reader_source
from node.services.stopping import Stopping
from tests.node.core.helpers import COLLECTOR, PASSPHRASE, NodeUnderTest
from tests.ports import server_port

ROOT = Path(__file__).resolve().parents[3]


def test_the_schedule_runs_sync_at_most_once_at_a_time(node: NodeUnderTest) -> None:
    schedule = SyncSchedule(node.services, 15)
    job = schedule.scheduler.get_job(SYNC_JOB)
    assert job is not None
    assert (job.max_instances, job.coalesce) == (1, True)
    assert job.trigger.interval.total_seconds() == 15 * 60
    assert SyncSchedule(node.services, 0).scheduler.get_job(SYNC_JOB) is None


def test_a_scheduled_sync_that_finds_one_running_is_skipped(node: NodeUnderTest) -> None:
    ctx = node.services.context
    services = NodeServices(
        replace(ctx, config=replace(ctx.config, parent_url="http://127.0.0.1:9"))
    )
    with services._exclusive_sync():
        assert run_scheduled_sync(services) is None
    assert services.status().last_sync_at is None  # it never started


def test_a_failed_scheduled_sync_is_recorded_not_raised(node: NodeUnderTest) -> None:
    ctx = node.services.context
    services = NodeServices(
        replace(ctx, config=replace(ctx.config, parent_url="http://127.0.0.1:9", retry_attempts=1))
    )
    assert run_scheduled_sync(services) is None
    status = services.status()
    assert status.last_sync_ok is False
    assert "did not answer" in status.last_errors[0]


async def test_the_ui_is_served_with_the_schedule_running(node: NodeUnderTest) -> None:
    app = build_app(node.services)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/", allow_redirects=False)
        assert response.status in (200, 302, 303)
        assert len(app.cleanup_ctx) >= 1


def test_muster_node_run_serves_on_localhost_until_stopped(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    node.services.close()
    secret = tmp_path / "passphrase"
    secret.write_bytes(PASSPHRASE + b"\n")
    port = server_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    env["MUSTER_PASSPHRASE_FILE"] = str(secret)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.cli.main",
            "node",
            "run",
            "--data",
            str(node.data_dir),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # A hang guard for the start (imports, unlocking the store's key, migrations) on
        # a loaded machine, as for `hub run` (tests/hub/federation/upprocs.py).
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/login", timeout=30
                ) as response:
                    status = response.status
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    break
                time.sleep(0.2)
        assert status == 200, process.communicate(timeout=5) if process.poll() is not None else ""
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_card_wait_gives_up_when_the_node_begins_to_stop(node: NodeUnderTest) -> None:
    # No reader is plugged in: the wait rides that out, polling, until its timeout —
    # unless the agent begins to stop, which ends it between two polls.
    config = replace(node.services.config, collector=CollectorConfig(port_url="/nonexistent/tty"))
    stopping = Stopping()
    read = _reader_source(config, stopping)
    timer = threading.Timer(0.3, stopping.set)
    timer.start()
    try:
        with pytest.raises(StoppingError):
            read(600.0)  # a hang guard, never reached
    finally:
        timer.cancel()
    with pytest.raises(StoppingError):
        read(600.0)  # none is started once stopping


async def test_sigterm_during_a_sync_with_a_silent_hub_stops_the_node_cleanly(
    node: NodeUnderTest, tmp_path: Path
) -> None:
    # A hub that accepts the connection and never answers: the sync would wait for the
    # HTTP timeout (an hour here). SIGTERM must end it at once, record the run as given
    # up, leave the store whole, and exit 0 without a traceback.
    node.services.close()
    hub = socket.socket()
    hub.bind(("127.0.0.1", 0))
    hub.listen()
    asked = threading.Event()

    def silent_hub() -> None:
        connection, _ = hub.accept()
        with connection:
            connection.recv(65536)
            asked.set()
            while connection.recv(65536):
                pass

    threading.Thread(target=silent_hub, daemon=True).start()
    secret = tmp_path / "passphrase"
    secret.write_bytes(PASSPHRASE + b"\n")
    port = server_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    env |= {
        "MUSTER_PASSPHRASE_FILE": str(secret),
        "MUSTER_NODE_PARENT_URL": f"http://127.0.0.1:{hub.getsockname()[1]}",
        "MUSTER_NODE_HTTP_TIMEOUT_SECONDS": "3600",
        "MUSTER_NODE_RETRY_ATTEMPTS": "1",
    }
    argv = [sys.executable, "-m", "node.cli.main", "node", "run", "--data", str(node.data_dir)]
    process = subprocess.Popen(
        [*argv, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_up(  # the start's hang guard, as in the test above
            url + "/login", timeout=180, alive=lambda: process.poll() is None, name="node"
        )
        async with NodeUi(url, COLLECTOR[0], COLLECTOR[2]) as ui:
            pressed = asyncio.ensure_future(ui.submit("/sync", []))
            assert await asyncio.to_thread(asked.wait, 30), "the sync never asked the hub"
            process.send_signal(signal.SIGTERM)
            answer = await asyncio.wait_for(pressed, 15)  # hang guards, not timings
        _out, err = await asyncio.to_thread(process.communicate, timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        hub.close()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert answer.redirected
    assert "sync_failed" in answer.location
    services = node.reopen()
    status = services.status()
    assert status.last_sync_ok is False
    assert "stopping" in status.last_errors[0]
    assert services.verify_audit() > 0  # the audit chain is whole
