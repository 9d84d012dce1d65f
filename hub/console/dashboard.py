"""The progress dashboard and its settings (docs/reports.md §9).

| route | what | who |
|---|---|---|
| ``GET /dashboard?region=&days=`` | a region's dashboard (default: the account's scope) | all |
| ``GET /dashboard/settings`` | expected counts per region, campaign deadlines | all read |
| ``POST /dashboard/expected`` | set or remove an expected count | administrators |
| ``POST /dashboard/phases`` | set or remove a phase's start and deadline | administrators |

The report and export pages are in :mod:`hub.console.dashboardreport`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from aiohttp import web

from hub.console.auth import account_of
from hub.console.dashboardview import DEFAULT_DAYS, dashboard, settings_view
from hub.console.display import page
from hub.console.errors import FormError
from hub.console.pages.common import call, context, form_dict, int_query, permission, translator
from hub.reports.storesettings import MAX_EXPECTED, set_expected, set_phase
from node.reports.errors import RegionError, ReportModelError
from node.reports.html import STATIC_DIR
from node.reports.model import PhaseKind
from node.web.kit import route_url

__all__ = ["add_routes", "reports_static", "see_notice"]

#: Where the console serves node/reports/static (ECharts, the chart script, the stylesheet).
STATIC_ROUTE: Final = "reports_static"
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE: Final = re.compile(r"[0-9]{6}|[0-9]{9}")


def reports_static(request: web.Request) -> Any:
    """``reports_static(path)`` for templates: the URL of a file of node/reports/static."""
    return lambda path: route_url(request, STATIC_ROUTE, filename=path)


def see_notice(request: web.Request, route: str, notice: str, **query: str) -> web.HTTPSeeOther:
    """A 303 to ``route`` with a one-line confirmation (``notice.<notice>`` in the catalog)."""
    return web.HTTPSeeOther(route_url(request, route, {**query, "notice": notice}))


@permission("read_bundles")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /dashboard``: figures and charts of a region inside the account's scope."""
    region = request.query.get("region", "")[:12] or None
    view = await call(
        dashboard,
        context(request),
        account_of(request),
        region=region,
        days=int_query(request, "days") or DEFAULT_DAYS,
        lang=translator(request).locale,
    )
    return page(
        request,
        "console/dashboard.html",
        {
            "view": view,
            "report": view.report,
            "h": view.context["h"],
            "charts": view.context["charts"],
            "reports_static": reports_static(request),
            "drill": lambda code: route_url(
                request, "dashboard", {"region": code, "days": view.days}
            ),
        },
    )


async def _settings(
    request: web.Request, *, error: str | None = None, form: dict[str, str] | None = None
) -> web.StreamResponse:
    view = await call(settings_view, context(request), account_of(request))
    return page(
        request,
        "console/dashboard_settings.html",
        {
            "view": view,
            "schema_categories": context(request).schema.categories,
            "error": error,
            "form": form or {},
            "max_expected": MAX_EXPECTED,
        },
        status=422 if error else 200,
    )


@permission("read_bundles")
async def settings(request: web.Request) -> web.StreamResponse:
    """``GET /dashboard/settings``."""
    return await _settings(request)


def _count(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) > MAX_EXPECTED:
        raise FormError("expected count: not a whole number", key="dashboard.bad_count")
    return int(text)


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if _DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise FormError("phase: not a day", key="dashboard.bad_day")
    return day


def _expected(ctx: Any, account: Any, form: dict[str, str]) -> None:
    region = form.get("region", "").strip()
    category = form.get("category", "").strip() or None
    if _CODE.fullmatch(region) is None:
        raise FormError("expected count: no region", key="dashboard.bad_region")
    if category is not None and category not in ctx.schema.category_keys:
        raise FormError("expected count: unknown category", key="dashboard.bad_category")
    count = None if form.get("remove") else _count(form.get("count", ""))
    if count is None and not form.get("remove"):
        raise FormError("expected count: none given", key="dashboard.bad_count")
    try:
        set_expected(
            ctx,
            account,
            region=region,
            category=category,
            count=count,
            region_name=form.get("region_name"),
        )
    except (RegionError, ReportModelError) as exc:
        raise FormError(exc.message, key="dashboard.bad_region") from exc


async def _change(request: web.Request, change: Any, notice: str) -> web.StreamResponse:
    """Apply a settings form with ``change(ctx, account, form)``; show it again if refused."""
    form = form_dict(await request.post())
    try:
        await call(change, context(request), account_of(request), form)
    except FormError as exc:
        return await _settings(request, error=translator(request)(exc.fields["key"]), form=form)
    raise see_notice(request, "dashboard_settings", notice)


@permission("manage_reports")
async def expected(request: web.Request) -> web.StreamResponse:
    """``POST /dashboard/expected``: set (or ``remove``) a region's expected count."""
    return await _change(request, _expected, "expected_saved")


def _phase(ctx: Any, account: Any, form: dict[str, str]) -> None:
    kind = form.get("kind", "")
    if kind not in {k.value for k in PhaseKind}:
        raise FormError("phase: unknown phase", key="dashboard.bad_phase")
    starts, deadline = _day(form.get("starts", "")), _day(form.get("deadline", ""))
    try:
        set_phase(ctx, account, kind=PhaseKind(kind), starts=starts, deadline=deadline)
    except ReportModelError as exc:
        raise FormError(exc.message, key="dashboard.bad_phase") from exc
    except RegionError as exc:
        raise FormError(exc.message, key="dashboard.phase_whole_hub") from exc


@permission("manage_reports")
async def phases(request: web.Request) -> web.StreamResponse:
    """``POST /dashboard/phases``: a phase's start and deadline (both empty: remove it)."""
    return await _change(request, _phase, "phase_saved")


def add_routes(router: web.UrlDispatcher) -> None:
    """The dashboard's routes, and the static files its charts load."""
    router.add_static("/static/reports/", STATIC_DIR, name=STATIC_ROUTE)
    router.add_get("/dashboard", show, name="dashboard")
    router.add_get("/dashboard/settings", settings, name="dashboard_settings")
    router.add_post("/dashboard/expected", expected, name="dashboard_expected")
    router.add_post("/dashboard/phases", phases, name="dashboard_phases")
