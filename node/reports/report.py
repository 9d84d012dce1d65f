"""The summary report each level submits, as one value: :func:`build_report`.

The report holds aggregates only: counts by region and category, progress
against the baseline and the deadlines, completeness, quality queues and
findings, and the administrator's narrative. Writers turn it into a workbook
(:mod:`node.reports.xlsx`) or a printable page (:mod:`node.reports.html`).

Counts of people are as of ``today`` (the store holds the present only); the
period bounds what is *activity*: people collected in it, items opened and
closed in it, and the snapshots plotted over time.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final

from node.reports.completeness import Completeness, compute_completeness
from node.reports.errors import NarrativeError, PeriodError
from node.reports.model import PhaseKind, Stage
from node.reports.period import Period
from node.reports.progress import (
    DEFAULT_WINDOW_DAYS,
    PhaseStatus,
    ProgressTable,
    compute_progress,
    phase_statuses,
)
from node.reports.quality import QualityReport, compute_quality
from node.reports.snapshots import TimelinePoint, stage_rate, timeline
from node.reports.source import ReportSource

__all__ = ["MAX_NARRATIVE_CHARS", "Report", "build_report", "check_narrative"]

#: The longest narrative accepted (a few printed pages).
MAX_NARRATIVE_CHARS: Final = 20_000
_ALLOWED_CONTROLS: Final = frozenset("\n\t")


def check_narrative(text: str) -> str:
    """Return the narrative with line ends normalised and outer blanks removed.

    Raises:
        NarrativeError: it is longer than :data:`MAX_NARRATIVE_CHARS` or holds
            control characters other than newlines and tabs.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NARRATIVE_CHARS:
        raise NarrativeError(
            f"narrative: expected at most {MAX_NARRATIVE_CHARS} characters, saw {len(text)}"
        )
    for position, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            raise NarrativeError(
                f"narrative: expected text, saw a control character at {position}",
                position=position,
            )
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A hub's summary report for a period.

    Attributes:
        site_code: the reporting hub's division code.
        site_name: its name.
        period: the period reported on.
        today: the day the figures were taken.
        narrative: the administrator's text (may be empty).
        schema_version: the record schema the figures were counted under.
        progress: progress of every region and category.
        completeness: completeness per region and field.
        quality: the quality queues and findings.
        phases: the hub's standing against each phase deadline.
        timeline: the hub's figures per day in the period (snapshots and today).
        new_in_period: people collected on a day in the period.
    """

    site_code: str
    site_name: str
    period: Period
    today: date
    narrative: str
    schema_version: str
    progress: ProgressTable
    completeness: Completeness
    quality: QualityReport
    phases: tuple[PhaseStatus, ...]
    timeline: tuple[TimelinePoint, ...]
    new_in_period: int

    @property
    def collection_deadline(self) -> date | None:
        """The phase-1 deadline, if the campaign has one."""
        return next((p.deadline for p in self.phases if p.kind is PhaseKind.COLLECTION), None)


def build_report(
    source: ReportSource,
    period: Period,
    narrative: str,
    *,
    today: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> Report:
    """Compute the summary report of ``source``'s jurisdiction for ``period``.

    Raises:
        PeriodError: the period starts after ``today``.
        NarrativeError: the narrative is too long or not plain text.
        ReportModelError: the source's read model is inconsistent.
    """
    if period.start > today:
        raise PeriodError(f"period: expected a start on or before {today}, saw {period.start}")
    narrative = check_narrative(narrative)
    tree, schema, tally = source.regions(), source.schema(), source.tally()
    progress = compute_progress(
        tree, source.expectations(), tally, schema, today=today, window_days=window_days
    )
    until_today = Period(start=period.start, end=min(period.end, today))
    points = timeline(source.snapshots(period), tree.root.code, until_today)
    if today in period:
        live = TimelinePoint(day=today, counts=progress.root.persons)
        points = (*(p for p in points if p.day != today), live)
    rates = {PhaseKind.COLLECTION: progress.root.rate}
    verified_rate = stage_rate(points, Stage.VERIFIED, today, window_days)
    if verified_rate is not None:
        rates[PhaseKind.CROSS_CHECK] = verified_rate
    return Report(
        site_code=tree.root.code,
        site_name=tree.root.name,
        period=period,
        today=today,
        narrative=narrative,
        schema_version=schema.version,
        progress=progress,
        completeness=compute_completeness(tree, tally, schema),
        quality=compute_quality(source.quality_items(), tree, until_today),
        phases=phase_statuses(progress.root, source.campaign(), rates, today),
        timeline=points,
        new_in_period=sum(
            d.count for d in tally.days if d.day in until_today and tree.locate(d.region)
        ),
    )
