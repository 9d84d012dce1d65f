"""Security headers on pages, error pages and files; no-store on pages."""

from __future__ import annotations

import pytest
from multidict import CIMultiDictProxy

from tests.node.web.conftest import KitStarter, log_in

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _check_common(headers: CIMultiDictProxy[str]) -> None:
    for name, value in EXPECTED.items():
        assert headers[name] == value
    policy = dict(
        part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "camera=(self)" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("path", ["/login", "/", "/refuse", "/crash", "/nowhere"])
async def test_every_page_has_the_headers_and_is_not_stored(
    kit_client: KitStarter, path: str
) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.get(path)
    _check_common(answer.headers)
    assert answer.headers["Cache-Control"] == "no-store"


async def test_static_files_have_the_headers_and_are_revalidated(kit_client: KitStarter) -> None:
    client = await kit_client()
    answer = await client.get("/static/kit/kit.js")
    assert answer.status == 200
    _check_common(answer.headers)
    assert answer.headers["Cache-Control"] == "no-cache"


async def test_pages_carry_no_inline_script_or_style(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    body = await (await client.get("/")).text()
    assert "<script>" not in body
    assert "<script src=" in body
    assert "style=" not in body
    assert "<style" not in body
    assert " on" + "click=" not in body
