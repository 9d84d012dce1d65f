"""Progress: people collected (authorised, merged, verified) against those expected.

Progress is ``collected / expected`` per region and per category, **not capped**:
when a town collects more people than its baseline listed, its progress goes
above 100 % and :attr:`Counts.over_baseline` says so, because a baseline that
undercounts is news the administrator needs (docs/reports.md §3). A region
expecting nobody has no progress figure (``None``), not 0 % or 100 %.

The projection is a straight line: at the rate of the last ``window_days``
days (today included), when does collection reach the expected number?
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from node.reports._rollup import roll_up
from node.reports.errors import RegionError, ReportModelError
from node.reports.model import STAGES, Campaign, Expectations, PhaseKind, Stage, check_count
from node.reports.regions import RegionTree
from node.reports.tally import Tally
from protocol.schema import Schema

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "CategoryProgress",
    "Counts",
    "PhaseStatus",
    "ProgressTable",
    "RegionProgress",
    "compute_progress",
    "phase_statuses",
    "projected_completion",
]

#: Days of collection the daily rate is averaged over.
DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """Expected people and how many have reached each stage (each includes the later ones)."""

    expected: int
    collected: int = 0
    authorised: int = 0
    merged: int = 0
    verified: int = 0

    def __post_init__(self) -> None:
        for value in (self.expected, self.collected, self.authorised, self.merged, self.verified):
            check_count(value, "progress counts")
        if not self.collected >= self.authorised >= self.merged >= self.verified:
            raise ReportModelError("progress counts: expected each stage to include the next")

    def at(self, stage: Stage) -> int:
        """The number of people that reached ``stage``."""
        return (self.collected, self.authorised, self.merged, self.verified)[stage.rank]

    def ratio(self, stage: Stage = Stage.COLLECTED) -> float | None:
        """People at ``stage`` over people expected; ``None`` when nobody is expected."""
        return self.at(stage) / self.expected if self.expected else None

    @property
    def progress(self) -> float | None:
        """Collected over expected (may exceed 1: see the module docstring)."""
        return self.ratio(Stage.COLLECTED)

    @property
    def over_baseline(self) -> bool:
        """Whether more people were collected than expected."""
        return self.collected > self.expected


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryProgress:
    """Progress of one category in one region."""

    key: str
    name_zh: str
    name_en: str
    counts: Counts


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionProgress:
    """Progress of one region: people, each category, rate and projection.

    Attributes:
        rate: people collected per day over the window.
        projected: the day collection reaches ``expected`` at that rate (today
            if it has), or ``None`` when the rate is zero.
    """

    code: str
    name: str
    parent: str | None
    depth: int
    persons: Counts
    categories: tuple[CategoryProgress, ...]
    rate: float
    projected: date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressTable:
    """Progress of every region of the tree, depth first, as of ``today``.

    Attributes:
        outside: people whose household town lies outside the jurisdiction
            (collected here, counted nowhere in the tree).
    """

    today: date
    window_days: int
    regions: tuple[RegionProgress, ...]
    outside: Counts
    _rows: Mapping[str, RegionProgress] = field(init=False, repr=False, compare=False)
    _children: Mapping[str, tuple[RegionProgress, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        children: dict[str, list[RegionProgress]] = {}
        for row in self.regions:
            if row.parent is not None:
                children.setdefault(row.parent, []).append(row)
        object.__setattr__(self, "_rows", MappingProxyType({r.code: r for r in self.regions}))
        object.__setattr__(
            self, "_children", MappingProxyType({k: tuple(v) for k, v in children.items()})
        )

    @property
    def root(self) -> RegionProgress:
        """The hub's own region."""
        return self.regions[0]

    def get(self, code: str) -> RegionProgress:
        """Return the row of region ``code``.

        Raises:
            RegionError: the table has no such region.
        """
        try:
            return self._rows[code]
        except KeyError:
            raise RegionError(
                f"region {code[:12]}: expected a region inside {self.root.code}"
            ) from None

    def children(self, code: str) -> tuple[RegionProgress, ...]:
        """Return the rows of the regions directly under ``code``."""
        return self._children.get(code, ())


def projected_completion(collected: int, expected: int, rate: float, today: date) -> date | None:
    """Return the day ``collected`` reaches ``expected`` at ``rate`` a day, or ``None`` if never."""
    remaining = expected - collected
    if remaining <= 0:
        return today
    if rate <= 0:
        return None
    return today + timedelta(days=math.ceil(remaining / rate))


def _expected_cells(
    tree: RegionTree, expectations: Expectations, categories: Iterable[str]
) -> list[tuple[str, str | None, int]]:
    known = frozenset(categories)
    effective = expectations.effective()
    cells: list[tuple[str, str | None, int]] = []
    explicit = {region for (region, category) in effective if category is None}
    for (region, category), count in effective.items():
        if region not in tree or not tree.is_leaf(region):
            raise ReportModelError(
                f"expected count: expected a leaf region of the tree, saw {region[:12]}",
                region=region[:12],
            )
        if category is not None and category not in known:
            raise ReportModelError("expected count: unknown category", category=category)
        cells.append((region, category, count))
        if category is not None and region not in explicit:
            cells.append((region, None, count))
    return cells


def compute_progress(
    tree: RegionTree,
    expectations: Expectations,
    tally: Tally,
    schema: Schema,
    *,
    today: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> ProgressTable:
    """Compute progress for every region of ``tree`` and every category of ``schema``.

    Raises:
        ReportModelError: an expected count names a region that is not a leaf of
            the tree or an unknown category, or ``window_days`` is below 1.
    """
    if window_days < 1:
        raise ReportModelError(f"progress window: expected at least 1 day, saw {window_days}")
    expected, _ = roll_up(tree, _expected_cells(tree, expectations, schema.category_keys))
    reached, outside = roll_up(
        tree,
        (
            (cell.region, (cell.category, stage), cell.count)
            for cell in tally.stages
            for stage in STAGES[: cell.stage.rank + 1]
        ),
    )
    first = today - timedelta(days=window_days - 1)
    recent, _ = roll_up(
        tree, ((d.region, None, d.count) for d in tally.days if first <= d.day <= today)
    )

    def counts(code: str, category: str | None) -> Counts:
        stages = [reached[code, (category, stage)] for stage in STAGES]
        return Counts(expected=expected[code, category], **_stage_kwargs(stages))

    rows = []
    for region in tree.regions:
        persons = counts(region.code, None)
        rate = recent[region.code, None] / window_days
        rows.append(
            RegionProgress(
                code=region.code,
                name=region.name,
                parent=region.parent,
                depth=tree.depth(region.code),
                persons=persons,
                categories=tuple(
                    CategoryProgress(
                        key=c.key,
                        name_zh=c.name_zh,
                        name_en=c.name_en,
                        counts=counts(region.code, c.key),
                    )
                    for c in schema.categories
                ),
                rate=rate,
                projected=projected_completion(persons.collected, persons.expected, rate, today),
            )
        )
    out = [outside[None, stage] for stage in STAGES]
    return ProgressTable(
        today=today,
        window_days=window_days,
        regions=tuple(rows),
        outside=Counts(expected=0, **_stage_kwargs(out)),
    )


def _stage_kwargs(values: list[int]) -> dict[str, int]:
    return {stage.value: value for stage, value in zip(STAGES, values, strict=True)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStatus:
    """Where a region stands against one phase's deadline.

    Attributes:
        days_left: days from today to the deadline (0 on the deadline, negative after).
        done: people at the phase's stage (collected for phase 1, verified for 2).
        rate: people reaching that stage per day, if known.
        needed_rate: people per day needed to finish by the deadline, today
            included; ``None`` once the deadline has passed.
        projected: when the phase finishes at ``rate``; ``None`` if never or unknown.
        on_track: whether ``projected`` is on or before the deadline; ``None`` if unknown.
    """

    kind: PhaseKind
    starts: date
    deadline: date
    days_left: int
    expected: int
    done: int
    rate: float | None
    needed_rate: float | None
    projected: date | None
    on_track: bool | None

    @property
    def remaining(self) -> int:
        """People still to reach the phase's stage (0 when there are more than expected)."""
        return max(0, self.expected - self.done)


def phase_statuses(
    row: RegionProgress, campaign: Campaign, rates: Mapping[PhaseKind, float], today: date
) -> tuple[PhaseStatus, ...]:
    """Return the status of ``row`` against each phase of ``campaign``.

    ``rates`` gives people per day reaching each phase's stage; a phase without
    a rate gets no projection.
    """
    found = []
    for phase in campaign.phases:
        done = row.persons.at(phase.kind.stage)
        expected = row.persons.expected
        days_left = (phase.deadline - today).days
        rate = rates.get(phase.kind)
        remaining = max(0, expected - done)
        projected = None if rate is None else projected_completion(done, expected, rate, today)
        found.append(
            PhaseStatus(
                kind=phase.kind,
                starts=phase.starts,
                deadline=phase.deadline,
                days_left=days_left,
                expected=expected,
                done=done,
                rate=rate,
                needed_rate=remaining / (days_left + 1) if days_left >= 0 else None,
                projected=projected,
                on_track=None
                if rate is None
                else projected is not None and projected <= phase.deadline,
            )
        )
    return tuple(found)
