"""Who may do what in the console: roles, logins (audited and throttled), CSRF, logout.

Every refusal is checked to have changed nothing.
"""

from __future__ import annotations

import dataclasses

import pytest
from pytest_aiohttp import AiohttpClient

from hub.accounts import list_accounts
from hub.app import create_app
from hub.console import CONSOLE_PREFIX
from hub.context import HubContext
from tests.hub.console.conftest import AsRole
from tests.hub.console.console import (
    PASSWORD,
    Scenario,
    audit_actions,
    console_app,
    csrf_of,
)
from tests.hub.helpers import bundle_row

P = CONSOLE_PREFIX


@pytest.mark.parametrize(
    ("login", "path", "status"),
    [
        ("reviewer", "accounts", 403),
        ("reviewer", "sites", 403),
        ("reviewer", "audit", 403),
        ("viewer", "accounts", 403),
        ("viewer", "audit", 403),
        ("viewer", "records", 200),
        ("auditor", "records", 403),
        ("auditor", "audit", 200),
        ("auditor", "accounts", 403),
        ("admin", "accounts", 200),
        ("admin", "sites", 200),
        ("admin", "audit", 200),
    ],
)
async def test_pages_follow_the_role(as_role: AsRole, login: str, path: str, status: int) -> None:
    client, _ = await as_role(login)
    answer = await client.get(P + path)
    assert answer.status == status
    if status == 403:
        assert "403" in await answer.text()


async def test_a_reviewer_cannot_create_an_account(
    as_role: AsRole, console_hub: HubContext
) -> None:
    client, csrf = await as_role("reviewer")
    before = list_accounts(console_hub)
    answer = await client.post(
        P + "accounts",
        data={
            "csrf_token": csrf,
            "login": "mallory",
            "display_name": "M",
            "role": "admin",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert answer.status == 403
    assert "page needs role admin: the account has role reviewer" in await answer.text()
    assert list_accounts(console_hub) == before


@pytest.mark.parametrize("login", ["viewer", "auditor"])
async def test_viewers_and_auditors_cannot_approve_or_reject(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario, login: str
) -> None:
    client, csrf = await as_role(login)
    for action in ("approve", "reject"):
        answer = await client.post(
            f"{P}bundles/{scenario.conflicted}/{action}",
            data={"csrf_token": csrf, "reason": "不行"},
        )
        assert answer.status == 403
    assert bundle_row(console_hub, scenario.conflicted).state == "staged"
    assert "review.approved" not in audit_actions(console_hub)
    assert "review.rejected" not in audit_actions(console_hub)


@pytest.mark.parametrize("login", ["viewer", "auditor"])
async def test_the_review_page_offers_no_decision_to_those_who_cannot_decide(
    as_role: AsRole, scenario: Scenario, login: str
) -> None:
    client, _ = await as_role(login)
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    assert 'id="approve-form"' not in page
    assert 'id="reject-form"' not in page


async def test_an_auditor_sees_a_bundle_but_none_of_its_records(
    as_role: AsRole, scenario: Scenario
) -> None:
    client, _ = await as_role("auditor")
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    assert "您的角色不能查看记录内容" in page
    assert scenario.phones[0] not in page
    assert str(scenario.first_values["id_number"]) not in page


async def test_a_visitor_is_sent_to_the_login_page_and_cannot_post(
    aiohttp_client: AiohttpClient, console_hub: HubContext, scenario: Scenario
) -> None:
    client = await aiohttp_client(console_app(console_hub))
    page = await client.get(P, allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith(f"{P}login?next=")
    answer = await client.post(f"{P}bundles/{scenario.conflicted}/approve", data={})
    assert answer.status == 401
    assert bundle_row(console_hub, scenario.conflicted).state == "staged"


async def test_logins_and_failed_logins_are_audited(
    aiohttp_client: AiohttpClient, console_hub: HubContext
) -> None:
    client = await aiohttp_client(console_app(console_hub))
    form = csrf_of(await (await client.get(f"{P}login")).text())
    wrong = await client.post(
        f"{P}login", data={"login": "admin", "password": "wrong password", "csrf_token": form}
    )
    assert wrong.status == 401
    assert "用户名或密码错误" in await wrong.text()
    right = await client.post(
        f"{P}login",
        data={"login": "admin", "password": PASSWORD, "csrf_token": form},
        allow_redirects=False,
    )
    assert right.status == 303
    assert audit_actions(console_hub)[-2:] == ["login.failed", "login"]


async def test_repeated_failures_are_throttled_without_checking_the_password(
    aiohttp_client: AiohttpClient, console_hub: HubContext
) -> None:
    client = await aiohttp_client(console_app(console_hub))
    form = csrf_of(await (await client.get(f"{P}login")).text())
    for _ in range(5):
        answer = await client.post(
            f"{P}login", data={"login": "viewer", "password": "guess", "csrf_token": form}
        )
        assert answer.status == 401
    checked = audit_actions(console_hub).count("login.failed")
    throttled = await client.post(
        f"{P}login", data={"login": "viewer", "password": PASSWORD, "csrf_token": form}
    )
    assert throttled.status == 429
    assert "Retry-After" in throttled.headers
    assert "失败次数过多" in await throttled.text()
    assert audit_actions(console_hub).count("login.failed") == checked


async def test_session_cookies_are_http_only_strict_and_scoped_to_the_console(
    aiohttp_client: AiohttpClient, console_hub: HubContext
) -> None:
    client = await aiohttp_client(console_app(console_hub))
    form = csrf_of(await (await client.get(f"{P}login")).text())
    answer = await client.post(
        f"{P}login",
        data={"login": "admin", "password": PASSWORD, "csrf_token": form},
        allow_redirects=False,
    )
    cookie = answer.cookies["muster_console"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == P
    # The test hub runs without TLS (cookie_secure = false); with it the cookie is Secure.
    assert not cookie["secure"]


async def test_behind_tls_the_cookies_are_secure_and_hsts_is_sent(
    aiohttp_client: AiohttpClient, console_hub: HubContext
) -> None:
    config = dataclasses.replace(console_hub.config, cookie_secure=True)
    client = await aiohttp_client(create_app(config, context=console_hub))
    page = await client.get(f"{P}login")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    (cookie,) = page.headers.getall("Set-Cookie")
    assert cookie.startswith("muster_console_csrf=")
    assert {"HttpOnly", "Secure", "SameSite=Strict", f"Path={P}"} <= {
        part.strip() for part in cookie.split(";")
    }


async def test_the_console_without_its_slash_redirects(
    aiohttp_client: AiohttpClient, console_hub: HubContext
) -> None:
    client = await aiohttp_client(console_app(console_hub))
    answer = await client.get("/console", allow_redirects=False)
    assert answer.status == 301
    assert answer.headers["Location"] == P


async def test_approving_without_the_csrf_token_changes_nothing(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, _ = await as_role("reviewer")
    answer = await client.post(f"{P}bundles/{scenario.conflicted}/approve", data={})
    assert answer.status == 403
    assert "表单已失效" in await answer.text()
    assert bundle_row(console_hub, scenario.conflicted).state == "staged"


async def test_another_sessions_token_is_refused(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    mine, _ = await as_role("reviewer")
    _, theirs = await as_role("admin")
    answer = await mine.post(
        f"{P}bundles/{scenario.renamed}/reject", data={"csrf_token": theirs, "reason": "x"}
    )
    assert answer.status == 403
    assert bundle_row(console_hub, scenario.renamed).state == "staged"


async def test_logout_ends_the_session(as_role: AsRole) -> None:
    client, csrf = await as_role("viewer")
    answer = await client.post(f"{P}logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert answer.status == 303
    again = await client.get(P, allow_redirects=False)
    assert again.status == 303
    assert "login" in again.headers["Location"]


async def test_the_console_speaks_english_on_request(as_role: AsRole) -> None:
    client, _ = await as_role("viewer")
    switched = await client.get(f"{P}lang/en?next={P}", allow_redirects=False)
    assert switched.status == 303
    page = await (await client.get(P)).text()
    assert '<html lang="en">' in page
    assert "Inbox" in page
