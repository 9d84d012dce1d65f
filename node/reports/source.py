"""The seam between the reports and a store: :class:`ReportSource`.

The hub implements it over its database (counts by ``GROUP BY``, or records
streamed through :func:`~node.reports.tally.record_facts`), the node over its
own store for the status page; tests use :class:`InMemorySource`. Every method
answers for the implementer's jurisdiction only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from node.reports.model import Campaign, Expectations, QualityItem
from node.reports.period import Period
from node.reports.regions import RegionTree
from node.reports.snapshots import Snapshot
from node.reports.tally import RecordFacts, Tally, tally_records
from protocol.schema import Schema

__all__ = ["InMemorySource", "ReportSource"]


class ReportSource(Protocol):
    """What the reports read from a store; calls may query it, so call each once per report."""

    def regions(self) -> RegionTree:
        """The jurisdiction's region tree, down to towns."""
        ...

    def schema(self) -> Schema:
        """The record schema in force (for categories, required fields and labels)."""
        ...

    def expectations(self) -> Expectations:
        """Expected people per leaf region and category: baseline and corrections."""
        ...

    def tally(self) -> Tally:
        """Records counted by region, category, stage, collection day and empty field."""
        ...

    def quality_items(self) -> Iterable[QualityItem]:
        """Every open quality item, and those closed recently enough to matter to reports."""
        ...

    def campaign(self) -> Campaign:
        """The campaign's phases and deadlines."""
        ...

    def snapshots(self, period: Period) -> tuple[Snapshot, ...]:
        """The stored daily snapshots whose day falls in ``period``, by day."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class InMemorySource:
    """A :class:`ReportSource` over values held in memory (tests, the demo, a node)."""

    tree: RegionTree
    expected: Expectations = field(default_factory=Expectations)
    records: tuple[RecordFacts, ...] = ()
    items: tuple[QualityItem, ...] = ()
    phases: Campaign = field(default_factory=Campaign)
    history: tuple[Snapshot, ...] = ()
    record_schema: Schema = field(default_factory=Schema.default)

    def regions(self) -> RegionTree:
        return self.tree

    def schema(self) -> Schema:
        return self.record_schema

    def expectations(self) -> Expectations:
        return self.expected

    def tally(self) -> Tally:
        return tally_records(self.records)

    def quality_items(self) -> Iterable[QualityItem]:
        return self.items

    def campaign(self) -> Campaign:
        return self.phases

    def snapshots(self, period: Period) -> tuple[Snapshot, ...]:
        return tuple(sorted((s for s in self.history if s.day in period), key=lambda s: s.day))
