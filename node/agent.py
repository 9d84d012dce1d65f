"""The node agent process: the operator UI on 127.0.0.1 and the sync schedule.

``muster node run`` unlocks the node, builds the UI (``node.web.app.create_app``) and
starts an APScheduler job that syncs with the parent every ``sync_interval_minutes``
(``max_instances=1``, ``coalesce=True``: a run that is late is run once, never twice).
The "立即同步" button and the schedule both call ``NodeServices.sync_now``, which holds a
lock (in-process and a file lock) so they never overlap; a run that finds the lock taken
is skipped. The job is one call into a tested function (:func:`run_scheduled_sync`).

Stopping (SIGTERM, Ctrl-C): aiohttp stops listening, then the app's ``on_shutdown`` sets
``services.stopping``, so a card wait or a sync in progress gives up at its next safe
point (:mod:`node.services.stopping`) while everything else finishes its transaction;
aiohttp then waits for the requests in flight, and the schedule waits for its job
before the store is closed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from typing import Final

from aiohttp import web
from apscheduler.schedulers.background import BackgroundScheduler

from crypto.errors import MusterError
from node.errors import ConflictError, StoppingError
from node.services import NodeServices, SyncReport

__all__ = ["SYNC_JOB", "SyncSchedule", "build_app", "run", "run_scheduled_sync"]

_log = logging.getLogger("muster.node.agent")
SYNC_JOB: Final = "sync"


def run_scheduled_sync(services: NodeServices) -> SyncReport | None:
    """One scheduled sync; a run already going, or a failure, is logged and skipped.

    Failures are also recorded by ``sync_now`` for the status page.
    """
    try:
        report = services.sync_now()
    except ConflictError:
        _log.info("scheduled sync skipped: a sync is already running")
        return None
    except StoppingError:
        _log.info("scheduled sync given up: the node is stopping")
        return None
    except MusterError as exc:
        _log.warning("scheduled sync failed: %s", exc.code)
        return None
    _log.info(
        "scheduled sync: %d uploaded, %d acknowledged, %d applied",
        report.uploaded,
        report.acknowledged,
        report.applied,
    )
    return report


class SyncSchedule:
    """The background job that syncs every ``interval`` minutes (0: no job)."""

    def __init__(
        self,
        services: NodeServices,
        interval_minutes: int,
        *,
        job: Callable[[NodeServices], object] = run_scheduled_sync,
    ) -> None:
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self.interval_minutes = interval_minutes
        if interval_minutes > 0:
            self._scheduler.add_job(
                job,
                "interval",
                args=[services],
                minutes=interval_minutes,
                id=SYNC_JOB,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    @property
    def scheduler(self) -> BackgroundScheduler:
        return self._scheduler

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop the schedule and wait for a job that is running (tell it to stop first:
        ``services.stopping``), so that none outlives the store it writes to."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def build_app(services: NodeServices, *, schedule: bool = True) -> web.Application:
    """The operator UI, with the sync schedule tied to its life (started and stopped
    with the app)."""
    from node.web.app import create_app  # noqa: PLC0415 - the UI is loaded only to serve it

    app = create_app(services.config, services)

    async def stopping(_app: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for the requests in flight, and before
        # the cleanup below waits for the scheduled job: both end sooner once told.
        services.stopping.set()

    app.on_shutdown.append(stopping)
    if schedule:

        async def scheduled(_app: web.Application) -> AsyncIterator[None]:
            sync = SyncSchedule(services, services.config.sync_interval_minutes)
            sync.start()
            yield
            await asyncio.to_thread(sync.shutdown)

        app.cleanup_ctx.append(scheduled)
    return app


def run(services: NodeServices, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the UI and run the schedule until interrupted."""
    config = services.config
    app = build_app(services)
    # What is built by now (some 1,000 modules, the schema, the UI's templates) lives as
    # long as the process. Frozen, it is no longer traversed by the collector, neither
    # while serving nor by the collections at interpreter exit, which otherwise took
    # most of the time between SIGTERM and the exit (seconds on a loaded machine).
    gc.collect()
    gc.freeze()
    web.run_app(
        app,
        host=host or config.listen_host,
        port=port or config.listen_port,
        print=lambda text: _log.warning("%s", text),
        handle_signals=True,
    )
