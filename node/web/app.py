"""The node's operator UI: ``create_app(config, services)``.

Built on the web kit (docs/web.md): Chinese first, server-rendered, bound to
127.0.0.1 by the node agent (``muster node run``). Pages by role:

| role | pages |
|---|---|
| collector | status, search, records (new, edit, card, photos, signature, flags), to-do list |
| approver | everything a collector has, pending changes, authorise, outbox |
| site_admin | status, outbox, accounts, enrollment |
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Final

from aiohttp import web

from node.config import NodeConfig
from node.reports.html import STATIC_DIR
from node.web.accounts import NodeAuthenticator
from node.web.appkeys import CARD_TIMEOUT, SCHEMA, SERVICES
from node.web.kit import Clock, SessionStore, WebConfig, create_kit_app, utc_now
from node.web.kit.sessions import TokenSource
from node.web.pages import admin, approval, home, problems, records
from node.web.services import UiServices

__all__ = ["NODE_PACKAGE", "create_app", "web_config_for"]

NODE_PACKAGE: Final = "node.web"
#: The status page's figures and charts: the reports' partials (docs/reports.md §10).
REPORTS_PACKAGE: Final = "node.reports"
#: The node's cookies are named apart from a hub's on the same machine (cookies ignore ports).
COOKIE_NAME: Final = "muster_node"
#: A login ends after a working day whatever its use; idle logout comes much sooner.
SESSION_LIFETIME_S: Final = 12 * 3600


def web_config_for(config: NodeConfig) -> WebConfig:
    """The kit's settings for the node UI, from node.toml (``session_idle_minutes``)."""
    idle = config.session_idle_minutes * 60
    return WebConfig(
        idle_timeout_s=idle,
        session_lifetime_s=max(idle, SESSION_LIFETIME_S),
        cookie_name=COOKIE_NAME,
    )


def create_app(
    config: NodeConfig,
    services: UiServices,
    *,
    sessions: SessionStore | None = None,
    clock: Clock = utc_now,
    tokens: TokenSource = secrets.token_bytes,
    card_timeout_s: float = 20.0,
) -> web.Application:
    """Return the operator UI for one node.

    Args:
        config: the node's settings.
        services: the node's services facade.
        sessions: where sessions live (default: the node store's sessions table).
        clock: the wall clock (aware UTC).
        tokens: random bytes for session and CSRF tokens.
        card_timeout_s: how long "读卡" waits for a card.

    Raises:
        UsageError: a catalog of the UI is incomplete.
    """
    settings = web_config_for(config)
    if sessions is None:
        sessions = services.session_store(idle=timedelta(seconds=settings.idle_timeout_s))
    app = create_kit_app(
        config=settings,
        authenticator=NodeAuthenticator(services),
        sessions=sessions,
        packages=(REPORTS_PACKAGE, NODE_PACKAGE),
        home_route="home",
        clock=clock,
        tokens=tokens,
    )
    app[SERVICES] = services
    app[SCHEMA] = services.context.schema
    app[CARD_TIMEOUT] = card_timeout_s
    app.router.add_static("/static/reports/", STATIC_DIR, name=home.REPORTS_STATIC_ROUTE)
    for area in (home, records, approval, problems, admin):
        area.add_routes(app.router)
    return app
