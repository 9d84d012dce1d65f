"""CSRF: every unsafe request needs the session's token; without it, a 403 and no change."""

from __future__ import annotations

from pytest_aiohttp import AiohttpClient

from tests.node.web.conftest import KitClient, KitStarter, log_in
from tests.node.web.kitapp import PASSWORD, Accounts, csrf_of, entries


async def test_a_form_with_the_sessions_token_is_accepted(kit_client: KitStarter) -> None:
    client = await kit_client()
    csrf = await log_in(client)
    answer = await client.post(
        "/entries", data={"text": "one", "csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    assert entries(client) == ["one"]


async def test_a_fetch_with_the_token_in_the_header_is_accepted(kit_client: KitStarter) -> None:
    client = await kit_client()
    csrf = await log_in(client)
    answer = await client.post("/api/v1/entries", json={}, headers={"X-CSRF-Token": csrf})
    assert answer.status == 200
    assert entries(client) == ["api"]


async def test_a_form_without_a_token_is_refused_and_changes_nothing(
    kit_client: KitStarter,
) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.post("/entries", data={"text": "one"}, allow_redirects=False)
    assert answer.status == 403
    body = await answer.text()
    assert "表单已失效" in body
    assert "form: expected a CSRF token, got none" in body
    assert entries(client) == []


async def test_a_form_with_a_wrong_token_is_refused_and_changes_nothing(
    kit_client: KitStarter,
) -> None:
    client = await kit_client()
    csrf = await log_in(client)
    wrong = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
    answer = await client.post("/entries", data={"text": "one", "csrf_token": wrong})
    assert answer.status == 403
    assert "form: expected this session&#39;s CSRF token, got another" in await answer.text()
    assert entries(client) == []


async def test_another_sessions_token_is_refused(
    kit_client: KitStarter, aiohttp_client: AiohttpClient
) -> None:
    mine = await kit_client()
    theirs: KitClient = await aiohttp_client(mine.server)
    my_csrf = await log_in(mine)
    await log_in(theirs, "wang")
    answer = await theirs.post("/entries", data={"text": "x", "csrf_token": my_csrf})
    assert answer.status == 403
    assert entries(mine) == []


async def test_a_json_request_without_a_token_gets_a_json_403(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.post("/api/v1/entries", json={})
    assert answer.status == 403
    assert await answer.json() == {
        "error": "csrf_failed",
        "message": "form: expected a CSRF token, got none",
        "details": {"method": "POST"},
        "hint": "Reload the page and submit the form again; do not submit forms from other sites.",
    }
    assert entries(client) == []


async def test_the_login_form_needs_the_visitors_csrf_cookie(
    kit_client: KitStarter, accounts: Accounts
) -> None:
    client = await kit_client()
    answer = await client.post(
        "/login", data={"login": "li", "password": PASSWORD, "csrf_token": "A" * 43}
    )
    assert answer.status == 403
    assert "muster_session" not in answer.cookies
    assert accounts.checks == 0


async def test_logout_without_a_token_keeps_the_session(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.post("/logout", data={}, allow_redirects=False)
    assert answer.status == 403
    assert (await client.get("/", allow_redirects=False)).status == 200


async def test_a_post_without_a_session_is_refused_before_csrf(kit_client: KitStarter) -> None:
    client = await kit_client()
    page = await client.get("/login")
    token = csrf_of(await page.text())
    answer = await client.post("/entries", data={"text": "x", "csrf_token": token})
    assert answer.status == 401
    assert entries(client) == []
