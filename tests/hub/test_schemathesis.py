"""A schemathesis run against the live hub (real socket): docs/openapi.yaml's every
operation, with generated inputs, logged in for the admin endpoints; no server error."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hub.accounts import create_account
from hub.app import create_app
from tests.hub.conftest import make_hub
from tests.pki import Pki

SCHEMA = schemathesis.openapi.from_path(
    Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
)


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], str]]:
    """A hub on a free port in a thread of its own; yields (url, cookies, csrf token)."""
    data = tmp_path_factory.mktemp("live")
    hub = make_hub(data / "hub", f"sqlite:///{data / 'hub.db'}", Pki.build(), workers=0)
    create_account(
        hub,
        login="admin1",
        display_name="管理员",
        role="admin",
        password="correct horse battery",
        by="test",
    )
    # Served on the socket that holds the free port (closing it first and binding the
    # port again would let an outgoing connection take it meanwhile).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(hub.config, context=hub))
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, listener).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30)
    url = f"http://127.0.0.1:{port}"
    login = requests.post(
        f"{url}/api/v1/admin/login",
        timeout=30,
        json={"login": "admin1", "password": "correct horse battery"},
    )
    assert login.status_code == 200
    yield url, {c.name: c.value or "" for c in login.cookies}, login.json()["csrf_token"]
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    listener.close()
    hub.store.dispose()


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_makes_the_hub_fail(
    case: schemathesis.Case[Any], live_hub: tuple[str, dict[str, str], str]
) -> None:
    url, cookies, csrf = live_hub
    if case.path == "/api/v1/admin/logout":
        return  # ending the shared session would log every later case out
    case.call_and_validate(
        base_url=url, cookies=cookies, headers={"X-CSRF-Token": csrf}, checks=[not_a_server_error]
    )
