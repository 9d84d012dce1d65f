"""The hub store as a :class:`~node.reports.source.ReportSource` (docs/reports.md §8).

Every count is a ``GROUP BY`` over ``report_facts`` (one short row per live
record, kept by :mod:`hub.reports.storefacts`), the bundles and the quality
tables; no record's values are read. A source answers for one *scope*: the
hub's own code, or a division inside it (an account's, or one a dashboard
drills down to). People count under their household town wherever they were
collected, so a region's figures are the same in its own dashboard and in the
table one level up; the whole hub's report also counts, apart, the people its
nodes collected whose household lies outside it. Reports hold aggregates only,
so this is no wider than what an account may see of records (their collecting
site).

Expected people: the records a baseline import created (the campaign's
starting list, from the national system) per household town and category,
replaced where an administrator entered a correction (``report_expected``). A
baseline record counts as collected only once a collector has given it a
collection date.

Stages at a hub: a live record is *merged*; it is *verified* once a register
imported for the cross-check has been matched against it and no finding about
it is open; a delta bundle that waits for review holds *authorised* people
(its new records, counted at the sending node's town). The hub cannot see what
is collected but not yet authorised at its nodes, so *collected* equals
*authorised* here; a node's status page shows its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.reports.storefacts import refresh_facts
from hub.reports.storequality import quality_rows
from hub.reports.storeverified import verified_counts
from hub.states import BundleState
from hub.store.models import BundleRow
from hub.store.report_models import ExpectedRow, FactsRow, PhaseRow, SnapshotStoreRow
from node.reports.factrules import FactRules, split_keys
from node.reports.model import (
    Campaign,
    Expectations,
    ExpectedCount,
    Phase,
    PhaseKind,
    QualityItem,
    Stage,
)
from node.reports.period import Period
from node.reports.regions import RegionTree, regions_from_divisions
from node.reports.snapshots import Snapshot
from node.reports.tally import DayCount, FieldCount, StageCount, Tally
from protocol.divisions import contains, jurisdiction_prefix
from protocol.errors import DivisionCodeError
from protocol.schema import Schema

__all__ = ["StoreSource"]

#: Closed quality items older than this are left out (a report looks back a year at most).
RECENT_DAYS: Final = 400
_PENDING: Final = (BundleState.STAGED.value, BundleState.APPROVED.value)
_TOWN: Final = 9
_PHASES: Final = frozenset(k.value for k in PhaseKind)


def _stage_order(item: tuple[tuple[str, str | None, Stage], int]) -> tuple[str, str, int]:
    (region, category, stage), _ = item
    return (region, category or "", stage.rank)


class StoreSource:
    """Figures of one scope of the hub store (each method queries; call each once).

    Args:
        ctx: the hub's services.
        scope: a division code inside the hub's jurisdiction (default: the hub's own).
        today: the day the figures are for (closed items before ``today - 400`` are skipped).
        refresh: bring ``report_facts`` up to date first.
    """

    def __init__(
        self, ctx: HubContext, *, today: date, scope: str | None = None, refresh: bool = True
    ) -> None:
        self.ctx = ctx
        self.scope = scope or ctx.site
        self.today = today
        self.prefix = jurisdiction_prefix(self.scope)
        self._whole = self.scope == ctx.site
        self._rules = FactRules(ctx.schema)
        if refresh:
            refresh_facts(ctx)

    def _mine(self, column: Any) -> Any:
        """The scope's filter on a division-code column (none for the whole hub)."""
        return sa.true() if self._whole else column.like(f"{self.prefix}%")

    def _collected(self) -> Any:
        """The scope's facts rows of collected people (not baseline records still unseen)."""
        return sa.and_(
            self._mine(FactsRow.region),
            sa.or_(FactsRow.baseline.is_(False), FactsRow.collected_on.is_not(None)),
        )

    @cached_property
    def tree(self) -> RegionTree:
        """The scope's region tree (built once per source)."""
        with self.ctx.store.read() as session:
            towns = {
                code
                for (code,) in session.execute(
                    sa.select(FactsRow.region)
                    .where(self._mine(FactsRow.region), sa.func.length(FactsRow.region) == _TOWN)
                    .group_by(FactsRow.region)
                )
            }
            names: dict[str, str] = {}
            for region, name in session.execute(
                sa.select(ExpectedRow.region, ExpectedRow.region_name).where(
                    ExpectedRow.region.like(f"{self.prefix}%")
                )
            ):
                if len(region) == _TOWN:
                    towns.add(region)
                if name:
                    names[region] = name
        inside = {t: names.get(t, t) for t in sorted(towns) if self._inside(t)}
        return regions_from_divisions(
            self.scope,
            inside,
            self.ctx.divisions,
            root_name=names.get(self.scope) or self.ctx.divisions.name(self.scope) or self.scope,
        )

    def _inside(self, code: str) -> bool:
        try:
            return code != self.scope and contains(self.scope, code)
        except DivisionCodeError:
            return False

    def regions(self) -> RegionTree:
        return self.tree

    def schema(self) -> Schema:
        return self.ctx.schema

    def expectations(self) -> Expectations:
        """The baseline records' people and the corrections, on leaf regions of the tree.

        Counts on a region that is not a leaf (a county whose towns are listed) or for
        a category the schema no longer has are left out.
        """
        people: dict[str, int] = {}
        by_category: dict[tuple[str, str], int] = {}
        with self.ctx.store.read() as session:
            for region, categories, count in session.execute(
                sa.select(FactsRow.region, FactsRow.categories, sa.func.count())
                .where(self._mine(FactsRow.region), FactsRow.baseline.is_(True))
                .group_by(FactsRow.region, FactsRow.categories)
            ):
                people[region] = people.get(region, 0) + int(count)
                for key in split_keys(categories):
                    by_category[region, key] = by_category.get((region, key), 0) + int(count)
            corrections = session.execute(
                sa.select(ExpectedRow.region, ExpectedRow.category, ExpectedRow.count).where(
                    ExpectedRow.region.like(f"{self.prefix}%")
                )
            ).all()
        baseline = [
            *((region, None, n) for region, n in people.items()),
            *((region, key, n) for (region, key), n in by_category.items()),
        ]
        return Expectations(
            baseline=self._counts(baseline),
            corrections=self._counts((r, c or None, int(n)) for r, c, n in corrections),
        )

    def _counts(self, cells: Iterable[tuple[str, str | None, int]]) -> tuple[ExpectedCount, ...]:
        tree, known = self.tree, self.ctx.schema.category_keys
        return tuple(
            ExpectedCount(region=region, category=category, count=count)
            for region, category, count in sorted(cells, key=lambda c: (c[0], c[1] or ""))
            if region in tree and tree.is_leaf(region) and (category is None or category in known)
        )

    def tally(self) -> Tally:
        with self.ctx.store.read() as session:
            return Tally(
                stages=tuple(self._stages(session)),
                days=tuple(self._days(session)),
                fields=tuple(self._fields(session)),
            )

    def _stages(self, session: Session) -> Iterable[StageCount]:
        counts: Counter[tuple[str, str | None, Stage]] = Counter()
        verified = verified_counts(session, self._collected())
        rows = session.execute(
            sa.select(FactsRow.region, FactsRow.categories, sa.func.count())
            .where(self._collected())
            .group_by(FactsRow.region, FactsRow.categories)
        )
        for region, categories, count in rows:
            done = verified.get((region, categories), 0)
            for stage, n in ((Stage.MERGED, int(count) - done), (Stage.VERIFIED, done)):
                for key in (None, *split_keys(categories)):
                    counts[region, key, stage] += n
        waiting = session.execute(
            sa.select(BundleRow.sender, BundleRow.summary).where(
                BundleRow.kind == "delta",
                BundleRow.state.in_(_PENDING),
                self._mine(BundleRow.sender),
            )
        )
        for sender, summary in waiting:
            new = (summary or {}).get("new_records")
            if isinstance(new, int) and new > 0 and sender:
                counts[sender.split("-", 1)[0], None, Stage.AUTHORISED] += new
        for (region, category, stage), n in sorted(counts.items(), key=_stage_order):
            if n > 0:
                yield StageCount(region=region, category=category, stage=stage, count=n)

    def _days(self, session: Session) -> Iterable[DayCount]:
        rows = session.execute(
            sa.select(FactsRow.region, FactsRow.collected_on, sa.func.count())
            .where(self._collected(), FactsRow.collected_on.is_not(None))
            .group_by(FactsRow.region, FactsRow.collected_on)
        )
        for region, day, count in rows:
            if day is not None:
                yield DayCount(region=region, day=day, count=int(count))

    def _fields(self, session: Session) -> Iterable[FieldCount]:
        required: dict[tuple[str, str], int] = {}
        for region, categories, extra, count in session.execute(
            sa.select(FactsRow.region, FactsRow.categories, FactsRow.extra, sa.func.count())
            .where(self._collected())
            .group_by(FactsRow.region, FactsRow.categories, FactsRow.extra)
        ):
            for field in self._rules.required(split_keys(categories), split_keys(extra)):
                required[region, field] = required.get((region, field), 0) + int(count)
        missing: dict[tuple[str, str], int] = {}
        for region, gaps, count in session.execute(
            sa.select(FactsRow.region, FactsRow.missing, sa.func.count())
            .where(self._collected(), FactsRow.missing != "")
            .group_by(FactsRow.region, FactsRow.missing)
        ):
            for field in split_keys(gaps):
                missing[region, field] = missing.get((region, field), 0) + int(count)
        for (region, field), count in sorted(required.items()):
            yield FieldCount(
                region=region, field=field, required=count, missing=missing.get((region, field), 0)
            )

    def quality_items(self) -> Iterable[QualityItem]:
        since = datetime.combine(self.today - timedelta(days=RECENT_DAYS), time(), tzinfo=UTC)
        with self.ctx.store.read() as session:
            items = quality_rows(session, jurisdiction_prefix(self.ctx.site), since)
        return items if self._whole else [i for i in items if i.region.startswith(self.prefix)]

    def campaign(self) -> Campaign:
        with self.ctx.store.read() as session:
            rows = session.execute(sa.select(PhaseRow.kind, PhaseRow.starts, PhaseRow.deadline))
            phases = [
                Phase(kind=PhaseKind(kind), starts=starts, deadline=deadline)
                for kind, starts, deadline in rows
                if kind in _PHASES
            ]
        return Campaign(phases=tuple(sorted(phases, key=lambda p: p.kind.number)))

    def snapshots(self, period: Period) -> tuple[Snapshot, ...]:
        """The hub's daily snapshots in ``period`` (a scope reads its own rows from them)."""
        with self.ctx.store.read() as session:
            bodies = session.scalars(
                sa.select(SnapshotStoreRow.body)
                .where(
                    SnapshotStoreRow.root == self.ctx.site,
                    SnapshotStoreRow.day >= period.start,
                    SnapshotStoreRow.day <= period.end,
                )
                .order_by(SnapshotStoreRow.day)
            ).all()
        return tuple(Snapshot.from_json(body) for body in bodies)
