"""The quality queues as the hub store holds them (docs/reports.md §8.3).

- **conflicts** and **duplicates**: the staging findings (``stage_items``) of
  delta bundles. Open while their bundle waits for review; resolved when it
  merges (the reviewer's resolutions go with it), dismissed when it is
  rejected. Filed under the record's household town (its facts row), else
  under the sending node's town.
- **rejections**: bundles a reviewer rejected, open until the same node's next
  bundle merges (the fixed batch), filed under the node's town.
- **findings**: the cross-check's findings (``crosscheck_findings``): open and
  answered ones are open; closed ones are resolved, or dismissed when withdrawn.

Closed items are read only when they closed on or after ``since``. Only ids,
codes and dates leave the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.states import BundleState
from hub.store.crosscheck_models import FindingRow
from hub.store.models import BundleRow, StageItem
from hub.store.report_models import FactsRow
from node.reports.model import ItemState, QualityItem, QualityKind

__all__ = ["quality_rows"]

_OPEN_STATES: Final = (BundleState.VERIFIED, BundleState.STAGED, BundleState.APPROVED)
_KINDS: Final = {"conflict": QualityKind.CONFLICT, "duplicate": QualityKind.DUPLICATE}
_REJECTED_BY_REVIEWER: Final = "rejected_by_reviewer"
#: Findings closed as withdrawn were not problems after all.
_WITHDRAWN: Final = "withdrawn"


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()


def _site(sender: str | None) -> str:
    return (sender or "").split("-", 1)[0]


def _item(
    kind: QualityKind,
    region: str,
    opened: date,
    closed: date | None,
    state: ItemState,
    *,
    finding: str | None = None,
) -> QualityItem:
    if closed is None:
        state = ItemState.OPEN
    return QualityItem(
        kind=kind,
        state=state,
        region=region,
        opened_on=opened,
        closed_on=None if state is ItemState.OPEN else max(opened, closed or opened),
        finding=finding,
    )


def _staging(session: Session, prefix: str, since: datetime) -> Iterator[QualityItem]:
    query = (
        sa.select(
            StageItem.kind,
            FactsRow.region,
            BundleRow.sender,
            BundleRow.state,
            BundleRow.received_at,
            BundleRow.decided_at,
            BundleRow.merged_at,
        )
        .join(BundleRow, BundleRow.id == StageItem.bundle)
        .outerjoin(FactsRow, FactsRow.record_id == StageItem.record_id)
        .where(
            StageItem.kind.in_(tuple(_KINDS)),
            BundleRow.sender.like(f"{prefix}%"),
            sa.or_(
                BundleRow.state.in_([s.value for s in _OPEN_STATES]),
                sa.func.coalesce(BundleRow.merged_at, BundleRow.decided_at) >= since,
            ),
        )
    )
    for kind, region, sender, state, received, decided, merged in session.execute(query):
        closed = None
        outcome = ItemState.OPEN
        if state == BundleState.MERGED:
            closed, outcome = _day(merged or decided), ItemState.RESOLVED
        elif state == BundleState.REJECTED:
            closed, outcome = _day(decided or merged), ItemState.DISMISSED
        yield _item(_KINDS[kind], region or _site(sender), received.date(), closed, outcome)


def _rejections(session: Session, prefix: str, since: datetime) -> Iterator[QualityItem]:
    later = sa.orm.aliased(BundleRow)
    fixed = (
        sa.select(sa.func.min(later.merged_at))
        .where(later.sender == BundleRow.sender, later.merged_at > BundleRow.decided_at)
        .scalar_subquery()
    )
    query = sa.select(BundleRow.sender, BundleRow.decided_at, fixed).where(
        BundleRow.state == BundleState.REJECTED.value,
        BundleRow.reason_code == _REJECTED_BY_REVIEWER,
        BundleRow.decided_at.is_not(None),
        BundleRow.sender.like(f"{prefix}%"),
    )
    for sender, decided, merged in session.execute(query):
        if decided is None or (merged is not None and merged < since):
            continue
        yield _item(
            QualityKind.REJECTION, _site(sender), decided.date(), _day(merged), ItemState.RESOLVED
        )


def _findings(session: Session, prefix: str, since: datetime) -> Iterator[QualityItem]:
    query = sa.select(
        FindingRow.kind,
        FindingRow.division_code,
        FindingRow.state,
        FindingRow.resolution,
        FindingRow.opened_at,
        FindingRow.closed_at,
    ).where(
        FindingRow.division_code.like(f"{prefix}%"),
        sa.or_(FindingRow.closed_at.is_(None), FindingRow.closed_at >= since),
    )
    for kind, code, state, resolution, opened, closed in session.execute(query):
        if code is None:
            continue
        outcome = ItemState.DISMISSED if resolution == _WITHDRAWN else ItemState.RESOLVED
        yield _item(
            QualityKind.FINDING,
            code[:9] if len(code) == 12 else code,
            opened.date(),
            _day(closed) if state == "closed" else None,
            outcome,
            finding=kind,
        )


def quality_rows(session: Session, prefix: str, since: datetime) -> list[QualityItem]:
    """Every quality item filed under codes starting with ``prefix``: open, or closed since."""
    return [
        *_staging(session, prefix, since),
        *_rejections(session, prefix, since),
        *_findings(session, prefix, since),
    ]
