"""The hub's scheduled jobs: back-off after failures, what the board and the store keep,
and the package job running on its own in a real hub app."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.console.appkeys import JOB_BOARD
from hub.console.jobs import JobBoard
from hub.scheduler import HubScheduler, JobSpec, job_status
from node.errors import NotEnrolledError
from tests.hub.federation.uptree import UpTree


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_job_waits_twice_as_long_after_each_failure(tree: UpTree) -> None:
    ctx = tree["district"]
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise NotEnrolledError("no parent hub yet")

    spec = JobSpec(name="flaky", call=flaky, seconds=10)
    board, ticks = JobBoard(), Ticks()
    scheduler = HubScheduler(ctx, board, [spec], monotonic=ticks)
    assert scheduler.run(spec)
    [run] = board.snapshot()
    assert (run.runs, run.failures, run.last_error) == (1, 1, "not_enrolled: no parent hub yet")
    kept = job_status(ctx, "flaky")
    assert (kept.runs, kept.failures, kept.failing) == (1, 1, 1)
    assert kept.last_error == "not_enrolled: no parent hub yet"
    assert kept.schedule == "every 10 s"

    ticks.now = 19.0
    assert not scheduler.run(spec)  # backing off: 20 s after the first failure
    assert len(calls) == 1
    ticks.now = 21.0
    assert scheduler.run(spec)
    assert job_status(ctx, "flaky").failing == 2
    ticks.now = 21.0 + 39.0
    assert not scheduler.run(spec)  # 40 s after the second
    ticks.now = 21.0 + 41.0
    assert scheduler.run(spec)
    kept = job_status(ctx, "flaky")
    assert (kept.runs, kept.failures, kept.failing, kept.last_error) == (3, 2, 0, None)
    assert board.snapshot()[0].last_error is None


def test_the_wait_after_failures_is_capped(tree: UpTree) -> None:
    tree.configure("district", job_max_backoff_seconds=30)
    ctx = tree["district"]
    spec = JobSpec(name="broken", call=lambda: 1 / 0, seconds=10)
    scheduler = HubScheduler(ctx, JobBoard(), [spec], monotonic=Ticks())
    assert [scheduler.backoff(spec, n) for n in (0, 1, 2, 3, 9)] == [0.0, 20.0, 30.0, 30.0, 30.0]
    scheduler.run(spec)
    assert job_status(ctx, "broken").last_error == "ZeroDivisionError"  # no message: no data


async def test_a_running_hub_packages_on_its_own(tree: UpTree) -> None:
    tree.configure("district", package_interval_seconds=1)
    ctx = tree["district"]
    tree.collect("town", 3)
    server = TestServer(create_app(ctx.config, context=ctx))
    await server.start_server()
    try:
        # Until the first run (one interval after start) has packaged, with a hang guard:
        # 100 polls of 0.1 s were some 10 s, which a loaded machine can spend starting.
        deadline = time.monotonic() + 120
        while not tree.up_bundles("district") and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        [row] = tree.up_bundles("district")
        assert (row.state, row.op_count, row.seq) == ("pending", 3, 1)
        board = server.app[JOB_BOARD]
        assert "package" in {run.name for run in board.snapshot()}
    finally:
        await server.close()
    assert job_status(ctx, "package").runs >= 1
