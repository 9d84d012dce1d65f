"""Properties of the computations over random trees, baselines, records and items.

Decided (docs/reports.md §3): progress is not capped; it is above 100 % exactly
when more people were collected than expected.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from node.reports import (
    STAGES,
    Expectations,
    ExpectedCount,
    ItemState,
    QualityItem,
    QualityKind,
    RecordFacts,
    Region,
    RegionTree,
    compute_completeness,
    compute_progress,
    compute_quality,
    parse_period,
    tally_records,
)
from protocol.schema import Schema

SCHEMA = Schema.default()
TODAY = date(2025, 6, 30)
CATEGORIES = ("retired_soldier", "disabled_soldier", "martyr_survivor", "active_duty_family")
FIELDS = ("name", "phone", "portrait_photo", "id_number")


@st.composite
def trees(draw: st.DrawFn) -> RegionTree:
    regions = [Region(code="370100", name="市")]
    for county in draw(st.sets(st.sampled_from(["370102", "370103", "370104"]), min_size=1)):
        regions.append(Region(code=county, name="区", parent="370100"))
        towns = draw(st.sets(st.integers(1, 4), max_size=3))
        regions.extend(Region(code=f"{county}{t:03d}", name="镇", parent=county) for t in towns)
    return RegionTree(regions=tuple(regions))


def _places(tree: RegionTree) -> list[str]:
    listed = [r.code for r in tree.regions if tree.is_leaf(r.code) and r.code != "370100"]
    # unlisted towns of listed counties, and a town of another city
    return [*listed, "370102009", "370104009", "370202001"]


@st.composite
def records(draw: st.DrawFn, tree: RegionTree) -> RecordFacts:
    required = draw(st.frozensets(st.sampled_from(FIELDS), min_size=1))
    return RecordFacts(
        region=draw(st.sampled_from(_places(tree))),
        categories=tuple(sorted(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1)))),
        stage=draw(st.sampled_from(STAGES)),
        collected_on=TODAY - timedelta(days=draw(st.integers(0, 40))),
        required=required,
        missing=draw(st.frozensets(st.sampled_from(sorted(required)))),
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[RegionTree, Expectations, tuple[RecordFacts, ...]]:
    tree = draw(trees())
    leaves = [r.code for r in tree.regions if tree.is_leaf(r.code)]
    baseline = {
        (leaf, category): draw(st.integers(0, 30))
        for leaf in leaves
        for category in draw(st.sets(st.sampled_from((None, *CATEGORIES)), max_size=3))
    }
    expectations = Expectations(
        baseline=tuple(
            ExpectedCount(region=r, category=c, count=n) for (r, c), n in baseline.items()
        )
    )
    found = tuple(draw(st.lists(records(tree), max_size=40)))
    return tree, expectations, found


@given(worlds())
def test_progress_is_above_one_exactly_when_more_were_collected_than_expected(
    world: tuple[RegionTree, Expectations, tuple[RecordFacts, ...]],
) -> None:
    tree, expectations, found = world
    table = compute_progress(tree, expectations, tally_records(found), SCHEMA, today=TODAY)
    for row in table.regions:
        for counts in (row.persons, *(c.counts for c in row.categories)):
            ratio = counts.progress
            if counts.expected == 0:
                assert ratio is None
            else:
                assert ratio is not None
                assert (ratio > 1) == counts.over_baseline
                assert ratio >= 0


@given(worlds())
def test_a_parent_is_the_sum_of_its_children_and_its_own_records(
    world: tuple[RegionTree, Expectations, tuple[RecordFacts, ...]],
) -> None:
    tree, expectations, found = world
    table = compute_progress(tree, expectations, tally_records(found), SCHEMA, today=TODAY)
    own = Counter(tree.locate(r.region) for r in found)
    for row in table.regions:
        children = table.children(row.code)
        if not children:
            continue
        assert row.persons.expected == sum(c.persons.expected for c in children)
        assert row.persons.collected == sum(c.persons.collected for c in children) + own[row.code]
        for stage in STAGES:
            assert row.persons.at(stage) >= sum(c.persons.at(stage) for c in children)
        assert (
            row.rate * table.window_days >= sum(c.rate for c in children) * table.window_days - 1e-9
        )


@given(worlds())
def test_everyone_is_counted_once_inside_or_outside(
    world: tuple[RegionTree, Expectations, tuple[RecordFacts, ...]],
) -> None:
    tree, expectations, found = world
    table = compute_progress(tree, expectations, tally_records(found), SCHEMA, today=TODAY)
    assert table.root.persons.collected + table.outside.collected == len(found)
    inside = [r for r in found if tree.locate(r.region) is not None]
    for category in table.root.categories:
        assert category.counts.collected == sum(category.key in r.categories for r in inside)
    for stage in STAGES:
        assert table.root.persons.at(stage) == sum(r.stage.rank >= stage.rank for r in inside)


@given(worlds())
def test_completeness_is_a_share_and_adds_up(
    world: tuple[RegionTree, Expectations, tuple[RecordFacts, ...]],
) -> None:
    tree, _, found = world
    completeness = compute_completeness(tree, tally_records(found), SCHEMA)
    inside = [r for r in found if tree.locate(r.region) is not None]
    assert completeness.root.required == sum(len(r.required) for r in inside)
    assert completeness.root.missing == sum(len(r.missing) for r in inside)
    shares = [r.share for r in completeness.regions] + [f.share for f in completeness.fields]
    shares += [cell for row in completeness.heat for cell in row.cells]
    assert all(s is None or 0 <= s <= 1 for s in shares)
    for region in completeness.regions:
        assert (region.share is None) == (region.required == 0)


@given(worlds(), st.permutations(range(40)))
def test_record_order_does_not_matter(
    world: tuple[RegionTree, Expectations, tuple[RecordFacts, ...]], order: list[int]
) -> None:
    found = world[2]
    shuffled = tuple(found[i] for i in order if i < len(found))
    assert tally_records(shuffled) == tally_records(found)


@st.composite
def items(draw: st.DrawFn) -> QualityItem:
    kind = draw(st.sampled_from(tuple(QualityKind)))
    state = draw(st.sampled_from(tuple(ItemState)))
    opened = TODAY - timedelta(days=draw(st.integers(-5, 60)))
    closed = None if state is ItemState.OPEN else opened + timedelta(days=draw(st.integers(0, 30)))
    return QualityItem(
        kind=kind,
        state=state,
        region=draw(st.sampled_from(["370102001", "370103", "370202001"])),
        opened_on=opened,
        closed_on=closed,
        finding=draw(st.sampled_from(["deceased", "value_mismatch"]))
        if kind is QualityKind.FINDING
        else None,
    )


@given(trees(), st.lists(items(), max_size=30))
def test_queue_figures_agree_with_each_other(tree: RegionTree, found: list[QualityItem]) -> None:
    quality = compute_quality(found, tree, parse_period("2025-06"))
    for queue in quality.queues:
        assert sum(queue.buckets) == queue.open
        assert (queue.oldest_days is None) == (queue.open == 0)
        if queue.oldest_days is not None:
            assert queue.median_days is not None
            assert 0 <= queue.median_days <= queue.oldest_days
    by_region = sum(sum(r.open) for r in quality.regions)
    assert by_region <= quality.open_total
    outside_open = sum(
        tree.locate(i.region) is None
        and i.opened_on <= TODAY
        and (i.closed_on is None or i.closed_on > TODAY)
        for i in found
    )
    assert quality.outside == outside_open
    findings_open = sum(f.open for f in quality.findings)
    assert findings_open == quality.queue(QualityKind.FINDING).open
