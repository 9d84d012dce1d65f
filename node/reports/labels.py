"""The words of the reports, in Simplified Chinese (first) and English.

Region, category and field names come from the division table and the schema;
this module has the rest: headings, column titles, stage, queue and phase names.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, Literal

from node.reports.errors import ReportModelError

__all__ = ["LANGS", "Lang", "check_lang", "pick", "text"]

Lang = Literal["zh-CN", "en"]
#: The report languages, the first being the default (as in the web kit).
LANGS: Final[tuple[Lang, ...]] = ("zh-CN", "en")

_TEXT: Final = MappingProxyType(
    {
        "report.title": (
            "退役军人信息采集工作汇总报告",
            "Veterans information census: summary report",
        ),
        "report.site": ("填报单位", "Reporting office"),
        "report.period": ("报告期", "Period"),
        "report.today": ("数据截至", "Figures as of"),
        "report.narrative": ("工作情况说明", "Narrative"),
        "report.summary": ("概况", "Summary"),
        "report.no_narrative": ("（未填写）", "(none written)"),
        "report.aggregates_only": (
            "本报告仅含汇总数字，不含个人信息。",
            "This report holds aggregate figures only, no personal data.",
        ),
        "report.outside": (
            "户籍不在本辖区的已采集人数",
            "Collected, household registered elsewhere",
        ),
        "report.new_in_period": ("本期新采集人数", "Collected in the period"),
        "report.other_language": ("English version", "中文版"),
        "report.full_table": (
            "本表列至下两级地区；各级地区的完整数字见汇总表（XLSX）。",
            "This table goes two levels down; the workbook (XLSX) has every region.",
        ),
        "section.progress": ("各地区采集进度", "Progress by region"),
        "section.categories": ("各类别采集进度", "Progress by category"),
        "section.region_categories": ("各地区分类别人数", "Collected by region and category"),
        "section.timeline": ("采集进度趋势", "Progress over time"),
        "section.phases": ("阶段目标", "Phases and deadlines"),
        "section.completeness": ("信息完整度", "Completeness by region"),
        "section.fields": ("字段完整度", "Completeness by field"),
        "section.missing": ("最常缺失的字段", "Fields most often missing"),
        "section.heat": ("完整度热力表", "Completeness heat table"),
        "section.quality": ("问题处理情况", "Quality queues"),
        "section.findings": ("比对核查发现", "Cross-check findings"),
        "section.treemap": ("辖区进度分布", "Progress across the division tree"),
        "col.code": ("区划代码", "Division code"),
        "col.region": ("地区", "Region"),
        "col.category": ("采集对象类别", "Category"),
        "col.expected": ("应采集人数", "Expected"),
        "col.collected": ("已采集", "Collected"),
        "col.authorised": ("已审核", "Authorised"),
        "col.merged": ("已汇总", "Merged"),
        "col.verified": ("已核查", "Verified"),
        "col.progress": ("采集进度", "Progress"),
        "col.rate": ("日均采集", "Per day"),
        "col.projected": ("预计完成日期", "Projected completion"),
        "col.over": ("超出基数", "Above baseline"),
        "col.field": ("字段", "Field"),
        "col.field_key": ("字段代码", "Field key"),
        "col.required": ("应填", "Required"),
        "col.filled": ("已填", "Filled"),
        "col.missing": ("缺失", "Missing"),
        "col.share": ("完整度", "Completeness"),
        "col.queue": ("问题类型", "Queue"),
        "col.open": ("待处理", "Open"),
        "col.oldest": ("最长滞留天数", "Oldest (days)"),
        "col.median": ("滞留天数中位数", "Median age (days)"),
        "col.opened": ("本期新增", "Opened in period"),
        "col.closed": ("本期办结", "Closed in period"),
        "col.finding": ("发现类型", "Finding"),
        "col.resolved": ("已整改", "Resolved"),
        "col.dismissed": ("已排除", "Dismissed"),
        "col.total": ("合计", "Total"),
        "col.phase": ("阶段", "Phase"),
        "col.starts": ("开始日期", "Starts"),
        "col.deadline": ("截止日期", "Deadline"),
        "col.days_left": ("剩余天数", "Days left"),
        "col.done": ("已完成", "Done"),
        "col.remaining": ("尚余", "Remaining"),
        "col.needed_rate": ("需日均完成", "Needed per day"),
        "col.on_track": ("能否按期完成", "On track"),
        "col.day": ("日期", "Day"),
        "col.item": ("项目", "Item"),
        "col.value": ("数值", "Value"),
        "chart.deadline": ("截止日期", "Deadline"),
        "chart.full": ("100%", "100%"),
        "chart.percent": ("进度（%）", "Progress (%)"),
        "chart.people": ("人数", "People"),
        "stage.collected": ("已采集", "Collected"),
        "stage.authorised": ("已审核", "Authorised"),
        "stage.merged": ("已汇总", "Merged"),
        "stage.verified": ("已核查", "Verified"),
        "queue.conflict": ("数据冲突", "Conflicts"),
        "queue.duplicate": ("疑似重复", "Duplicates"),
        "queue.finding": ("比对发现", "Cross-check findings"),
        "queue.rejection": ("退回批次", "Rejected batches"),
        "phase.collection": ("第一阶段：基础信息采集", "Phase 1: basic information"),
        "phase.cross_check": ("第二阶段：比对核查与整改", "Phase 2: cross-check and fixes"),
        "finding.value_mismatch": ("信息不一致", "Values disagree"),
        "finding.deceased": ("户籍已注销（死亡）", "Deceased in household register"),
        "finding.invalid_id": ("身份证号码无效", "Invalid ID number"),
        "finding.missing_person": ("漏采人员", "Not collected"),
        # The cross-check's own finding kinds (hub/crosscheck/findings.py FindingKind).
        "finding.invalid_id_number": ("身份证号码无效", "Invalid ID number"),
        "finding.missing": ("漏采人员", "Not collected"),
        "finding.benefit_one_side": ("待遇登记不一致", "Benefit on one side only"),
        "finding.duplicate_id_number": ("登记中身份证号重复", "ID number twice in the register"),
        "finding.problem": ("其他问题", "Other problem"),
        "age.0": ("0-2天", "0-2 days"),
        "age.1": ("3-7天", "3-7 days"),
        "age.2": ("8-14天", "8-14 days"),
        "age.3": ("15-30天", "15-30 days"),
        "age.4": ("30天以上", "over 30 days"),
        "yes": ("是", "yes"),
        "no": ("否", "no"),
        "unknown": ("—", "—"),
        "never": ("按当前速度无法完成", "not at the current rate"),
    }
)


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is a report language.

    Raises:
        ReportModelError: it is not one of :data:`LANGS`.
    """
    for known in LANGS:
        if lang == known:
            return known
    raise ReportModelError(f"report language: expected one of {', '.join(LANGS)}, saw {lang!r}")


def text(key: str, lang: Lang) -> str:
    """Return the text of ``key``; an unknown ``finding.*`` key falls back to its own name."""
    found = _TEXT.get(key)
    if found is None:
        if key.startswith("finding."):
            return key.removeprefix("finding.")
        raise KeyError(key)
    return pick(found, lang)


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """Return the Chinese or the English of a (zh, en) pair."""
    return pair[0] if lang == "zh-CN" else pair[1]


def keys() -> frozenset[str]:
    """Every key with a text (for the test that both languages are complete)."""
    return frozenset(_TEXT)
