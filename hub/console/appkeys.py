"""The console's own typed app keys (the kit's are in :mod:`node.web.kit.appkeys`)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from hub.console.jobs import JobBoard
from hub.context import HubContext

__all__ = ["CONTEXT_SOURCE", "JOB_BOARD", "ContextSource"]

#: Returns the hub's services; the root app builds them at start-up, after the
#: console is mounted, so the console asks for them on each request.
ContextSource = Callable[[], HubContext]

CONTEXT_SOURCE: web.AppKey[ContextSource] = web.AppKey("muster_console_context")
#: Where scheduled jobs report their runs (the status page reads it).
JOB_BOARD = web.AppKey("muster_console_job_board", JobBoard)
