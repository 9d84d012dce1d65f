"""Telling the node's long waits that the agent is stopping.

``muster node run`` is stopped by SIGTERM (systemd) or Ctrl-C. Most of what it does is
short and atomic, one transaction, and is simply let finish. Two things are not short: a
card read waiting for someone to put a card on the reader (up to the UI's card timeout)
and a sync with a hub that does not answer (timeouts and back-off, minutes). Both run in
worker threads, which the interpreter joins before it exits, so without being told they
held the process that long. :class:`Stopping` is the flag they are told by: the card
wait checks it between polls, and a sync is cancelled at its next ``await`` (an HTTP
exchange or a back-off), never inside one of its transactions, which have no ``await``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

__all__ = ["Stopping", "unless_stopping"]

T = TypeVar("T")


class Stopping:
    """A one-way flag, set once the agent begins to stop, with callbacks for waits that
    cannot poll it (an event loop in another thread)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        """Begin stopping: every registered callback is called once, in this thread."""
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as stopping has begun."""
        return self._event.wait(seconds)

    @contextmanager
    def on_set(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` if stopping begins while the block runs (at once if it has)."""
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._callbacks.append(callback)
        if already:
            callback()
        try:
            yield
        finally:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)


async def unless_stopping(
    stopping: Stopping, work: Awaitable[T], given_up: Callable[[], Exception]
) -> T:
    """Await ``work`` in this thread's loop, cancelled if stopping begins meanwhile.

    A sync with a parent that does not answer waits minutes (HTTP timeouts, back-off),
    and its thread holds the process that long at exit. It is cancelled at its next
    ``await``, an HTTP exchange or a back-off, never inside one of its transactions,
    which have none: each is whole or absent, and a bundle sent without its receipt is
    sent again next time (the parent answers with the receipt it gave).

    Raises:
        the exception ``given_up()`` makes, when the work was cancelled for stopping.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)

    def interrupt() -> None:
        # Called in the thread that stops the process; a loop closed already has
        # nothing left to cancel.
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(task.cancel)

    with stopping.on_set(interrupt):
        try:
            return await task
        except asyncio.CancelledError:
            if not (task.cancelled() and stopping.is_set()):
                raise
    raise given_up()
