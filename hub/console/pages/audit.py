"""The audit log (administrators and auditors): entries, and the chain check."""

from __future__ import annotations

from aiohttp import web

from hub.console.auditview import audit_page, check_chain
from hub.console.auth import account_of
from hub.console.display import page
from hub.console.pages.common import call, context, int_query, permission

__all__ = ["add_routes"]


@permission("read_audit")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /audit?kind=…&before=…``: entries, newest first."""
    kind = request.query.get("kind", "")[:40]
    view = await call(
        audit_page,
        context(request),
        account_of(request),
        kind=kind,
        before=int_query(request, "before"),
    )
    return page(request, "console/audit.html", {"view": view, "kind": kind, "check": None})


@permission("read_audit")
async def verify(request: web.Request) -> web.StreamResponse:
    """``POST /audit/verify``: check the whole hash chain and show the result."""
    await request.post()
    ctx, account = context(request), account_of(request)
    check = await call(check_chain, ctx, account)
    view = await call(audit_page, ctx, account)
    return page(
        request,
        "console/audit.html",
        {"view": view, "kind": "", "check": check},
        status=200 if check.ok else 409,
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/audit", show, name="audit")
    router.add_post("/audit/verify", verify, name="audit_verify")
