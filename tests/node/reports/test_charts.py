"""Chart options are plain JSON built from the figures; labels exist in both languages."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from node.reports import STATIC_DIR, TEMPLATE_PACKAGE, build_report, parse_period, report_charts
from node.reports.charts import (
    category_breakdown,
    completeness_heat,
    division_treemap,
    progress_by_region,
    progress_over_time,
    quality_queues,
    scale_colour,
)
from node.reports.html import environment, page_context
from node.reports.labels import keys, text
from node.reports.report import Report
from tests.node.reports.data import HISTORY, TODAY, source


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(source(history=HISTORY), parse_period("2025-06"), "", today=TODAY)


def test_progress_bars_show_each_district(report: Report) -> None:
    options = progress_by_region(report.progress, "zh-CN")
    assert options["yAxis"]["data"] == ["历下区", "市中区"]
    # 6/22 = 27.3 %, 4/15 = 26.7 %
    assert [d["value"] for d in options["series"][0]["data"]] == [27.3, 26.7]
    assert options["series"][0]["markLine"]["data"] == [{"xAxis": 100}]
    towns = progress_by_region(report.progress, "zh-CN", region="370102")
    assert towns["yAxis"]["data"] == ["解放路街道", "千佛山街道"]


def test_treemap_nests_the_division_tree(report: Report) -> None:
    data = division_treemap(report.progress, "zh-CN")["series"][0]["data"]
    assert [(d["name"], d["value"], d["progress"]) for d in data] == [
        ("历下区", 22, 27.3),
        ("市中区", 15, 26.7),
    ]
    assert [c["name"] for c in data[0]["children"]] == ["解放路街道", "千佛山街道"]


def test_timeline_has_the_deadline_and_expected_lines(report: Report) -> None:
    options = progress_over_time(
        report.timeline,
        "en",
        deadline=report.collection_deadline,
        projected=report.phases[0].projected,
    )
    collected = options["series"][0]
    assert collected["name"] == "Collected"
    assert collected["data"][-1] == ["2025-06-30", 10]
    assert collected["markLine"]["data"] == [
        {"yAxis": 37, "name": "Expected"},
        {"xAxis": "2025-07-31", "name": "Deadline"},
    ]
    assert options["series"][-1]["data"] == [["2025-06-30", 10], ["2025-08-01", 37]]


def test_category_bars_show_only_categories_with_people(report: Report) -> None:
    options = category_breakdown(report.progress, "zh-CN")
    assert options["xAxis"]["data"] == ["退役士兵", "残疾军人", "烈士遗属", "现役军人家属"]
    assert [s["data"] for s in options["series"]] == [[26, 0, 4, 5], [7, 1, 1, 2]]


def test_heat_map_puts_the_most_missing_fields_first(report: Report) -> None:
    options = completeness_heat(report.completeness, "zh-CN")
    assert options["xAxis"]["data"] == ["联系电话", "本人照片"]
    assert options["series"][0]["data"] == [
        [0, 0, 50.0],
        [1, 0, 83.3],
        [0, 1, 100.0],
        [1, 1, 100.0],
    ]


def test_quality_bars_stack_open_items_by_age(report: Report) -> None:
    series = quality_queues(report.quality, "zh-CN")["series"]
    assert [s["name"] for s in series] == ["0-2天", "3-7天", "8-14天", "15-30天", "30天以上"]
    # conflicts: 1 aged 0-2, 1 aged 15-30; finding 41 days; rejection 5 days
    assert [s["data"] for s in series] == [
        [1, 0, 0, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 1, 0],
    ]


def test_options_are_json_without_functions_and_without_animation(report: Report) -> None:
    for spec in report_charts(report, "zh-CN"):
        options = json.loads(spec.options_json)
        assert options["animation"] is False
        assert options["tooltip"]["renderMode"] == "richText"
        assert "function" not in spec.options_json


def test_colour_scale_steps() -> None:
    assert [scale_colour(x) for x in (None, 0.0, 0.19, 0.2, 0.99, 1.0, 1.7)] == [
        "#bdbdbd",
        "#d7301f",
        "#d7301f",
        "#fc8d59",
        "#1a9641",
        "#1a9641",
        "#1a9641",
    ]


def test_every_label_has_both_languages() -> None:
    for key in keys():
        assert text(key, "zh-CN")
        assert text(key, "en")


def test_every_label_a_template_uses_exists() -> None:
    templates = (
        Path(__file__).resolve().parents[3] / TEMPLATE_PACKAGE.replace(".", "/") / "templates"
    )
    used: set[str] = set()
    for template in templates.rglob("*.html"):
        used |= set(re.findall(r'h\.t\("([a-z_.0-9]+)"\)', template.read_text("utf-8")))
    assert used
    assert used - keys() == set()


def test_vendored_files_match_their_record() -> None:
    vendor = STATIC_DIR / "vendor"
    record = (vendor / "VENDORED.md").read_text("utf-8")
    listed = dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", record, re.MULTILINE))
    assert set(listed) == {"echarts.min.js", "LICENSE", "NOTICE", "LICENSE-d3"}
    for name, digest in listed.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (vendor / "LICENSE").read_text("utf-8")


def test_pages_load_nothing_from_other_sites() -> None:
    for path in (STATIC_DIR.parent / "templates").rglob("*.html"):
        assert not re.search(r"(src|href)=\"(https?:)?//", path.read_text("utf-8")), path.name


def test_dashboard_partial_renders_every_chart(report: Report) -> None:
    page = environment().from_string(
        '{% from "reports/_dashboard.html" import dashboard %}{{ dashboard(report, h, charts) }}'
    )
    html = page.render(page_context(report, "en"))
    assert re.findall(r'id="chart-([a-z]+)"', html) == [
        "progress",
        "timeline",
        "treemap",
        "categories",
        "heat",
        "quality",
    ]
    assert "<script" not in html  # the page that includes it loads the scripts once
    assert 'data-site="370100"' in html
