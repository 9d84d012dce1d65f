"""Typed keys of the hub's aiohttp application (all in one place)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.context import HubContext

__all__ = ["CONTEXT", "WORKERS"]

#: The process's services.
CONTEXT: web.AppKey[HubContext] = web.AppKey("hub_context", HubContext)
#: The pipeline worker tasks (verify, stage, merge).
WORKERS: web.AppKey[list[asyncio.Task[None]]] = web.AppKey("hub_workers", list)
