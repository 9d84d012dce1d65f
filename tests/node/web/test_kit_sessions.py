"""Sessions: the store's rules, cookies, idle logout, logout, disabled accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crypto.errors import UsageError
from node.web.kit import (
    MemorySessionStore,
    Session,
    SessionPolicy,
    SessionStore,
    WebConfig,
    new_session,
    token_digest,
)
from tests.node.web.conftest import KitStarter, log_in
from tests.node.web.kitapp import Accounts, MovableClock
from tests.node.web.session_contract import POLICY, T0, check_session_store


def test_the_memory_store_keeps_the_session_store_contract() -> None:
    check_session_store(MemorySessionStore)


def test_the_memory_store_is_a_session_store() -> None:
    assert isinstance(MemorySessionStore(POLICY), SessionStore)


def test_the_memory_store_keeps_digests_not_tokens() -> None:
    store = MemorySessionStore(POLICY)
    token = store.create("li", T0)
    assert token not in store._sessions
    assert token_digest(token) in store._sessions


def test_tokens_come_from_the_injected_random_source() -> None:
    token, session = new_session("li", T0, source=bytes)
    assert token == "A" * 43
    assert session.csrf_token == "A" * 43


def test_a_short_random_source_is_refused() -> None:
    with pytest.raises(UsageError, match="expected 32 bytes, got 16"):
        new_session("li", T0, source=lambda n: bytes(16))


def test_sessions_need_aware_times_in_order() -> None:
    with pytest.raises(UsageError, match="aware"):
        Session(account="li", csrf_token="A" * 43, created_at=datetime(2026, 1, 1), last_seen=T0)
    with pytest.raises(UsageError, match="before created_at"):
        Session(account="li", csrf_token="A" * 43, created_at=T0, last_seen=T0 - timedelta(1))


def test_a_policy_needs_idle_within_lifetime() -> None:
    with pytest.raises(UsageError, match="idle <= lifetime"):
        SessionPolicy(idle=timedelta(hours=2), lifetime=timedelta(hours=1))


async def test_login_sets_an_httponly_strict_session_cookie(kit_client: KitStarter) -> None:
    client = await kit_client()
    page = await client.get("/login")
    token = page.cookies["muster_session_csrf"].value
    answer = await client.post(
        "/login",
        data={"login": "li", "password": "correct horse battery staple", "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status == 303
    assert answer.headers["Location"] == "/"
    cookie = answer.cookies["muster_session"]
    assert len(cookie.value) == 43
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]
    assert not cookie["max-age"]


async def test_under_tls_the_cookies_are_secure(kit_client: KitStarter) -> None:
    client = await kit_client(WebConfig(tls=True))
    page = await client.get("/login")
    assert page.cookies["muster_session_csrf"]["secure"] is True
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_a_page_without_a_session_goes_to_the_login_page(kit_client: KitStarter) -> None:
    client = await kit_client()
    answer = await client.get("/", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/login?next=/"


async def test_an_idle_session_is_logged_out(kit_client: KitStarter, clock: MovableClock) -> None:
    client = await kit_client(WebConfig(idle_timeout_s=600))
    await log_in(client)
    clock.advance(seconds=599)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(seconds=599)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(seconds=600)
    answer = await client.get("/", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/login?next=/&expired=1"
    page = await client.get(answer.headers["Location"])
    assert "长时间未操作" in await page.text()


async def test_the_keepalive_ping_keeps_a_typing_person_logged_in(
    kit_client: KitStarter, clock: MovableClock
) -> None:
    client = await kit_client(WebConfig(idle_timeout_s=600))
    await log_in(client)
    for _ in range(5):
        clock.advance(seconds=500)
        assert (await client.get("/kit/alive", allow_redirects=False)).status == 204
    assert (await client.get("/", allow_redirects=False)).status == 200


async def test_a_session_ends_at_its_lifetime(kit_client: KitStarter, clock: MovableClock) -> None:
    client = await kit_client(WebConfig(idle_timeout_s=3600, session_lifetime_s=7200))
    await log_in(client)
    clock.advance(seconds=3500)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(seconds=3700)
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_logout_ends_the_session_on_the_server(kit_client: KitStarter) -> None:
    client = await kit_client()
    csrf = await log_in(client)
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["muster_session"].value
    answer = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/login?notice=logged_out"
    # The old token is worthless even if someone kept a copy of the cookie.
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"muster_session": token})
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_disabled_account_is_logged_out_at_its_next_request(
    kit_client: KitStarter, accounts: Accounts
) -> None:
    client = await kit_client()
    await log_in(client)
    accounts.disable("li")
    answer = await client.get("/", allow_redirects=False)
    assert answer.status == 303
    assert "expired=1" in answer.headers["Location"]


async def test_logging_in_again_replaces_the_session_token(kit_client: KitStarter) -> None:
    client = await kit_client()
    csrf = await log_in(client)
    jar = client.session.cookie_jar
    before = jar.filter_cookies(client.make_url("/"))["muster_session"].value
    answer = await client.post(
        "/login",
        data={"login": "wang", "password": "correct horse battery staple", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status == 303
    after = jar.filter_cookies(client.make_url("/"))["muster_session"].value
    assert after != before
    jar.clear()
    jar.update_cookies({"muster_session": before})
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_malformed_session_cookie_is_like_none(kit_client: KitStarter) -> None:
    client = await kit_client()
    client.session.cookie_jar.update_cookies({"muster_session": "x" * 500})
    answer = await client.get("/", allow_redirects=False)
    assert answer.status == 303


def test_policy_boundaries_are_exact() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=15), lifetime=timedelta(hours=1))
    session = Session(account="li", csrf_token="A" * 43, created_at=T0, last_seen=T0)
    assert policy.is_live(session, T0 + timedelta(minutes=15) - timedelta(microseconds=1))
    assert not policy.is_live(session, T0 + timedelta(minutes=15))
    late = Session(
        account="li", csrf_token="A" * 43, created_at=T0, last_seen=T0 + timedelta(minutes=59)
    )
    assert not policy.is_live(late, T0 + timedelta(hours=1))
