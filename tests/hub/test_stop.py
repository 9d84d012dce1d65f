"""Stopping a hub (SIGTERM, Ctrl-C; docs/hub.md §7): once ``ctx.stopping`` is set no
bundle is claimed, a stage or merge gives up between two merge chunks (rolled back, its
claim given back) and a scheduled job is given up, not failed. Then real ``muster hub
run`` processes get SIGTERM while merging a bundle of many chunks and during a sync
with a parent that never answers: they exit 0 without a traceback, nothing is
half-merged, and after a restart the bundle is merged exactly once.

Time bounds here are hang guards only: nothing asserts how fast a hub stops.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

import hub.stage
from hub.app import create_app
from hub.audit import verify_audit
from hub.config import HubConfig
from hub.console.jobs import JobBoard
from hub.context import HubContext
from hub.errors import StoppingError
from hub.faults import FAULT_ENV, MARK_ENV
from hub.pipeline import run_once
from hub.review import approve
from hub.scheduler import HubScheduler, JobSpec, job_status
from hub.store.models import BundleRow, OpBatch, RecordRow, StageItem
from node.services.stopping import Stopping
from tests.hub.conftest import make_hub
from tests.hub.datadir import ROOT, context_for, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, count, drain, submit
from tests.pki import Pki
from tests.ports import server_port

#: Hang guards: far beyond what any step here takes, even on a loaded machine.
_GUARD = 180.0


def _stop_after_first_chunk(
    ctx: HubContext, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], list[str]]:
    """Begin stopping as soon as a pass has applied its first chunk (where SIGTERM lands
    in a long merge); return the chunks the pass applied."""
    passed: list[str] = []

    def fault(point: str) -> None:
        if point == "stage.chunk_applied":
            passed.append(point)
            ctx.stopping.set()

    monkeypatch.setattr(hub.stage, "fault", fault)
    return lambda: passed


def _untouched(ctx: HubContext, row_id: int, state: str) -> None:
    row = bundle_row(ctx, row_id)
    assert (row.state, row.claimed_by, row.lease_until) == (state, None, None)
    assert count(ctx, OpBatch) == 0
    assert count(ctx, StageItem) == 0


def test_a_stopping_hub_claims_no_bundle(hub: HubContext, deltas: DeltaFactory) -> None:
    result = submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    hub.stopping.set()
    assert not run_once(hub)
    _untouched(hub, result.row_id, "verified")
    assert count(hub, RecordRow) == 0


def test_a_stage_is_given_up_between_chunks_rolled_back_and_its_claim_given_back(
    tmp_path: Path, hub_db_url: str, pki: Pki, deltas: DeltaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_hub(tmp_path / "data", hub_db_url, pki, merge_chunk_ops=2)
    try:
        result = submit(ctx, deltas.bundle([deltas.create(record_id(i)) for i in range(10)])[0])
        passed = _stop_after_first_chunk(ctx, monkeypatch)
        assert run_once(ctx)  # given up, not failed: the bundle is not rejected
        assert passed() == ["stage.chunk_applied"]  # one chunk in, none after it
        _untouched(ctx, result.row_id, "verified")
        assert count(ctx, RecordRow) == 0
        monkeypatch.undo()
        ctx.stopping = Stopping()  # the next start
        assert drain(ctx) == 1
        assert bundle_row(ctx, result.row_id).state == "merged"
        assert count(ctx, RecordRow) == 10
        with ctx.store.read() as session:
            chunks = session.scalars(sa.select(OpBatch.chunk).order_by(OpBatch.chunk)).all()
        assert chunks == [0, 1, 2, 3, 4]  # each chunk once
        assert verify_audit(ctx.store) >= 2
    finally:
        ctx.store.dispose()


def test_a_merge_of_an_approved_bundle_is_given_up_and_done_whole_later(
    tmp_path: Path, pki: Pki, deltas: DeltaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_hub(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'hub.db'}",
        pki,
        merge_chunk_ops=2,
        auto_approve_levels=(),
    )
    try:
        result = submit(ctx, deltas.bundle([deltas.create(record_id(i)) for i in range(6)])[0])
        drain(ctx)
        assert bundle_row(ctx, result.row_id).state == "staged"
        approve(ctx, result.row_id, by="wang.fang")
        findings = count(ctx, StageItem)
        passed = _stop_after_first_chunk(ctx, monkeypatch)
        assert run_once(ctx)
        assert passed() == ["stage.chunk_applied"]
        row = bundle_row(ctx, result.row_id)
        assert (row.state, row.claimed_by, row.lease_until) == ("approved", None, None)
        assert (count(ctx, RecordRow), count(ctx, OpBatch)) == (0, 0)
        assert count(ctx, StageItem) == findings
        monkeypatch.undo()
        ctx.stopping = Stopping()
        assert drain(ctx) == 1
        assert bundle_row(ctx, result.row_id).state == "merged"
        assert (count(ctx, RecordRow), count(ctx, OpBatch)) == (6, 3)
        assert verify_audit(ctx.store) >= 3
    finally:
        ctx.store.dispose()


def test_a_context_passed_to_the_app_is_handed_back_not_stopping(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    async def serve_and_stop() -> None:
        server = TestServer(create_app(hub.config, context=hub))
        await server.start_server()
        await server.close()

    asyncio.run(serve_and_stop())
    assert not hub.stopping.is_set()
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    assert drain(hub) == 1


def test_a_job_given_up_is_recorded_as_such_not_as_a_failure(hub: HubContext) -> None:
    def long_job() -> None:
        hub.stopping.set()  # SIGTERM arrives while it runs
        raise StoppingError("the hub is stopping: the test job was given up")

    spec = JobSpec(name="long", call=long_job, seconds=10)
    scheduler = HubScheduler(hub, JobBoard(), [spec])
    assert scheduler.run(spec)
    kept = job_status(hub, "long")
    assert (kept.runs, kept.failures, kept.failing) == (1, 0, 0)
    assert kept.last_error is not None
    assert kept.last_error.startswith("stopping: ")
    assert not scheduler.run(spec)  # no run starts once the hub is stopping
    assert job_status(hub, "long").runs == 1


# Real processes.

#: One PKI for the processes' tests: a data directory and its bundles must share it.
PKI = Pki.build()
RECORDS = 2000
CHUNK = 100


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One authorised delta of realistic creates: twenty merge chunks at ``CHUNK``."""
    factory = DeltaFactory(PKI)
    ops, seen = [], set()
    while len(ops) < RECORDS:
        values = factory.record()
        if values["id_number"] not in seen:  # a clean bundle, merged without review
            seen.add(values["id_number"])
            ops.append(factory.create(record_id(len(ops)), values))
    path = tmp_path_factory.mktemp("big") / "big.bundle"
    path.write_bytes(factory.bundle(ops)[0])
    return path


class HubProcess:
    """``python -m hub run`` on a data directory, its output kept in a file."""

    def __init__(self, data: Path, log: Path, **env: str) -> None:
        self.port = server_port()  # below the ephemeral range: tests/ports.py says why
        self.log = log
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MUSTER_HUB_LISTEN_PORT": str(self.port),
            **env,
        }
        command = [sys.executable, "-m", "hub", "run", "--config", str(data / "hub.toml")]
        command += ["--passphrase-file", str(data / "passphrase")]
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + _GUARD
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                requests.get(f"http://127.0.0.1:{self.port}/api/v1/status", timeout=5)
                return
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the hub did not start"
                time.sleep(0.1)

    def listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def terminate(self, while_waiting: Callable[[], None] = lambda: None) -> int:
        """SIGTERM; return the exit code (``while_waiting`` is called until it exits)."""
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _GUARD
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"the hub did not stop on SIGTERM:\n{self.log.read_text()}")
            while_waiting()
            time.sleep(0.02)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def processes() -> Iterator[list[HubProcess]]:
    started: list[HubProcess] = []
    yield started
    for process in started:
        process.kill()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _GUARD
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigterm_while_merging_a_big_bundle_stops_cleanly_and_it_is_merged_once_later(
    database: str,
    big_bundle: Path,
    tmp_path: Path,
    processes: list[HubProcess],
    request: pytest.FixtureRequest,
) -> None:
    url = "" if database == "sqlite" else str(request.getfixturevalue("pg_url"))
    data = tmp_path / "hub"
    make_data_dir(data, PKI, db_url=url, poll_seconds=0.2, merge_chunk_ops=CHUNK)
    imported = run_hub("import", str(big_bundle), data=data)
    assert imported.returncode == 0, imported.stderr
    mark = tmp_path / "mark"
    # The pass waits after each chunk until the mark is removed, so SIGTERM lands in the
    # middle of it however fast or slow the machine is.
    hub = HubProcess(
        data, tmp_path / "first.log", **{FAULT_ENV: "stage.chunk_applied:hold", MARK_ENV: str(mark)}
    )
    processes.append(hub)
    _wait_for(mark.exists, "no chunk was applied")

    def let_it_go_on() -> None:
        # Once the hub no longer listens it has begun to stop (ctx.stopping is set right
        # after): only then may the pass go on, to its next chunk, where it gives up.
        if not hub.listening():
            mark.unlink(missing_ok=True)

    assert hub.terminate(let_it_go_on) == 0, hub.log.read_text()
    log = hub.log.read_text()
    assert "Traceback" not in log, log

    config = HubConfig.load(data)
    ctx = context_for(config, PKI)
    try:
        with ctx.store.read() as session:
            row = session.scalars(sa.select(BundleRow)).one()
        # Not half-merged, and its claim given back: a restart takes it at once, on
        # PostgreSQL too, where a claim left behind waits for its lease (15 minutes).
        assert (row.state, row.claimed_by, row.lease_until) == ("verified", None, None)
        assert (count(ctx, RecordRow), count(ctx, OpBatch)) == (0, 0)

        again = HubProcess(data, tmp_path / "again.log")
        processes.append(again)

        def merged() -> bool:
            return bundle_row(ctx, row.id).state == "merged"

        _wait_for(merged, "the bundle was not merged after the restart")
        assert again.terminate() == 0
        assert "Traceback" not in again.log.read_text()
        assert count(ctx, RecordRow) == RECORDS
        with ctx.store.read() as session:
            chunks = session.execute(
                sa.select(OpBatch.chunk, sa.func.count()).group_by(OpBatch.chunk)
            ).all()
        assert sorted(chunks) == [(n, 1) for n in range(RECORDS // CHUNK)]  # each once
    finally:
        ctx.store.dispose()
    audit = run_hub("audit", "verify", data=data)
    assert audit.returncode == 0, audit.stderr


class SilentParent:
    """A parent hub that accepts connections and never answers."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.connections.append(self._socket.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self._socket.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.slow
def test_sigterm_during_a_sync_with_a_silent_parent_gives_the_sync_up(
    tmp_path: Path, processes: list[HubProcess]
) -> None:
    parent = SilentParent()
    try:
        data = tmp_path / "hub"
        config = make_data_dir(data, PKI)
        hub = HubProcess(
            data,
            tmp_path / "hub.log",
            MUSTER_HUB_PARENT_URL=parent.url,
            MUSTER_HUB_SYNC_INTERVAL_SECONDS="1",
        )
        processes.append(hub)
        _wait_for(lambda: bool(parent.connections), "the sync never reached the parent")
        assert hub.terminate() == 0, hub.log.read_text()
        log = hub.log.read_text()
        assert "Traceback" not in log, log
    finally:
        parent.close()
    ctx = context_for(config, PKI)
    try:
        kept = job_status(ctx, "sync")
        assert (kept.runs, kept.failures) == (1, 0)
        assert kept.last_error is not None
        assert kept.last_error.startswith("stopping: ")
    finally:
        ctx.store.dispose()
    assert run_hub("audit", "verify", data=data).returncode == 0
