"""Scheduled jobs as the status page shows them: a board every job reports its runs to.

A job (a scheduler callback, a federation sync) wraps each run in
:meth:`JobBoard.run`; the board keeps, per job, when it last started and
finished, whether it failed and why (an error code and its one-line message for
a :class:`~crypto.errors.MusterError`, only the exception's class otherwise, so
that no personal data reaches the page), and how many runs and failures it has
had. The board is in memory, per process, and thread-safe (jobs run in worker
threads).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from crypto.errors import MusterError, UsageError

__all__ = ["JobBoard", "JobRun", "describe_error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRun:
    """What the board knows about one job.

    Attributes:
        name: the job's name (a catalog key ``job.<name>`` labels it, if present).
        schedule: how often it runs, as the scheduler was told (``every 60 s``).
        last_started: when its last run began, or None if it never ran.
        last_finished: when its last run ended, or None while the first run goes on.
        last_error: why the last run failed, or None if it succeeded.
        runs: runs finished since the process started.
        failures: of those, runs that failed.
        running: a run is going on now.
    """

    name: str
    schedule: str = ""
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0
    running: bool = False

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise UsageError("job name: expected 1 to 64 characters")


def describe_error(error: BaseException) -> str:
    """An error as the status page may show it: code and message, or the class name only."""
    if isinstance(error, MusterError):
        return f"{error.code}: {error.message}"
    return type(error).__name__


class JobBoard:
    """The runs of every job of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, JobRun] = {}

    def register(self, name: str, schedule: str = "") -> None:
        """Make a job known before its first run (so the page lists it as not run yet)."""
        with self._lock:
            current = self._jobs.get(name)
            self._jobs[name] = (
                JobRun(name=name, schedule=schedule)
                if current is None
                else replace(current, schedule=schedule)
            )

    def started(self, name: str, at: datetime) -> None:
        """Record that a run of ``name`` began at ``at``."""
        with self._lock:
            current = self._jobs.get(name) or JobRun(name=name)
            self._jobs[name] = replace(current, last_started=at, running=True)

    def finished(self, name: str, at: datetime, error: BaseException | None = None) -> None:
        """Record that the run of ``name`` ended at ``at``, failed with ``error`` if given."""
        with self._lock:
            current = self._jobs.get(name) or JobRun(name=name)
            self._jobs[name] = replace(
                current,
                last_finished=at,
                last_error=None if error is None else describe_error(error),
                runs=current.runs + 1,
                failures=current.failures + (error is not None),
                running=False,
            )

    @contextlib.contextmanager
    def run(self, name: str, clock: Callable[[], datetime]) -> Iterator[None]:
        """Report the run inside the ``with`` block (an exception is recorded and re-raised)."""
        self.started(name, clock())
        try:
            yield
        except BaseException as exc:
            self.finished(name, clock(), exc)
            raise
        self.finished(name, clock())

    def snapshot(self) -> tuple[JobRun, ...]:
        """Every job, by name."""
        with self._lock:
            return tuple(self._jobs[name] for name in sorted(self._jobs))
