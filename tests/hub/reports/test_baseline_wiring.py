"""Baseline records at the hub (SQLite and PostgreSQL): a baseline import gives the
expected people per town and category; a baseline person counts as collected only once
a collector has given the record a collection date; an administrator's correction
replaces the baseline's count."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from hub.baseline import BaselineAdmin, import_baseline
from hub.context import HubContext
from hub.reports.storesettings import set_expected
from hub.reports.storesource import StoreSource
from hub.store.report_models import FactsRow
from node.reports import build_report, parse_period
from tests.hub.factory import TODAY, DeltaFactory
from tests.hub.federation.downtree import baseline_rows, write_csv
from tests.hub.helpers import drain, submit
from tests.hub.reports.storedata import ADMIN
from tests.pki import Pki

PERIOD = parse_period("2026-11")


def _import(hub: HubContext, pki: Pki, tmp_path: Path) -> None:
    rows = baseline_rows([("370102001", 4), ("370102002", 2)], seed=8)
    path = write_csv(tmp_path / "baseline.csv", rows)
    admin = pki["admin"]
    import_baseline(hub, path, admin=BaselineAdmin(subject=admin.subject, key=admin.keys.signing),
                    source="国家系统")  # fmt: skip


def test_a_baseline_gives_the_expected_people(hub: HubContext, pki: Pki, tmp_path: Path) -> None:
    _import(hub, pki, tmp_path)
    progress = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY).progress
    town, other, root = (progress.get(c) for c in ("370102001", "370102002", "370102"))
    assert (town.persons.expected, town.persons.collected) == (4, 0)
    assert (other.persons.expected, other.persons.collected) == (2, 0)
    assert (root.persons.expected, root.persons.collected, root.persons.merged) == (6, 0, 0)
    retired = next(c for c in town.categories if c.key == "retired_soldier")
    assert retired.counts.expected == 4
    set_expected(hub, ADMIN, region="370102002", category=None, count=5)
    corrected = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY).progress
    assert corrected.get("370102002").persons.expected == 5
    assert corrected.root.persons.expected == 9


def test_a_baseline_person_counts_once_a_collector_dates_the_record(
    hub: HubContext, pki: Pki, tmp_path: Path, deltas: DeltaFactory
) -> None:
    _import(hub, pki, tmp_path)
    assert StoreSource(hub, today=TODAY).tally().stages == ()
    with hub.store.read() as session:
        record = session.scalars(
            sa.select(FactsRow.record_id).where(FactsRow.region == "370102001").limit(1)
        ).one()
    # The baseline holds no collection date: the collector's first write of the field.
    dated = deltas.set(record, "collect_date", TODAY.isoformat(), ())
    submit(hub, deltas.bundle([dated])[0])
    drain(hub)
    progress = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY).progress
    town = progress.get("370102001")
    assert (town.persons.expected, town.persons.collected, town.persons.merged) == (4, 1, 1)
    assert progress.root.persons.expected == 6
