"""Sessions on requests, login and logout, role checks and the language switch.

:func:`session_middleware` runs before every handler: it chooses the
language, finds the live session named by the cookie and asks the app's
:class:`~node.web.kit.identity.Authenticator` who its account is now, and
sets the request's CSRF token. Every route needs a login unless its handler
is marked :func:`public`: a page asked for without one redirects to the login
page (with ``expired=1`` when a session cookie was there but its session had
ended), anything else is refused with :class:`NotLoggedInError`.

Handlers are generic over the authenticator; :func:`start_session` is the
login itself (throttled, see :mod:`node.web.kit.throttle`) for apps that log
in through JSON.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Final, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from node.web.kit.appkeys import (
    AUTHENTICATOR,
    CATALOGS,
    CLOCK,
    CONFIG,
    CSRF_TOKEN,
    HOME_ROUTE,
    PRINCIPAL,
    SESSION,
    SESSION_TOKEN,
    SESSIONS,
    THROTTLE,
    TOKENS,
    TRANSLATOR,
)
from node.web.kit.config import WebConfig
from node.web.kit.errors import AccessError, LoginFailedError, LoginThrottledError, NotLoggedInError
from node.web.kit.i18n import LOCALES, negotiate
from node.web.kit.identity import Principal
from node.web.kit.security import is_static
from node.web.kit.sessions import new_token
from node.web.kit.templating import render, route_url, safe_next

__all__ = [
    "LOGIN_ROUTE",
    "client_address",
    "current_principal",
    "public",
    "require_role",
    "session_middleware",
    "set_session_cookie",
    "start_session",
    "translator_for",
    "wants_json",
]

_log = logging.getLogger("muster.web")
LOGIN_ROUTE: Final = "kit_login"
_PUBLIC: Final = "_muster_public"
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
#: Longest login and password read from a form; longer ones are simply wrong.
_MAX_LOGIN: Final = 128
_MAX_PASSWORD: Final = 1024
_LANG_COOKIE_AGE: Final = 365 * 86400
_NEW_CSRF_COOKIE = web.RequestKey("muster_new_csrf_cookie", str)

H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def public(handler: H) -> H:
    """Mark a handler as open to visitors who are not logged in."""
    setattr(handler, _PUBLIC, True)
    return handler


def _is_public(request: web.Request) -> bool:
    return is_static(request) or bool(getattr(request.match_info.handler, _PUBLIC, False))


def wants_json(request: web.Request) -> bool:
    """Whether the answer should be JSON: an ``/api/`` path, or a client that asks for it."""
    if "/api/" in request.path:
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def client_address(request: web.Request) -> str:
    """The client's address as the socket sees it (for throttling; never logged)."""
    return request.remote or "unknown"


def translator_for(request: web.Request) -> None:
    """Choose the request's language (cookie, then ``Accept-Language``) if not done yet."""
    if TRANSLATOR in request:
        return
    config = request.config_dict[CONFIG]
    locale = negotiate(
        request.cookies.get(config.lang_cookie_name),
        request.headers.get("Accept-Language"),
        config.default_locale,
    )
    request[TRANSLATOR] = request.config_dict[CATALOGS].translator(locale)


def set_session_cookie(response: web.StreamResponse, config: WebConfig, token: str) -> None:
    """Put the session token in its cookie: ``HttpOnly``, ``SameSite=Strict``, ``Secure`` on TLS."""
    response.set_cookie(
        config.cookie_name,
        token,
        httponly=True,
        samesite="Strict",
        secure=config.tls,
        path=config.cookie_path,
    )


def _clear_session_cookie(response: web.StreamResponse, config: WebConfig) -> None:
    response.del_cookie(config.cookie_name, path=config.cookie_path)


def _find_session(request: web.Request) -> bool:
    """Attach the live session and principal to the request; return whether a cookie was sent."""
    config = request.config_dict[CONFIG]
    token = request.cookies.get(config.cookie_name)
    if not token or not _TOKEN_SHAPE.fullmatch(token):
        return token is not None
    store = request.config_dict[SESSIONS]
    now = request.config_dict[CLOCK]()
    session = store.get(token, now)
    if session is None:
        return True
    principal = request.config_dict[AUTHENTICATOR].current(session.account)
    if principal is None:
        store.delete(token)
        return True
    store.touch(token, now)
    request[SESSION] = session
    request[SESSION_TOKEN] = token
    request[PRINCIPAL] = principal
    request[CSRF_TOKEN] = session.csrf_token
    return True


def _anonymous_csrf(request: web.Request) -> None:
    config = request.config_dict[CONFIG]
    token = request.cookies.get(config.csrf_cookie_name)
    if token is None or not _TOKEN_SHAPE.fullmatch(token):
        token = new_token(request.config_dict[TOKENS])
        request[_NEW_CSRF_COOKIE] = token
    request[CSRF_TOKEN] = token


async def set_anonymous_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: send a new visitor their CSRF cookie.

    The hook runs after aiohttp has turned the response's cookies into headers,
    so the cookie is added as a header here.
    """
    token = request.get(_NEW_CSRF_COOKIE)
    if token is None:
        return
    config = request.config_dict[CONFIG]
    jar: SimpleCookie = SimpleCookie()
    jar[config.csrf_cookie_name] = token
    morsel = jar[config.csrf_cookie_name]
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["path"] = config.cookie_path
    if config.tls:
        morsel["secure"] = True
    response.headers.add("Set-Cookie", morsel.OutputString())


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach language, session, principal and CSRF token; send visitors to the login page.

    Raises:
        NotLoggedInError: a request that is not a page view, without a live session.
    """
    if is_static(request):
        return await handler(request)
    translator_for(request)
    had_cookie = _find_session(request)
    if PRINCIPAL not in request:
        _anonymous_csrf(request)
        if not _is_public(request):
            if request.method == "GET" and not wants_json(request):
                query = {"next": str(request.rel_url)}
                if had_cookie:
                    query["expired"] = "1"
                raise web.HTTPSeeOther(route_url(request, LOGIN_ROUTE, query=query))
            raise NotLoggedInError("request: expected a live session, found none")
    return await handler(request)


def current_principal(request: web.Request) -> Principal:
    """Return the logged-in principal of a request.

    Raises:
        NotLoggedInError: the request has no live session.
    """
    if PRINCIPAL not in request:
        raise NotLoggedInError("request: expected a live session, found none")
    return request[PRINCIPAL]


def require_role(*roles: str) -> Callable[[H], H]:
    """Allow a handler only to principals whose role is one of ``roles``.

    The wrapped handler raises :class:`AccessError` (a 403 page) for other roles.
    """
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError("require_role: expected at least one role")

    def decorate(handler: H) -> H:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            principal = current_principal(request)
            if principal.role not in allowed:
                raise AccessError(
                    f"page needs role {' or '.join(sorted(allowed))}: "
                    f"the account has role {principal.role}",
                    role=principal.role,
                )
            return await handler(request)

        return checked  # type: ignore[return-value]

    return decorate


async def start_session(request: web.Request, login: str, password: str) -> tuple[Principal, str]:
    """Check a login and password (throttled) and start a session; return it and its token.

    Ends the session the request came with, if any, so that a token from before
    the login is never the token after it.

    Raises:
        LoginThrottledError: too many recent failures for this login or address.
        LoginFailedError: the login or password is wrong, or the account is disabled.
    """
    app = request.config_dict
    throttle, clock = app[THROTTLE], app[CLOCK]
    address = client_address(request)
    wait = throttle.retry_after(login, address, clock().timestamp())
    if wait > 0:
        seconds = math.ceil(wait)
        raise LoginThrottledError(
            f"login: too many failed attempts, expected a wait of {seconds} s",
            retry_after=seconds,
        )
    principal = await asyncio.to_thread(app[AUTHENTICATOR].authenticate, login, password)
    if principal is None:
        throttle.failed(login, address, clock().timestamp())
        _log.info("login failed")
        raise LoginFailedError("login: the login or the password is wrong")
    throttle.succeeded(login)
    old = request.get(SESSION_TOKEN)
    if old is not None:
        app[SESSIONS].delete(old)
    token = app[SESSIONS].create(principal.login, clock())
    _log.info("login (role %s)", principal.role)
    return principal, token


def _home(request: web.Request) -> str:
    return route_url(request, request.config_dict[HOME_ROUTE])


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET /login``: the login form (or home, when already logged in)."""
    if PRINCIPAL in request:
        raise web.HTTPSeeOther(safe_next(request.query.get("next"), _home(request)))
    return render(
        request,
        "kit/login.html",
        {
            "next": safe_next(request.query.get("next"), ""),
            "expired": request.query.get("expired") == "1",
            "error": None,
            "login": "",
        },
    )


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login``: log in and go on to ``next``; or show the form again with why not."""
    form = await request.post()
    login = str(form.get("login", "")).strip()[:_MAX_LOGIN]
    password = str(form.get("password", ""))[:_MAX_PASSWORD]
    target = safe_next(str(form.get("next", "")), "")
    t = request[TRANSLATOR]
    try:
        _principal, token = await start_session(request, login, password)
    except LoginThrottledError as exc:
        page = render(
            request,
            "kit/login.html",
            {
                "next": target,
                "expired": False,
                "error": t("login.throttled", seconds=exc.retry_after),
                "login": login,
            },
            status=exc.http_status,
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except LoginFailedError as exc:
        return render(
            request,
            "kit/login.html",
            {"next": target, "expired": False, "error": t("login.failed"), "login": login},
            status=exc.http_status,
        )
    response = web.HTTPSeeOther(target or _home(request))
    set_session_cookie(response, request.config_dict[CONFIG], token)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /logout``: end the session and go to the login page."""
    token = request.get(SESSION_TOKEN)
    if token is not None:
        request.config_dict[SESSIONS].delete(token)
    _log.info("logout")
    response = web.HTTPSeeOther(route_url(request, LOGIN_ROUTE, query={"notice": "logged_out"}))
    _clear_session_cookie(response, request.config_dict[CONFIG])
    raise response


async def alive(_request: web.Request) -> web.StreamResponse:
    """``GET /kit/alive``: keep a session in use while its person is typing (kit.js)."""
    return web.Response(status=204)


@public
async def switch_language(request: web.Request) -> web.StreamResponse:
    """``GET /lang/{code}?next=…``: remember the language in a cookie and go back."""
    code = request.match_info["code"]
    if code not in LOCALES:
        raise web.HTTPNotFound
    config = request.config_dict[CONFIG]
    response = web.HTTPSeeOther(safe_next(request.query.get("next"), _home(request)))
    response.set_cookie(
        config.lang_cookie_name,
        code,
        max_age=_LANG_COOKIE_AGE,
        httponly=True,
        samesite="Strict",
        secure=config.tls,
        path=config.cookie_path,
    )
    raise response
