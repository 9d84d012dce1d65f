"""The summary report as an XLSX workbook: a summary sheet, then one sheet per table.

Headers are in the report's language (Chinese by default); each table sheet
has a frozen, filtered header row, column widths and number formats (counts
``#,##0``, shares ``0.0%``, dates ``yyyy-mm-dd``). Aggregates only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from node.reports._workbook import Column, Format, add_table, save_workbook, title_cell
from node.reports.labels import Lang, check_lang, pick, text
from node.reports.quality import AGE_BUCKETS
from node.reports.report import Report

__all__ = ["SHEETS", "build_workbook", "write_xlsx"]

#: The label keys of the sheets, in workbook order.
SHEETS: Final = (
    "report.summary",
    "section.progress",
    "section.categories",
    "section.region_categories",
    "section.phases",
    "section.completeness",
    "section.fields",
    "section.quality",
    "section.findings",
)
_NARRATIVE_WIDTH: Final = 100


def _count(key: str, lang: Lang, width: int = 12) -> Column:
    return Column(header=text(key, lang), format=Format.COUNT, width=width)


def _share(key: str, lang: Lang) -> Column:
    return Column(header=text(key, lang), format=Format.PERCENT, width=12)


def _summary(workbook: Workbook, report: Report, lang: Lang) -> None:
    sheet = workbook.create_sheet(title=text("report.summary", lang))
    title_cell(sheet, text("report.title", lang))
    root = report.progress.root
    rows: list[tuple[str, Any, Format]] = [
        (text("report.site", lang), f"{report.site_name} ({report.site_code})", Format.TEXT),
        (text("report.period", lang), str(report.period), Format.TEXT),
        (text("report.today", lang), report.today, Format.DATE),
        (text("col.expected", lang), root.persons.expected, Format.COUNT),
        (text("col.collected", lang), root.persons.collected, Format.COUNT),
        (text("col.progress", lang), root.persons.progress, Format.PERCENT),
        (text("col.authorised", lang), root.persons.authorised, Format.COUNT),
        (text("col.merged", lang), root.persons.merged, Format.COUNT),
        (text("col.verified", lang), root.persons.verified, Format.COUNT),
        (text("report.new_in_period", lang), report.new_in_period, Format.COUNT),
        (text("report.outside", lang), report.progress.outside.collected, Format.COUNT),
        (text("col.share", lang), report.completeness.root.share, Format.PERCENT),
        (text("col.open", lang), report.quality.open_total, Format.COUNT),
    ]
    for offset, (label, value, fmt) in enumerate(rows, start=3):
        sheet.cell(row=offset, column=1, value=label).font = Font(bold=True)
        cell = sheet.cell(row=offset, column=2, value=value)
        cell.number_format = fmt.value
        cell.alignment = Alignment(horizontal="left")
    narrative_row = len(rows) + 4
    sheet.cell(row=narrative_row, column=1, value=text("report.narrative", lang)).font = Font(
        bold=True
    )
    body = sheet.cell(
        row=narrative_row + 1,
        column=1,
        value=report.narrative or text("report.no_narrative", lang),
    )
    body.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(
        start_row=narrative_row + 1, start_column=1, end_row=narrative_row + 1, end_column=2
    )
    sheet.row_dimensions[narrative_row + 1].height = min(
        409, 15 * (1 + report.narrative.count("\n") + len(report.narrative) // _NARRATIVE_WIDTH)
    )
    sheet.cell(row=narrative_row + 3, column=1, value=text("report.aggregates_only", lang))
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 72


def _progress_rows(report: Report) -> list[Sequence[Any]]:
    return [
        (
            r.code,
            "  " * r.depth + r.name,
            r.persons.expected,
            r.persons.collected,
            r.persons.progress,
            r.persons.authorised,
            r.persons.merged,
            r.persons.verified,
            round(r.rate, 2),
            r.projected,
        )
        for r in report.progress.regions
    ]


def _tables(report: Report, lang: Lang) -> list[tuple[str, list[Column], list[Sequence[Any]]]]:
    code = Column(header=text("col.code", lang), format=Format.TEXT, width=12)
    region = Column(header=text("col.region", lang), format=Format.TEXT, width=24)
    stages = [_count(f"col.{s}", lang) for s in ("authorised", "merged", "verified")]
    root = report.progress.root
    categories = root.categories
    tables: list[tuple[str, list[Column], list[Sequence[Any]]]] = [
        (
            "section.progress",
            [
                code,
                region,
                _count("col.expected", lang),
                _count("col.collected", lang),
                _share("col.progress", lang),
                *stages,
                Column(header=text("col.rate", lang), format=Format.RATE, width=10),
                Column(header=text("col.projected", lang), format=Format.DATE, width=14),
            ],
            _progress_rows(report),
        ),
        (
            "section.categories",
            [
                Column(header=text("col.category", lang), format=Format.TEXT, width=30),
                _count("col.expected", lang),
                _count("col.collected", lang),
                _share("col.progress", lang),
                *stages,
            ],
            [
                (
                    pick((c.name_zh, c.name_en), lang),
                    c.counts.expected,
                    c.counts.collected,
                    c.counts.progress,
                    c.counts.authorised,
                    c.counts.merged,
                    c.counts.verified,
                )
                for c in categories
            ],
        ),
        (
            "section.region_categories",
            [code, region, *(_count_named(pick((c.name_zh, c.name_en), lang)) for c in categories)],
            [
                (r.code, "  " * r.depth + r.name, *(c.counts.collected for c in r.categories))
                for r in report.progress.regions
            ],
        ),
        (
            "section.phases",
            [
                Column(header=text("col.phase", lang), format=Format.TEXT, width=30),
                Column(header=text("col.starts", lang), format=Format.DATE, width=12),
                Column(header=text("col.deadline", lang), format=Format.DATE, width=12),
                Column(header=text("col.days_left", lang), format=Format.DAYS, width=10),
                _count("col.expected", lang),
                _count("col.done", lang),
                _count("col.remaining", lang),
                Column(header=text("col.rate", lang), format=Format.RATE, width=10),
                Column(header=text("col.needed_rate", lang), format=Format.RATE, width=12),
                Column(header=text("col.projected", lang), format=Format.DATE, width=14),
                Column(header=text("col.on_track", lang), format=Format.TEXT, width=12),
            ],
            [
                (
                    text(f"phase.{p.kind.value}", lang),
                    p.starts,
                    p.deadline,
                    p.days_left,
                    p.expected,
                    p.done,
                    p.remaining,
                    None if p.rate is None else round(p.rate, 2),
                    None if p.needed_rate is None else round(p.needed_rate, 2),
                    p.projected,
                    _yes_no(p.on_track, lang),
                )
                for p in report.phases
            ],
        ),
        (
            "section.completeness",
            [
                code,
                region,
                _count("col.required", lang),
                _count("col.filled", lang),
                _count("col.missing", lang),
                _share("col.share", lang),
            ],
            [
                (
                    r.code,
                    "  " * r.depth + r.name,
                    r.required,
                    r.required - r.missing,
                    r.missing,
                    r.share,
                )
                for r in report.completeness.regions
            ],
        ),
        (
            "section.fields",
            [
                Column(header=text("col.field_key", lang), format=Format.TEXT, width=26),
                Column(header=text("col.field", lang), format=Format.TEXT, width=24),
                _count("col.required", lang),
                _count("col.filled", lang),
                _count("col.missing", lang),
                _share("col.share", lang),
            ],
            [
                (
                    f.field,
                    pick((f.label_zh, f.label_en), lang),
                    f.required,
                    f.filled,
                    f.missing,
                    f.share,
                )
                for f in report.completeness.fields
            ],
        ),
        (
            "section.quality",
            [
                Column(header=text("col.queue", lang), format=Format.TEXT, width=18),
                _count("col.open", lang),
                *(_count(f"age.{i}", lang, 10) for i in range(len(AGE_BUCKETS))),
                Column(header=text("col.oldest", lang), format=Format.DAYS, width=12),
                Column(header=text("col.median", lang), format=Format.RATE, width=14),
                _count("col.opened", lang),
                _count("col.closed", lang),
            ],
            [
                (
                    text(f"queue.{q.kind.value}", lang),
                    q.open,
                    *q.buckets,
                    q.oldest_days,
                    q.median_days,
                    q.opened_in_period,
                    q.closed_in_period,
                )
                for q in report.quality.queues
            ],
        ),
        (
            "section.findings",
            [
                Column(header=text("col.finding", lang), format=Format.TEXT, width=28),
                _count("col.open", lang),
                _count("col.resolved", lang),
                _count("col.dismissed", lang),
                _count("col.total", lang),
            ],
            [
                (text(f"finding.{f.finding}", lang), f.open, f.resolved, f.dismissed, f.total)
                for f in report.quality.findings
            ],
        ),
    ]
    return tables


def _count_named(header: str) -> Column:
    return Column(header=header, format=Format.COUNT, width=max(10, min(24, 2 * len(header))))


def _yes_no(value: bool | None, lang: Lang) -> str:
    return text("unknown" if value is None else ("yes" if value else "no"), lang)


def build_workbook(report: Report, *, lang: str = "zh-CN") -> Workbook:
    """Return the report as an openpyxl workbook (for a caller that streams it itself).

    Raises:
        ReportModelError: ``lang`` is not a report language.
    """
    language = check_lang(lang)
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    stamp = datetime.combine(report.today, time())
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.title = text("report.title", language)
    _summary(workbook, report, language)
    for key, columns, rows in _tables(report, language):
        add_table(workbook, text(key, language), columns, rows)
    return workbook


def write_xlsx(report: Report, path: Path, *, lang: str = "zh-CN") -> Path:
    """Write the report workbook to ``path`` (all or nothing) and return the path.

    Raises:
        ReportModelError: ``lang`` is not a report language.
        ReportWriteError: the file cannot be written; nothing is left at ``path``.
    """
    save_workbook(build_workbook(report, lang=lang), Path(path))
    return Path(path)
