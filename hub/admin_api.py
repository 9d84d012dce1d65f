"""Admin JSON endpoints under ``/api/v1/admin`` (docs/openapi.yaml): what the console's
pages do, for scripts that review "the way a browser does" (the demo).

Login opens a server-side session like the console's: an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` unless ``cookie_secure`` is off) and a CSRF
token in the login answer, which every POST must repeat in ``X-CSRF-Token``. Each
endpoint checks the account's role and limits itself to the account's scope
(:mod:`hub.scope`, as the console does): bundles, their findings and records,
records, alerts, streams, enrollment requests, certificates, accounts and audit
entries outside it are left out of lists, and naming one is a 404.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web
from sqlalchemy.orm import Session

from crypto.errors import InputError
from hub.accounts import (
    AccountInfo,
    HubSessionStore,
    authenticate,
    create_account,
    current_account,
    list_accounts,
    require,
    set_role,
)
from hub.api import MAX_ROW_ID, ctx_of, small_body, whole_number
from hub.audit import verify_audit
from hub.context import HubContext
from hub.errors import AuthenticationError, ForbiddenError
from hub.queries import (
    alerts,
    audit_entries,
    bundle_creates,
    bundle_items,
    bundle_view,
    gaps,
    get_record,
    inbox,
    search_records,
)
from hub.review import Resolution, approve, reject
from hub.scope import (
    account_in_scope,
    bundle_in_scope,
    certificate_in_scope,
    request_in_scope,
    sees_site,
)
from hub.sites import (
    approve_enrollment,
    list_enrollments,
    list_sites,
    refuse_enrollment,
    revoke,
)
from protocol.trust import RevocationReason

__all__ = ["COOKIE", "CSRF_HEADER", "admin_routes"]

COOKIE: Final = "muster_hub_session"
CSRF_HEADER: Final = "X-CSRF-Token"

admin_routes = web.RouteTableDef()


async def _json(request: web.Request) -> dict[str, Any]:
    body = await small_body(request)
    if not body:
        return {}
    try:
        data = json.loads(body)
    # ValueError covers JSONDecodeError and UnicodeDecodeError, and the plain ValueError
    # of an integer over 4300 digits; RecursionError: arrays nested thousands deep.
    except (ValueError, RecursionError) as exc:
        raise InputError("request body: expected a JSON object") from exc
    if not isinstance(data, dict):
        raise InputError("request body: expected a JSON object")
    return data


async def account_of(request: web.Request, *, unsafe: bool = False) -> AccountInfo:
    """The logged-in account of this request (CSRF-checked for unsafe methods).

    Raises:
        AuthenticationError: no live session.
        ForbiddenError: the CSRF token is missing or wrong.
    """
    ctx = ctx_of(request)
    token = request.cookies.get(COOKIE)
    if not token:
        raise AuthenticationError("not logged in")
    sessions = HubSessionStore(ctx)

    def find() -> tuple[Any, AccountInfo | None]:
        session = sessions.get(token, ctx.now())
        if session is None:
            return None, None
        sessions.touch(token, ctx.now())
        return session, current_account(ctx, session.account)

    session, account = await asyncio.to_thread(find)
    if session is None or account is None:
        raise AuthenticationError("not logged in, or the session has ended")
    if unsafe and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf_token):
        raise ForbiddenError(f"missing or wrong {CSRF_HEADER}")
    return account


async def _in_scope(ctx: HubContext, check: Callable[[Session], object]) -> None:
    """Run a :mod:`hub.scope` guard (it raises NotFoundError outside the scope)."""

    def run() -> None:
        with ctx.store.read() as session:
            check(session)

    await asyncio.to_thread(run)


def _account_json(account: AccountInfo) -> dict[str, Any]:
    return {
        "login": account.login,
        "display_name": account.display_name,
        "role": account.role.value,
        "scope": account.scope,
        "disabled": account.disabled,
    }


@admin_routes.post("/api/v1/admin/login")
async def login(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    data = await _json(request)
    login_, password = data.get("login"), data.get("password")
    if not isinstance(login_, str) or not isinstance(password, str):
        raise InputError("login: expected {login, password}")
    account = await asyncio.to_thread(authenticate, ctx, login_, password)
    sessions = HubSessionStore(ctx)

    def start() -> tuple[str, str]:
        token = sessions.create(account.login, ctx.now())
        session = sessions.get(token, ctx.now())
        assert session is not None
        return token, session.csrf_token

    token, csrf = await asyncio.to_thread(start)
    response = web.json_response({"account": _account_json(account), "csrf_token": csrf})
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=ctx.config.cookie_secure, path="/"
    )
    return response


@admin_routes.post("/api/v1/admin/logout")
async def logout(request: web.Request) -> web.Response:
    await account_of(request, unsafe=True)
    token = request.cookies.get(COOKIE, "")
    await asyncio.to_thread(HubSessionStore(ctx_of(request)).delete, token)
    response = web.json_response({"status": "logged out"})
    response.del_cookie(COOKIE, path="/")
    return response


@admin_routes.get("/api/v1/admin/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(_account_json(await account_of(request)))


def _int(request: web.Request, name: str, default: int) -> int:
    # Rows, cursors over rows and page sizes: all within the integer id columns.
    text = request.query.get(name) or request.match_info.get(name)
    return default if text is None else whole_number(text, name, maximum=MAX_ROW_ID)


@admin_routes.get("/api/v1/admin/bundles")
async def bundles(request: web.Request) -> web.Response:
    account = await account_of(request)
    views = await asyncio.to_thread(
        inbox,
        ctx_of(request),
        account,
        state=request.query.get("state"),
        sender=request.query.get("sender"),
        after=_int(request, "after", 0),
        limit=_int(request, "limit", 100),
    )
    return web.json_response({"bundles": [v.to_dict() for v in views]})


@admin_routes.get("/api/v1/admin/bundles/{row}")
async def bundle(request: web.Request) -> web.Response:
    account = await account_of(request)
    view = await asyncio.to_thread(bundle_view, ctx_of(request), account, _int(request, "row", 0))
    return web.json_response(view.to_dict())


@admin_routes.get("/api/v1/admin/bundles/{row}/items")
async def items(request: web.Request) -> web.Response:
    account = await account_of(request)
    found = await asyncio.to_thread(
        bundle_items,
        ctx_of(request),
        account,
        _int(request, "row", 0),
        kind=request.query.get("kind"),
        after=_int(request, "after", 0),
        limit=_int(request, "limit", 100),
    )
    return web.json_response({"items": found})


@admin_routes.get("/api/v1/admin/bundles/{row}/records")
async def creates(request: web.Request) -> web.Response:
    account = await account_of(request)
    found = await asyncio.to_thread(
        bundle_creates,
        ctx_of(request),
        account,
        _int(request, "row", 0),
        after=_int(request, "after", 0),
        limit=_int(request, "limit", 100),
    )
    return web.json_response({"records": found})


@admin_routes.post("/api/v1/admin/bundles/{row}/approve")
async def approve_bundle(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "review")
    ctx, row = ctx_of(request), _int(request, "row", 0)
    await _in_scope(ctx, lambda s: bundle_in_scope(s, account, ctx.site, row))
    data = await _json(request)
    raw = data.get("resolutions", [])
    if not isinstance(raw, list):
        raise InputError("resolutions: expected a list")
    resolutions = [Resolution.from_dict(r) for r in raw]
    await asyncio.to_thread(approve, ctx, row, by=account.login, resolutions=resolutions)
    return web.json_response({"status": "approved"})


@admin_routes.post("/api/v1/admin/bundles/{row}/reject")
async def reject_bundle(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "review")
    ctx, row = ctx_of(request), _int(request, "row", 0)
    await _in_scope(ctx, lambda s: bundle_in_scope(s, account, ctx.site, row))
    data = await _json(request)
    reason = data.get("reason")
    if not isinstance(reason, str):
        raise InputError("reason: expected text")
    await asyncio.to_thread(reject, ctx, row, by=account.login, reason=reason)
    return web.json_response({"status": "rejected"})


@admin_routes.get("/api/v1/admin/streams")
async def streams(request: web.Request) -> web.Response:
    account = await account_of(request)
    found = await asyncio.to_thread(gaps, ctx_of(request), account)
    return web.json_response({"gaps": [dataclasses.asdict(g) for g in found]})


@admin_routes.get("/api/v1/admin/alerts")
async def alert_list(request: web.Request) -> web.Response:
    account = await account_of(request)
    return web.json_response({"alerts": await asyncio.to_thread(alerts, ctx_of(request), account)})


@admin_routes.get("/api/v1/admin/records")
async def records(request: web.Request) -> web.Response:
    account = await account_of(request)
    found = await asyncio.to_thread(
        search_records,
        ctx_of(request),
        account,
        id_number=request.query.get("id_number"),
        limit=_int(request, "limit", 50),
    )
    return web.json_response({"records": found})


@admin_routes.get("/api/v1/admin/records/{record_id}")
async def record(request: web.Request) -> web.Response:
    account = await account_of(request)
    found = await asyncio.to_thread(
        get_record, ctx_of(request), account, request.match_info["record_id"]
    )
    return web.json_response(found)


@admin_routes.get("/api/v1/admin/enrollments")
async def enrollments(request: web.Request) -> web.Response:
    account = await account_of(request)
    require(account, "manage_sites")
    found = await asyncio.to_thread(list_enrollments, ctx_of(request), request.query.get("state"))
    return web.json_response(
        {
            "enrollments": [
                {**dataclasses.asdict(e), "received_at": e.received_at.isoformat()}
                for e in found
                if sees_site(account, e.site)
            ]
        }
    )


@admin_routes.post("/api/v1/admin/enrollments/{id}/approve")
async def approve_request(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "manage_sites")
    ctx, ident = ctx_of(request), request.match_info["id"]
    await _in_scope(ctx, lambda s: request_in_scope(s, account, ident))
    cert = await asyncio.to_thread(approve_enrollment, ctx, ident, by=account.login)
    return web.json_response({"status": "approved", "serial": cert.serial})


@admin_routes.post("/api/v1/admin/enrollments/{id}/refuse")
async def refuse_request(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "manage_sites")
    ctx, ident = ctx_of(request), request.match_info["id"]
    await _in_scope(ctx, lambda s: request_in_scope(s, account, ident))
    data = await _json(request)
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("reason: expected text")
    await asyncio.to_thread(refuse_enrollment, ctx, ident, by=account.login, reason=reason)
    return web.json_response({"status": "refused"})


@admin_routes.get("/api/v1/admin/sites")
async def sites(request: web.Request) -> web.Response:
    account = await account_of(request)
    require(account, "manage_sites")
    found = await asyncio.to_thread(list_sites, ctx_of(request))
    return web.json_response(
        {
            "sites": [
                {
                    **dataclasses.asdict(s),
                    "not_after": s.not_after.isoformat(),
                    "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
                }
                for s in found
                if sees_site(account, s.site)
            ]
        }
    )


@admin_routes.post("/api/v1/admin/certificates/{serial}/revoke")
async def revoke_certificate(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "manage_sites")
    ctx, serial = ctx_of(request), request.match_info["serial"]
    await _in_scope(ctx, lambda s: certificate_in_scope(s, account, ctx.site, serial))
    data = await _json(request)
    try:
        reason = RevocationReason(str(data.get("reason")))
    except ValueError:
        raise InputError(
            f"reason: expected one of {', '.join(r.value for r in RevocationReason)}"
        ) from None
    crl = await asyncio.to_thread(revoke, ctx, serial, reason=reason, by=account.login)
    return web.json_response({"status": "revoked", "crl_number": crl.number})


@admin_routes.get("/api/v1/admin/accounts")
async def accounts(request: web.Request) -> web.Response:
    account = await account_of(request)
    require(account, "manage_accounts")
    found = await asyncio.to_thread(list_accounts, ctx_of(request))
    return web.json_response(
        {"accounts": [_account_json(a) for a in found if sees_site(account, a.scope)]}
    )


@admin_routes.post("/api/v1/admin/accounts")
async def add_account(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "manage_accounts")
    data = await _json(request)
    text = {k: data.get(k) for k in ("login", "display_name", "role", "password")}
    scope = data.get("scope") or account.scope
    if not all(isinstance(v, str) for v in text.values()) or not isinstance(scope, str):
        raise InputError("account: expected login, display_name, role and password as text")
    if not sees_site(account, scope):
        raise InputError(f"scope: expected a division code inside {account.scope}")
    created = await asyncio.to_thread(
        create_account,
        ctx_of(request),
        login=str(text["login"]),
        display_name=str(text["display_name"]),
        role=str(text["role"]),
        password=str(text["password"]),
        by=account.login,
        scope=scope,
    )
    return web.json_response(_account_json(created), status=201)


@admin_routes.post("/api/v1/admin/accounts/{login}/role")
async def change_role(request: web.Request) -> web.Response:
    account = await account_of(request, unsafe=True)
    require(account, "manage_accounts")
    ctx, login = ctx_of(request), request.match_info["login"]
    await _in_scope(ctx, lambda s: account_in_scope(s, account, login))
    if login == account.login:
        raise ForbiddenError("accounts: an administrator cannot change their own role")
    data = await _json(request)
    role = data.get("role")
    if not isinstance(role, str):
        raise InputError("role: expected text")
    changed = await asyncio.to_thread(set_role, ctx, login, role, by=account.login)
    return web.json_response(_account_json(changed))


@admin_routes.get("/api/v1/admin/audit")
async def audit_log(request: web.Request) -> web.Response:
    account = await account_of(request)
    before = request.query.get("before")
    found = await asyncio.to_thread(
        audit_entries,
        ctx_of(request),
        account,
        kind=request.query.get("kind", "")[:40],
        before=None if before is None else whole_number(before, "before"),
        limit=_int(request, "limit", 100),
    )
    return web.json_response(
        {"entries": list(found.entries), "next_before": found.next_before, "total": found.total}
    )


@admin_routes.get("/api/v1/admin/audit/verify")
async def audit_verify(request: web.Request) -> web.Response:
    account = await account_of(request)
    require(account, "read_audit")
    count = await asyncio.to_thread(verify_audit, ctx_of(request).store)
    return web.json_response({"status": "ok", "entries": count})
