"""The hub's scheduled jobs: packaging for the parent, syncing with it, and others.

One APScheduler (a background scheduler: jobs run in worker threads, off the event
loop) per hub process with ``jobs = true``. Each job is one call into a tested
function, added with ``max_instances=1`` and ``coalesce=True`` (a late run happens
once, never twice at a time), its first run one interval after start:

- ``package`` (every ``package_interval_seconds``): the ops merged since the last
  package become packages for the parent (:func:`hub.upward.build_packages`); a hub with
  no parent (the province, or not enrolled yet) has nothing to do;
- ``sync`` (every ``sync_interval_seconds``, when ``parent_url`` is set): packages up,
  the parent's down bundles applied and passed on below, receipts posted
  (:func:`hub.upward.sync_with_parent`; each request retried with back-off).

A run that fails makes the job wait before its next run: twice its interval after the
first failure, doubling with each failure in a row, at most
``job_max_backoff_seconds`` (the runs in between are skipped, not queued). Every run is
reported to the console's :class:`~hub.console.jobs.JobBoard` (its status page) and kept
in the store (``hub_state``, key ``job.<name>``) for ``muster hub status`` in another
process: last start and end, last error (a :class:`~crypto.errors.MusterError`'s code
and message, only the class name otherwise), next run, runs and failures.

Other modules add their jobs as :class:`JobSpec` values (name, call, seconds).

When the hub stops, ``ctx.stopping`` is set first: no run starts any more, and a long
job gives up at its next safe point (between two of its transactions, or at the
sync's next HTTP exchange) with :class:`~hub.errors.StoppingError`, recorded as given
up rather than as a failure; :meth:`HubScheduler.shutdown` then waits for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from apscheduler.schedulers.background import BackgroundScheduler

from hub.console.jobs import JobBoard, describe_error
from hub.context import HubContext, get_state, set_state
from hub.errors import StoppingError

__all__ = ["JOB_PREFIX", "HubScheduler", "JobSpec", "JobStatus", "job_status", "record_run"]

_log = logging.getLogger("muster.hub.scheduler")
#: Where a job's last runs are kept: ``hub_state`` key ``job.<name>``.
JOB_PREFIX: Final = "job."


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """A job as the scheduler adds it: its name, the call, and its interval in seconds."""

    name: str
    call: Callable[[], object]
    seconds: float

    @property
    def schedule(self) -> str:
        """How the status page shows the interval."""
        seconds = int(self.seconds)
        return f"every {seconds // 60} min" if seconds % 60 == 0 else f"every {seconds} s"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatus:
    """What the store keeps about a job's runs (for ``muster hub status``)."""

    name: str
    schedule: str = ""
    last_started: str | None = None
    last_finished: str | None = None
    last_error: str | None = None
    next_run: str | None = None
    runs: int = 0
    failures: int = 0
    failing: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "schedule": self.schedule,
                "last_started": self.last_started,
                "last_finished": self.last_finished,
                "last_error": self.last_error,
                "next_run": self.next_run,
                "runs": self.runs,
                "failures": self.failures,
                "failing": self.failing,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, name: str, text: str | None) -> JobStatus:
        data: dict[str, Any] = json.loads(text) if text else {}
        return cls(
            name=name,
            schedule=str(data.get("schedule", "")),
            last_started=data.get("last_started"),
            last_finished=data.get("last_finished"),
            last_error=data.get("last_error"),
            next_run=data.get("next_run"),
            runs=int(data.get("runs", 0)),
            failures=int(data.get("failures", 0)),
            failing=int(data.get("failing", 0)),
        )


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_status(ctx: HubContext, name: str) -> JobStatus:
    """The kept status of one job (empty if it never ran here)."""
    with ctx.store.read() as session:
        return JobStatus.from_json(name, get_state(session, JOB_PREFIX + name))


def _failed(error: BaseException | None) -> bool:
    return error is not None and not isinstance(error, StoppingError)


def record_run(
    ctx: HubContext,
    spec: JobSpec,
    *,
    started: datetime,
    finished: datetime,
    error: BaseException | None,
    next_run: datetime,
) -> JobStatus:
    """Keep a run's outcome in the store; return the job's new status.

    A run given up because the hub was stopping (:class:`~hub.errors.StoppingError`)
    keeps its error as the last one, but is not a failure: the counts stay as they were.
    """
    failed = _failed(error)
    with ctx.store.write() as session:
        key = JOB_PREFIX + spec.name
        before = JobStatus.from_json(spec.name, get_state(session, key))
        after = JobStatus(
            name=spec.name,
            schedule=spec.schedule,
            last_started=_instant(started),
            last_finished=_instant(finished),
            last_error=None if error is None else describe_error(error)[:500],
            next_run=_instant(next_run),
            runs=before.runs + 1,
            failures=before.failures + failed,
            failing=before.failing + 1 if failed else 0 if error is None else before.failing,
        )
        set_state(session, key, after.to_json())
    return after


class HubScheduler:
    """The jobs of one hub process on a background scheduler (see the module docstring).

    Args:
        ctx: the hub's services.
        board: where runs are reported (the console's status page).
        specs: the jobs.
        monotonic: the clock back-off is measured on (tests pass their own).
    """

    def __init__(
        self,
        ctx: HubContext,
        board: JobBoard,
        specs: Sequence[JobSpec],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx, self._board, self._monotonic = ctx, board, monotonic
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}
        self._failing: dict[str, int] = {}
        self.specs = tuple(specs)
        for spec in self.specs:
            board.register(spec.name, spec.schedule)
            self._scheduler.add_job(
                self.run,
                "interval",
                args=[spec],
                seconds=spec.seconds,
                id=spec.name,
                next_run_time=datetime.now(UTC) + timedelta(seconds=spec.seconds),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    @property
    def scheduler(self) -> BackgroundScheduler:
        return self._scheduler

    def backoff(self, spec: JobSpec, failing: int) -> float:
        """Seconds to wait after ``failing`` failures in a row (0 when it succeeded)."""
        if failing == 0:
            return 0.0
        ceiling = float(self._ctx.config.job_max_backoff_seconds)
        return min(ceiling, spec.seconds * 2.0**failing)

    def run(self, spec: JobSpec) -> bool:
        """One scheduled run: skipped while backing off; never raises into the scheduler.

        Returns whether the job ran.
        """
        if self._ctx.stopping.is_set():
            return False  # a run due while the hub stops would only be given up
        with self._lock:
            if self._monotonic() < self._not_before.get(spec.name, 0.0):
                return False
        started = self._ctx.now()
        error: BaseException | None = None
        try:
            with self._board.run(spec.name, self._ctx.now):
                spec.call()
        except StoppingError as exc:
            error = exc
            _log.info("job %s given up: %s", spec.name, exc.message)
        # A scheduled job never raises into the scheduler: the board, the store and the
        # log say why it failed.
        except Exception as exc:
            error = exc
            _log.warning("job %s failed: %s", spec.name, describe_error(exc))
        with self._lock:
            before = self._failing.get(spec.name, 0)
            failing = before + 1 if _failed(error) else 0 if error is None else before
            self._failing[spec.name] = failing
            wait = self.backoff(spec, failing)
            self._not_before[spec.name] = self._monotonic() + wait
        finished = self._ctx.now()
        next_run = finished + timedelta(seconds=max(wait, spec.seconds))
        try:
            record_run(
                self._ctx, spec, started=started, finished=finished, error=error, next_run=next_run
            )
        except Exception as exc:  # the store may be what failed: the board still has it
            _log.warning("job %s: could not keep its status: %s", spec.name, describe_error(exc))
        return True

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop the schedule and wait for a job that is running (tell it to stop first:
        ``ctx.stopping``), so that none outlives the store it writes to."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
