"""The kit's application factory: the app every Muster web UI starts from.

:func:`create_kit_app` returns an :class:`aiohttp.web.Application` with the
kit's middlewares (errors → sessions → CSRF), the security headers, the
catalogs and templates of the kit and the app, and the kit's routes:

| route | name | |
|---|---|---|
| ``GET /login``, ``POST /login`` | ``kit_login`` | the login form (public) |
| ``POST /logout`` | ``kit_logout`` | end the session |
| ``GET /lang/{code}`` | ``kit_lang`` | switch language (public) |
| ``GET /kit/alive`` | ``kit_alive`` | keep a session in use while typing |
| ``/static/kit/…`` | ``kit_static`` | the kit's CSS and JS |
| ``/static/app/…`` | ``static`` | the app's own static files, if it has any |

The app then adds its own routes (every one needs a login unless marked
:func:`~node.web.kit.auth.public`) and its ``cleanup_ctx``. The node UI is a root
app; the hub mounts its console as a sub-app (``root.add_subapp("/console/", app)``),
which keeps the kit's middlewares off its JSON API.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from node.web.kit.appkeys import (
    AUTHENTICATOR,
    CATALOGS,
    CLOCK,
    CONFIG,
    HOME_ROUTE,
    SESSIONS,
    TEMPLATES,
    THROTTLE,
    TOKENS,
    Clock,
)
from node.web.kit.auth import (
    LOGIN_ROUTE,
    alive,
    login_page,
    login_submit,
    logout,
    session_middleware,
    set_anonymous_csrf_cookie,
    switch_language,
)
from node.web.kit.config import WebConfig
from node.web.kit.errorpages import error_middleware
from node.web.kit.i18n import Catalogs
from node.web.kit.identity import Authenticator
from node.web.kit.security import csrf_middleware, set_security_headers
from node.web.kit.sessions import SessionStore, TokenSource
from node.web.kit.templating import APP_STATIC_ROUTE, KIT_STATIC_ROUTE, make_environment
from node.web.kit.throttle import LoginThrottle

__all__ = ["KIT_PACKAGE", "create_kit_app", "utc_now"]

KIT_PACKAGE = "node.web.kit"


def utc_now() -> datetime:
    """The production clock: the current time, aware, in UTC."""
    return datetime.now(UTC)


def _static_dir(package: str) -> Path | None:
    path = Path(str(resources.files(package).joinpath("static")))
    return path if path.is_dir() else None


def create_kit_app(
    *,
    config: WebConfig,
    authenticator: Authenticator,
    sessions: SessionStore,
    packages: Sequence[str] = (),
    home_route: str = "home",
    clock: Clock = utc_now,
    tokens: TokenSource = secrets.token_bytes,
    throttle: LoginThrottle | None = None,
    middlewares: Iterable[Middleware] = (),
) -> web.Application:
    """Return a new app with the kit's middlewares, routes, catalogs and templates.

    Args:
        config: the web settings.
        authenticator: checks passwords and says who an account is.
        sessions: where sessions live.
        packages: the app's packages with ``templates/``, ``locales/`` and
            ``static/`` (later ones win over earlier ones and over the kit).
        home_route: the name of the route a login goes to by default.
        clock: the wall clock (aware UTC).
        tokens: the source of random bytes for session and CSRF tokens.
        throttle: the login throttle (a new one from ``config.throttle`` if not given).
        middlewares: the app's own middlewares, run inside the kit's.

    Raises:
        UsageError: a catalog is malformed or lacks a key in one language.
    """
    everything = (KIT_PACKAGE, *packages)
    app = web.Application(
        middlewares=[error_middleware, session_middleware, csrf_middleware, *middlewares],
        client_max_size=config.max_body_bytes,
    )
    app[CONFIG] = config
    app[CLOCK] = clock
    app[TOKENS] = tokens
    app[SESSIONS] = sessions
    app[AUTHENTICATOR] = authenticator
    app[THROTTLE] = throttle or LoginThrottle(config.throttle)
    app[CATALOGS] = Catalogs.load(everything)
    app[TEMPLATES] = make_environment(everything)
    app[HOME_ROUTE] = home_route
    app.on_response_prepare.append(set_security_headers)
    app.on_response_prepare.append(set_anonymous_csrf_cookie)

    router = app.router
    router.add_get("/login", login_page, name=LOGIN_ROUTE)
    router.add_post("/login", login_submit)
    router.add_post("/logout", logout, name="kit_logout")
    router.add_get("/lang/{code}", switch_language, name="kit_lang")
    router.add_get("/kit/alive", alive, name="kit_alive")
    kit_static = _static_dir(KIT_PACKAGE)
    assert kit_static is not None  # shipped with the package
    router.add_static("/static/kit/", kit_static, name=KIT_STATIC_ROUTE)
    if packages:
        own = _static_dir(packages[-1])
        if own is not None:
            router.add_static("/static/app/", own, name=APP_STATIC_ROUTE)
    return app
