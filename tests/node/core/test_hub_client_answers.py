"""The node's HTTP client against a parent that answers with bodies the API does not
allow: each is a HubResponseError naming the endpoint, over a real socket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from node.errors import HubResponseError
from node.services.client import HubClient, RetryPolicy
from tests.pki import NOW, seeded_key

MakeServer = Callable[[web.Application], Awaitable[TestServer]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "answer is not JSON"),
        (b'{"bundles": ' + b"9" * 5000 + b"}", "answer is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "answer is not JSON"),
        (b"[]", "answer is not a JSON object"),
    ],
    ids=["syntax", "integer-over-4300-digits", "nested-too-deep", "not-an-object"],
)
async def test_a_listing_that_is_no_json_object_is_a_bad_hub_response(
    aiohttp_server: MakeServer, body: bytes, message: str
) -> None:
    async def listing(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/down", listing)
    server = await aiohttp_server(app)
    async with HubClient(
        str(server.make_url("")),
        subject="370102001",
        key=seeded_key("node"),
        now=lambda: NOW,
        retry=RetryPolicy(attempts=1),
    ) as client:
        with pytest.raises(HubResponseError, match=message) as refused:
            await client.list_down(0)
    assert refused.value.code == "bad_hub_response"
    assert "/api/v1/down" in refused.value.message
