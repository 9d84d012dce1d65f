"""The hub store as a report source, on SQLite and PostgreSQL: figures of a campaign loaded
through the real pipeline (tests/hub/reports/storedata.py works them out by hand), the
facts table against the pure definition, scopes, baseline records and the cross-check's
verified people."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.context import HubContext, get_state
from hub.crosscheck.service import import_file, run_check
from hub.reports.storefacts import CURSOR_KEY, SCHEMA_KEY, refresh_facts
from hub.reports.storesource import StoreSource
from hub.store.models import OpBatch, RecordRow
from hub.store.report_models import FactsRow
from node.reports import (
    ItemState,
    QualityKind,
    Stage,
    compute_quality,
    parse_period,
    record_facts,
    tally_records,
)
from node.reports.report import build_report
from protocol.ops import STATUS_LIVE
from tests.hub.crosscheck.wiring import ADMIN as XC_ADMIN
from tests.hub.crosscheck.wiring import household_mapping, write_register
from tests.hub.factory import TODAY, DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.hub.reports.storedata import Loaded, values_of

PERIOD = parse_period("2026-11")


def _live(hub: HubContext) -> list[tuple[str, dict[str, object]]]:
    with hub.store.read() as session:
        return [
            (rid, dict(data))
            for rid, data in session.execute(
                sa.select(RecordRow.record_id, RecordRow.data).where(
                    RecordRow.status == STATUS_LIVE
                )
            )
        ]


def test_progress_matches_the_hand_computed_figures(hub: HubContext, loaded: Loaded) -> None:
    report = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY)
    progress = report.progress
    town, other, root = (progress.get(c) for c in ("370102001", "370102002", "370102"))
    assert town.persons.expected == 10
    assert (town.persons.collected, town.persons.authorised) == (5, 5)
    assert (town.persons.merged, town.persons.verified) == (4, 0)
    assert town.persons.progress == pytest.approx(0.5)
    assert town.rate == pytest.approx(3 / 7)
    retired = next(c for c in town.categories if c.key == "retired_soldier")
    assert (retired.counts.expected, retired.counts.collected) == (6, 3)
    assert (other.persons.expected, other.persons.collected, other.persons.merged) == (4, 2, 2)
    assert other.rate == pytest.approx(1 / 7)
    assert (root.persons.expected, root.persons.collected, root.persons.merged) == (14, 7, 6)
    assert root.rate == pytest.approx(4 / 7)
    assert progress.outside.collected == 1
    assert report.new_in_period == 6


def test_completeness_counts_the_blank_phones(hub: HubContext, loaded: Loaded) -> None:
    source = StoreSource(hub, today=TODAY)
    phone = {f.region: (f.required, f.missing) for f in source.tally().fields if f.field == "phone"}
    assert phone["370102001"] == (4, 2)
    assert phone["370102002"] == (2, 0)
    report = build_report(source, PERIOD, "", today=TODAY)
    by_field = {f.field: f for f in report.completeness.fields}
    assert (by_field["phone"].required, by_field["phone"].missing) == (6, 2)
    regions = {r.code: r for r in report.completeness.regions}
    assert (regions["370102002"].missing, regions["370102001"].missing) == (0, 2)


def test_the_facts_agree_with_the_pure_definition(hub: HubContext, loaded: Loaded) -> None:
    facts = [record_facts(values, hub.schema, stage=Stage.MERGED) for _, values in _live(hub)]
    expected = tally_records(facts)
    tally = StoreSource(hub, today=TODAY).tally()
    assert sorted(tally.fields, key=repr) == sorted(expected.fields, key=repr)
    assert sorted(tally.days, key=repr) == sorted(expected.days, key=repr)
    merged = [s for s in tally.stages if s.stage is Stage.MERGED]
    assert sorted(merged, key=repr) == sorted(expected.stages, key=repr)


def test_quality_queues_come_from_staging_and_review(hub: HubContext, loaded: Loaded) -> None:
    source = StoreSource(hub, today=TODAY)
    items = list(source.quality_items())
    kinds = sorted((i.kind.value, i.state.value, i.region) for i in items)
    assert kinds == [
        ("conflict", "open", "370102001"),
        ("duplicate", "dismissed", "370102001"),
        ("rejection", "open", "370102001"),
    ]
    report = compute_quality(items, source.regions(), PERIOD)
    assert {q.kind: q.open for q in report.queues} == {
        QualityKind.CONFLICT: 1,
        QualityKind.DUPLICATE: 0,
        QualityKind.FINDING: 0,
        QualityKind.REJECTION: 1,
    }


def test_a_scope_counts_the_people_registered_in_it(hub: HubContext, loaded: Loaded) -> None:
    report = build_report(StoreSource(hub, today=TODAY, scope="370102001"), PERIOD, "", today=TODAY)
    assert [r.code for r in report.progress.regions] == ["370102001"]
    root = report.progress.root
    # a1–a4 merged, a8 waiting in the node's bundle; a5 and a6 count in 370102002.
    assert (root.persons.expected, root.persons.collected, root.persons.merged) == (10, 5, 4)
    assert report.progress.outside.collected == 0
    other = build_report(StoreSource(hub, today=TODAY, scope="370102002"), PERIOD, "",
                         today=TODAY)  # fmt: skip
    assert (other.progress.root.persons.expected, other.progress.root.persons.collected) == (4, 2)
    assert other.quality.open_total == 0


def test_facts_follow_merges_and_a_count_check_rebuilds_them(
    hub: HubContext, loaded: Loaded, deltas: DeltaFactory
) -> None:
    first = refresh_facts(hub)
    assert first.rebuilt
    assert first.records == 7  # a8 waits for review, a9 was rejected: never stored
    again = refresh_facts(hub)
    assert (again.rebuilt, again.records, again.batches) == (False, 0, 0)
    with hub.store.read() as session:
        cursor = int(get_state(session, CURSOR_KEY) or 0)
        assert cursor == session.scalar(sa.select(sa.func.max(OpBatch.id)))
        assert get_state(session, SCHEMA_KEY) == hub.schema.version
        facts = session.scalar(sa.select(sa.func.count()).select_from(FactsRow))
    assert facts == 7
    values = values_of("a8", random.Random(3))
    submit(hub, deltas.bundle([deltas.create(record_id(7, "late"), values)])[0])
    drain(hub)
    step = refresh_facts(hub)
    assert (step.rebuilt, step.records, step.batches, step.cursor) == (False, 1, 1, cursor + 1)
    with hub.store.write() as session:
        session.execute(sa.delete(FactsRow).where(FactsRow.region == "370103001"))
    assert not refresh_facts(hub).rebuilt
    assert refresh_facts(hub, verify=True).rebuilt
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(FactsRow)) == 8


def test_the_cross_check_verifies_the_people_it_matched_without_findings(
    hub: HubContext, loaded: Loaded, tmp_path: Path
) -> None:
    register = write_register(hub, tmp_path / "household.csv")
    dataset = import_file(hub, register.path, mapping=household_mapping(), by=XC_ADMIN)
    run_check(hub, dataset.dataset_id, by=XC_ADMIN)
    planted = register.planted
    flagged = {rid for rid, _ in planted.disagreements} | set(planted.deceased)
    names = {rid: name for name, rid in loaded.ids.items()}
    town_of = {"a1": "370102001", "a2": "370102001", "a3": "370102001", "a4": "370102001",
               "a5": "370102002", "a6": "370102002", "a7": "370103001"}  # fmt: skip
    expected = {"370102001": 0, "370102002": 0}
    for rid, name in names.items():
        if name in town_of and rid not in flagged and town_of[name] in expected:
            expected[town_of[name]] += 1
    report = build_report(StoreSource(hub, today=TODAY), PERIOD, "", today=TODAY)
    assert {c: report.progress.get(c).persons.verified for c in expected} == expected
    assert report.progress.root.persons.verified == sum(expected.values())
    findings = [i for i in StoreSource(hub, today=TODAY).quality_items() if i.finding]
    assert len([i for i in findings if i.state is ItemState.OPEN]) >= len(flagged & set(names))


def test_closed_items_older_than_a_year_are_left_out(hub: HubContext, loaded: Loaded) -> None:
    later = date(2028, 6, 1)
    items = list(StoreSource(hub, today=later).quality_items())
    assert sorted(i.kind.value for i in items) == ["conflict", "rejection"]
