"""The inbox: bundles by sender and state, stream gaps and alerts, within a scope.

Read-only views (no personal data: ids, counts, states and reasons), each one
read transaction. Bundles are listed newest first, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from hub.accounts import AccountInfo, require
from hub.audit import append_audit
from hub.context import HubContext
from hub.errors import AlreadyDecidedError, NotFoundError
from hub.scope import bundle_filter, sees_bundle, sees_subject
from hub.states import BundleState
from hub.store.models import Alert, BundleRow
from hub.streams import Gap, stream_gaps

__all__ = [
    "INBOX_STATES",
    "PAGE",
    "AlertLine",
    "BundleLine",
    "InboxView",
    "close_alert",
    "inbox_view",
    "scoped_alerts",
    "scoped_gaps",
    "visible_bundle",
]

#: The states in the order a bundle goes through them.
INBOX_STATES: Final = tuple(s.value for s in BundleState)
#: Bundles per inbox page.
PAGE: Final = 50
#: Summary counts the inbox shows next to a bundle.
_FINDINGS: Final = ("new_records", "changes", "conflicts", "duplicates", "warnings")


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleLine:
    """One bundle as the inbox lists it."""

    row: int
    bundle_id: str | None
    kind: str | None
    sender: str | None
    seq: int | None
    state: str
    received_at: datetime
    count: int | None
    findings: tuple[tuple[str, int], ...]
    reason: str | None
    decided_by: str | None

    @property
    def needs_review(self) -> bool:
        return self.state == BundleState.STAGED.value


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertLine:
    """An alert: a stream conflict (a different bundle reusing a sequence number) or a
    down bundle a child refused."""

    id: int
    at: datetime
    kind: str
    subject: str
    bundle: int | None
    message: str
    closed_by: str | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxView:
    """The inbox page: counts per state, one page of bundles, senders, gaps, open alerts."""

    counts: tuple[tuple[str, int], ...]
    bundles: tuple[BundleLine, ...]
    senders: tuple[str, ...]
    gaps: tuple[Gap, ...]
    alerts: tuple[AlertLine, ...]
    next_before: int | None


def _findings(summary: dict[str, Any] | None) -> tuple[tuple[str, int], ...]:
    if not summary:
        return ()
    return tuple(
        (key, int(summary[key]))
        for key in _FINDINGS
        if isinstance(summary.get(key), int) and summary[key]
    )


def _line(row: BundleRow) -> BundleLine:
    return BundleLine(
        row=row.id,
        bundle_id=row.bundle_id,
        kind=row.kind,
        sender=row.sender,
        seq=row.seq,
        state=row.state,
        received_at=row.received_at,
        count=row.count,
        findings=_findings(row.summary),
        reason=row.reason,
        decided_by=row.decided_by,
    )


def _alert(row: Alert) -> AlertLine:
    return AlertLine(
        id=row.id,
        at=row.at,
        kind=row.kind,
        subject=row.subject,
        bundle=row.bundle,
        message=row.message,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
    )


def scoped_gaps(ctx: HubContext, account: AccountInfo) -> tuple[Gap, ...]:
    """Streams waiting for missing bundles, from senders inside the scope."""
    with ctx.store.read() as session:
        return tuple(g for g in stream_gaps(session) if sees_subject(account, g.sender))


def scoped_alerts(
    ctx: HubContext, account: AccountInfo, *, closed: bool = False, limit: int = 200
) -> tuple[AlertLine, ...]:
    """Alerts about senders inside the scope, newest first (open ones unless ``closed``)."""
    query = sa.select(Alert).order_by(Alert.id.desc())
    query = query.where(Alert.closed_at.is_not(None) if closed else Alert.closed_at.is_(None))
    with ctx.store.read() as session:
        rows = session.scalars(query.limit(limit)).all()
        return tuple(_alert(r) for r in rows if sees_subject(account, r.subject))


def inbox_view(
    ctx: HubContext,
    account: AccountInfo,
    *,
    state: str | None = None,
    sender: str | None = None,
    before: int | None = None,
) -> InboxView:
    """The inbox as ``account`` may see it, optionally of one state or one sender."""
    require(account, "read_bundles")
    scope = bundle_filter(account, ctx.site)
    query = sa.select(BundleRow).where(scope).order_by(BundleRow.id.desc())
    if state:
        query = query.where(BundleRow.state == state)
    if sender:
        query = query.where(BundleRow.sender == sender)
    if before is not None:
        query = query.where(BundleRow.id < before)
    with ctx.store.read() as session:
        rows = session.scalars(query.limit(PAGE + 1)).all()
        counts = dict(
            session.execute(
                sa.select(BundleRow.state, sa.func.count()).where(scope).group_by(BundleRow.state)
            ).all()
        )
        senders = session.scalars(
            sa.select(BundleRow.sender)
            .where(scope, BundleRow.sender.is_not(None))
            .distinct()
            .order_by(BundleRow.sender)
        ).all()
    page = rows[:PAGE]
    return InboxView(
        counts=tuple((s, int(counts.get(s, 0))) for s in INBOX_STATES),
        bundles=tuple(_line(r) for r in page),
        senders=tuple(s for s in senders if s),
        gaps=scoped_gaps(ctx, account),
        alerts=scoped_alerts(ctx, account),
        next_before=page[-1].id if len(rows) > PAGE else None,
    )


def close_alert(ctx: HubContext, account: AccountInfo, alert_id: int) -> None:
    """Mark an alert dealt with (audited).

    Raises:
        ForbiddenError: the account may not review.
        NotFoundError: no such alert inside the account's scope.
        AlreadyDecidedError: the alert was closed already.
    """
    require(account, "review")
    with ctx.store.write() as session:
        row = session.get(Alert, alert_id, with_for_update=True)
        if row is None or not sees_subject(account, row.subject):
            raise NotFoundError(f"no alert {alert_id}")
        if row.closed_at is not None:
            raise AlreadyDecidedError(f"alert {alert_id} is closed already")
        row.closed_by, row.closed_at = account.login, ctx.now()
        append_audit(
            session,
            at=ctx.now(),
            actor=account.login,
            action="alert.closed",
            subject=str(alert_id),
            details={"kind": row.kind},
        )


def visible_bundle(
    ctx: HubContext, account: AccountInfo, row: BundleRow | None, row_id: int
) -> BundleRow:
    """``row`` if the account may see it.

    Raises:
        NotFoundError: no such bundle, or not inside the account's scope.
    """
    if row is None or not sees_bundle(account, ctx.site, row.sender):
        raise NotFoundError(f"no bundle {row_id}")
    return row
