"""Records: search inside the account's jurisdiction, and one record's page."""

from __future__ import annotations

from aiohttp import web

from hub.console.auth import account_of
from hub.console.display import page
from hub.console.pages.common import call, context, permission, translator
from hub.console.records import record_page, search_records
from node.web.display import display_sections

__all__ = ["add_routes"]


@permission("read_records")
async def search(request: web.Request) -> web.StreamResponse:
    """``GET /records?id_number=…`` or ``?name=…``: matching records inside the scope."""
    id_number = request.query.get("id_number", "")[:40]
    name = request.query.get("name", "")[:50]
    results = None
    if id_number.strip() or name.strip():
        results = await call(
            search_records, context(request), account_of(request), id_number=id_number, name=name
        )
    return page(
        request,
        "console/records.html",
        {"results": results, "id_number": id_number, "name": name},
    )


@permission("read_records")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /records/{record_id}``: values, open conflicts, history and provenance."""
    ctx = context(request)
    view = await call(record_page, ctx, account_of(request), request.match_info["record_id"])
    sections = display_sections(
        ctx.schema, view.values, translator(request), conflicts=view.conflicted
    )
    return page(request, "console/record.html", {"view": view, "sections": sections})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/records", search, name="records")
    router.add_get(r"/records/{record_id:[0-9a-f-]{36}}", show, name="record")
