"""The node's store as a :class:`~node.reports.source.ReportSource`: the status page's figures.

The same figures as a hub's dashboard, for one collection point (docs/reports.md
§10). The tree has one region, the node's site; people whose household lies
elsewhere count apart (*outside*). A town holds a few thousand records, so each
record is reduced in Python with :class:`~node.reports.factrules.FactRules`.

Stages at a node, from the states of a record's own ops (those made here):

- a draft or returned op: *collected*;
- an authorised or sent one: *authorised*;
- an acknowledged one (the hub's receipt is stored): *merged*;

the furthest one counts. A record with no op made here came from the hub: a
baseline record (its create came in a ``baseline`` bundle) is *expected*, and
collected only once it has a collection date; any other is *merged*. *Verified*
is known at the hub only. Expected people are the baseline records' (the hub's
corrections stay at the hub); the campaign's deadlines and the daily snapshots
too, so the node shows no deadline and plots today only.

Quality queues: cross-check problems (findings) and rejected batches from the
hub's to-do list, and records with open conflicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.reports import (
    Campaign,
    DayCount,
    Expectations,
    ExpectedCount,
    FieldCount,
    ItemState,
    Period,
    QualityItem,
    QualityKind,
    Region,
    RegionTree,
    Report,
    Snapshot,
    Stage,
    StageCount,
    Tally,
    build_report,
)
from node.reports.factrules import FactRow, FactRules, split_keys
from node.services.context import NodeContext
from node.store.engine import transaction
from node.store.models import InboxRow, OpRow, OpState, ProblemRow, RecordRow
from protocol.bundle import BundleKind
from protocol.ops import STATUS_LIVE
from protocol.schema import Schema

__all__ = ["NodeReportSource", "node_report"]

_RANK: Final = {
    OpState.DRAFT.value: Stage.COLLECTED,
    OpState.RETURNED.value: Stage.COLLECTED,
    OpState.AUTHORISED.value: Stage.AUTHORISED,
    OpState.SENT.value: Stage.AUTHORISED,
    OpState.ACKNOWLEDGED.value: Stage.MERGED,
}
_DECISION: Final = "decision"
_CLOSED: Final = "closed"


@dataclass(frozen=True, slots=True)
class _Record:
    facts: FactRow
    stage: Stage | None  # None: a baseline record nobody has collected yet
    baseline: bool
    conflicts: int
    updated: date


def _stages(session: Session) -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    for record_id, state in session.execute(
        select(OpRow.record_id, OpRow.state).where(OpRow.state != OpState.RECEIVED.value)
    ):
        stage = _RANK.get(state)
        if stage is not None and (record_id not in found or stage.rank > found[record_id].rank):
            found[record_id] = stage
    return found


def _baseline(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(OpRow.record_id)
            .join(InboxRow, InboxRow.bundle_id == OpRow.bundle_id)
            .where(
                OpRow.kind == "create",
                OpRow.state == OpState.RECEIVED.value,
                InboxRow.kind == BundleKind.BASELINE.value,
            )
        )
    )


def _records(ctx: NodeContext, session: Session, rules: FactRules) -> Iterator[_Record]:
    stages, baseline, site = _stages(session), _baseline(session), ctx.config.site
    rows = session.execute(
        select(RecordRow.record_id, RecordRow.values, RecordRow.conflicts, RecordRow.updated_at)
        .where(RecordRow.status == STATUS_LIVE)
        .order_by(RecordRow.record_id)
    )
    for record_id, values, conflicts, updated in rows:
        facts = rules.row(record_id, site, values if isinstance(values, dict) else {})
        stage = stages.get(record_id)
        if stage is None and (record_id not in baseline or facts.collected_on is not None):
            stage = Stage.MERGED
        yield _Record(facts, stage, record_id in baseline, int(conflicts or 0), updated.date())


def _tally(records: Iterable[_Record], rules: FactRules) -> Tally:
    stages: Counter[tuple[str, str | None, Stage]] = Counter()
    days: Counter[tuple[str, date]] = Counter()
    required: Counter[tuple[str, str]] = Counter()
    missing: Counter[tuple[str, str]] = Counter()
    for record in records:
        facts = record.facts
        if record.stage is None:
            continue
        for key in (None, *split_keys(facts.categories)):
            stages[facts.region, key, record.stage] += 1
        if facts.collected_on is not None:
            days[facts.region, facts.collected_on] += 1
        needed = rules.required(split_keys(facts.categories), split_keys(facts.extra))
        required.update((facts.region, f) for f in needed)
        missing.update((facts.region, f) for f in split_keys(facts.missing))
    return Tally(
        stages=tuple(
            StageCount(region=r, category=c, stage=s, count=n)
            for (r, c, s), n in sorted(stages.items(), key=lambda kv: repr(kv[0]))
        ),
        days=tuple(DayCount(region=r, day=d, count=n) for (r, d), n in sorted(days.items())),
        fields=tuple(
            FieldCount(region=r, field=f, required=n, missing=missing[r, f])
            for (r, f), n in sorted(required.items())
        ),
    )


class NodeReportSource:
    """The figures of one node's store, read in one transaction when built.

    Args:
        ctx: the unlocked node.
        session: a transaction on its store.
    """

    def __init__(self, ctx: NodeContext, session: Session) -> None:
        self._ctx = ctx
        self._rules = FactRules(ctx.schema)
        self._records = list(_records(ctx, session, self._rules))
        self._problems = session.execute(
            select(
                ProblemRow.source,
                ProblemRow.kind,
                ProblemRow.record_id,
                ProblemRow.state,
                ProblemRow.received_at,
                # When the hub closed it; before closures went down, the answer's date.
                func.coalesce(ProblemRow.closed_at, ProblemRow.answered_at),
            )
        ).all()
        site = ctx.config.site
        name = ctx.config.name or ctx.divisions.name(site) or site
        self._tree = RegionTree(regions=(Region(code=site, name=name),))

    def regions(self) -> RegionTree:
        return self._tree

    def schema(self) -> Schema:
        return self._ctx.schema

    def expectations(self) -> Expectations:
        """The baseline records of the node's own site (those of other towns are not here)."""
        counts: Counter[str | None] = Counter()
        root = self._tree.root.code
        for record in self._records:
            if record.baseline and self._tree.locate(record.facts.region) == root:
                counts.update((None, *split_keys(record.facts.categories)))
        return Expectations(
            baseline=tuple(
                ExpectedCount(region=root, category=category, count=n)
                for category, n in sorted(counts.items(), key=lambda kv: kv[0] or "")
            )
        )

    def tally(self) -> Tally:
        return _tally(self._records, self._rules)

    def quality_items(self) -> Iterable[QualityItem]:
        regions = {r.facts.record_id: r.facts.region for r in self._records}
        site = self._tree.root.code
        items = [
            QualityItem(
                kind=QualityKind.CONFLICT,
                state=ItemState.OPEN,
                region=r.facts.region,
                opened_on=r.updated,
            )
            for r in self._records
            if r.conflicts
        ]
        for source, kind, record_id, state, received, answered in self._problems:
            region = regions.get(record_id or "", site)
            items.append(_problem(source, kind, region, state, (received, answered)))
        return items

    def campaign(self) -> Campaign:
        return Campaign()

    def snapshots(self, period: Period) -> tuple[Snapshot, ...]:
        return ()


def _problem(
    source: str, kind: str, region: str, state: str, when: tuple[datetime, Any]
) -> QualityItem:
    received, answered = when
    opened = received.date()
    closed = None
    if state == _CLOSED:
        closed = max(opened, answered.date() if isinstance(answered, datetime) else opened)
    rejection = source == _DECISION
    return QualityItem(
        kind=QualityKind.REJECTION if rejection else QualityKind.FINDING,
        state=ItemState.OPEN if closed is None else ItemState.RESOLVED,
        region=region,
        opened_on=opened,
        closed_on=closed,
        finding=None if rejection else _finding_key(kind),
    )


def _finding_key(kind: str) -> str:
    key = kind.strip().lower()
    ok = key[:1].isascii() and key[:1].isalpha() and all(c.isalnum() or c == "_" for c in key)
    return key[:64] if ok and key.isascii() else "problem"


def node_report(ctx: NodeContext, period: Period, *, today: date | None = None) -> Report:
    """The node's report for ``period`` (the status page shows its figures and charts).

    Raises:
        PeriodError: the period starts after today.
        StoreError: the store cannot be read.
    """
    today = today or ctx.now().astimezone().date()
    with transaction(ctx.engine) as session:
        source = NodeReportSource(ctx, session)
    return build_report(source, period, "", today=today)
