"""The console in headless Chromium against the real hub on a real port.

The town node's bundles are uploaded over HTTP (``POST /api/v1/bundles``) and the
hub's own pipeline worker verifies, stages and merges them. A reviewer logs in,
resolves a conflict and a duplicate on the review page, approves, rejects another
bundle with a reason, and the ``decisions`` bundles wait for the node. Each step is
saved in ``test-artifacts/console-*.png``; docs/zh/操作手册-管理员.md shows them.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import sqlalchemy as sa
from aiohttp import web

from hub.console import CONSOLE_PREFIX
from hub.console.appkeys import JOB_BOARD
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.store.models import BundleRow, DownBundle, RecordRow
from tests.fixtures.browser import ARTIFACTS, screenshot
from tests.hub.conftest import make_hub
from tests.hub.console.console import PASSWORD, console_app, make_accounts
from tests.hub.console.live import serve
from tests.hub.console.test_admin_pages import request_enrollment
from tests.hub.factory import DeltaFactory, record_id
from tests.pki import Pki

pytestmark = pytest.mark.browser

#: How long the pipeline may take to reach a state (a deadline, not a measurement).
_DEADLINE: Final = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Live:
    hub: HubContext
    app: web.Application
    base: str
    pki: Pki
    deltas: DeltaFactory

    @property
    def console(self) -> str:
        return self.base + CONSOLE_PREFIX

    def upload(self, data: bytes) -> int:
        request = urllib.request.Request(
            self.base + "/api/v1/bundles",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
        with self.hub.store.read() as session:
            row = session.scalar(sa.select(sa.func.max(BundleRow.id)))
        assert row is not None
        return int(row)

    def wait_for(self, row: int, *states: str) -> str:
        deadline = time.monotonic() + _DEADLINE
        while True:
            with self.hub.store.read() as session:
                state = session.scalar(sa.select(BundleRow.state).where(BundleRow.id == row))
            if state in states or time.monotonic() > deadline:
                assert state in states, f"bundle {row} is {state}, expected {states}"
                return str(state)
            time.sleep(0.05)


@pytest.fixture
def live(tmp_path: Path, pki: Pki) -> Iterator[Live]:
    """The real hub (one pipeline worker) serving the API and the console."""
    hub = make_hub(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'hub.db'}",
        pki,
        name="历下区退役军人事务局",
        workers=1,
        poll_seconds=0.05,
    )
    make_accounts(hub, ["admin", "reviewer"])
    app = console_app(hub)
    with serve(app) as base:
        yield Live(hub=hub, app=app, base=base, pki=pki, deltas=DeltaFactory(pki))
    hub.store.dispose()


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    conflicted: int
    renamed: int
    parked: int
    first_name: str
    newcomer_name: str


def send_the_nodes_bundles(live: Live) -> Sent:
    """A record, a phone edit, then a concurrent phone edit with a duplicate; a rename;
    a bundle ahead of a gap and another reusing a sequence number."""
    deltas = live.deltas
    first = deltas.record("370102001")
    create = deltas.create(record_id(1), first)
    live.wait_for(live.upload(deltas.bundle([create])[0]), "merged")
    one = deltas.set(record_id(1), "phone", "13800000001", [create.op_id], create.op_id)
    other = deltas.set(record_id(1), "phone", "13800000002", [create.op_id], create.op_id)
    live.wait_for(live.upload(deltas.bundle([one])[0]), "merged")
    newcomer = {
        **deltas.record("370102001"),
        "id_number": first["id_number"],
        "birth_date": first["birth_date"],
        "sex": first["sex"],
    }
    conflicted = live.upload(deltas.bundle([other, deltas.create(record_id(2), newcomer)])[0])
    live.wait_for(conflicted, "staged")
    rename = deltas.set(record_id(1), "name", "王小明", [create.op_id], create.op_id)
    renamed = live.upload(deltas.bundle([rename])[0])
    live.wait_for(renamed, "staged")
    deltas.bundle([deltas.create(record_id(5))])  # seq 5 never arrives: a gap
    parked = live.upload(deltas.bundle([deltas.create(record_id(6))])[0])
    live.wait_for(parked, "parked")
    reuse, _ = deltas.bundle([deltas.create(record_id(7))], seq=1, prev=None, advance=False)
    request = urllib.request.Request(live.base + "/api/v1/bundles", data=reuse, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 409
    refused.value.close()
    return Sent(
        conflicted=conflicted,
        renamed=renamed,
        parked=parked,
        first_name=str(first["name"]),
        newcomer_name=str(newcomer["name"]),
    )


def watch_errors(page: Any) -> list[str]:
    """Collect script errors, server errors, and files that failed to load.

    A refused form (a page answered 4xx on purpose) is not an error; the browser's own
    favicon request is not one of ours.
    """
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def failed(response: Any) -> None:
        page_load = response.request.resource_type == "document"
        if response.url.endswith("/favicon.ico") or response.status < 400:
            return
        if response.status >= 500 or not page_load:
            errors.append(f"{response.status} {response.url}")

    page.on("response", failed)
    return errors


def snap(locator: Any, name: str) -> None:
    """Save one part of the page as ``test-artifacts/<name>.png`` (for the guide)."""
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(page: Any, live: Live, login: str) -> None:
    page.goto(live.console)
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def test_a_reviewer_resolves_approves_and_rejects_in_the_browser(live: Live, page: Any) -> None:
    sent = send_the_nodes_bundles(live)
    errors = watch_errors(page)
    page.goto(live.console)
    assert "/console/login" in page.url
    page.fill("#login", "reviewer")
    screenshot(page, "console-01-login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("h1:has-text('收件箱')")
    assert page.locator("#alerts").is_visible()
    assert page.locator("#gaps .gap-missing").inner_text() == "5"
    screenshot(page, "console-02-inbox")

    page.click(f"a[href='{CONSOLE_PREFIX}bundles/{sent.conflicted}']")
    page.wait_for_selector("#conflicts")
    assert page.locator(".conflict .competitor").count() == 3
    assert page.locator("#duplicates fieldset.merge").count() == 1
    screenshot(page, "console-03-review")

    # The conflict: type the verified number; the duplicate: the same person, keep the
    # existing record but take the new record's name.
    page.fill(".conflict input[data-choose]", "13900000009")
    assert page.locator(".conflict input[value=other]").is_checked()
    page.locator("fieldset.merge legend input[type=radio]").check()
    page.locator("tr[data-field=name] input[value=new]").check()
    page.fill("#resolution_reason", "经电话与本人核实")
    screenshot(page, "console-04-resolve")
    snap(page.locator("#conflicts"), "console-04a-conflict")
    snap(page.locator("fieldset.merge legend"), "console-04b-merge-choice")
    snap(page.locator("fieldset.merge table.merge-table").first, "console-04c-merge-fields")
    snap(page.locator("#decide"), "console-04d-decide")
    page.click("#approve")
    page.wait_for_selector(".notice")
    assert "已批准" in page.locator(".notice").inner_text()
    live.wait_for(sent.conflicted, "merged")
    page.reload()
    page.wait_for_selector("#down")
    screenshot(page, "console-05-approved")
    snap(page.locator("#resolutions"), "console-05a-resolutions")

    page.goto(f"{live.console}bundles/{sent.renamed}")
    page.fill("#reason", "姓名与户籍登记不符，请核对身份证后重新上报")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reject")
    page.wait_for_selector(".notice")
    assert "已退回" in page.locator(".notice").inner_text()
    screenshot(page, "console-06-rejected")

    with live.hub.store.read() as session:
        down = session.execute(
            sa.select(DownBundle.kind, DownBundle.about)
            .where(DownBundle.recipient == live.pki["node"].subject)
            .order_by(DownBundle.seq)
        ).all()
        survivor = session.get(RecordRow, record_id(1))
        merged = session.get(RecordRow, record_id(2))
    assert sorted(down) == sorted([("decisions", sent.conflicted), ("decisions", sent.renamed)])
    assert survivor is not None
    assert merged is not None
    assert survivor.data["phone"] == "13900000009"
    assert survivor.data["name"] == sent.newcomer_name
    assert merged.status == f"merged:{record_id(1)}"

    page.goto(f"{live.console}records?name={sent.newcomer_name[:1]}")
    page.click(f"a[href='{CONSOLE_PREFIX}records/{record_id(1)}']")
    page.wait_for_selector("#history")
    assert page.locator("#history tr.resolution").count() >= 2
    screenshot(page, "console-07-record")
    assert errors == []


def test_an_administrator_enrolls_a_site_and_checks_the_audit_log(live: Live, page: Any) -> None:
    ident = request_enrollment(live.hub)
    errors = watch_errors(page)
    log_in(page, live, "admin")
    page.goto(f"{live.console}sites")
    assert page.locator(f"tr[data-request='{ident}']").is_visible()
    screenshot(page, "console-08-sites")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-request='{ident}'] button.primary")
    page.wait_for_selector(".notice")
    assert "签发证书" in page.locator(".notice").inner_text()
    assert page.locator("#children tr[data-serial]").count() == 4

    page.goto(f"{live.console}accounts")
    page.fill("#login", "zhao.min")
    page.fill("#display_name", "赵敏")
    page.select_option("#role", "viewer")
    page.fill("#password", "short")
    page.fill("#password_confirm", "short")
    page.click("#new-account button[type=submit]")
    page.wait_for_selector("#form-error")
    assert "密码至少 8 个字符" in page.locator("#form-error").inner_text()
    screenshot(page, "console-09-accounts")

    page.goto(f"{live.console}audit")
    page.click("#verify-chain")
    page.wait_for_selector("#chain-result")
    assert "校验通过" in page.locator("#chain-result").inner_text()
    screenshot(page, "console-10-audit")

    # A job as the federation's scheduler reports it: one good run, then a failure.
    board = live.app[JOB_BOARD]
    board.register("sync_up", "每 5 分钟")
    with board.run("sync_up", live.hub.now):
        pass
    with pytest.raises(NotFoundError), board.run("sync_up", live.hub.now):
        raise NotFoundError("no parent hub answered at https://hub.jinan.example")
    page.goto(f"{live.console}status")
    page.wait_for_selector("#pipeline")
    assert "no parent hub answered" in page.locator("tr[data-job=sync_up]").inner_text()
    screenshot(page, "console-11-status")

    page.click("a.lang")
    page.wait_for_selector("html[lang=en]")
    page.goto(live.console)
    assert page.locator("h1").inner_text().startswith("Inbox")
    screenshot(page, "console-12-inbox-en")
    assert errors == []
