"""The status page: the hub's pipeline and its scheduled jobs.

The pipeline is the hub's own work (verify, stage, merge), run by worker tasks in
each hub process: the page shows how many run here, what waits for them, what is
claimed now and by which process, and the latest merge and failure. Scheduled
jobs (federation sync, snapshots…) report to a :class:`~hub.console.jobs.JobBoard`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hub.accounts import AccountInfo, require
from hub.claims import WORK_STATES
from hub.context import HubContext
from hub.store.models import AuditRow, BundleRow, DownBundle

__all__ = ["Claimed", "PipelineStatus", "WorkerTasks", "pipeline_status", "worker_tasks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerTasks:
    """This process's pipeline tasks: configured, running, stopped with an error."""

    configured: int
    running: int
    failed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    row: int
    state: str
    worker: str
    lease_until: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineStatus:
    waiting: tuple[tuple[str, int], ...]
    oldest_waiting: datetime | None
    claimed: tuple[Claimed, ...]
    staged: int
    last_merged: datetime | None
    last_failure: datetime | None
    down_queued: int


def worker_tasks(configured: int, tasks: Sequence[asyncio.Task[None]] | None) -> WorkerTasks:
    """Count the worker tasks that run and those that stopped with an error."""
    tasks = tasks or ()
    failed = sum(1 for t in tasks if t.done() and not t.cancelled() and t.exception() is not None)
    return WorkerTasks(
        configured=configured, running=sum(1 for t in tasks if not t.done()), failed=failed
    )


def pipeline_status(ctx: HubContext, account: AccountInfo) -> PipelineStatus:
    """What waits for the pipeline, what is being worked on, and the latest results.

    Raises:
        ForbiddenError: the account may not read bundles.
    """
    require(account, "read_bundles")
    work = [s.value for s in WORK_STATES]
    with ctx.store.read() as session:
        waiting = dict(
            session.execute(
                sa.select(BundleRow.state, sa.func.count())
                .where(BundleRow.state.in_(work))
                .group_by(BundleRow.state)
            ).all()
        )
        oldest = session.scalar(
            sa.select(sa.func.min(BundleRow.received_at)).where(BundleRow.state.in_(work))
        )
        claimed = session.execute(
            sa.select(BundleRow.id, BundleRow.state, BundleRow.claimed_by, BundleRow.lease_until)
            .where(BundleRow.claimed_by.is_not(None))
            .order_by(BundleRow.id)
            .limit(50)
        ).all()
        staged = session.scalar(
            sa.select(sa.func.count()).select_from(BundleRow).where(BundleRow.state == "staged")
        )
        last_merged = session.scalar(sa.select(sa.func.max(BundleRow.merged_at)))
        failed_seq = session.scalar(
            sa.select(sa.func.max(AuditRow.seq)).where(AuditRow.action == "bundle.failed")
        )
        failed_at = (
            session.scalar(sa.select(AuditRow.at).where(AuditRow.seq == failed_seq))
            if failed_seq is not None
            else None
        )
        down = session.scalar(
            sa.select(sa.func.count()).select_from(DownBundle).where(DownBundle.state == "queued")
        )
    return PipelineStatus(
        waiting=tuple((s, int(waiting.get(s, 0))) for s in work),
        oldest_waiting=oldest,
        claimed=tuple(
            Claimed(row=r, state=s, worker=w or "", lease_until=lease) for r, s, w, lease in claimed
        ),
        staged=int(staged or 0),
        last_merged=last_merged,
        last_failure=datetime.fromisoformat(failed_at) if failed_at else None,
        down_queued=int(down or 0),
    )
