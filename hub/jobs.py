"""The scheduled jobs of a hub process, assembled and started with the app.

:func:`job_specs` lists every job (hub/scheduler.py runs them): the upward ones
(hub/upward/jobs.py: ``package``, and ``sync`` with the parent, whose down half applies
and passes on the parent's down bundles: hub/fromparent.py) and the reports' daily
snapshot (hub/reports/schedule.py: ``report_snapshot``) and the cross-check's re-check
(hub/crosscheck/jobs.py: ``crosscheck_recheck``). :func:`scheduled_jobs` is a
cleanup context of the hub's app: the jobs run for the app's life when ``jobs`` is on,
reporting to the console's job board.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hub.appkeys import CONTEXT
from hub.console.appkeys import JOB_BOARD
from hub.console.jobs import JobBoard
from hub.context import HubContext
from hub.crosscheck.jobs import crosscheck_jobs
from hub.fromparent import ParentDownPort
from hub.reports.schedule import report_jobs
from hub.scheduler import HubScheduler, JobSpec
from hub.upward.jobs import upward_jobs

__all__ = ["job_specs", "scheduled_jobs"]


def job_specs(ctx: HubContext) -> list[JobSpec]:
    """Every scheduled job of a hub."""
    return [*upward_jobs(ctx, down=ParentDownPort), *report_jobs(ctx), *crosscheck_jobs(ctx)]


async def scheduled_jobs(app: web.Application) -> AsyncIterator[None]:
    """Run the hub's jobs while the app runs (nothing when ``jobs`` is off)."""
    ctx = app[CONTEXT]
    if not ctx.config.jobs:
        yield
        return
    board = app.get(JOB_BOARD) or JobBoard()
    scheduler = HubScheduler(ctx, board, job_specs(ctx))
    scheduler.start()
    try:
        yield
    finally:
        await asyncio.to_thread(scheduler.shutdown)
