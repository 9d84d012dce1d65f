"""The "generate report" page and the record export (docs/reports.md §9).

- ``GET /dashboard/report?period=``: the period, the narrative and the buttons (all);
- ``POST /dashboard/report``: ``action=save`` keeps the narrative (administrators),
  ``xlsx`` answers the workbook, ``html`` the printable page (all);
- ``GET /dashboard/export``: choose the fields of a record-level export;
- ``POST /dashboard/export``: the export as a workbook, audited (``export_records``;
  a refusal is audited too).

The summary report holds aggregates only, so every role may download it; an
administrator's narrative is saved before the report is made with it.
"""

from __future__ import annotations

import tempfile
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from hub.accounts import AccountInfo
from hub.console.auth import account_of
from hub.console.dashboard import reports_static, see_notice
from hub.console.display import page
from hub.console.pages.common import allowed, call, context, form_dict, permission, translator
from hub.context import HubContext
from hub.reports.exportservice import DEFAULT_EXPORT_FIELDS, export_scope
from hub.reports.service import hub_today, report_for
from hub.reports.storesettings import load_narrative, save_narrative
from node.reports.errors import NarrativeError, PeriodError
from node.reports.html import render_html
from node.reports.period import Period, parse_period
from node.reports.report import Report
from node.reports.xlsx import build_workbook
from protocol.schema import FieldType

__all__ = ["add_routes"]

_XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ACTIONS: Final = ("save", "xlsx", "html")


def _month(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def _attachment(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


async def _report_page(
    request: web.Request,
    *,
    period_text: str | None = None,
    narrative: str | None = None,
    error: str | None = None,
) -> web.StreamResponse:
    ctx, account = context(request), account_of(request)
    text = period_text if period_text is not None else request.query.get("period", "")[:32]
    text = text or _month(hub_today(ctx))
    if narrative is None:
        try:
            narrative = await call(load_narrative, ctx, account.scope, parse_period(text))
        except PeriodError as exc:
            error, narrative = error or exc.message, ""
    return page(
        request,
        "console/dashboard_report.html",
        {
            "period": text,
            "narrative": narrative,
            "editable": allowed(request, "manage_reports"),
            "error": error,
        },
        status=422 if error else 200,
    )


@permission("read_bundles")
async def report_form(request: web.Request) -> web.StreamResponse:
    """``GET /dashboard/report``."""
    return await _report_page(request)


def _make(ctx: HubContext, account: AccountInfo, period: Period, narrative: str | None) -> Report:
    return report_for(ctx, period, scope=account.scope, narrative=narrative)


@permission("read_bundles")
async def report_submit(request: web.Request) -> web.StreamResponse:
    """``POST /dashboard/report``: save the narrative and/or make the report."""
    data = await request.post()
    form = form_dict(data)
    ctx, account = context(request), account_of(request)
    action = form.get("action", "")
    # Not cut at form_dict's length: the report's own check refuses a narrative too long.
    entered = data.get("narrative", "")
    text, narrative = form.get("period", "")[:32], entered if isinstance(entered, str) else ""
    editable = allowed(request, "manage_reports")
    if action not in _ACTIONS or (action == "save" and not editable):
        raise web.HTTPBadRequest(text="unknown action")
    try:
        period = parse_period(text)
        # The report checks the period and the narrative before anything is kept.
        report = await call(_make, ctx, account, period, narrative if editable else None)
        if editable:
            await call(save_narrative, ctx, account, period, narrative)
    except (PeriodError, NarrativeError) as exc:
        return await _report_page(request, period_text=text, narrative=narrative, error=exc.message)
    if action == "save":
        raise see_notice(request, "dashboard_report", "narrative_saved", period=text)
    lang = translator(request).locale
    stem = f"report-{report.site_code}-{report.period}".replace("..", "_")
    if action == "xlsx":
        buffer = BytesIO()
        build_workbook(report, lang=lang).save(buffer)
        return web.Response(
            body=buffer.getvalue(),
            content_type=_XLSX,
            headers={"Content-Disposition": _attachment(f"{stem}.xlsx")},
        )
    base = reports_static(request)("")
    return web.Response(
        text=render_html(report, lang=lang, asset_base=base),
        content_type="text/html",
        charset="utf-8",
    )


def _fields(ctx: HubContext) -> list[Any]:
    return [f for f in ctx.schema.fields if f.type is not FieldType.PHOTO]


@permission("export_records")
async def export_form(request: web.Request) -> web.StreamResponse:
    """``GET /dashboard/export``: pick the fields of a record-level export."""
    return page(
        request,
        "console/dashboard_export.html",
        {"fields": _fields(context(request)), "chosen": DEFAULT_EXPORT_FIELDS},
    )


def _export(
    ctx: HubContext, account: AccountInfo, fields: tuple[str, ...], scope: str | None, lang: str
) -> tuple[bytes, str]:
    scratch = ctx.config.scratch_dir
    scratch.mkdir(parents=True, exist_ok=True)
    # The file holds personal data: it lives in the hub's scratch folder only while sent.
    with tempfile.TemporaryDirectory(prefix="export-", dir=scratch) as folder:
        path = Path(folder) / "records.xlsx"
        export_scope(ctx, account, path, fields=fields, scope=scope, lang=lang)
        return path.read_bytes(), scope or account.scope


# Any role reaches the service, which refuses (and audits) those that may not export.
@permission("read_bundles")
async def export_submit(request: web.Request) -> web.StreamResponse:
    """``POST /dashboard/export``: the chosen fields of the scope's records, audited."""
    data = await request.post()
    ctx = context(request)
    known = {f.key for f in _fields(ctx)}
    fields = tuple(
        dict.fromkeys(v for v in data.getall("field", []) if isinstance(v, str) and v in known)
    )
    scope = str(data.get("scope", "") or "")[:12].strip() or None
    body, where = await call(
        _export,
        ctx,
        account_of(request),
        fields or DEFAULT_EXPORT_FIELDS,
        scope,
        translator(request).locale,
    )
    name = f"records-{where}-{hub_today(ctx).isoformat()}.xlsx"
    return web.Response(
        body=body, content_type=_XLSX, headers={"Content-Disposition": _attachment(name)}
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dashboard/report", report_form, name="dashboard_report")
    router.add_post("/dashboard/report", report_submit)
    router.add_get("/dashboard/export", export_form, name="dashboard_export")
    router.add_post("/dashboard/export", export_submit)
