"""The status page and "立即同步" (sync now)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from crypto.errors import MusterError
from node.errors import ConflictError, FormError
from node.reports import Period
from node.reports.html import page_context
from node.services.context import NodeContext
from node.services.reportsource import node_report
from node.services.values import NodeStatus
from node.web.display import category_names
from node.web.kit import render, require_role, route_url
from node.web.pages.common import schema_of, see_other, services, translator
from node.web.roles import EVERYONE
from node.web.services import call

__all__ = ["FIGURE_DAYS", "REPORTS_STATIC_ROUTE", "add_routes"]

#: The days the status page's progress-over-time chart shows.
FIGURE_DAYS: Final = 30
#: Where the UI serves node/reports/static (ECharts, the chart script, the stylesheet).
REPORTS_STATIC_ROUTE: Final = "reports_static"


def _moment(status: NodeStatus) -> str:
    if status.last_sync_at is None:
        return ""
    return status.last_sync_at.astimezone().strftime("%Y-%m-%d %H:%M")


def _figures(ctx: NodeContext, lang: str) -> dict[str, Any]:
    """The collection point's report of the last days, as the dashboard partials take it."""
    today = ctx.now().astimezone().date()
    report = node_report(ctx, Period(start=today - timedelta(days=FIGURE_DAYS - 1), end=today))
    return page_context(report, lang)


@require_role(*EVERYONE)
async def home(request: web.Request) -> web.StreamResponse:
    """``GET /``: counts by category and state, the way out, the last sync and its errors,
    and the collection point's progress figures and charts (docs/reports.md §10)."""
    svc, tr = services(request), translator(request)
    status = await call(svc.status)
    figures = await call(_figures, svc.context, tr.locale)
    categories = [
        (category_names(schema_of(request), [key], tr), count)
        for key, count in status.records_by_category
    ]
    return render(
        request,
        "node/home.html",
        {
            "status": status,
            "categories": categories,
            "ops": [(state.value, count) for state, count in status.ops_by_state],
            "bundles": [(state.value, count) for state, count in status.outbox_by_state],
            "last_sync": _moment(status),
            "failed_code": request.query.get("code", ""),
            "report": figures["report"],
            "h": figures["h"],
            "charts": figures["charts"],
            "reports_static": lambda path: route_url(request, REPORTS_STATIC_ROUTE, filename=path),
        },
    )


@require_role(*EVERYONE)
async def sync_now(request: web.Request) -> web.StreamResponse:
    """``POST /sync``: run one sync now (never alongside the scheduled one), then go home."""
    try:
        report = await call(services(request).sync_now)
    except ConflictError:
        raise see_other(request, "home", {"notice": "sync_busy"}) from None
    except FormError:
        # The only form of the sync: no parent_url in node.toml, so USB only.
        raise see_other(request, "home", {"notice": "sync_no_parent"}) from None
    except MusterError as exc:
        raise see_other(request, "home", {"notice": "sync_failed", "code": exc.code}) from None
    notice = "synced" if report.ok else "sync_failed"
    raise see_other(request, "home", {"notice": notice})


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the status page."""
    router.add_get("/", home, name="home")
    router.add_post("/sync", sync_now, name="sync")
