"""Quality queues: how many conflicts, duplicates, findings and rejections are open, and how old.

Figures are as of the last day of the report's period: an item's age is the
number of whole days from the day it was opened to that day; an item closed
after it counts as open; an item opened after it is left out.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from node.reports.model import ItemState, QualityItem, QualityKind
from node.reports.period import Period
from node.reports.regions import RegionTree

__all__ = [
    "AGE_BUCKETS",
    "FindingSummary",
    "QualityReport",
    "QueueSummary",
    "RegionQueues",
    "compute_quality",
]

#: Age buckets of open items, in days (inclusive bounds; ``None``: no upper bound).
AGE_BUCKETS: Final[tuple[tuple[int, int | None], ...]] = (
    (0, 2),
    (3, 7),
    (8, 14),
    (15, 30),
    (31, None),
)


def _bucket(age: int) -> int:
    for index, (low, high) in enumerate(AGE_BUCKETS):
        if low <= age and (high is None or age <= high):
            return index
    raise AssertionError("ages are never negative")  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSummary:
    """One queue: open items and their ages, and the period's activity.

    Attributes:
        open: items open today.
        buckets: open items per :data:`AGE_BUCKETS` bucket.
        oldest_days: the age of the oldest open item (``None`` when none is open).
        median_days: the median age of open items.
        opened_in_period: items raised within the period.
        closed_in_period: items resolved or dismissed within the period.
    """

    kind: QualityKind
    open: int
    buckets: tuple[int, ...]
    oldest_days: int | None
    median_days: float | None
    opened_in_period: int
    closed_in_period: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingSummary:
    """Cross-check findings of one kind, by state."""

    finding: str
    open: int
    resolved: int
    dismissed: int

    @property
    def total(self) -> int:
        """All findings of this kind."""
        return self.open + self.resolved + self.dismissed


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionQueues:
    """Open items of one child region, per queue in :class:`QualityKind` order."""

    code: str
    name: str
    open: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport:
    """The queues, the findings by kind and state, and open items per child region.

    Attributes:
        outside: open items filed under a region outside the tree; they count
            nowhere else (as people from outside count apart in progress).
    """

    queues: tuple[QueueSummary, ...]
    findings: tuple[FindingSummary, ...]
    regions: tuple[RegionQueues, ...]
    outside: int

    def queue(self, kind: QualityKind) -> QueueSummary:
        """The summary of one queue."""
        return next(q for q in self.queues if q.kind is kind)

    @property
    def open_total(self) -> int:
        """Open items over all queues."""
        return sum(q.open for q in self.queues)


def compute_quality(
    items: Iterable[QualityItem], tree: RegionTree, period: Period
) -> QualityReport:
    """Summarise the quality items as of ``period.end`` (the report's "today")."""
    today = period.end
    ages: dict[QualityKind, list[int]] = {kind: [] for kind in QualityKind}
    opened: Counter[QualityKind] = Counter()
    closed: Counter[QualityKind] = Counter()
    findings: Counter[tuple[str, ItemState]] = Counter()
    by_region: Counter[tuple[str, QualityKind]] = Counter()
    outside = 0
    children = {r.code for r in tree.children(tree.root.code)}
    for item in items:
        if item.opened_on > today:
            continue  # raised after the report's day: not part of this report
        home = tree.locate(item.region)
        if home is None:
            outside += _state_on(item, today) is ItemState.OPEN
            continue
        if period.start <= item.opened_on:
            opened[item.kind] += 1
        if item.closed_on is not None and period.start <= item.closed_on <= today:
            closed[item.kind] += 1
        if item.finding is not None:
            findings[item.finding, _state_on(item, today)] += 1
        if _state_on(item, today) is not ItemState.OPEN:
            continue
        ages[item.kind].append((today - item.opened_on).days)
        child = next((c for c in tree.ancestors(home) if c in children), None)
        if child is not None:
            by_region[child, item.kind] += 1
    queues = tuple(
        QueueSummary(
            kind=kind,
            open=len(ages[kind]),
            buckets=tuple(
                sum(1 for a in ages[kind] if _bucket(a) == i) for i in range(len(AGE_BUCKETS))
            ),
            oldest_days=max(ages[kind], default=None),
            median_days=statistics.median(ages[kind]) if ages[kind] else None,
            opened_in_period=opened[kind],
            closed_in_period=closed[kind],
        )
        for kind in QualityKind
    )
    kinds = sorted({finding for finding, _ in findings})
    return QualityReport(
        queues=queues,
        findings=tuple(
            FindingSummary(
                finding=kind,
                open=findings[kind, ItemState.OPEN],
                resolved=findings[kind, ItemState.RESOLVED],
                dismissed=findings[kind, ItemState.DISMISSED],
            )
            for kind in kinds
        ),
        regions=tuple(
            RegionQueues(
                code=r.code, name=r.name, open=tuple(by_region[r.code, k] for k in QualityKind)
            )
            for r in tree.children(tree.root.code)
        ),
        outside=outside,
    )


def _state_on(item: QualityItem, today: date) -> ItemState:
    """The item's state as it was on the report's day (closed later means open then)."""
    if item.closed_on is not None and item.closed_on > today:
        return ItemState.OPEN
    return item.state
