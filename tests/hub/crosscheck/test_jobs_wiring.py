"""The cross-check's scheduled re-check: listed among the hub's jobs, run by its scheduler, and
what one run does (a merged fix closes its finding; what is open and unsent goes down)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import sqlalchemy as sa

from hub.console.jobs import JobBoard
from hub.context import HubContext
from hub.crosscheck.jobs import RECHECK_JOB, crosscheck_jobs
from hub.crosscheck.service import import_file, run_check
from hub.crosscheck.settings import CrosscheckConfig
from hub.jobs import job_specs
from hub.scheduler import HubScheduler
from hub.store.crosscheck_models import FindingRow
from tests.hub.crosscheck.wiring import (
    ADMIN,
    by_subject,
    heads,
    household_mapping,
    merge_records,
    write_register,
)
from tests.hub.factory import DeltaFactory
from tests.hub.helpers import drain, submit

_DEADLINE = 60.0


def _states(hub: HubContext) -> dict[str, tuple[str, str | None]]:
    with hub.store.read() as session:
        return {
            r.finding_id: (r.state, r.resolution) for r in session.scalars(sa.select(FindingRow))
        }


def test_one_run_closes_a_merged_fix_and_sends_what_waits(
    hub: HubContext, deltas: DeltaFactory, tmp_path: Path
) -> None:
    merge_records(hub, deltas, 6)
    register = write_register(hub, tmp_path / "household.csv")
    dataset = import_file(hub, register.path, mapping=household_mapping(), by=ADMIN)
    run_check(hub, dataset.dataset_id, by=ADMIN)
    rid, field = register.planted.disagreements[1]
    target = by_subject(hub)[(rid, field, "value_mismatch")]
    fix = deltas.set(rid, field, target.body["proposed"], heads(hub, rid, field))
    submit(hub, deltas.bundle([fix])[0])
    drain(hub)
    specs = {spec.name: spec for spec in job_specs(hub)}
    run = specs[RECHECK_JOB].call()
    assert (run.checked, run.closed, run.sent) == (5, 1, 4)  # type: ignore[attr-defined]
    assert _states(hub)[target.finding_id] == ("closed", "fixed")
    again = specs[RECHECK_JOB].call()
    assert (again.checked, again.closed, again.sent) == (4, 0, 0)  # type: ignore[attr-defined]


def test_no_job_when_re_checks_are_by_hand_only(hub: HubContext) -> None:
    by_hand = dataclasses.replace(hub, config=dataclasses.replace(
        hub.config, crosscheck=CrosscheckConfig(recheck_minutes=0)))  # fmt: skip
    assert crosscheck_jobs(by_hand) == []
    assert RECHECK_JOB not in {spec.name for spec in job_specs(by_hand)}
    assert [s.seconds for s in crosscheck_jobs(hub)] == [3600]


def test_the_hub_s_scheduler_runs_it_on_its_interval(hub: HubContext) -> None:
    [spec] = crosscheck_jobs(hub)
    board = JobBoard()
    scheduler = HubScheduler(hub, board, [dataclasses.replace(spec, seconds=0.05)])
    scheduler.start()
    try:
        deadline = time.monotonic() + _DEADLINE
        while not any(r.runs >= 2 for r in board.snapshot()) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.shutdown()
    (run,) = board.snapshot()
    assert (run.name, run.failures, run.last_error) == (RECHECK_JOB, 0, None)
    assert run.runs >= 2
