"""Fixtures for the web tests: the kit's test app over a real socket, logged in or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from node.web.kit import WebConfig
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
