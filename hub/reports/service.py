"""The hub's report services: a report of a scope, the daily snapshot, the figures' day.

Each is one call the console, the CLI and the scheduler share; they run in a
worker thread (the store is synchronous).
"""

from __future__ import annotations

from datetime import date

from hub.accounts import AccountInfo, require
from hub.context import HubContext
from hub.reports.storefacts import refresh_facts
from hub.reports.storesettings import load_narrative, store_snapshot
from hub.reports.storesource import StoreSource
from node.reports.period import Period
from node.reports.report import Report, build_report
from node.reports.snapshots import Snapshot, take_snapshot

__all__ = ["hub_today", "report_for", "run_snapshot", "scope_report"]


def hub_today(ctx: HubContext) -> date:
    """The hub's calendar day: its clock in the server's time zone."""
    return ctx.now().astimezone().date()


def report_for(
    ctx: HubContext,
    period: Period,
    *,
    scope: str | None = None,
    narrative: str | None = None,
    today: date | None = None,
) -> Report:
    """The summary report of ``scope`` (default: the whole hub) for ``period``.

    The narrative defaults to the one saved for the scope and period.

    Raises:
        PeriodError: the period starts after today.
        NarrativeError: the narrative is too long or not plain text.
    """
    today = today or hub_today(ctx)
    source = StoreSource(ctx, today=today, scope=scope)
    root = source.scope
    text = narrative if narrative is not None else load_narrative(ctx, root, period)
    return build_report(source, period, text, today=today)


def scope_report(
    ctx: HubContext, account: AccountInfo, period: Period, *, today: date | None = None
) -> Report:
    """The report of the account's scope (what its dashboard shows).

    Raises:
        ForbiddenError: the account is disabled.
        PeriodError: the period starts after today.
    """
    require(account, "read_bundles")
    return report_for(ctx, period, scope=account.scope, today=today)


def run_snapshot(ctx: HubContext, today: date | None = None) -> Snapshot:
    """Take and keep today's snapshot of the whole hub (the scheduled job's one call).

    The facts are checked against the records first (a full count, once a run).
    """
    today = today or hub_today(ctx)
    refresh_facts(ctx, verify=True)
    snapshot = take_snapshot(StoreSource(ctx, today=today, refresh=False), today)
    store_snapshot(ctx, snapshot)
    return snapshot
