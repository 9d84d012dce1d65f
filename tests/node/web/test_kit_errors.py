"""Errors become pages (or JSON under /api/) with the class's status; never a traceback."""

from __future__ import annotations

import logging
import re

import pytest

from node.web.kit import WebConfig
from tests.node.web.conftest import KitStarter, log_in
from tests.node.web.kitapp import entries


async def test_a_muster_error_is_a_page_with_its_status_and_message(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.get("/refuse")
    assert answer.status == 409
    body = await answer.text()
    assert "当前状态下不能进行此操作" in body
    assert "batch 7: expected state draft, found sent" in body
    assert "Traceback" not in body


async def test_a_muster_error_under_api_is_its_json_body(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.get("/api/v1/refuse")
    assert answer.status == 409
    assert await answer.json() == {
        "error": "state_error",
        "message": "batch 7: expected state draft, found sent",
        "details": {"batch": 7},
    }


async def test_a_bug_is_a_500_page_with_an_incident_id_and_the_trace_only_in_the_log(
    kit_client: KitStarter, caplog: pytest.LogCaptureFixture
) -> None:
    client = await kit_client()
    await log_in(client)
    with caplog.at_level(logging.ERROR, logger="muster.web"):
        answer = await client.get("/crash")
    assert answer.status == 500
    body = await answer.text()
    incident = re.search(r"事件编号：([0-9a-f]{12})", body)
    assert incident is not None
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert "11010519491231002X" not in body
    logged = [r for r in caplog.records if incident.group(1) in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


async def test_an_unknown_page_is_a_404_page(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.get("/no/such/page")
    assert answer.status == 404
    assert "页面不存在" in await answer.text()


async def test_a_wrong_role_is_a_403_page_and_the_handler_does_not_run(
    kit_client: KitStarter,
) -> None:
    client = await kit_client()
    await log_in(client, "li")
    answer = await client.get("/approve")
    assert answer.status == 403
    body = await answer.text()
    assert "page needs role approver: the account has role collector" in body
    assert "您的账号没有此项权限" in body
    approver = await kit_client()
    await log_in(approver, "wang")
    assert (await approver.get("/approve")).status == 200


async def test_an_oversized_body_is_a_413_page(kit_client: KitStarter) -> None:
    client = await kit_client(WebConfig(max_body_bytes=64 * 1024))
    csrf = await log_in(client)
    answer = await client.post("/entries", data={"text": "x" * 100_000, "csrf_token": csrf})
    assert answer.status == 413
    assert "上传的内容过大" in await answer.text()
    assert entries(client) == []


async def test_error_pages_follow_the_language(kit_client: KitStarter) -> None:
    client = await kit_client()
    await log_in(client)
    answer = await client.get("/refuse", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Not possible in the current state" in await answer.text()
