"""The read model of the reports: frozen values the computations take.

Nothing here names a person. A record enters the reports only as
:class:`~node.reports.tally.RecordFacts` (town, categories, stage, dates, which
required fields are empty), and usually only as counts in a
:class:`~node.reports.tally.Tally`. The division tree is in
:mod:`node.reports.regions`; what a hub implements over its store is
:class:`~node.reports.source.ReportSource`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from node.reports.errors import ReportModelError

__all__ = [
    "STAGES",
    "Campaign",
    "Expectations",
    "ExpectedCount",
    "ItemState",
    "Phase",
    "PhaseKind",
    "QualityItem",
    "QualityKind",
    "Stage",
]

_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


class Stage(StrEnum):
    """How far a record has come; each stage implies the ones before it."""

    #: Entered at a collection point.
    COLLECTED = "collected"
    #: Signed off by an approver for upload.
    AUTHORISED = "authorised"
    #: Merged into a hub's canonical store.
    MERGED = "merged"
    #: Passed the phase-2 cross-check against other departments' registers.
    VERIFIED = "verified"

    @property
    def rank(self) -> int:
        """The stage's position: 0 for collected up to 3 for verified."""
        return STAGES.index(self)


#: The stages in order; a record at stage *s* counts for every stage up to *s*.
STAGES: Final = (Stage.COLLECTED, Stage.AUTHORISED, Stage.MERGED, Stage.VERIFIED)


def check_count(value: int, what: str) -> None:
    """Raise :class:`ReportModelError` unless ``value`` is a whole number ≥ 0."""
    if type(value) is not int or value < 0:
        raise ReportModelError(f"{what}: expected a whole number >= 0, saw {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedCount:
    """How many people a region is expected to have, from baseline data or a correction.

    Attributes:
        region: a leaf region of the hub's tree (a town, or the lowest listed level).
        category: a category key, or ``None`` for the number of people of any
            category (people may hold several categories, so the per-category
            figures can add up to more than the people).
        count: the expected number.
    """

    region: str
    category: str | None
    count: int

    def __post_init__(self) -> None:
        check_count(self.count, f"expected count of {self.region}")
        if self.category is not None and _KEY.fullmatch(self.category) is None:
            raise ReportModelError(f"expected count of {self.region}: malformed category key")

    @property
    def key(self) -> tuple[str, str | None]:
        """The (region, category) the count is for."""
        return (self.region, self.category)


def _unique(counts: Iterable[ExpectedCount], what: str) -> None:
    seen: set[tuple[str, str | None]] = set()
    for count in counts:
        if count.key in seen:
            raise ReportModelError(
                f"{what}: expected one count per region and category, saw {count.region} twice",
                region=count.region,
                category=count.category,
            )
        seen.add(count.key)


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    """Expected population: the baseline, and an administrator's corrections on top.

    A correction replaces the baseline count for the same region and category.
    A region's count of people is its ``category=None`` count when there is
    one, else the sum of its category counts.
    """

    baseline: tuple[ExpectedCount, ...] = ()
    corrections: tuple[ExpectedCount, ...] = ()

    def __post_init__(self) -> None:
        _unique(self.baseline, "baseline")
        _unique(self.corrections, "corrections")

    def effective(self) -> MappingProxyType[tuple[str, str | None], int]:
        """Return (region, category) → count, corrections winning over the baseline."""
        found = {c.key: c.count for c in self.baseline}
        found.update((c.key, c.count) for c in self.corrections)
        return MappingProxyType(found)

    def regions(self) -> frozenset[str]:
        """The regions any count names."""
        return frozenset(c.region for c in (*self.baseline, *self.corrections))


class QualityKind(StrEnum):
    """The queues an administrator works through."""

    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    #: A cross-check finding: a value that disagrees with another register, a
    #: person deceased in the household register, an invalid ID, a missing person.
    FINDING = "finding"
    #: A batch rejected with a reason, open until the node sends it again fixed.
    REJECTION = "rejection"


class ItemState(StrEnum):
    """Where a quality item stands."""

    OPEN = "open"
    RESOLVED = "resolved"
    #: Closed without a change (a false finding, a duplicate that was not one).
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityItem:
    """One conflict, duplicate, finding or rejection, without whom it is about.

    Attributes:
        kind: the queue it is in.
        state: open, resolved or dismissed.
        region: the division code it is filed under (the person's household town).
        opened_on: the day it was raised.
        closed_on: the day it was resolved or dismissed; ``None`` while open.
        finding: for a cross-check finding, its kind (``value_mismatch``,
            ``deceased``, ``invalid_id``, ``missing_person`` …); else ``None``.
    """

    kind: QualityKind
    state: ItemState
    region: str
    opened_on: date
    closed_on: date | None = None
    finding: str | None = None

    def __post_init__(self) -> None:
        if (self.state is ItemState.OPEN) != (self.closed_on is None):
            raise ReportModelError(
                f"quality item: expected a closing day exactly when closed, state {self.state}"
            )
        if self.closed_on is not None and self.closed_on < self.opened_on:
            raise ReportModelError("quality item: expected closed_on on or after opened_on")
        if (self.kind is QualityKind.FINDING) != (self.finding is not None):
            raise ReportModelError(
                f"quality item: expected a finding kind with findings only, kind {self.kind}"
            )
        if self.finding is not None and _KEY.fullmatch(self.finding) is None:
            raise ReportModelError("quality item: malformed finding kind")

    def age(self, today: date) -> int:
        """Days it has been open by ``today`` (or was open, if closed); never below 0."""
        end = self.closed_on if self.closed_on is not None else today
        return max(0, (end - self.opened_on).days)


class PhaseKind(StrEnum):
    """The campaign's two phases."""

    #: Phase 1: identity and basic information collected for everyone.
    COLLECTION = "collection"
    #: Phase 2: cross-check against other registers, fixes, the final report.
    CROSS_CHECK = "cross_check"

    @property
    def number(self) -> int:
        """1 or 2."""
        return 1 if self is PhaseKind.COLLECTION else 2

    @property
    def stage(self) -> Stage:
        """The stage a record must reach for the phase to count it done."""
        return Stage.COLLECTED if self is PhaseKind.COLLECTION else Stage.VERIFIED


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """A phase of the campaign and its deadline (the last day, inclusive)."""

    kind: PhaseKind
    starts: date
    deadline: date

    def __post_init__(self) -> None:
        if self.deadline < self.starts:
            raise ReportModelError(f"phase {self.kind.number}: expected its deadline after start")


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    """The campaign's phases, each kind at most once, in phase order."""

    phases: tuple[Phase, ...] = ()

    def __post_init__(self) -> None:
        kinds = [p.kind.number for p in self.phases]
        if kinds != sorted(set(kinds)):
            raise ReportModelError(f"campaign: expected phases 1 and 2 once each, saw {kinds}")

    def phase(self, kind: PhaseKind) -> Phase | None:
        """Return the phase of this kind, if the campaign has it."""
        return next((p for p in self.phases if p.kind is kind), None)

    def current(self, today: date) -> Phase | None:
        """Return the phase ``today`` falls in (the later one where they overlap)."""
        running = [p for p in self.phases if p.starts <= today <= p.deadline]
        return running[-1] if running else None
