"""What the console and the CLI show of the cross-check: findings by region and by source,
open, answered and closed, with how long they have been open; the findings themselves,
filtered and paged; the imports; the proposals waiting for an administrator.

Read-only queries on the hub store, aggregated by the database (``GROUP BY``), so a
province's findings are counted without loading them. Everything is limited to a
*scope* (a division code: an account's jurisdiction): a finding belongs to the
division of the person's household registration; one with none is seen from the
hub's whole jurisdiction only.

Findings are this hub's own (``made="here"``, the default) or those a hub above made
and this hub passed down (``made="above"``, mirrors: :mod:`hub.crosscheck.mirror`),
never mixed unless asked (``made="all"``): each has its own people to answer to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from hub.context import HubContext
from hub.crosscheck.lifecycle import FindingState
from hub.crosscheck.storedatasets import COMMITTED, WRITING
from hub.store.crosscheck_models import DatasetRow, FindingRow, ProposalRow
from protocol.divisions import Level, jurisdiction_prefix, level_of
from protocol.errors import DivisionCodeError

__all__ = [
    "AGE_BUCKETS",
    "MADE",
    "DatasetItem",
    "FindingFilter",
    "FindingItem",
    "FindingsPage",
    "ProposalItem",
    "Tally",
    "dataset_item",
    "datasets",
    "list_findings",
    "pending_proposals",
    "region_digits",
    "tally",
]

#: Ages an open finding is counted in, in days: under 7, 7 to 30, over 30.
AGE_BUCKETS: Final = (7, 30)
_NEXT_LEVEL: Final = {Level.PROVINCE: 4, Level.CITY: 6, Level.COUNTY: 9, Level.TOWN: 12}
_UNROUTED: Final = ""
#: Whose findings: this hub's, those of the hubs above it (mirrors), or both.
MADE: Final = ("here", "above", "all")


def _made(ctx: HubContext, made: str) -> Any:
    """A WHERE clause for findings made here, above, or all of them."""
    if made == "here":
        return FindingRow.origin == ctx.site
    if made == "above":
        return FindingRow.origin != ctx.site
    if made == "all":
        return sa.true()
    raise ValueError(f"made: expected one of {', '.join(MADE)}, got {made!r}")


def region_digits(site: str) -> int:
    """How many digits of a division code name the region one level below ``site``."""
    return _NEXT_LEVEL.get(level_of(site), 12)


def _in_scope(ctx: HubContext, scope: str | None) -> Any:
    """A WHERE clause for findings inside ``scope`` (None or the hub's own: all)."""
    if scope is None or jurisdiction_prefix(scope) == jurisdiction_prefix(ctx.site):
        return sa.true()
    # Division codes are digits only: no LIKE wildcards to escape.
    return FindingRow.division_code.like(jurisdiction_prefix(scope) + "%")


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """Findings of one region or one source.

    Attributes:
        key: the region's division code (padded to 6 digits at city level), or the source;
            ``""`` for findings without a division.
        open, answered, closed: how many are in each state.
        fresh, weeks, old: open or answered ones by age (< 7 days, 7–30, > 30).
        oldest: when the oldest open or answered one was opened (None: none is).
    """

    key: str
    open: int = 0
    answered: int = 0
    closed: int = 0
    fresh: int = 0
    weeks: int = 0
    old: int = 0
    oldest: datetime | None = None

    @property
    def total(self) -> int:
        return self.open + self.answered + self.closed

    def oldest_days(self, now: datetime) -> int | None:
        return None if self.oldest is None else max(0, (now - self.oldest).days)


def _key_column(ctx: HubContext, by: str) -> Any:
    if by == "source":
        return FindingRow.source
    if by != "region":
        raise ValueError(by)
    return sa.func.coalesce(
        sa.func.substr(FindingRow.division_code, 1, region_digits(ctx.site)), _UNROUTED
    )


def tally(
    ctx: HubContext, *, by: str, scope: str | None = None, made: str = "here"
) -> tuple[Tally, ...]:
    """This hub's findings (or those made above: ``made``) counted per region (one level
    below the hub) or per source."""
    key = _key_column(ctx, by).label("key")
    now = ctx.now()
    live = FindingRow.state.in_([FindingState.OPEN.value, FindingState.ANSWERED.value])
    fresh_since, old_before = (now - timedelta(days=d) for d in AGE_BUCKETS)

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (
        sa.select(
            key,
            count(FindingRow.state == FindingState.OPEN.value),
            count(FindingRow.state == FindingState.ANSWERED.value),
            count(FindingRow.state == FindingState.CLOSED.value),
            count(sa.and_(live, FindingRow.opened_at >= fresh_since)),
            count(
                sa.and_(
                    live, FindingRow.opened_at < fresh_since, FindingRow.opened_at >= old_before
                )
            ),
            count(sa.and_(live, FindingRow.opened_at < old_before)),
            sa.func.min(sa.case((live, FindingRow.opened_at), else_=None)),
        )
        .where(_made(ctx, made), _in_scope(ctx, scope))
        .group_by(key)
        .order_by(key)
    )
    with ctx.store.read() as session:
        rows = session.execute(query).all()
    return tuple(
        Tally(
            key=row[0],
            open=int(row[1] or 0),
            answered=int(row[2] or 0),
            closed=int(row[3] or 0),
            fresh=int(row[4] or 0),
            weeks=int(row[5] or 0),
            old=int(row[6] or 0),
            oldest=_aware(row[7]),
        )
        for row in rows
    )


def _aware(value: object) -> datetime | None:
    # MIN() over a CASE loses the column type: SQLite hands back text or a naive time.
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingFilter:
    """Which findings to list (all given conditions hold), and which page."""

    state: str | None = None
    source: str | None = None
    region: str | None = None
    kind: str | None = None
    scope: str | None = None
    #: ``here`` (this hub's), ``above`` (made by hubs above, passed down here), ``all``.
    made: str = "here"
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingItem:
    """A finding as a list shows it; ``body`` is its ``problem`` entry (personal values)."""

    finding_id: str
    kind: str
    source: str
    field: str | None
    record_id: str | None
    division_code: str | None
    state: str
    resolution: str | None
    opened_at: datetime
    closed_at: datetime | None
    age_days: int
    answer_reason: str | None
    answer_note: str | None = _field(repr=False)
    answer_by: str | None
    routed_to: str | None
    sent_at: datetime | None
    rejection: str | None = _field(repr=False)
    reopened: int
    body: dict[str, Any] = _field(repr=False)
    #: The hub that made it: this hub, or the one above that sent it down.
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (times in ISO 8601), for ``muster hub crosscheck findings --json``."""
        return {
            "finding": self.finding_id,
            "kind": self.kind,
            "source": self.source,
            "field": self.field,
            "record": self.record_id,
            "division": self.division_code,
            "state": self.state,
            "resolution": self.resolution,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "age_days": self.age_days,
            "answer_reason": self.answer_reason,
            "answer_note": self.answer_note,
            "answer_by": self.answer_by,
            "routed_to": self.routed_to,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "reopened": self.reopened,
            "origin": self.origin,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsPage:
    items: tuple[FindingItem, ...]
    total: int


def _item(row: FindingRow, now: datetime) -> FindingItem:
    until = row.closed_at or now
    return FindingItem(
        finding_id=row.finding_id,
        kind=row.kind,
        source=row.source,
        field=row.field,
        record_id=row.record_id,
        division_code=row.division_code,
        state=row.state,
        resolution=row.resolution,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        age_days=max(0, (until - row.opened_at).days),
        answer_reason=row.answer_reason,
        answer_note=row.answer_note,
        answer_by=row.answer_by,
        routed_to=row.routed_to,
        sent_at=row.sent_at,
        rejection=row.rejection,
        reopened=row.reopened,
        body=dict(row.body),
        origin=row.origin,
    )


def _region_prefix(region: str) -> str | None:
    """A region as a code prefix: a division code's jurisdiction, or a tally's key as it is."""
    if not region.isascii() or not region.isdigit() or len(region) > 12:
        return None
    try:
        return jurisdiction_prefix(region)
    except DivisionCodeError:
        return region


def list_findings(ctx: HubContext, flt: FindingFilter) -> FindingsPage:
    """The findings matching ``flt``, oldest open first, one page of them."""
    where = [_made(ctx, flt.made), _in_scope(ctx, flt.scope)]
    if flt.state:
        where.append(FindingRow.state == flt.state)
    if flt.source:
        where.append(FindingRow.source == flt.source)
    if flt.kind:
        where.append(FindingRow.kind == flt.kind)
    if flt.region is not None:
        prefix = _region_prefix(flt.region)
        where.append(
            FindingRow.division_code.is_(None)
            if flt.region == _UNROUTED
            else FindingRow.division_code.like(prefix + "%")
            if prefix
            else sa.false()
        )
    now = ctx.now()
    with ctx.store.read() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(FindingRow).where(*where))
        rows = session.scalars(
            sa.select(FindingRow)
            .where(*where)
            .order_by(
                sa.case((FindingRow.state == FindingState.CLOSED.value, 1), else_=0),
                FindingRow.opened_at,
                FindingRow.finding_id,
            )
            .offset(max(flt.offset, 0))
            .limit(max(min(flt.limit, 1000), 1))
        ).all()
        return FindingsPage(items=tuple(_item(r, now) for r in rows), total=int(total or 0))


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetItem:
    """An import as the console lists it (no rows, no personal data)."""

    dataset_id: str
    state: str
    source: str
    source_kind: str
    file_name: str | None
    imported_by: str | None
    imported_at: datetime | None
    started_at: datetime
    as_of: Any
    rows_written: int
    rows_stored: int | None
    problem_count: int | None
    content_hash: str | None
    checked_at: datetime | None
    check_summary: dict[str, Any] | None


def _item_of(row: DatasetRow) -> DatasetItem:
    return DatasetItem(
        dataset_id=row.dataset_id, state=row.state, source=row.source,
        source_kind=row.source_kind, file_name=row.file_name, imported_by=row.imported_by,
        imported_at=row.imported_at, started_at=row.started_at, as_of=row.as_of,
        rows_written=row.rows_written, rows_stored=row.rows_stored,
        problem_count=row.problem_count, content_hash=row.content_hash,
        checked_at=row.checked_at, check_summary=row.check_summary,
    )  # fmt: skip


def datasets(ctx: HubContext, *, limit: int = 50) -> tuple[DatasetItem, ...]:
    """The newest imports, those still being written included."""
    with ctx.store.read() as session:
        rows = session.scalars(
            sa.select(DatasetRow)
            .where(DatasetRow.state.in_([COMMITTED, WRITING]))
            .order_by(DatasetRow.started_at.desc(), DatasetRow.dataset_id)
            .limit(limit)
        ).all()
        return tuple(_item_of(row) for row in rows)


def dataset_item(ctx: HubContext, dataset_id: str) -> DatasetItem | None:
    """One import (being written or committed), or ``None``."""
    with ctx.store.read() as session:
        row = session.get(DatasetRow, dataset_id)
        return None if row is None else _item_of(row)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalItem:
    dataset_id: str
    row: int
    record_id: str
    source: str
    score: float
    reasons: tuple[str, ...]


def pending_proposals(
    ctx: HubContext, *, scope: str | None = None, limit: int = 200
) -> Sequence[ProposalItem]:
    """Proposals waiting for an administrator, best first, limited to ``scope``."""
    query = sa.select(ProposalRow).where(ProposalRow.state == "pending")
    if scope is not None and jurisdiction_prefix(scope) != jurisdiction_prefix(ctx.site):
        query = query.where(ProposalRow.division_code.like(jurisdiction_prefix(scope) + "%"))
    with ctx.store.read() as session:
        rows = session.scalars(
            query.order_by(ProposalRow.dataset_id, ProposalRow.row, ProposalRow.score.desc()).limit(
                limit
            )
        ).all()
        return tuple(
            ProposalItem(
                dataset_id=r.dataset_id,
                row=r.row,
                record_id=r.record_id,
                source=r.source,
                score=r.score,
                reasons=tuple(x for x in r.reasons.split(",") if x),
            )
            for r in rows
        )
