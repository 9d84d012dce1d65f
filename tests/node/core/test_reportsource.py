"""The node's store as a report source (the status page's figures), on the campaign of
tests/node/core/figures.py, whose figures are worked out by hand there."""

from __future__ import annotations

from pathlib import Path

from node.reports import ItemState, QualityKind, Stage
from node.services.reportsource import NodeReportSource, node_report
from node.store import transaction
from tests.node.core.figures import PERIOD, collection_campaign
from tests.node.core.helpers import TODAY, NodeUnderTest


def test_the_status_page_figures_match_the_hand_count(node: NodeUnderTest, tmp_path: Path) -> None:
    collection_campaign(node, tmp_path)
    report = node_report(node.services.context, PERIOD, today=TODAY)
    root = report.progress.root
    assert (root.code, len(report.progress.regions)) == ("370102001", 1)
    assert (root.persons.expected, root.persons.collected) == (3, 4)
    assert (root.persons.authorised, root.persons.merged, root.persons.verified) == (2, 1, 0)
    assert root.persons.over_baseline
    assert root.persons.progress is not None
    assert round(root.persons.progress, 3) == 1.333
    retired = next(c for c in root.categories if c.key == "retired_soldier")
    assert (retired.counts.expected, retired.counts.collected) == (3, 4)
    queues = {q.kind: q.open for q in report.quality.queues}
    assert queues[QualityKind.REJECTION] == 1
    assert report.phases == ()
    assert [p.day for p in report.timeline] == [TODAY]


def test_stages_follow_the_ops_made_here(node: NodeUnderTest, tmp_path: Path) -> None:
    ids = collection_campaign(node, tmp_path)
    with transaction(node.services.context.engine) as session:
        source = NodeReportSource(node.services.context, session)
    by_stage: dict[Stage, int] = {}
    for cell in source.tally().stages:
        if cell.category is None:
            by_stage[cell.stage] = by_stage.get(cell.stage, 0) + cell.count
    assert by_stage == {Stage.COLLECTED: 2, Stage.AUTHORISED: 1, Stage.MERGED: 1}
    items = list(source.quality_items())
    assert [(i.kind, i.state) for i in items] == [(QualityKind.REJECTION, ItemState.OPEN)]
    assert len(ids) == 4


def test_an_empty_node_has_figures_of_nothing(node: NodeUnderTest) -> None:
    report = node_report(node.services.context, PERIOD, today=TODAY)
    root = report.progress.root
    assert (root.persons.expected, root.persons.collected, root.persons.progress) == (0, 0, None)
    assert report.completeness.root.share is None
