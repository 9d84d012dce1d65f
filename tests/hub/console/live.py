"""The hub's app on a real port, on its own event loop in a thread (for Playwright's
synchronous API, which must not share the test's loop)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from aiohttp import web

__all__ = ["serve"]

_START_TIMEOUT: Final = 30.0


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) until the block ends; yield its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    # The site listens on the very socket the kernel gave a free port to. (Closing it
    # and binding the port again left a gap in which an outgoing connection, which
    # takes its port from the same ephemeral range, could take it.)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, listener).start()

    thread = threading.Thread(target=loop.run_forever, name="live-hub", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(_START_TIMEOUT)
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(_START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_START_TIMEOUT)
        loop.close()
        listener.close()
