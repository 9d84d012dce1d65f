"""Site administration: accounts (add collectors and approvers, disable) and enrollment."""

from __future__ import annotations

from aiohttp import web

from crypto.errors import MusterError
from node.errors import ConflictError, FormError
from node.services.values import AccountRole
from node.web.kit import render, require_role
from node.web.pages.common import form_text, login_of, see_other, services
from node.web.roles import ADMINS
from node.web.services import call

__all__ = ["add_routes"]

#: The roles a site administrator gives out from the page (admins are made with the CLI).
GRANTABLE = (AccountRole.COLLECTOR.value, AccountRole.APPROVER.value)


async def _accounts_page(
    request: web.Request,
    *,
    error: MusterError | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    accounts = await call(services(request).accounts)
    return render(
        request,
        "node/accounts.html",
        {
            "accounts": accounts,
            "roles": GRANTABLE,
            "error": error,
            "entered": entered or {"login": "", "display_name": "", "role": GRANTABLE[0]},
        },
        status=status,
    )


@require_role(*ADMINS)
async def accounts(request: web.Request) -> web.StreamResponse:
    """``GET /admin/accounts``: every account, and the form to add one."""
    return await _accounts_page(request)


@require_role(*ADMINS)
async def add_account(request: web.Request) -> web.StreamResponse:
    """``POST /admin/accounts``: add a collector or an approver."""
    form = await request.post()
    entered = {
        "login": form_text(form, "login", limit=64),
        "display_name": form_text(form, "display_name", limit=100),
        "role": form_text(form, "role", limit=32),
    }
    password = form.get("password")
    repeat = form.get("password_again")
    if entered["role"] not in GRANTABLE:
        error: MusterError = FormError(f"role: expected one of {', '.join(GRANTABLE)}")
        return await _accounts_page(request, error=error, entered=entered, status=422)
    if not isinstance(password, str) or password != repeat:
        error = FormError("password: the two entries differ")
        return await _accounts_page(request, error=error, entered=entered, status=422)
    try:
        await call(
            services(request).create_account,
            entered["login"],
            entered["display_name"],
            entered["role"],
            password,
            by=login_of(request),
        )
    except (FormError, ConflictError) as exc:
        return await _accounts_page(request, error=exc, entered=entered, status=exc.http_status)
    raise see_other(request, "admin_accounts", {"notice": "account_added"})


@require_role(*ADMINS)
async def set_active(request: web.Request) -> web.StreamResponse:
    """``POST /admin/accounts/{login}/active``: disable or enable an account."""
    form = await request.post()
    active = form_text(form, "active") == "1"
    await call(
        services(request).set_account_active,
        request.match_info["login"],
        active,
        by=login_of(request),
    )
    raise see_other(
        request, "admin_accounts", {"notice": "account_enabled" if active else "account_disabled"}
    )


@require_role(*ADMINS)
async def enrollment(request: web.Request) -> web.StreamResponse:
    """``GET /admin/enrollment``: whether the parent hub has certified this node."""
    state = await call(services(request).enrollment)
    expires = state.not_after.astimezone().strftime("%Y-%m-%d") if state.not_after else ""
    return render(request, "node/enrollment.html", {"state": state, "expires": expires})


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the administration pages."""
    router.add_get("/admin/accounts", accounts, name="admin_accounts")
    router.add_post("/admin/accounts", add_account)
    router.add_post("/admin/accounts/{login}/active", set_active, name="admin_account_active")
    router.add_get("/admin/enrollment", enrollment, name="admin_enrollment")
