"""The demo's HTTP people: a session is closed however logging in ends."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from hub.demo import http
from hub.demo.http import HubAdmin, NodeUi

#: How long the test waits for the login to reach the server before it fails.
DEADLINE = 60.0


@pytest.mark.parametrize("person", [HubAdmin, NodeUi])
async def test_a_login_cancelled_while_it_waits_for_the_answer_closes_its_session(
    person: type[HubAdmin | NodeUi], monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions: list[aiohttp.ClientSession] = []
    real = http._session

    def recorded() -> aiohttp.ClientSession:
        sessions.append(real())
        return sessions[-1]

    monkeypatch.setattr(http, "_session", recorded)
    asked = asyncio.Event()

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.set()
        await reader.read()  # until the client goes
        writer.close()

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:

        async def log_in() -> None:
            async with person(f"http://127.0.0.1:{port}", "admin", "secret"):
                pass

        login = asyncio.create_task(log_in())
        await asyncio.wait_for(asked.wait(), DEADLINE)
        login.cancel()
        with pytest.raises(asyncio.CancelledError):
            await login
    finally:
        server.close()
        await server.wait_closed()
    assert len(sessions) == 1
    assert sessions[0].closed
