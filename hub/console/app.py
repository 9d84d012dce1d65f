"""The console's app factory: a sub-app of the hub on the web kit (docs/web.md).

:func:`mount_console` is the one call ``hub.app.create_app`` makes; it mounts the
console at ``/console/``, with its own cookies (``muster_console``, path
``/console/``), so the kit's session and CSRF middlewares never see the JSON API.
The hub's services are built when the root app starts, after mounting: the console
reads them from the root app's ``hub.appkeys.CONTEXT`` on each request.

Pages (docs/hub.md, "Console"):

| area | routes | who |
|---|---|---|
| inbox | ``/``, ``/alerts/{id}/close`` | everyone; closing alerts: reviewers |
| review | ``/bundles/{row}``, ``…/approve``, ``…/reject`` | everyone reads; reviewers decide |
| records | ``/records``, ``/records/{id}`` | admins, reviewers, viewers |
| sites | ``/sites``, enrollment and revocation actions | admins |
| accounts | ``/accounts`` and its actions | admins |
| audit | ``/audit``, ``/audit/verify`` | admins, auditors |
| status | ``/status`` | everyone |
| dashboard | ``/dashboard``, ``…/settings``, ``…/report``, ``…/export`` | everyone; admins |

The dashboard's templates, catalogs and chart files come from the reports
(``node.reports``: the shared partials and ECharts; ``hub.reports``: the pages).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Final

from aiohttp import web

from hub.appkeys import CONTEXT
from hub.config import HubConfig
from hub.console import dashboard, dashboardreport
from hub.console.appkeys import CONTEXT_SOURCE, JOB_BOARD, ContextSource
from hub.console.auth import ConsoleAuthenticator, ConsoleSessions
from hub.console.crosscheckview import Background
from hub.console.jobs import JobBoard
from hub.console.pages import accounts, audit, crosscheck, inbox, records, review, sites, status
from hub.console.pages.crosscheck import CROSSCHECK_JOBS
from hub.context import HubContext
from node.web.kit import SessionStore, WebConfig, create_kit_app
from node.web.kit.sessions import TokenSource

__all__ = ["CONSOLE_PACKAGE", "CONSOLE_PREFIX", "create_console", "mount_console", "web_config_for"]

CONSOLE_PACKAGE: Final = "hub.console"
#: Packages whose templates and catalogs the console uses besides its own (the reports').
REPORT_PACKAGES: Final = ("node.reports", "hub.reports")
#: Where the console is mounted in the hub's app.
CONSOLE_PREFIX: Final = "/console/"
#: The console's cookies are named apart from the node UI's (cookies ignore ports).
COOKIE_NAME: Final = "muster_console"
#: A login ends after a working day whatever its use; idle logout comes much sooner.
SESSION_LIFETIME_S: Final = 12 * 3600


def web_config_for(config: HubConfig) -> WebConfig:
    """The kit's settings for the console, from hub.toml.

    ``session_idle_minutes`` is the idle logout; ``cookie_secure`` makes the cookies
    ``Secure`` and adds HSTS (keep it on behind TLS).
    """
    idle = config.session_idle_minutes * 60
    return WebConfig(
        tls=config.cookie_secure,
        idle_timeout_s=idle,
        session_lifetime_s=max(idle, SESSION_LIFETIME_S),
        cookie_name=COOKIE_NAME,
        cookie_path=CONSOLE_PREFIX,
    )


def create_console(
    config: HubConfig,
    context: ContextSource,
    *,
    sessions: SessionStore | None = None,
    jobs: JobBoard | None = None,
    tokens: TokenSource = secrets.token_bytes,
) -> web.Application:
    """Return the console app (mount it with :func:`mount_console`).

    Args:
        config: the hub's settings.
        context: returns the hub's services (built when the hub starts).
        sessions: where sessions live (default: the hub store's ``sessions`` table).
        jobs: the board scheduled jobs report to (a new one if not given).
        tokens: random bytes for CSRF tokens.

    Raises:
        UsageError: a catalog of the console is incomplete.
    """

    def clock() -> datetime:
        return context().now()

    app = create_kit_app(
        config=web_config_for(config),
        authenticator=ConsoleAuthenticator(context),
        sessions=sessions or ConsoleSessions(context),
        packages=(*REPORT_PACKAGES, CONSOLE_PACKAGE),
        home_route="inbox",
        clock=clock,
        tokens=tokens,
    )
    app[CONTEXT_SOURCE] = context
    app[JOB_BOARD] = jobs or JobBoard()
    app[CROSSCHECK_JOBS] = Background()
    app.on_cleanup.append(_finish_crosscheck_jobs)
    areas = (inbox, review, records, sites, accounts, audit, status)
    for area in (*areas, dashboard, dashboardreport, crosscheck):
        area.add_routes(app.router)
    return app


def mount_console(
    root: web.Application, config: HubConfig, *, sessions: SessionStore | None = None
) -> web.Application:
    """Mount the console on the hub's app at :data:`CONSOLE_PREFIX`; return the console.

    The root app gets the :data:`~hub.console.appkeys.JOB_BOARD` (if it has none) that
    the status page shows: the hub's scheduled jobs report their runs to
    ``root[JOB_BOARD]``.

    Args:
        root: the hub's app (``hub.app.create_app``), whose start-up sets ``CONTEXT``.
        config: the hub's settings.
        sessions: where sessions live (default: the hub store's ``sessions`` table).
    """

    def hub_context() -> HubContext:
        return root[CONTEXT]

    jobs = root.get(JOB_BOARD)
    if jobs is None:
        jobs = root[JOB_BOARD] = JobBoard()
    console = create_console(config, hub_context, jobs=jobs, sessions=sessions)
    # Before the sub-app, which would take "/console" too, where its cookies (path
    # "/console/") are not sent.
    root.router.add_get(CONSOLE_PREFIX.rstrip("/"), _to_console)
    root.add_subapp(CONSOLE_PREFIX, console)
    return console


async def _finish_crosscheck_jobs(app: web.Application) -> None:
    """An import or check running in a thread finishes before the hub stops."""
    await app[CROSSCHECK_JOBS].wait()


async def _to_console(_request: web.Request) -> web.StreamResponse:
    """``GET /console``: the console lives under ``/console/`` (its cookies' path)."""
    raise web.HTTPMovedPermanently(CONSOLE_PREFIX)
