"""The XLSX workbook: Chinese headers, one sheet per table, the hand-computed numbers."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from node.reports import ReportModelError, ReportWriteError, build_report, parse_period, write_xlsx
from node.reports.report import Report
from tests.node.reports.data import TODAY, source

NARRATIVE = "六月采集人数稳步增长。\n下月重点：千佛山街道。"


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(source(), parse_period("2025-06"), NARRATIVE, today=TODAY)


@pytest.fixture(scope="module")
def workbook(report: Report, tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = write_xlsx(report, tmp_path_factory.mktemp("xlsx") / "report.xlsx")
    return openpyxl.load_workbook(path)


def test_one_sheet_per_table_with_chinese_names(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == [
        "概况",
        "各地区采集进度",
        "各类别采集进度",
        "各地区分类别人数",
        "阶段目标",
        "信息完整度",
        "字段完整度",
        "问题处理情况",
        "比对核查发现",
    ]


def test_summary_sheet_has_the_key_figures_and_the_narrative(
    workbook: openpyxl.Workbook,
) -> None:
    sheet = workbook["概况"]
    figures = {
        sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2).value for r in range(3, 16)
    }
    assert figures["填报单位"] == "济南市 (370100)"
    assert figures["报告期"] == "2025-06-01..2025-06-30"
    assert (figures["应采集人数"], figures["已采集"], figures["已核查"]) == (37, 10, 3)
    assert figures["采集进度"] == pytest.approx(10 / 37)
    assert figures["本期新采集人数"] == 10
    assert figures["户籍不在本辖区的已采集人数"] == 1
    assert figures["完整度"] == pytest.approx(26 / 30)
    assert figures["待处理"] == 4
    assert sheet["A17"].value == "工作情况说明"
    assert sheet["A18"].value == NARRATIVE


def test_progress_sheet_holds_the_hand_computed_rows(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["各地区采集进度"]
    assert [c.value for c in sheet[1]] == [
        "区划代码",
        "地区",
        "应采集人数",
        "已采集",
        "采集进度",
        "已审核",
        "已汇总",
        "已核查",
        "日均采集",
        "预计完成日期",
    ]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    # 370102002: 8 expected, 2 collected (25 %), 1 authorised, 1 merged, 0 verified;
    # 1 person in 7 days, 6 to go → 42 days → 08-11.
    assert rows["370102002"] == (
        "370102002",
        "    千佛山街道",
        8,
        2,
        0.25,
        1,
        1,
        0,
        0.14,
        datetime(2025, 8, 11),
    )
    city: tuple[object, ...] = rows["370100"][2:8]
    assert city == (37, 10, pytest.approx(10 / 37), 7, 6, 3)
    assert sheet.freeze_panes == "A2"
    assert sheet["E2"].number_format == "0.0%"
    assert sheet["C2"].number_format == "#,##0"
    assert sheet["J2"].number_format == "yyyy-mm-dd"
    assert sheet.column_dimensions["B"].width == 24
    assert sheet["A1"].font.bold


def test_region_by_category_sheet(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["各地区分类别人数"]
    header = [c.value for c in sheet[1]]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    # 解放路街道: retired soldiers r1 r2 r3, disabled soldier r3, martyr survivor r4
    town = dict(zip(header, rows["370102001"], strict=True))
    assert (town["退役士兵"], town["残疾军人"], town["烈士遗属"], town["现役军人家属"]) == (
        3,
        1,
        1,
        0,
    )


def test_quality_and_findings_sheets(workbook: openpyxl.Workbook) -> None:
    quality = {
        row[0]: row for row in workbook["问题处理情况"].iter_rows(min_row=2, values_only=True)
    }
    # conflicts: 2 open aged 1 and 20 → buckets 0-2: 1, 15-30: 1; oldest 20, median 10.5
    assert quality["数据冲突"] == ("数据冲突", 2, 1, 0, 0, 1, 0, 20, 10.5, 2, 0)
    findings = list(workbook["比对核查发现"].iter_rows(min_row=2, values_only=True))
    assert findings == [("户籍已注销（死亡）", 1, 0, 0, 1), ("信息不一致", 0, 1, 1, 2)]


def test_field_completeness_sheet(workbook: openpyxl.Workbook) -> None:
    rows = list(workbook["字段完整度"].iter_rows(min_row=2, values_only=True))
    assert rows == [
        ("name", "姓名", 10, 10, 0, 1),
        ("phone", "联系电话", 10, 7, 3, pytest.approx(0.7)),
        ("portrait_photo", "本人照片", 10, 9, 1, pytest.approx(0.9)),
    ]


def test_english_workbook(report: Report, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "en.xlsx", lang="en"))
    assert book.sheetnames[:2] == ["Summary", "Progress by region"]
    assert book["Progress by region"]["C1"].value == "Expected"


def test_unknown_language_is_refused(report: Report, tmp_path: Path) -> None:
    with pytest.raises(ReportModelError, match="report language: expected one of zh-CN, en"):
        write_xlsx(report, tmp_path / "fr.xlsx", lang="fr")
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_raises_and_leaves_the_old_file(report: Report, tmp_path: Path) -> None:
    # the target is a folder, so the final rename fails (as a full disk would, late)
    (tmp_path / "report.xlsx").mkdir()
    (tmp_path / "report.xlsx" / "keep.txt").write_text("untouched")
    with pytest.raises(ReportWriteError, match=re.escape("report file: cannot write report.xlsx")):
        write_xlsx(report, tmp_path / "report.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]
    assert (tmp_path / "report.xlsx" / "keep.txt").read_text() == "untouched"


def test_missing_folder_raises_write_error(report: Report, tmp_path: Path) -> None:
    with pytest.raises(ReportWriteError, match=re.escape("report file: cannot write r.xlsx")):
        write_xlsx(report, tmp_path / "no" / "such" / "r.xlsx")
    assert list(tmp_path.iterdir()) == []
