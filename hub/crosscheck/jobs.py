"""The cross-check's scheduled job (hub/scheduler.py runs it; hub/jobs.py lists it).

``crosscheck_recheck`` (every ``[crosscheck] recheck_minutes``; none when 0): imports
whose process died are swept away, this hub's open and answered findings are
re-checked against the newest dataset of their source and the records as they now
are (a merged fix closes its finding), and the open findings not sent yet (new ones
reopened after a fix, or whose answer was rejected) go down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from hub.context import HubContext
from hub.crosscheck.dispatch import send_problems
from hub.crosscheck.fixloop import recheck_findings
from hub.crosscheck.storedatasets import sweep_abandoned
from hub.scheduler import JobSpec

__all__ = ["RECHECK_JOB", "RecheckRun", "crosscheck_jobs", "recheck_job"]

RECHECK_JOB: Final = "crosscheck_recheck"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecheckRun:
    """What one run did: imports swept, findings re-checked and closed, findings sent, and
    closures sent (of findings closed after they went down)."""

    swept: int
    checked: int
    closed: int
    sent: int
    closures: int = 0


def recheck_job(ctx: HubContext) -> RecheckRun:
    """One run of the job (a call the scheduler makes in a worker thread)."""
    stale = timedelta(minutes=ctx.config.crosscheck.abandoned_import_minutes)
    swept = sweep_abandoned(ctx.store, now=ctx.now(), older_than=stale)
    summary = recheck_findings(ctx, by="system")
    sent = send_problems(ctx, by="system")
    return RecheckRun(swept=len(swept), checked=summary.checked, closed=summary.closed,
                      sent=sent.sent, closures=sent.closures)  # fmt: skip


def crosscheck_jobs(ctx: HubContext) -> list[JobSpec]:
    """The re-check job, unless ``recheck_minutes`` is 0."""
    minutes = ctx.config.crosscheck.recheck_minutes
    if minutes <= 0:
        return []
    return [JobSpec(name=RECHECK_JOB, call=lambda: recheck_job(ctx), seconds=minutes * 60)]
