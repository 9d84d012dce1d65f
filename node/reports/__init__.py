"""Progress, dashboards and reports (docs/reports.md): the core the hub and the node share.

It lives below the hub (ARCHITECTURE §2: hub → node → protocol → crypto) because a
node's status page shows the same figures for its collection point; the hub's
store-backed source, jobs, CLI and console pages are in :mod:`hub.reports`.

Pure computations over a small read model (:mod:`~node.reports.model`,
:mod:`~node.reports.regions`, :mod:`~node.reports.tally`), which a store provides
through :class:`ReportSource`; daily :class:`Snapshot` values; the summary
:class:`Report` and its writers (XLSX workbook, printable HTML page); ECharts
option builders and the templates and script that draw them.
"""

from node.reports.charts import ChartSpec, report_charts
from node.reports.completeness import (
    Completeness,
    FieldShare,
    HeatRow,
    RegionCompleteness,
    compute_completeness,
)
from node.reports.errors import (
    NarrativeError,
    PeriodError,
    RegionError,
    ReportModelError,
    ReportWriteError,
    SnapshotFormatError,
)
from node.reports.export import ExportSummary, export_records
from node.reports.html import STATIC_DIR, TEMPLATE_PACKAGE, page_context, render_html, write_html
from node.reports.model import (
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
from node.reports.period import Period, parse_period
from node.reports.progress import (
    CategoryProgress,
    Counts,
    PhaseStatus,
    ProgressTable,
    RegionProgress,
    compute_progress,
    phase_statuses,
    projected_completion,
)
from node.reports.quality import (
    AGE_BUCKETS,
    FindingSummary,
    QualityReport,
    QueueSummary,
    RegionQueues,
    compute_quality,
)
from node.reports.regions import Region, RegionTree, regions_from_divisions
from node.reports.report import Report, build_report
from node.reports.snapshots import (
    Snapshot,
    SnapshotRow,
    TimelinePoint,
    stage_rate,
    take_snapshot,
    timeline,
)
from node.reports.source import InMemorySource, ReportSource
from node.reports.tally import (
    DayCount,
    FieldCount,
    RecordFacts,
    StageCount,
    Tally,
    record_facts,
    tally_records,
)
from node.reports.xlsx import build_workbook, write_xlsx

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
