"""What every page handler of the node UI uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.web.appkeys import SCHEMA, SERVICES
from node.web.kit import TRANSLATOR, Translator, current_principal, route_url
from node.web.services import UiServices
from protocol.schema import Schema

__all__ = ["form_text", "login_of", "schema_of", "see_other", "services", "translator"]


def services(request: web.Request) -> UiServices:
    """The node's services."""
    return request.config_dict[SERVICES]


def schema_of(request: web.Request) -> Schema:
    """The node's record schema."""
    return request.config_dict[SCHEMA]


def translator(request: web.Request) -> Translator:
    """The request's translator."""
    return request[TRANSLATOR]


def login_of(request: web.Request) -> str:
    """The logged-in account's login (the services turn it into a subject)."""
    return current_principal(request).login


def see_other(
    request: web.Request, name: str, query: Mapping[str, Any] | None = None, **parts: object
) -> web.HTTPSeeOther:
    """A 303 to a named route (raise it: the answer to a form that worked)."""
    return web.HTTPSeeOther(route_url(request, name, query, **parts))


def form_text(form: Mapping[str, object], key: str, *, limit: int = 4000) -> str:
    """A form field's text, trimmed and cut at ``limit`` characters ("" if absent or a file)."""
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""
