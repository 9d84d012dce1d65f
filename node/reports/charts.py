"""ECharts option builders: report figures in, JSON-able chart options out.

Pure functions, no I/O. The options hold data and plain strings only (no
JavaScript functions), so they travel as JSON in a ``data-chart-options``
attribute and ``static/reports/charts.js`` draws them (no inline script: the
pages' CSP forbids it). Animation is off so printing and screenshots see the
final chart. Percentages are given as numbers from 0 to 100 with one decimal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from node.reports.completeness import Completeness
from node.reports.labels import Lang, pick, text
from node.reports.model import STAGES, QualityKind
from node.reports.progress import ProgressTable, RegionProgress
from node.reports.quality import AGE_BUCKETS, QualityReport
from node.reports.report import Report
from node.reports.snapshots import TimelinePoint

__all__ = [
    "ChartSpec",
    "category_breakdown",
    "completeness_heat",
    "division_treemap",
    "progress_by_region",
    "progress_over_time",
    "quality_queues",
    "report_charts",
]

Options = dict[str, Any]
#: Colours from "far behind" to "done" (red, orange, yellow, light green, green).
SCALE: Final = ("#d7301f", "#fc8d59", "#fdcc8a", "#a6d96a", "#1a9641")
_GREY: Final = "#bdbdbd"
_FONT: Final = "Noto Sans CJK SC, WenQuanYi Micro Hei, Microsoft YaHei, sans-serif"
_MAX_HEAT_FIELDS: Final = 20


def percent(value: float | None) -> float | None:
    """A ratio as a percentage with one decimal, ``None`` kept."""
    return None if value is None else round(value * 100, 1)


def scale_colour(ratio: float | None) -> str:
    """The colour of a progress or completeness ratio (grey when unknown)."""
    if ratio is None:
        return _GREY
    index = min(len(SCALE) - 1, max(0, int(ratio * len(SCALE))))
    return SCALE[index]


def _base(title: str) -> Options:
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "textStyle": {"fontFamily": _FONT},
        # Tooltips drawn on the canvas: HTML tooltips carry inline styles the CSP refuses.
        "tooltip": {"renderMode": "richText"},
        "grid": {"containLabel": True, "left": 16, "right": 32, "top": 48, "bottom": 24},
    }


def progress_by_region(table: ProgressTable, lang: Lang, region: str | None = None) -> Options:
    """Bar chart: progress (%) of each region directly under ``region`` (the root by default)."""
    parent = table.root.code if region is None else table.get(region).code
    rows = table.children(parent) or (table.get(parent),)
    options = _base(text("section.progress", lang))
    options["xAxis"] = {"type": "value", "name": text("chart.percent", lang), "min": 0}
    options["yAxis"] = {"type": "category", "inverse": True, "data": [r.name for r in rows]}
    options["series"] = [
        {
            "type": "bar",
            "name": text("col.progress", lang),
            "label": {"show": True, "position": "right", "formatter": "{c}%"},
            "data": [
                {
                    "value": percent(r.persons.progress),
                    "itemStyle": {"color": scale_colour(r.persons.progress)},
                }
                for r in rows
            ],
            "markLine": {
                "symbol": "none",
                "label": {"formatter": text("chart.full", lang)},
                "data": [{"xAxis": 100}],
            },
        }
    ]
    return options


def _tree_node(table: ProgressTable, row: RegionProgress) -> Options:
    ratio = row.persons.progress
    node: Options = {
        "name": row.name,
        "value": max(row.persons.expected, row.persons.collected, 1),
        "progress": percent(ratio),
        "itemStyle": {"color": scale_colour(ratio)},
    }
    children = table.children(row.code)
    if children:
        node["children"] = [_tree_node(table, c) for c in children]
    return node


def division_treemap(table: ProgressTable, lang: Lang) -> Options:
    """Tree map of the division tree: area by people expected, colour by progress."""
    options = _base(text("section.treemap", lang))
    options["tooltip"].update({"formatter": "{b}"})
    options["series"] = [
        {
            "type": "treemap",
            "name": table.root.name,
            "roam": False,
            "nodeClick": "zoomToNode",
            "leafDepth": 2,
            "breadcrumb": {"show": True},
            "label": {"show": True, "formatter": "{b}"},
            "upperLabel": {"show": True, "height": 20},
            "data": [_tree_node(table, c) for c in table.children(table.root.code)]
            or [_tree_node(table, table.root)],
        }
    ]
    return options


def progress_over_time(
    points: Sequence[TimelinePoint],
    lang: Lang,
    *,
    deadline: date | None = None,
    projected: date | None = None,
) -> Options:
    """Line chart: people at each stage per day, the expected line and the deadline."""
    options = _base(text("section.timeline", lang))
    options["tooltip"].update({"trigger": "axis"})
    options["legend"] = {"top": 24}
    options["grid"]["top"] = 64
    options["xAxis"] = {"type": "time"}
    options["yAxis"] = {"type": "value", "name": text("chart.people", lang), "min": 0}
    expected = points[-1].counts.expected if points else 0
    series: list[Options] = [
        {
            "type": "line",
            "name": text(f"stage.{stage.value}", lang),
            "showSymbol": len(points) < 40,
            "data": [[p.day.isoformat(), p.counts.at(stage)] for p in points],
        }
        for stage in STAGES
    ]
    marks: list[Options] = [{"yAxis": expected, "name": text("col.expected", lang)}]
    if deadline is not None:
        marks.append({"xAxis": deadline.isoformat(), "name": text("chart.deadline", lang)})
    series[0]["markLine"] = {
        "symbol": "none",
        "label": {"formatter": "{b}"},
        "lineStyle": {"type": "dashed", "color": SCALE[0]},
        "data": marks,
    }
    if projected is not None and points:
        last = points[-1]
        series.append(
            {
                "type": "line",
                "name": text("col.projected", lang),
                "lineStyle": {"type": "dotted"},
                "showSymbol": False,
                "data": [
                    [last.day.isoformat(), last.counts.collected],
                    [projected.isoformat(), max(expected, last.counts.collected)],
                ],
            }
        )
    options["series"] = series
    return options


def category_breakdown(table: ProgressTable, lang: Lang, region: str | None = None) -> Options:
    """Grouped bars: people expected and collected per category (categories with any)."""
    row = table.root if region is None else table.get(region)
    shown = [c for c in row.categories if c.counts.expected or c.counts.collected]
    options = _base(text("section.categories", lang))
    options["tooltip"].update({"trigger": "axis"})
    options["legend"] = {"top": 24}
    options["grid"]["top"] = 64
    options["xAxis"] = {
        "type": "category",
        "data": [pick((c.name_zh, c.name_en), lang) for c in shown],
        "axisLabel": {"interval": 0, "rotate": 30},
    }
    options["yAxis"] = {"type": "value", "name": text("chart.people", lang)}
    options["series"] = [
        {"type": "bar", "name": text(key, lang), "data": [getattr(c.counts, attr) for c in shown]}
        for key, attr in (("col.expected", "expected"), ("col.collected", "collected"))
    ]
    return options


def completeness_heat(completeness: Completeness, lang: Lang) -> Options:
    """Heat map: completeness (%) per child region × field (the most-missing fields first)."""
    fields = completeness.most_missing(_MAX_HEAT_FIELDS) or completeness.fields[:_MAX_HEAT_FIELDS]
    columns = [completeness.fields.index(f) for f in fields]
    options = _base(text("section.heat", lang))
    options["tooltip"].update({"position": "top"})
    options["grid"]["bottom"] = 64
    options["xAxis"] = {
        "type": "category",
        "data": [pick((f.label_zh, f.label_en), lang) for f in fields],
        "axisLabel": {"interval": 0, "rotate": 40},
        "splitArea": {"show": True},
    }
    options["yAxis"] = {
        "type": "category",
        "inverse": True,
        "data": [r.name for r in completeness.heat],
        "splitArea": {"show": True},
    }
    options["visualMap"] = {
        "min": 0,
        "max": 100,
        "calculable": False,
        "orient": "horizontal",
        "left": "center",
        "bottom": 0,
        "inRange": {"color": list(SCALE)},
    }
    options["series"] = [
        {
            "type": "heatmap",
            "name": text("col.share", lang),
            "label": {"show": True},
            "data": [
                [x, y, percent(row.cells[column])]
                for y, row in enumerate(completeness.heat)
                for x, column in enumerate(columns)
                if row.cells[column] is not None
            ],
        }
    ]
    return options


def quality_queues(quality: QualityReport, lang: Lang) -> Options:
    """Stacked bars: open items of each queue by age."""
    options = _base(text("section.quality", lang))
    options["tooltip"].update({"trigger": "axis", "axisPointer": {"type": "shadow"}})
    options["legend"] = {"top": 24}
    options["grid"]["top"] = 64
    options["xAxis"] = {"type": "value", "minInterval": 1}
    options["yAxis"] = {
        "type": "category",
        "inverse": True,
        "data": [text(f"queue.{kind.value}", lang) for kind in QualityKind],
    }
    options["series"] = [
        {
            "type": "bar",
            "stack": "age",
            "name": text(f"age.{index}", lang),
            "itemStyle": {"color": SCALE[len(SCALE) - 1 - index]},
            "data": [quality.queue(kind).buckets[index] for kind in QualityKind],
        }
        for index in range(len(AGE_BUCKETS))
    ]
    return options


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartSpec:
    """One chart of a page: its element id, its title and its options as JSON text."""

    key: str
    title: str
    options_json: str


def _spec(key: str, title: str, options: Options) -> ChartSpec:
    return ChartSpec(
        key=key, title=title, options_json=json.dumps(options, ensure_ascii=False, sort_keys=True)
    )


def report_charts(report: Report, lang: Lang) -> tuple[ChartSpec, ...]:
    """The charts of a report page (and of a dashboard), in page order."""
    progress = report.progress
    collection = next((p for p in report.phases if p.kind.number == 1), None)
    return (
        _spec("progress", text("section.progress", lang), progress_by_region(progress, lang)),
        _spec("treemap", text("section.treemap", lang), division_treemap(progress, lang)),
        _spec(
            "timeline",
            text("section.timeline", lang),
            progress_over_time(
                report.timeline,
                lang,
                deadline=report.collection_deadline,
                projected=collection.projected if collection else None,
            ),
        ),
        _spec("categories", text("section.categories", lang), category_breakdown(progress, lang)),
        _spec("heat", text("section.heat", lang), completeness_heat(report.completeness, lang)),
        _spec("quality", text("section.quality", lang), quality_queues(report.quality, lang)),
    )
