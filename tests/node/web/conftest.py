"""Fixtures for the web tests: the kit's test app over a real socket, logged in or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from node.web.kit import WebConfig
from tests.fixtures.browser import CHROMIUM_ARGS, chromium_path
from tests.node.web.kitapp import PASSWORD, Accounts, MovableClock, csrf_of, make_app

KitClient = TestClient[Any, Any]
#: The ``kit_client`` fixture: start the test app, optionally with other settings.
KitStarter = Callable[..., Awaitable[KitClient]]


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def accounts() -> Accounts:
    table = Accounts()
    table.add("li", "collector")
    table.add("wang", "approver")
    return table


@pytest.fixture
def kit_client(
    aiohttp_client: AiohttpClient,
    accounts: Accounts,
    clock: MovableClock,
) -> KitStarter:
    """Start the kit's test app on a real port; ``config=`` changes its settings."""

    async def start(config: WebConfig | None = None) -> KitClient:
        return await aiohttp_client(make_app(accounts=accounts, clock=clock, config=config))

    return start


async def log_in(client: KitClient, login: str = "li", password: str = PASSWORD) -> str:
    """Log in through the form like a browser; return the session's CSRF token."""
    page = await client.get("/login")
    token = csrf_of(await page.text())
    answer = await client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()
    home = await client.get("/")
    assert home.status == 200
    return csrf_of(await home.text())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module at a time (overrides the session-wide fixture).

    Playwright's sync API keeps its event loop running in the main thread while it
    is open; a session-wide browser would make every later ``async`` test fail with
    "Cannot run the event loop while another loop is running". Closing it at the end
    of each browser module lets the asyncio tests after it run.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium_path()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        try:
            yield launched
        finally:
            launched.close()
