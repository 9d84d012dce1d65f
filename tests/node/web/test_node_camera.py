"""The portrait taken with the browser's camera: getUserMedia → canvas → upload.

Chromium's fake capture device stands in for the webcam (``--use-fake-device-for-
media-stream``): the real thing cannot be plugged into a CI machine. Everything
else is real: the page's script, the upload and the stored file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import CHROMIUM_ARGS, chromium_path, screenshot
from tests.node.core.helpers import Clock, NodeUnderTest, ready_node
from tests.node.web.browser_steps import log_in
from tests.node.web.liveserver import LiveServer
from tests.node.web.nodeapp import make_ui
from tests.pki import Pki

pytestmark = pytest.mark.browser

FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


@pytest.fixture(scope="module")
def camera_page() -> Iterator[Any]:
    """A page in a Chromium whose camera is the fake capture device (permission granted)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *FAKE_CAMERA]
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeUnderTest]:
    ready = ready_node(tmp_path, Pki.build(), Clock())
    yield ready
    ready.services.close()


def test_a_portrait_from_the_camera_is_uploaded_as_a_jpeg(
    camera_page: Any, node: NodeUnderTest
) -> None:
    page = camera_page
    with LiveServer(lambda: make_ui(node)) as server:
        log_in(page, server.url, "collector")
        page.goto(f"{server.url}/records/new?category=retired_soldier")
        slot = page.locator('[data-field="portrait_photo"]')
        slot.locator("[data-camera-start]").click()
        slot.locator("video").wait_for(state="visible")
        slot.locator("[data-camera-shoot]").wait_for(state="visible")
        slot.locator("[data-camera-shoot]").click()
        slot.locator("img.preview").wait_for(state="visible")
        chosen = slot.locator('input[name="upload__portrait_photo"]')
        assert chosen.evaluate("input => input.files[0].type") == "image/jpeg"
        screenshot(page, "node-16-camera")
        # Redraw the form: the photo is uploaded and kept by its reference.
        page.click("#refresh-form")
        kept = page.locator('input[type=hidden][name="portrait_photo"]')
        kept.wait_for(state="attached")
        media_type, data = node.services.get_blob(kept.get_attribute("value"))
        assert media_type == "image/jpeg"
        assert data[:3] == b"\xff\xd8\xff"
