"""The hub's aiohttp application: ``create_app(config)``.

The app serves the API of docs/api.md and the admin endpoints, and runs
``config.workers`` pipeline tasks (verify, stage, merge; hub/pipeline.py) and, when
``jobs`` is on, the scheduled jobs (hub/jobs.py: packaging, syncing with the parent) for
its whole life. Services are built in a cleanup context: the store is migrated, the
hub's keys are unlocked with the passphrase (``--passphrase-file`` or
``MUSTER_PASSPHRASE_FILE``), and everything is closed when the app stops.

Stopping (SIGTERM, Ctrl-C): aiohttp stops listening, then ``on_shutdown`` sets
``ctx.stopping``: no bundle is claimed any more, a stage or merge in progress is given
up between two merge chunks (rolled back, its claim given back) and a scheduled job at
its next safe point; the cleanup then waits for them, so none outlives the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from hub.admin_api import admin_routes
from hub.api import error_middleware, routes
from hub.appkeys import CONTEXT, WORKERS
from hub.config import HubConfig
from hub.console import mount_console
from hub.context import HubContext
from hub.jobs import scheduled_jobs
from hub.pipeline import run_once
from hub.runtime import open_context
from node.services.stopping import Stopping

__all__ = ["create_app", "run_workers"]

_log = logging.getLogger("muster.hub")


async def run_workers(ctx: HubContext) -> None:
    """One pipeline worker: claim and process bundles until the hub stops or it is
    cancelled."""
    while not ctx.stopping.is_set():
        # A step runs in a thread, which cannot be cancelled: a cancelled worker waits for
        # its step instead, which ends soon once ``ctx.stopping`` is set (at the next
        # merge chunk), so the store is never closed under a step in progress.
        step = asyncio.ensure_future(asyncio.to_thread(run_once, ctx))
        try:
            busy = await asyncio.shield(step)
        except asyncio.CancelledError:
            ctx.stopping.set()
            with contextlib.suppress(Exception):
                await step
            raise
        except OSError as exc:  # a full disk, a lost connection: no trace, a plain line
            _log.error("pipeline step failed (%s); the bundle is tried again in a minute", exc)
            busy = False
        except Exception:
            _log.exception("pipeline step failed; the bundle is tried again in a minute")
            busy = False
        if not busy:
            await asyncio.sleep(ctx.config.poll_seconds)


def _services(
    config: HubConfig, context: HubContext | None, passphrase: bytes | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def services(app: web.Application) -> AsyncIterator[None]:
        if context is not None:
            # A context passed in (tests) may have been served before, or be a copy
            # (dataclasses.replace) of one that was, sharing its flag, set when that app
            # stopped: this app starts with a flag of its own.
            context.stopping = Stopping()
        ctx: HubContext = (
            context
            if context is not None
            else await asyncio.to_thread(open_context, config, passphrase)
        )
        app[CONTEXT] = ctx
        tasks = [asyncio.create_task(run_workers(ctx)) for _ in range(config.workers)]
        app[WORKERS] = tasks
        try:
            yield
        finally:
            ctx.stopping.set()  # (set already by on_shutdown when the app was served)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if context is None:
                ctx.store.dispose()
            else:
                # A context passed in (tests) outlives the app: it is handed back as a
                # new start would find it, not stopping, so it can still process bundles.
                ctx.stopping = Stopping()

    return services


async def _stopping(app: web.Application) -> None:
    # on_shutdown runs as soon as the server has stopped listening, before aiohttp waits
    # for the requests in flight and before the cleanup waits for the pipeline workers
    # and the scheduled jobs: told now, they give up at their next safe point.
    ctx = app.get(CONTEXT)
    if ctx is not None:
        ctx.stopping.set()


def create_app(
    config: HubConfig, *, context: HubContext | None = None, passphrase: bytes | None = None
) -> web.Application:
    """The hub application. ``context`` is for tests (keys and clock already set up)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1 << 20)
    app.add_routes(routes)
    app.add_routes(admin_routes)
    app.on_shutdown.append(_stopping)
    app.cleanup_ctx.append(_services(config, context, passphrase))
    app.cleanup_ctx.append(scheduled_jobs)
    mount_console(app, config)
    return app
