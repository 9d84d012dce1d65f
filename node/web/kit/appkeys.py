"""Every typed key the kit keeps on an application or a request, in one place.

Handlers read app keys through ``request.config_dict`` so that they work the
same in a root app and in a sub-app (the hub mounts its console as one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import jinja2
from aiohttp import web

from node.web.kit.config import WebConfig
from node.web.kit.i18n import Catalogs, Translator
from node.web.kit.identity import Authenticator, Principal
from node.web.kit.sessions import Session, SessionStore, TokenSource
from node.web.kit.throttle import LoginThrottle

__all__ = [
    "AUTHENTICATOR",
    "CATALOGS",
    "CLOCK",
    "CONFIG",
    "CSRF_TOKEN",
    "HOME_ROUTE",
    "PRINCIPAL",
    "SESSION",
    "SESSIONS",
    "SESSION_TOKEN",
    "TEMPLATES",
    "THROTTLE",
    "TOKENS",
    "TRANSLATOR",
    "Clock",
]

#: The wall clock: returns an aware UTC datetime (tests pass one they can move).
Clock = Callable[[], datetime]

CONFIG = web.AppKey("muster_web_config", WebConfig)
CLOCK: web.AppKey[Clock] = web.AppKey("muster_web_clock")
TOKENS: web.AppKey[TokenSource] = web.AppKey("muster_web_tokens")
SESSIONS = web.AppKey("muster_web_sessions", SessionStore)
AUTHENTICATOR = web.AppKey("muster_web_authenticator", Authenticator)
THROTTLE = web.AppKey("muster_web_throttle", LoginThrottle)
CATALOGS = web.AppKey("muster_web_catalogs", Catalogs)
TEMPLATES = web.AppKey("muster_web_templates", jinja2.Environment)
#: The name of the route a successful login goes to when no ``next`` is given.
HOME_ROUTE = web.AppKey("muster_web_home_route", str)

SESSION = web.RequestKey("muster_session", Session)
SESSION_TOKEN = web.RequestKey("muster_session_token", str)
PRINCIPAL = web.RequestKey("muster_principal", Principal)
#: The CSRF token the request's pages must embed (the session's, or the anonymous one).
CSRF_TOKEN = web.RequestKey("muster_csrf_token", str)
TRANSLATOR = web.RequestKey("muster_translator", Translator)
