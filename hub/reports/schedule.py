"""The reports' scheduled jobs (run by hub/scheduler.py, listed in hub/jobs.py).

``report_facts``, every minute: :func:`~hub.reports.storefacts.refresh_facts`
follows the merges, so a dashboard opened after a large merge finds the facts
ready (an idle run is one query).

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
from hub.reports.storefacts import refresh_facts
from hub.scheduler import JobSpec

__all__ = ["FACTS_JOB", "FACTS_SECONDS", "SNAPSHOT_JOB", "report_jobs"]

#: The jobs' names (their labels on the status page are ``job.<name>``).
SNAPSHOT_JOB: Final = "report_snapshot"
FACTS_JOB: Final = "report_facts"
#: How often the facts follow the merges.
FACTS_SECONDS: Final = 60


def report_jobs(ctx: HubContext) -> list[JobSpec]:
    """The reports' jobs: today's snapshot, and the facts following the merges."""
    return [
        JobSpec(
            name=SNAPSHOT_JOB,
            call=lambda: run_snapshot(ctx),
            seconds=ctx.config.report_snapshot_minutes * 60,
        ),
        JobSpec(name=FACTS_JOB, call=lambda: refresh_facts(ctx), seconds=FACTS_SECONDS),
    ]
