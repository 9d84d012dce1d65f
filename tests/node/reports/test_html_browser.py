"""The HTML report in headless Chromium: charts drawn, figures shown, no script errors.

The page is served over a real socket with the web kit's Content-Security-Policy,
so a chart that needed inline script or style would fail here as in the console.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from node.reports import build_report, parse_period
from node.reports.html import write_html
from node.web.kit.security import CONTENT_SECURITY_POLICY
from tests.fixtures.browser import redrawn, screenshot, wait_for_count
from tests.node.reports.data import TODAY, source

pytestmark = pytest.mark.browser

NARRATIVE = "本月各街道采集进展顺利。\n千佛山街道需加快进度。"
CHARTS = ("timeline", "progress", "treemap", "categories", "heat", "quality")


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("report")
    report = build_report(
        source(),
        parse_period("2025-06"),
        "本月各街道采集进展顺利。\n千佛山街道需加快进度。",
        today=TODAY,
    )
    page = write_html(report, folder)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", page
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _open(page: Any, url: str) -> list[str]:
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    wait_for_count(page, ".muster-chart[data-chart-ready]", len(CHARTS))
    return problems


def test_report_page_draws_every_chart_without_script_errors(
    page: Any, served: tuple[str, Path]
) -> None:
    base, path = served
    problems = _open(page, base + path.name)
    for key in CHARTS:
        chart = page.locator(f"#chart-{key}")
        assert chart.locator("canvas").count() >= 1, key
        assert chart.get_attribute("data-chart-error") is None
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 200
    # Hovering draws a tooltip (HTML tooltips would break the CSP). The categories chart
    # shows its axis tooltip wherever the pointer is in the plot; the check waits until
    # the tooltip is drawn, so an error it raises late is seen.
    chart = page.locator("#chart-categories")
    before = chart.screenshot()
    chart.locator("canvas").first.hover()
    drawn = redrawn(chart, before)
    assert problems == []
    assert drawn, "hovering the categories chart drew no tooltip"
    screenshot(page, "report-html-zh")


def test_report_page_shows_the_hand_computed_figures(page: Any, served: tuple[str, Path]) -> None:
    base, path = served
    _open(page, base + path.name)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "退役军人信息采集工作汇总报告"
    # 37 expected, 10 collected = 27.0 %; completeness 26 of 30 = 86.7 %
    assert page.locator("#figure-expected").inner_text() == "37"
    assert page.locator("#figure-collected").inner_text() == "10"
    assert page.locator("#figure-progress").inner_text() == "27.0%"
    assert page.locator("#figure-completeness").inner_text() == "86.7%"
    row = page.locator('#table-progress tr[data-code="370102002"] td')
    assert row.all_inner_texts()[:5] == ["370102002", "千佛山街道", "8", "2", "25.0%"]
    assert "千佛山街道需加快进度" in page.locator("#narrative").inner_text()


def test_english_version_is_linked_and_drawn(page: Any, served: tuple[str, Path]) -> None:
    base, path = served
    _open(page, base + path.name)
    page.click("a.switch")
    wait_for_count(page, ".muster-chart[data-chart-ready]", len(CHARTS))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Veterans information census: summary report"
    queue = page.locator('#table-quality tr[data-queue="conflict"] td').all_inner_texts()
    assert queue[:4] == ["Conflicts", "2", "20", "10.5"]
    screenshot(page, "report-html-en")


def test_printing_keeps_the_charts(page: Any, served: tuple[str, Path]) -> None:
    base, path = served
    problems = _open(page, base + path.name)
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    assert page.locator(".switch").is_hidden()
    assert problems == []
