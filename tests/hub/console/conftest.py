"""Console test fixtures: a district hub on SQLite with accounts of every role, the
hub's app with the console mounted over a real socket, and a logged-in client."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from hub.context import HubContext
from tests.hub.console.console import (
    Scenario,
    console_app,
    log_in,
    make_accounts,
    make_console_hub,
    make_scenario,
)
from tests.hub.factory import DeltaFactory
from tests.pki import Pki

Client = TestClient[Any, Any]
#: ``as_role("reviewer")``: a new client logged in as that account, and its CSRF token.
AsRole = Callable[[str], Awaitable[tuple[Client, str]]]


@pytest.fixture(scope="session")
def accounts_db(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Path:
    """A migrated store with the accounts, made once (password hashes are slow on purpose)."""
    root = tmp_path_factory.mktemp("console-store")
    hub = make_console_hub(root / "data", f"sqlite:///{root / 'hub.db'}", pki)
    make_accounts(hub)
    hub.store.dispose()
    return root / "hub.db"


@pytest.fixture
def console_hub(tmp_path: Path, pki: Pki, accounts_db: Path) -> Iterator[HubContext]:
    """A district hub on its own SQLite file, with an account of every role."""
    shutil.copyfile(accounts_db, tmp_path / "hub.db")
    hub = make_console_hub(tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}", pki)
    yield hub
    hub.store.dispose()


@pytest.fixture
def scenario(console_hub: HubContext, deltas: DeltaFactory) -> Scenario:
    return make_scenario(console_hub, deltas)


@pytest.fixture
def as_role(aiohttp_client: AiohttpClient, console_hub: HubContext) -> AsRole:
    """Start a client (own cookies) on the hub's app and log it in as ``login``."""

    async def start(login: str) -> tuple[Client, str]:
        client = await aiohttp_client(console_app(console_hub))
        return client, await log_in(client, login)

    return start
