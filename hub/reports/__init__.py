"""Progress, dashboards and reports (docs/reports.md).

Pure computations over a small read model (:mod:`~hub.reports.model`,
:mod:`~hub.reports.regions`, :mod:`~hub.reports.tally`), which a store provides
through :class:`ReportSource`; daily :class:`Snapshot` values; the summary
:class:`Report` and its writers (XLSX workbook, printable HTML page); ECharts
option builders and the templates and script that draw them.
"""

from hub.reports.charts import ChartSpec, report_charts
from hub.reports.completeness import (
    Completeness,
    FieldShare,
    HeatRow,
    RegionCompleteness,
    compute_completeness,
)
from hub.reports.errors import (
    NarrativeError,
    PeriodError,
    RegionError,
    ReportModelError,
    ReportWriteError,
    SnapshotFormatError,
)
from hub.reports.export import ExportSummary, export_records
from hub.reports.html import STATIC_DIR, TEMPLATE_PACKAGE, page_context, render_html, write_html
from hub.reports.model import (
    STAGES,
    Campaign,
    Expectations,
    ExpectedCount,
    ItemState,
    Phase,
    PhaseKind,
    QualityItem,
    QualityKind,
    Stage,
)
from hub.reports.period import Period, parse_period
from hub.reports.progress import (
    CategoryProgress,
    Counts,
    PhaseStatus,
    ProgressTable,
    RegionProgress,
    compute_progress,
    phase_statuses,
    projected_completion,
)
from hub.reports.quality import (
    AGE_BUCKETS,
    FindingSummary,
    QualityReport,
    QueueSummary,
    RegionQueues,
    compute_quality,
)
from hub.reports.regions import Region, RegionTree, regions_from_divisions
from hub.reports.report import Report, build_report
from hub.reports.snapshots import (
    Snapshot,
    SnapshotRow,
    TimelinePoint,
    stage_rate,
    take_snapshot,
    timeline,
)
from hub.reports.source import InMemorySource, ReportSource
from hub.reports.tally import (
    DayCount,
    FieldCount,
    RecordFacts,
    StageCount,
    Tally,
    record_facts,
    tally_records,
)
from hub.reports.xlsx import build_workbook, write_xlsx

__all__ = [
    "AGE_BUCKETS",
    "STAGES",
    "STATIC_DIR",
    "TEMPLATE_PACKAGE",
    "Campaign",
    "CategoryProgress",
    "ChartSpec",
    "Completeness",
    "Counts",
    "DayCount",
    "Expectations",
    "ExpectedCount",
    "ExportSummary",
    "FieldCount",
    "FieldShare",
    "FindingSummary",
    "HeatRow",
    "InMemorySource",
    "ItemState",
    "NarrativeError",
    "Period",
    "PeriodError",
    "Phase",
    "PhaseKind",
    "PhaseStatus",
    "ProgressTable",
    "QualityItem",
    "QualityKind",
    "QualityReport",
    "QueueSummary",
    "RecordFacts",
    "Region",
    "RegionCompleteness",
    "RegionError",
    "RegionProgress",
    "RegionQueues",
    "RegionTree",
    "Report",
    "ReportModelError",
    "ReportSource",
    "ReportWriteError",
    "Snapshot",
    "SnapshotFormatError",
    "SnapshotRow",
    "Stage",
    "StageCount",
    "Tally",
    "TimelinePoint",
    "build_report",
    "build_workbook",
    "compute_completeness",
    "compute_progress",
    "compute_quality",
    "export_records",
    "page_context",
    "parse_period",
    "phase_statuses",
    "projected_completion",
    "record_facts",
    "regions_from_divisions",
    "render_html",
    "report_charts",
    "stage_rate",
    "take_snapshot",
    "tally_records",
    "timeline",
    "write_html",
    "write_xlsx",
]
