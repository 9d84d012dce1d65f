"""The status page: the pipeline's workers and queue, and the scheduled jobs."""

from __future__ import annotations

from aiohttp import web

from hub.appkeys import WORKERS
from hub.console.appkeys import JOB_BOARD
from hub.console.auth import account_of
from hub.console.display import page
from hub.console.pages.common import call, context, permission
from hub.console.statusview import pipeline_status, worker_tasks

__all__ = ["add_routes"]


@permission("read_bundles")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /status``."""
    ctx = context(request)
    pipeline = await call(pipeline_status, ctx, account_of(request))
    workers = worker_tasks(ctx.config.workers, request.config_dict.get(WORKERS))
    jobs = request.config_dict[JOB_BOARD].snapshot()
    return page(
        request,
        "console/status.html",
        {"pipeline": pipeline, "workers": workers, "jobs": jobs},
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/status", show, name="status")
