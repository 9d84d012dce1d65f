"""What the dashboard pages show, built from the reports' services (docs/reports.md §9).

A dashboard is the report of one region inside the account's scope (its own by
default): key figures, the phase table, the six charts, the regions under it
with links one level down, the completeness heat table and the quality queues.
Its period is the last ``days`` days (the timeline's width); the report page
(:mod:`hub.console.dashboardreport`) takes any period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from hub.accounts import AccountInfo, in_scope, require
from hub.context import HubContext
from hub.reports.service import hub_today, report_for
from hub.reports.storesettings import Correction, corrections
from hub.reports.storesource import StoreSource
from node.reports.errors import RegionError
from node.reports.html import page_context
from node.reports.model import Campaign, PhaseKind
from node.reports.period import Period
from node.reports.regions import RegionTree
from node.reports.report import Report
from protocol.divisions import parent_code

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "Dashboard",
    "SettingsView",
    "dashboard",
    "settings_view",
]

#: The timeline's width by default, and at most.
DEFAULT_DAYS: Final = 60
MAX_DAYS: Final = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    """One region's dashboard.

    Attributes:
        report: the region's report over the last ``days`` days.
        context: ``report``, ``lang``, ``h`` and ``charts`` for the report partials.
        days: the period's length.
        parent: the region one level up, if the account may see it.
    """

    report: Report
    context: dict[str, Any]
    days: int
    parent: str | None


def _region(account: AccountInfo, region: str | None) -> str:
    code = region or account.scope
    if not (code.isascii() and code.isdigit() and len(code) in (6, 9)) or not in_scope(
        account, code
    ):
        raise RegionError(f"region {code[:12]!r}: expected a region inside {account.scope}")
    return code


def _parent(account: AccountInfo, code: str) -> str | None:
    """The region one level up, while it is still inside the account's scope."""
    if code == account.scope:
        return None
    parent = parent_code(code)
    return parent if parent is not None and in_scope(account, parent) else None


def dashboard(
    ctx: HubContext,
    account: AccountInfo,
    *,
    region: str | None = None,
    days: int = DEFAULT_DAYS,
    lang: str = "zh-CN",
) -> Dashboard:
    """The dashboard of ``region`` (default: the account's scope).

    Raises:
        ForbiddenError: the account is disabled.
        RegionError: the region is malformed or outside the account's scope.
    """
    require(account, "read_bundles")
    code = _region(account, region)
    days = min(max(days, 1), MAX_DAYS)
    today = hub_today(ctx)
    period = Period(start=today - timedelta(days=days - 1), end=today)
    report = report_for(ctx, period, scope=code, today=today)
    return Dashboard(
        report=report,
        context=page_context(report, lang),
        days=days,
        parent=_parent(account, code),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsView:
    """The settings page: the scope's regions, the corrections and the campaign.

    Attributes:
        tree: the regions of the account's scope (leaves take corrections).
        leaves: codes of the regions that take an expected count.
        corrections: the corrections entered so far.
        campaign: the phases and deadlines.
        today: the hub's day (the forms' default dates).
    """

    tree: RegionTree
    leaves: tuple[str, ...]
    corrections: tuple[Correction, ...]
    campaign: Campaign
    today: date

    def phase(self, kind: str) -> Any:
        """The phase of ``kind`` (``collection`` or ``cross_check``), or None."""
        return self.campaign.phase(PhaseKind(kind))


def settings_view(ctx: HubContext, account: AccountInfo) -> SettingsView:
    """The expected counts and deadlines of the account's scope.

    Raises:
        ForbiddenError: the account is disabled.
    """
    require(account, "read_bundles")
    today = hub_today(ctx)
    source = StoreSource(ctx, today=today, scope=account.scope)
    tree = source.regions()
    return SettingsView(
        tree=tree,
        leaves=tuple(r.code for r in tree.regions if tree.is_leaf(r.code)),
        corrections=tuple(corrections(ctx, account)),
        campaign=source.campaign(),
        today=today,
    )
