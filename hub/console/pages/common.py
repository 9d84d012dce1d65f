"""What every console handler uses: the hub's services, the account, forms, redirects."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import Any, Final, ParamSpec, TypeVar

from aiohttp import web
from multidict import MultiDictProxy

from hub.accounts import PERMISSIONS
from hub.console.appkeys import CONTEXT_SOURCE
from hub.console.auth import account_of
from hub.console.errors import FormError
from hub.context import HubContext
from node.web.kit import TRANSLATOR, Translator, require_role, route_url

__all__ = [
    "MAX_ROW_ID",
    "Notice",
    "allowed",
    "call",
    "context",
    "form_dict",
    "form_message",
    "int_query",
    "permission",
    "see_other",
    "translator",
]

P = ParamSpec("P")
T = TypeVar("T")
H = TypeVar("H", bound=Callable[[web.Request], Any])
_MAX_VALUE: Final = 4000
#: The largest id an ``integer`` column holds (PostgreSQL's is 32 bits): bundle and alert rows.
MAX_ROW_ID: Final = 2**31 - 1


class Notice(enum.StrEnum):
    """The one-line confirmations a page shows after a form worked (``notice.<name>``)."""

    APPROVED = "approved"
    APPROVED_WITH_RESOLUTIONS = "approved_with_resolutions"
    REJECTED = "rejected"
    ALERT_CLOSED = "alert_closed"
    ENROLLMENT_APPROVED = "enrollment_approved"
    ENROLLMENT_REFUSED = "enrollment_refused"
    CERTIFICATE_REVOKED = "certificate_revoked"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    PASSWORD_SET = "password_set"  # noqa: S105 - the name of a notice, not a password
    ROLE_CHANGED = "role_changed"


def context(request: web.Request) -> HubContext:
    """The hub's services."""
    return request.config_dict[CONTEXT_SOURCE]()


def translator(request: web.Request) -> Translator:
    return request[TRANSLATOR]


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a store service in a worker thread (the store is synchronous)."""
    return await asyncio.to_thread(function, *args, **kwargs)


def permission(name: str) -> Callable[[H], H]:
    """Allow a handler only to the roles that have ``name`` in :data:`hub.accounts.PERMISSIONS`."""
    return require_role(*sorted(r.value for r in PERMISSIONS[name]))


def allowed(request: web.Request, name: str) -> bool:
    """Whether the logged-in account's role has the permission ``name``."""
    return account_of(request).role in PERMISSIONS[name]


def see_other(request: web.Request, name: str, notice: Notice, **parts: object) -> web.HTTPSeeOther:
    """A 303 to a named route with a confirmation (raise it: the answer to a form that worked)."""
    return web.HTTPSeeOther(route_url(request, name, {"notice": notice.value}, **parts))


def form_dict(form: MultiDictProxy[Any]) -> dict[str, str]:
    """A submitted form as text fields (files dropped, each value cut at 4000 characters)."""
    return {k: v[:_MAX_VALUE] for k, v in form.items() if isinstance(v, str)}


def int_query(request: web.Request, name: str, maximum: int | None = None) -> int | None:
    """A whole-number query parameter, or None when absent, not a number or above ``maximum``."""
    text = request.query.get(name, "")
    # isdigit() alone takes "²" and other digits int() refuses.
    number = int(text) if text.isascii() and text.isdigit() and len(text) < 18 else None
    return None if number is None or (maximum is not None and number > maximum) else number


def form_message(request: web.Request, error: FormError) -> str:
    """The message of a refused form, in the page's language."""
    tr = translator(request)
    key = str(error.fields.get("key") or "form.invalid")
    params = {k: v for k, v in error.fields.items() if k != "key"}
    text = tr(key, **params) if tr.has(key) else error.message
    detail = error.fields.get("message_zh" if tr.chinese else "message_en")
    return f"{text} {detail}" if detail else text
