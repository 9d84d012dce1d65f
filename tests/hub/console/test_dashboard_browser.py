"""The dashboard in headless Chromium against the real hub on a real port: every chart is
drawn (a canvas in each container, no error, nothing refused by the page's policy), on
the campaign of tests/hub/reports/storedata.py with a deadline and a month of snapshots.

Screenshots: ``test-artifacts/console-13-dashboard.png`` and
``console-14-dashboard-settings.png``, shown in docs/zh/操作手册-管理员.md (copied there
only with ``MUSTER_UPDATE_GUIDE_IMAGES=1``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from hub.accounts import AccountInfo, Role
from hub.console import CONSOLE_PREFIX
from hub.context import HubContext
from hub.reports.service import run_snapshot
from hub.reports.storesettings import set_expected, set_phase, store_snapshot
from node.reports import Counts, PhaseKind
from tests.fixtures.browser import ARTIFACTS, screenshot, wait_for_count
from tests.hub.conftest import make_hub
from tests.hub.console.console import PASSWORD, console_app, make_accounts
from tests.hub.console.live import serve
from tests.hub.factory import TODAY, DeltaFactory
from tests.hub.reports.storedata import ADMIN, load_campaign
from tests.pki import Pki

pytestmark = pytest.mark.browser

GUIDE_IMAGES: Final = Path(__file__).resolve().parents[3] / "docs" / "zh" / "img"
GUIDE: Final = ("console-13-dashboard", "console-14-dashboard-settings")
_CHARTS: Final = 6


def _shot(page: Any, name: str) -> None:
    screenshot(page, name)
    # The guide's pictures change only when asked, so a test run leaves the tree clean.
    if name in GUIDE and os.environ.get("MUSTER_UPDATE_GUIDE_IMAGES") == "1":
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", GUIDE_IMAGES / f"{name}.png")


def _history(hub: HubContext) -> None:
    """Today's snapshot, and a month before it growing towards today's figures."""
    today = run_snapshot(hub, TODAY)
    for back in range(1, 29, 3):
        share = 1 - back / 30
        rows = tuple(
            replace(
                row,
                counts=Counts(
                    expected=row.counts.expected,
                    collected=int(row.counts.collected * share),
                    authorised=int(row.counts.authorised * share),
                    merged=int(row.counts.merged * share),
                    verified=0,
                ),
            )
            for row in today.rows
        )
        store_snapshot(hub, replace(today, day=TODAY - timedelta(days=back), rows=rows))


@pytest.fixture
def live(tmp_path: Path, pki: Pki) -> Iterator[tuple[HubContext, str]]:
    hub = make_hub(tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}", pki,
                   name="历下区退役军人事务局", workers=0)  # fmt: skip
    make_accounts(hub, ["admin"])
    load_campaign(hub, DeltaFactory(pki))
    whole = AccountInfo(login="admin", display_name="管理员", role=Role.ADMIN, scope="370102",
                        disabled=False)  # fmt: skip
    assert whole == ADMIN
    for code, name, count in (("370102001", "解放路街道", 10), ("370102002", "千佛山街道", 4)):
        set_expected(hub, ADMIN, region=code, category=None, count=count, region_name=name)
    set_phase(hub, ADMIN, kind=PhaseKind.COLLECTION, starts=date(2026, 10, 15),
              deadline=date(2026, 12, 31))  # fmt: skip
    _history(hub)
    with serve(console_app(hub)) as base:
        yield hub, base + CONSOLE_PREFIX
    hub.store.dispose()


def _where(message: Any) -> str:
    """A console error with the address it is about (Chromium asks every site for an icon)."""
    url = str(message.location.get("url", ""))
    return "" if url.endswith("/favicon.ico") else f"{message.text} ({url})"


def _log_in(page: Any, console: str) -> None:
    page.goto(console)
    page.fill("#login", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def test_the_dashboard_draws_every_chart(live: tuple[HubContext, str], page: Any) -> None:
    _, console = live
    problems: list[str] = []
    page.on("console", lambda m: problems.append(_where(m)) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else "")
    _log_in(page, console)
    page.goto(console + "dashboard")
    wait_for_count(page, ".muster-chart[data-chart-ready]", _CHARTS)
    assert page.locator(".muster-chart[data-chart-error]").count() == 0
    for key in ("progress", "timeline", "treemap", "categories", "heat", "quality"):
        assert page.locator(f"#chart-{key} canvas").count() >= 1, key
    assert page.locator("#table-phases tbody tr").count() == 1
    town = page.locator("#regions tr[data-code='370102001'] td")
    assert (town.nth(1).inner_text(), town.nth(4).inner_text()) == ("解放路街道", "50.0%")
    _shot(page, "console-13-dashboard")
    page.goto(console + "dashboard/settings")
    page.wait_for_selector("#expected-form")
    _shot(page, "console-14-dashboard-settings")
    assert [p for p in problems if p] == []


def test_a_region_below_draws_its_charts_in_english(
    live: tuple[HubContext, str], page: Any
) -> None:
    _, console = live
    _log_in(page, console)
    page.goto(console + "lang/en?next=" + CONSOLE_PREFIX + "dashboard%3Fregion%3D370102001")
    wait_for_count(page, ".muster-chart[data-chart-ready]", _CHARTS)
    assert "Progress of" in page.locator("h1").inner_text()
    assert page.locator("#dashboard-up").count() == 1
