"""Running ``muster …`` set-up commands the way an operator types them.

``muster hub init``, ``muster node enroll --online`` and the others run in this process
through the same parser and code as the shell (``node.cli.main.main``), in a worker
thread, so the demo does not pay an interpreter start and every import for each of
some seventy commands. They run one at a time: most open a store and migrate it, and
alembic's ``context`` is one global per process. Their output goes to the log of the
site they set up, and each command line is appended to ``commands.log``: the transcript
of what an operator would have typed to build the same province by hand.
"""

from __future__ import annotations

import asyncio
import io
import shlex
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TextIO

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


class CommandRunner:
    """Runs ``muster`` commands in worker threads (a context manager: it routes output)."""

    def __init__(self, layout: DemoLayout) -> None:
        self._layout = layout
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()
        self._stdout: _ThreadRoutedStream | None = None
        self._stderr: _ThreadRoutedStream | None = None
        self.count = 0

    def __enter__(self) -> CommandRunner:
        self._stdout = _ThreadRoutedStream(sys.stdout)
        self._stderr = _ThreadRoutedStream(sys.stderr)
        sys.stdout, sys.stderr = self._stdout, self._stderr
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._stdout is not None and self._stderr is not None:
            sys.stdout, sys.stderr = self._stdout._fallback, self._stderr._fallback
        self._stdout = self._stderr = None

    def _transcript(self, argv: Sequence[str]) -> None:
        line = f"muster {shlex.join(argv)}\n"
        with self._lock, self._layout.commands_log.open("a", encoding="utf-8") as log:
            log.write(line)

    def _call(self, argv: Sequence[str], log: Path) -> tuple[int, str]:
        out = io.StringIO()
        for stream in (self._stdout, self._stderr):
            if stream is not None:
                stream.route(out)
        try:
            with self._one_at_a_time:
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

    async def run(self, argv: Sequence[str], *, log_name: str, ok: Sequence[int] = (0,)) -> str:
        """Run one command; return what it printed.

        Raises:
            DemoProcessError: it exited with a status other than those in ``ok``.
        """
        if self._stdout is None:
            raise DemoProcessError("commands run only inside `with CommandRunner(...)`")
        self._transcript(argv)
        log = self._layout.log(log_name)
        log.parent.mkdir(parents=True, exist_ok=True)
        code, text = await asyncio.to_thread(self._call, argv, log)
        self.count += 1
        if code not in ok:
            errors = [line for line in text.splitlines() if line.startswith("muster: error")]
            said = errors[-1] if errors else f"exit status {code}"
            raise DemoProcessError(
                f"`muster {' '.join(argv[:2])}` for {log_name} failed: {said}", log=log
            )
        return text
