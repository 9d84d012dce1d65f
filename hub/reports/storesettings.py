"""What an administrator sets for the reports, kept in the hub store and audited.

- expected people per region and category (a correction of the baseline);
- the campaign's phases and deadlines;
- the narrative of a region's report for a period;

and the daily snapshots the scheduler stores. Each change is one transaction
with its audit entry (codes, counts and dates only). Permissions: reading needs
``read_bundles`` (every role), changing ``manage_reports`` (administrators),
always inside the account's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import sqlalchemy as sa

from hub.accounts import AccountInfo, in_scope, require
from hub.audit import append_audit
from hub.context import HubContext
from hub.store.report_models import ExpectedRow, NarrativeRow, PhaseRow, SnapshotStoreRow
from node.reports.errors import RegionError, ReportModelError
from node.reports.model import Phase, PhaseKind, check_count
from node.reports.period import Period
from node.reports.report import check_narrative
from node.reports.snapshots import Snapshot
from protocol.divisions import jurisdiction_prefix

__all__ = [
    "MAX_EXPECTED",
    "Correction",
    "corrections",
    "load_narrative",
    "save_narrative",
    "set_expected",
    "set_phase",
    "store_snapshot",
]

#: More people than any province has: a larger figure is a typing error.
MAX_EXPECTED: Final = 100_000_000
_MAX_NAME: Final = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    """An administrator's expected count, as the settings page lists it."""

    region: str
    region_name: str | None
    category: str | None
    count: int
    set_by: str
    set_at: datetime


def _check_region(account: AccountInfo, region: str) -> None:
    if not (region.isascii() and region.isdigit() and len(region) in (6, 9)):
        raise RegionError(f"region {region[:12]!r}: expected a 6- or 9-digit division code")
    if not in_scope(account, region):
        raise RegionError(f"region {region}: expected a region inside {account.scope}")


def corrections(ctx: HubContext, account: AccountInfo) -> list[Correction]:
    """The corrections inside the account's scope, by region and category."""
    require(account, "read_bundles")
    prefix = jurisdiction_prefix(account.scope)
    with ctx.store.read() as session:
        rows = session.scalars(
            sa.select(ExpectedRow)
            .where(ExpectedRow.region.like(f"{prefix}%"))
            .order_by(ExpectedRow.region, ExpectedRow.category)
        ).all()
        return [
            Correction(
                region=r.region,
                region_name=r.region_name,
                category=r.category or None,
                count=r.count,
                set_by=r.set_by,
                set_at=r.set_at,
            )
            for r in rows
        ]


def set_expected(
    ctx: HubContext,
    account: AccountInfo,
    *,
    region: str,
    category: str | None,
    count: int | None,
    region_name: str | None = None,
) -> None:
    """Set (or, with ``count=None``, remove) the expected people of a region and category.

    Raises:
        ForbiddenError: the account may not manage reports.
        RegionError: the region is malformed or outside the account's scope.
        ReportModelError: the category is unknown, or the count is not 0 to
            :data:`MAX_EXPECTED`, or the name is longer than 100 characters.
    """
    require(account, "manage_reports")
    _check_region(account, region)
    if category is not None and category not in ctx.schema.category_keys:
        raise ReportModelError("expected count: unknown category", category=category[:64])
    if count is not None:
        check_count(count, f"expected count of {region}")
        if count > MAX_EXPECTED:
            raise ReportModelError(f"expected count of {region}: at most {MAX_EXPECTED}")
    name = (region_name or "").strip() or None
    if name is not None and len(name) > _MAX_NAME:
        raise ReportModelError(f"region name: expected at most {_MAX_NAME} characters")
    now = ctx.now()
    with ctx.store.write() as session:
        row = session.get(ExpectedRow, (region, category or ""))
        if count is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                ExpectedRow(
                    region=region,
                    category=category or "",
                    count=count,
                    region_name=name,
                    set_by=account.login,
                    set_at=now,
                )
            )
        else:
            row.count, row.set_by, row.set_at = count, account.login, now
            row.region_name = name or row.region_name
        append_audit(
            session,
            at=now,
            actor=account.login,
            action="report.expected_set" if count is not None else "report.expected_removed",
            subject=region,
            details={"category": category, "count": count},
        )


def set_phase(
    ctx: HubContext,
    account: AccountInfo,
    *,
    kind: PhaseKind,
    starts: date | None,
    deadline: date | None,
) -> None:
    """Set a phase's start and deadline (both ``None``: remove the phase).

    Raises:
        ForbiddenError: the account may not manage reports, or is limited to
            part of the hub (the campaign is the whole hub's).
        ReportModelError: only one of the days is given, or the deadline is
            before the start.
    """
    require(account, "manage_reports")
    if account.scope != ctx.site:
        raise RegionError(f"campaign of {ctx.site}: only for accounts of the whole hub")
    if (starts is None) != (deadline is None):
        raise ReportModelError(f"phase {kind.number}: expected both a start and a deadline")
    if starts is not None and deadline is not None:
        Phase(kind=kind, starts=starts, deadline=deadline)
    now = ctx.now()
    with ctx.store.write() as session:
        row = session.get(PhaseRow, kind.value)
        if starts is None or deadline is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                PhaseRow(
                    kind=kind.value,
                    starts=starts,
                    deadline=deadline,
                    set_by=account.login,
                    set_at=now,
                )
            )
        else:
            row.starts, row.deadline, row.set_by, row.set_at = starts, deadline, account.login, now
        append_audit(
            session,
            at=now,
            actor=account.login,
            action="report.phase_set",
            subject=kind.value,
            details={
                "starts": None if starts is None else starts.isoformat(),
                "deadline": None if deadline is None else deadline.isoformat(),
            },
        )


def load_narrative(ctx: HubContext, root: str, period: Period) -> str:
    """The narrative saved for ``root``'s report of ``period`` (empty if none)."""
    with ctx.store.read() as session:
        row = session.get(NarrativeRow, (root, str(period)))
        return "" if row is None else row.text


def save_narrative(ctx: HubContext, account: AccountInfo, period: Period, text: str) -> str:
    """Keep the narrative of the account's scope for ``period``; return it as kept.

    Raises:
        ForbiddenError: the account may not manage reports.
        NarrativeError: the text is too long or holds control characters.
    """
    require(account, "manage_reports")
    text = check_narrative(text)
    now = ctx.now()
    key = (account.scope, str(period))
    with ctx.store.write() as session:
        row = session.get(NarrativeRow, key)
        if row is None:
            session.add(
                NarrativeRow(
                    root=key[0], period=key[1], text=text, updated_by=account.login, updated_at=now
                )
            )
        else:
            row.text, row.updated_by, row.updated_at = text, account.login, now
        append_audit(
            session,
            at=now,
            actor=account.login,
            action="report.narrative_saved",
            subject=f"{key[0]}/{key[1]}",
            details={"characters": len(text)},
        )
    return text


def store_snapshot(ctx: HubContext, snapshot: Snapshot) -> None:
    """Keep ``snapshot`` as its day's (a later one of the same day replaces it)."""
    body = snapshot.to_json()
    with ctx.store.write() as session:
        row = session.get(SnapshotStoreRow, (snapshot.root, snapshot.day))
        if row is None:
            session.add(
                SnapshotStoreRow(
                    root=snapshot.root, day=snapshot.day, taken_at=ctx.now(), body=body
                )
            )
        else:
            row.body, row.taken_at = body, ctx.now()
