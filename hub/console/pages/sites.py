"""Sites: children and certificates, enrollment requests, revocation, stream status."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web

from hub.accounts import AccountInfo
from hub.console.auth import account_of
from hub.console.display import page
from hub.console.errors import FormError
from hub.console.pages.common import (
    Notice,
    call,
    context,
    form_dict,
    form_message,
    permission,
    see_other,
)
from hub.console.sitesview import (
    REVOCATION_REASONS,
    approve_request,
    refuse_request,
    revoke_certificate,
    sites_page,
)
from hub.context import HubContext

__all__ = ["add_routes"]


async def _page(
    request: web.Request,
    *,
    form: Mapping[str, str] | None = None,
    error: str | None = None,
    target: str = "",
    status: int = 200,
) -> web.Response:
    view = await call(sites_page, context(request), account_of(request))
    return page(
        request,
        "console/sites.html",
        {
            "view": view,
            "reasons": REVOCATION_REASONS,
            "form": form or {},
            "error": error,
            "target": target,
        },
        status=status,
    )


@permission("manage_sites")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /sites``."""
    return await _page(request)


@permission("manage_sites")
async def approve(request: web.Request) -> web.StreamResponse:
    """``POST /enrollments/{ident}/approve``: issue the certificate."""
    await request.post()
    await call(approve_request, context(request), account_of(request), request.match_info["ident"])
    raise see_other(request, "sites", Notice.ENROLLMENT_APPROVED)


async def _with_reason(
    request: web.Request,
    target: str,
    service: Callable[[HubContext, AccountInfo, str, str], object],
    notice: Notice,
) -> web.StreamResponse:
    form = form_dict(await request.post())
    try:
        await call(service, context(request), account_of(request), target, form.get("reason", ""))
    except FormError as exc:
        message = form_message(request, exc)
        return await _page(request, form=form, error=message, target=target, status=422)
    raise see_other(request, "sites", notice)


@permission("manage_sites")
async def refuse(request: web.Request) -> web.StreamResponse:
    """``POST /enrollments/{ident}/refuse``: refuse with a reason (required)."""
    ident = request.match_info["ident"]
    return await _with_reason(request, ident, refuse_request, Notice.ENROLLMENT_REFUSED)


@permission("manage_sites")
async def revoke(request: web.Request) -> web.StreamResponse:
    """``POST /certificates/{serial}/revoke``: revoke with a reason (required)."""
    serial = request.match_info["serial"]
    return await _with_reason(request, serial, revoke_certificate, Notice.CERTIFICATE_REVOKED)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/sites", show, name="sites")
    router.add_post(
        r"/enrollments/{ident:[0-9a-f]{32}}/approve", approve, name="enrollment_approve"
    )
    router.add_post(r"/enrollments/{ident:[0-9a-f]{32}}/refuse", refuse, name="enrollment_refuse")
    router.add_post(r"/certificates/{serial:[0-9a-f]{1,64}}/revoke", revoke, name="revoke")
