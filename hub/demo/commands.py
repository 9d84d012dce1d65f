"""Running ``muster …`` set-up commands the way an operator types them.

``muster hub init``, ``muster node enroll --online`` and the others run in this process
through the same parser and code as the shell (``node.cli.main.main``), in a worker
thread, so the demo does not pay an interpreter start and every import for each of
some seventy commands. They run one at a time, in one worker thread, in the order they
were asked for: most open a store and migrate it, and alembic's ``context`` is one
global per process. Their output goes to the log of the site they set up, and each
command line is appended to ``commands.log`` as it starts: the transcript of what an
operator would have typed to build the same province by hand.

Commands wait for their turn on the event loop, not in the worker's queue: a command
whose caller is cancelled while it waits never starts, and after
:meth:`CommandRunner.close` (the demo's Ctrl-C) none does. The one already running
cannot be interrupted in its thread; the next waits until it has ended, and leaving the
runner waits for it too, so its output still goes to its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import shlex
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from hub.demo.errors import DemoProcessError
from hub.demo.layout import DemoLayout
from node.cli.main import main

__all__ = ["CommandRunner"]


class _ThreadRoutedStream(io.TextIOBase):
    """A ``sys.stdout`` stand-in that sends each thread's writes to that thread's sink."""

    def __init__(self, fallback: TextIO) -> None:
        super().__init__()
        self._fallback = fallback
        self._local = threading.local()

    def route(self, sink: io.StringIO | None) -> None:
        self._local.sink = sink

    def write(self, text: str) -> int:
        sink: io.StringIO | None = getattr(self._local, "sink", None)
        return (sink or self._fallback).write(text)

    def flush(self) -> None:
        sink: io.StringIO | None = getattr(self._local, "sink", None)
        (sink or self._fallback).flush()

    def isatty(self) -> bool:
        # Commands must never prompt: passphrases and passwords come from files.
        return False


class _NotStartedError(Exception):
    """A command the closed runner did not start (raised in the worker, never escapes)."""


class CommandRunner:
    """Runs ``muster`` commands in a worker thread (``async with``: it routes output)."""

    def __init__(self, layout: DemoLayout) -> None:
        self._layout = layout
        self._lock = threading.Lock()
        #: Held from a command's turn until its thread has ended, cancelled caller or not.
        self._turn = asyncio.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="muster-command")
        self._current: Future[tuple[int, str]] | None = None
        self._closed = False
        self._stdout: _ThreadRoutedStream | None = None
        self._stderr: _ThreadRoutedStream | None = None
        self._handlers: list[logging.StreamHandler[Any]] = []
        #: Commands started (each in ``commands.log``), and commands that ended.
        self.started = 0
        self.count = 0

    async def __aenter__(self) -> CommandRunner:
        self._stdout = _ThreadRoutedStream(sys.stdout)
        self._stderr = _ThreadRoutedStream(sys.stderr)
        # A command's log lines too: ``main`` set the logging up on the real stderr.
        self._handlers = [
            h
            for h in logging.getLogger().handlers
            if type(h) is logging.StreamHandler and h.stream is sys.stderr
        ]
        for handler in self._handlers:
            handler.setStream(self._stderr)
        sys.stdout, sys.stderr = self._stdout, self._stderr
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
        try:
            if self._current is not None and not self._current.done():
                # The running command cannot be stopped; its output still goes to its log.
                ended = asyncio.wrap_future(self._current)
                await asyncio.wait([ended])
                if not ended.cancelled():
                    ended.exception()  # its caller has gone: read, so asyncio says nothing
        finally:
            if self._stdout is not None and self._stderr is not None:
                sys.stdout, sys.stderr = self._stdout._fallback, self._stderr._fallback
                for handler in self._handlers:
                    handler.setStream(self._stderr._fallback)
            self._stdout = self._stderr = None
            self._worker.shutdown(wait=False)

    def close(self) -> int:
        """Start no further command. Returns how many started.

        Safe to call from a signal handler on the event loop, and more than once.
        """
        with self._lock:
            self._closed = True
            return self.started

    def _begin(self, argv: Sequence[str]) -> None:
        """Count and transcribe a command about to start, unless the runner is closed."""
        with self._lock:
            if self._closed:
                raise _NotStartedError
            self.started += 1
            with self._layout.commands_log.open("a", encoding="utf-8") as log:
                log.write(f"muster {shlex.join(argv)}\n")

    def _call(self, argv: Sequence[str], log: Path) -> tuple[int, str]:
        self._begin(argv)
        out = io.StringIO()
        for stream in (self._stdout, self._stderr):
            if stream is not None:
                stream.route(out)
        try:
            code = main(list(argv))
        finally:
            for stream in (self._stdout, self._stderr):
                if stream is not None:
                    stream.route(None)
        text = out.getvalue()
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        with self._lock, log.open("a", encoding="utf-8") as sink:
            sink.write(f"[{stamp}] $ muster {shlex.join(argv)}\n{text}")
        return code, text

    async def _start(self, argv: Sequence[str], log: Path) -> Future[tuple[int, str]]:
        """Wait for the turn, then hand the command to the worker (or raise if closed)."""
        await self._turn.acquire()
        if self._closed:
            self._turn.release()
            raise asyncio.CancelledError
        loop = asyncio.get_running_loop()

        def next_turn(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has gone (a forced exit)
                loop.call_soon_threadsafe(self._turn.release)

        try:
            future = self._worker.submit(self._call, argv, log)
        except BaseException:
            self._turn.release()
            raise
        self._current = future
        future.add_done_callback(next_turn)
        return future

    async def run(self, argv: Sequence[str], *, log_name: str, ok: Sequence[int] = (0,)) -> str:
        """Run one command once those asked for before it have ended; return its output.

        Raises:
            DemoProcessError: it exited with a status other than those in ``ok``.
            asyncio.CancelledError: the runner was closed before the command started.
        """
        if self._stdout is None:
            raise DemoProcessError("commands run only inside `async with CommandRunner(...)`")
        log = self._layout.log(log_name)
        log.parent.mkdir(parents=True, exist_ok=True)
        future = await self._start(argv, log)
        try:
            code, text = await asyncio.wrap_future(future)
        except _NotStartedError:
            raise asyncio.CancelledError from None
        self.count += 1
        if code not in ok:
            errors = [line for line in text.splitlines() if line.startswith("muster: error")]
            said = errors[-1] if errors else f"exit status {code}"
            raise DemoProcessError(
                f"`muster {' '.join(argv[:2])}` for {log_name} failed: {said}", log=log
            )
        return text
