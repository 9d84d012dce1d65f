"""The cross-check's console pages in headless Chromium against the real hub on a real port:
an administrator uploads a household register (the page's script streams it), maps its
columns, imports it, matches it, reads the findings per region and source, and accepts an
answer that came up from the town.

Screenshots ``test-artifacts/console-15*.png`` are shown in docs/zh/操作手册-管理员.md §14
(copied there only with ``MUSTER_UPDATE_GUIDE_IMAGES=1``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import sqlalchemy as sa

from hub.console import CONSOLE_PREFIX
from hub.context import HubContext
from hub.crosscheck.answers import receive_answers
from hub.store.crosscheck_models import FindingRow
from protocol.entries import AnswerReason, ProblemAnswer
from tests.fixtures.browser import ARTIFACTS, screenshot
from tests.hub.conftest import make_hub
from tests.hub.console.console import PASSWORD, console_app, make_accounts
from tests.hub.console.live import serve
from tests.hub.console.test_browser import watch_errors
from tests.hub.crosscheck.signing import origins_at
from tests.hub.crosscheck.wiring import SOURCE, merge_records, write_register
from tests.hub.factory import DeltaFactory
from tests.pki import NOW, Pki

pytestmark = pytest.mark.browser

GUIDE_IMAGES: Final = Path(__file__).resolve().parents[3] / "docs" / "zh" / "img"
GUIDE: Final = (
    "console-15a-crosscheck-upload",
    "console-15b-crosscheck-mapping",
    "console-15c-crosscheck-import",
    "console-15d-crosscheck-overview",
    "console-15e-crosscheck-findings",
)
#: How long an import or a check may take in the background (a deadline, not a measure).
_DEADLINE_MS: Final = 60_000


def _shot(page: Any, name: str) -> None:
    screenshot(page, name)
    # The guide's pictures change only when asked, so a test run leaves the tree clean.
    if name in GUIDE and os.environ.get("MUSTER_UPDATE_GUIDE_IMAGES") == "1":
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", GUIDE_IMAGES / f"{name}.png")


@dataclass(frozen=True, slots=True, kw_only=True)
class Live:
    hub: HubContext
    console: str
    register: Path


@pytest.fixture
def live(tmp_path: Path, pki: Pki) -> Iterator[Live]:
    hub = make_hub(tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}", pki,
                   name="历下区退役军人事务局", workers=0)  # fmt: skip
    make_accounts(hub, ["admin"])
    merge_records(hub, DeltaFactory(pki), 8)
    register = write_register(hub, tmp_path / "历下区户籍人口.csv").path
    with serve(console_app(hub)) as base:
        yield Live(hub=hub, console=base + CONSOLE_PREFIX, register=register)
    hub.store.dispose()


def _answer_one(hub: HubContext) -> str:
    """The town's answer to the first finding arrives (as a merged delta would bring it)."""
    with hub.store.write() as session:
        finding = session.scalars(
            sa.select(FindingRow.finding_id).where(FindingRow.field == "name")
        ).first()
        assert finding is not None
        answer = ProblemAnswer(finding_id=finding, reason=AnswerReason.REGISTER_WRONG,
                               note="姓名以居民身份证为准", by="370102001/zhang.wei",
                               at=NOW)  # fmt: skip
        receive_answers(hub, session, [answer], sender="370102001-01",
                        origins=origins_at("370102001-01", [answer]))  # fmt: skip
    return finding


def test_an_administrator_imports_a_register_and_follows_its_findings(
    live: Live, page: Any
) -> None:
    errors = watch_errors(page)
    page.goto(live.console)
    page.fill("#login", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")

    page.goto(live.console + "crosscheck")
    page.click(f"a[href='{CONSOLE_PREFIX}crosscheck/upload']")
    page.set_input_files("#file", str(live.register))
    page.fill("#source", SOURCE)
    page.select_option("#kind", "public_security")
    page.fill("#as_of", "2026-11-28")
    _shot(page, "console-15a-crosscheck-upload")
    page.click("#upload-form button[type=submit]")

    page.wait_for_selector("#mapping-form")
    assert page.locator("#column-0").input_value() == "id_number"
    _shot(page, "console-15b-crosscheck-mapping")
    page.click("#mapping-form button[type=submit]")

    page.wait_for_selector("#import[data-state='committed']", timeout=_DEADLINE_MS)
    assert page.locator(".rows-stored").inner_text() == "9"
    page.click("form[action$='/check'] button")
    page.wait_for_selector("dd.checked", timeout=_DEADLINE_MS)
    _shot(page, "console-15c-crosscheck-import")

    page.goto(live.console + "crosscheck")
    row = page.locator("#by-region tr[data-key='370102001']")
    assert row.locator("td.open").inner_text() == "5"
    _shot(page, "console-15d-crosscheck-overview")

    finding = _answer_one(live.hub)
    page.goto(live.console + "crosscheck/findings")
    answered = page.locator(f"tr[data-finding='{finding}']")
    assert answered.get_attribute("data-state") == "answered"
    _shot(page, "console-15e-crosscheck-findings")
    answered.locator("form[action$='/accept'] button").click()
    page.wait_for_selector("p.notice")
    assert page.locator(f"tr[data-finding='{finding}']").get_attribute("data-state") == "closed"
    assert errors == []
