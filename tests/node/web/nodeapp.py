"""The real node UI on a real, migrated, encrypted node store, for HTTP and browser tests.

The node is set up by the node core's own test helpers (``tests/node/core/helpers``):
``node init``, enrolled under the test PKI, with a site administrator, a collector and
a certified approver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from node.web.app import create_app
from tests.node.core.helpers import ADMIN, APPROVER, COLLECTOR, NodeUnderTest

__all__ = ["ADMIN", "APPROVER", "COLLECTOR", "csrf_of", "form_fields", "make_ui", "ui_log_in"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
USERS = {"collector": COLLECTOR, "approver": APPROVER, "admin": ADMIN}


def make_ui(node: NodeUnderTest, *, card_timeout_s: float = 5.0) -> web.Application:
    """The node's operator UI app, on the node's clock."""
    return create_app(
        node.services.config, node.services, clock=node.clock, card_timeout_s=card_timeout_s
    )


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = _CSRF.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


async def ui_log_in(client: TestClient[Any, Any], who: str) -> str:
    """Log in as ``collector``, ``approver`` or ``admin``; return the session's CSRF token."""
    login, _name, password = USERS[who]
    page = await client.get("/login")
    answer = await client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(await page.text())},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()
    return csrf_of(await (await client.get("/")).text())


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(
    categories: Iterable[str], values: Mapping[str, object], csrf: str
) -> list[tuple[str, str]]:
    """A record form as a browser posts it (lists as repeated fields)."""
    fields = [("csrf_token", csrf), ("_action", "save")]
    fields += [("subject_category", c) for c in categories]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            fields += [(key, _text(v)) for v in value]
        else:
            fields.append((key, _text(value)))
    return fields
