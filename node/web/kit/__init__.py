"""The web kit: what the node's collection UI and the hub's console are built on.

aiohttp, server-rendered Jinja2 pages, no front-end framework and nothing
fetched from the network. docs/web.md explains how to build an app on it and
docs/adr/0007-web-kit.md why it is made this way.
"""

from __future__ import annotations

from node.web.kit.app import KIT_PACKAGE, create_kit_app, utc_now
from node.web.kit.appkeys import (
    AUTHENTICATOR,
    CATALOGS,
    CLOCK,
    CONFIG,
    CSRF_TOKEN,
    PRINCIPAL,
    SESSION,
    SESSIONS,
    TRANSLATOR,
    Clock,
)
from node.web.kit.auth import (
    client_address,
    current_principal,
    public,
    require_role,
    set_session_cookie,
    start_session,
    wants_json,
)
from node.web.kit.config import WebConfig
from node.web.kit.errors import (
    AccessError,
    CsrfError,
    LoginFailedError,
    LoginThrottledError,
    NotLoggedInError,
    WebInputError,
)
from node.web.kit.forms import (
    FieldView,
    FormView,
    Option,
    SectionView,
    Widget,
    build_form,
    read_form,
)
from node.web.kit.i18n import DEFAULT_LOCALE, LOCALES, Catalogs, Translator, negotiate
from node.web.kit.identity import Authenticator, Principal
from node.web.kit.security import CSRF_FIELD, CSRF_HEADER
from node.web.kit.sessions import (
    MemorySessionStore,
    Session,
    SessionPolicy,
    SessionStore,
    new_session,
    new_token,
    token_digest,
)
from node.web.kit.templating import render, route_url, safe_next
from node.web.kit.throttle import LoginThrottle, ThrottlePolicy

__all__ = [
    "AUTHENTICATOR",
    "CATALOGS",
    "CLOCK",
    "CONFIG",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CSRF_TOKEN",
    "DEFAULT_LOCALE",
    "KIT_PACKAGE",
    "LOCALES",
    "PRINCIPAL",
    "SESSION",
    "SESSIONS",
    "TRANSLATOR",
    "AccessError",
    "Authenticator",
    "Catalogs",
    "Clock",
    "CsrfError",
    "FieldView",
    "FormView",
    "LoginFailedError",
    "LoginThrottle",
    "LoginThrottledError",
    "MemorySessionStore",
    "NotLoggedInError",
    "Option",
    "Principal",
    "SectionView",
    "Session",
    "SessionPolicy",
    "SessionStore",
    "ThrottlePolicy",
    "Translator",
    "WebConfig",
    "WebInputError",
    "Widget",
    "build_form",
    "client_address",
    "create_kit_app",
    "current_principal",
    "negotiate",
    "new_session",
    "new_token",
    "public",
    "read_form",
    "render",
    "require_role",
    "route_url",
    "safe_next",
    "set_session_cookie",
    "start_session",
    "token_digest",
    "utc_now",
    "wants_json",
]
