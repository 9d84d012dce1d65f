"""The reports' scheduled job (run by hub/scheduler.py, listed in hub/jobs.py).

``report_snapshot``, every ``report_snapshot_minutes``: one call into
:func:`~hub.reports.service.run_snapshot`, which brings the facts up to date
(with the full count check), takes today's figures and keeps them as today's
snapshot. Each run replaces the day's snapshot, so a day keeps its last figures
and a hub that was off at midnight still has one for every day it ran: the
progress-over-time chart reads them. The scheduler adds ``max_instances=1`` and
``coalesce=True``, the back-off after failures and the job board.
"""

from __future__ import annotations

from typing import Final

from hub.context import HubContext
from hub.reports.service import run_snapshot
from hub.scheduler import JobSpec

__all__ = ["SNAPSHOT_JOB", "report_jobs"]

#: The job's name (its label on the status page is ``job.report_snapshot``).
SNAPSHOT_JOB: Final = "report_snapshot"


def report_jobs(ctx: HubContext) -> list[JobSpec]:
    """The reports' jobs: today's snapshot, every ``report_snapshot_minutes``."""
    return [
        JobSpec(
            name=SNAPSHOT_JOB,
            call=lambda: run_snapshot(ctx),
            seconds=ctx.config.report_snapshot_minutes * 60,
        )
    ]
