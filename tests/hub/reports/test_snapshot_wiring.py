"""The daily snapshot job on SQLite and PostgreSQL: its one call keeps today's figures
(the day's last run wins), the hub's scheduler runs it on its interval (driven here with
a short one; nothing is asserted about time), and the report plots the kept days."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from hub.console.jobs import JobBoard
from hub.context import HubContext
from hub.jobs import job_specs
from hub.reports.schedule import FACTS_JOB, SNAPSHOT_JOB, report_jobs
from hub.reports.storesource import StoreSource
from hub.scheduler import HubScheduler, JobSpec, job_status
from hub.store.report_models import FactsRow, SnapshotStoreRow
from node.reports import Snapshot, build_report, parse_period
from tests.hub.factory import TODAY
from tests.hub.reports.storedata import Loaded

PERIOD = parse_period("2026-11")
#: How long the scheduler may take to run the job twice (a deadline, not a measurement).
_DEADLINE = 60.0


def _kept(hub: HubContext) -> list[Snapshot]:
    with hub.store.read() as session:
        bodies = session.scalars(sa.select(SnapshotStoreRow.body).order_by(SnapshotStoreRow.day))
        return [Snapshot.from_json(body) for body in bodies]


def _snapshot_job(hub: HubContext) -> JobSpec:
    return next(s for s in report_jobs(hub) if s.name == SNAPSHOT_JOB)


def test_the_job_keeps_today_s_figures_once_a_day(hub: HubContext, loaded: Loaded) -> None:
    spec = _snapshot_job(hub)
    assert spec.seconds == 3600
    spec.call()
    spec.call()
    (snapshot,) = _kept(hub)
    assert (snapshot.day, snapshot.root) == (TODAY, "370102")
    root = snapshot.row("370102")
    assert root is not None
    # storedata.py: 14 expected, 7 collected and authorised, 6 merged.
    assert (root.counts.expected, root.counts.collected, root.counts.merged) == (14, 7, 6)
    town = snapshot.row("370102001")
    assert town is not None
    assert (town.counts.collected, town.missing) == (5, 2)
    assert snapshot.open_items == (1, 0, 0, 1)


def test_the_report_plots_the_kept_days_and_today(hub: HubContext, loaded: Loaded) -> None:
    spec = _snapshot_job(hub)
    earlier = replace(hub, now=lambda: datetime(2026, 11, 20, 12, tzinfo=UTC))
    _snapshot_job(earlier).call()
    spec.call()
    report = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY)
    assert [p.day for p in report.timeline] == [TODAY - timedelta(days=9), TODAY]
    assert report.timeline[-1].counts.collected == 7


def test_the_hub_s_scheduler_runs_the_job_on_its_interval(hub: HubContext, loaded: Loaded) -> None:
    specs = {s.name: s for s in job_specs(hub)}
    assert SNAPSHOT_JOB in specs
    board = JobBoard()
    scheduler = HubScheduler(hub, board, [replace(specs[SNAPSHOT_JOB], seconds=0.05)])
    scheduler.start()
    try:
        deadline = time.monotonic() + _DEADLINE
        while not any(r.runs >= 2 for r in board.snapshot()) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.shutdown()
    (run,) = board.snapshot()
    assert run.name == SNAPSHOT_JOB
    assert run.runs >= 2
    assert (run.failures, run.last_error) == (0, None)
    assert job_status(hub, SNAPSHOT_JOB).runs >= 2
    assert len(_kept(hub)) == 1


def test_the_facts_job_follows_the_merges(hub: HubContext, loaded: Loaded) -> None:
    facts = next(s for s in report_jobs(hub) if s.name == FACTS_JOB)
    assert facts.seconds == 60
    facts.call()
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(FactsRow)) == 7
