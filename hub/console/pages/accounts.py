"""Accounts and roles (administrators): list, create, disable or enable, new password,
another role."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from hub.console.accountsview import (
    ROLES,
    accounts_in_scope,
    add_account,
    change_password,
    change_role,
    enable_account,
)
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

__all__ = ["add_routes"]

#: Fields of the new-account form that come back when it is refused (never a password).
_KEPT = ("login", "display_name", "role", "scope")


async def _page(
    request: web.Request,
    *,
    form: Mapping[str, str] | None = None,
    error: str | None = None,
    target: str = "",
    status: int = 200,
) -> web.Response:
    me = account_of(request)
    found = await call(accounts_in_scope, context(request), me)
    kept = {k: v for k, v in (form or {}).items() if k in _KEPT}
    return page(
        request,
        "console/accounts.html",
        {
            "accounts": found,
            "roles": ROLES,
            "me": me,
            "form": kept,
            "error": error,
            "target": target,
        },
        status=status,
    )


@permission("manage_accounts")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /accounts``."""
    return await _page(request)


@permission("manage_accounts")
async def create(request: web.Request) -> web.StreamResponse:
    """``POST /accounts``: create an account."""
    form = form_dict(await request.post())
    try:
        await call(add_account, context(request), account_of(request), form)
    except FormError as exc:
        message = form_message(request, exc)
        return await _page(request, form=form, error=message, target="new", status=422)
    raise see_other(request, "accounts", Notice.ACCOUNT_CREATED)


async def _enable(request: web.Request, *, enabled: bool) -> web.StreamResponse:
    await request.post()
    login = request.match_info["login"]
    try:
        await call(enable_account, context(request), account_of(request), login, enabled=enabled)
    except FormError as exc:
        message = form_message(request, exc)
        return await _page(request, error=message, target=login, status=422)
    raise see_other(
        request, "accounts", Notice.ACCOUNT_ENABLED if enabled else Notice.ACCOUNT_DISABLED
    )


@permission("manage_accounts")
async def disable(request: web.Request) -> web.StreamResponse:
    """``POST /accounts/{login}/disable``: disable an account (its sessions end)."""
    return await _enable(request, enabled=False)


@permission("manage_accounts")
async def enable(request: web.Request) -> web.StreamResponse:
    """``POST /accounts/{login}/enable``."""
    return await _enable(request, enabled=True)


@permission("manage_accounts")
async def password(request: web.Request) -> web.StreamResponse:
    """``POST /accounts/{login}/password``: set a new password (its sessions end)."""
    login = request.match_info["login"]
    form = form_dict(await request.post())
    try:
        await call(change_password, context(request), account_of(request), login, form)
    except FormError as exc:
        message = form_message(request, exc)
        return await _page(request, error=message, target=login, status=422)
    raise see_other(request, "accounts", Notice.PASSWORD_SET)


@permission("manage_accounts")
async def role(request: web.Request) -> web.StreamResponse:
    """``POST /accounts/{login}/role``: give the account another role (audited)."""
    login = request.match_info["login"]
    form = form_dict(await request.post())
    try:
        await call(change_role, context(request), account_of(request), login, form)
    except FormError as exc:
        message = form_message(request, exc)
        return await _page(request, error=message, target=login, status=422)
    raise see_other(request, "accounts", Notice.ROLE_CHANGED)


def add_routes(router: web.UrlDispatcher) -> None:
    login = r"{login:[a-z0-9][a-z0-9._-]{0,63}}"
    router.add_get("/accounts", show, name="accounts")
    router.add_post("/accounts", create, name="account_create")
    router.add_post(f"/accounts/{login}/disable", disable, name="account_disable")
    router.add_post(f"/accounts/{login}/enable", enable, name="account_enable")
    router.add_post(f"/accounts/{login}/password", password, name="account_password")
    router.add_post(f"/accounts/{login}/role", role, name="account_role")
