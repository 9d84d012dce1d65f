"""The node's status page in headless Chromium: the collection point's figures and all
six charts drawn from the node's own store (the campaign of tests/node/core/figures.py).

Screenshot ``test-artifacts/node-16-figures.png`` (docs/zh/操作手册-采集点.md; copied
there only with ``MUSTER_UPDATE_GUIDE_IMAGES=1``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.fixtures.browser import ARTIFACTS, screenshot, wait_for_count
from tests.node.core.figures import collection_campaign
from tests.node.core.helpers import Clock, NodeUnderTest, ready_node
from tests.node.web.browser_steps import log_in
from tests.node.web.liveserver import LiveServer
from tests.node.web.nodeapp import make_ui
from tests.pki import Pki

pytestmark = pytest.mark.browser

GUIDE_IMAGES: Final = Path(__file__).resolve().parents[3] / "docs" / "zh" / "img"
SHOT: Final = "node-16-figures"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeUnderTest]:
    ready = ready_node(tmp_path, Pki.build(), Clock())
    yield ready
    ready.services.close()


def test_the_status_page_draws_the_collection_point_s_charts(
    page: Any, node: NodeUnderTest, tmp_path: Path
) -> None:
    collection_campaign(node, tmp_path)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else "")
    with LiveServer(lambda: make_ui(node)) as server:
        log_in(page, server.url, "collector")
        page.goto(f"{server.url}/")
        wait_for_count(page, "#figures .muster-chart[data-chart-ready]", 6)
        assert page.locator("#figures .muster-chart[data-chart-error]").count() == 0
        figures = page.locator("#figures .key-figures .value").all_inner_texts()
        # expected 3 (the baseline), collected 4: 133.3 %, shown as it is.
        assert figures[:3] == ["3", "4", "133.3%"]
        page.locator("#figures").screenshot(path=str(ARTIFACTS / f"{SHOT}.png"))
        screenshot(page, "node-16-figures-page")
    assert problems == []
    if os.environ.get("MUSTER_UPDATE_GUIDE_IMAGES") == "1":
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{SHOT}.png", GUIDE_IMAGES / f"{SHOT}.png")
