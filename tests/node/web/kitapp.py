"""A small app on the kit, for testing the kit itself over real sockets.

:class:`Accounts` is a real :class:`~node.web.kit.Authenticator` over a dict
(the node and hub check their databases; the kit only needs the protocol).
:class:`MovableClock` is the wall clock a test can move, so idle logout and
throttling are tested without sleeping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from crypto.errors import StateError
from node.web.kit import (
    MemorySessionStore,
    Principal,
    SessionPolicy,
    WebConfig,
    create_kit_app,
    public,
    render,
    require_role,
)

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class MovableClock:
    """A wall clock that stands still until a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Accounts:
    """Accounts in a dict: login → (password, role, enabled)."""

    table: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    checks: int = 0

    def add(self, login: str, role: str, password: str = PASSWORD) -> None:
        self.table[login] = (password, role, True)

    def disable(self, login: str) -> None:
        password, role, _ = self.table[login]
        self.table[login] = (password, role, False)

    def authenticate(self, login: str, password: str) -> Principal | None:
        self.checks += 1
        entry = self.table.get(login)
        if entry is None or entry[0] != password or not entry[2]:
            return None
        return Principal(login=login, display_name=login.title(), role=entry[1])

    def current(self, login: str) -> Principal | None:
        entry = self.table.get(login)
        if entry is None or not entry[2]:
            return None
        return Principal(login=login, display_name=login.title(), role=entry[1])


@dataclass
class Ledger:
    """What the test app's handlers changed: a test checks that refused requests change nothing."""

    entries: list[str] = field(default_factory=list)


LEDGER = web.AppKey("test_ledger", Ledger)


def entries(client: TestClient[Any, Any]) -> list[str]:
    """What the app behind ``client`` has changed so far."""
    app = client.app
    assert app is not None
    ledger: Ledger = app[LEDGER]
    return ledger.entries


async def home(request: web.Request) -> web.StreamResponse:
    return render(request, "kit/base.html")


async def add_entry(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    request.app[LEDGER].entries.append(str(form.get("text", "")))
    raise web.HTTPSeeOther("/?notice=logged_out")


async def api_add(request: web.Request) -> web.StreamResponse:
    request.app[LEDGER].entries.append("api")
    return web.json_response({"ok": True})


@require_role("approver")
async def approve(request: web.Request) -> web.StreamResponse:
    request.app[LEDGER].entries.append("approved")
    return web.Response(text="approved")


async def refuse(request: web.Request) -> web.StreamResponse:
    raise StateError("batch 7: expected state draft, found sent", batch=7)


async def crash(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("secret detail 11010519491231002X must not leak")


@public
async def open_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="open")


def make_app(
    *,
    accounts: Accounts,
    clock: MovableClock,
    config: WebConfig | None = None,
) -> web.Application:
    config = config or WebConfig()
    store = MemorySessionStore(
        SessionPolicy(
            idle=timedelta(seconds=config.idle_timeout_s),
            lifetime=timedelta(seconds=config.session_lifetime_s),
        )
    )
    app = create_kit_app(config=config, authenticator=accounts, sessions=store, clock=clock)
    app[LEDGER] = Ledger()
    app.router.add_get("/", home, name="home")
    app.router.add_post("/entries", add_entry)
    app.router.add_post("/api/v1/entries", api_add)
    app.router.add_get("/approve", approve)
    app.router.add_get("/refuse", refuse)
    app.router.add_get("/api/v1/refuse", refuse)
    app.router.add_get("/crash", crash)
    app.router.add_get("/open", open_page)
    return app


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a page's forms."""
    match = _CSRF.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)
