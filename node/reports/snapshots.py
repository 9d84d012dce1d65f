"""Daily snapshots of the figures, so progress can be plotted over time.

The hub's scheduler calls :func:`take_snapshot` once a day and stores
:meth:`Snapshot.to_json`; the reports read them back with
:meth:`Snapshot.from_json` and draw :func:`timeline`. A snapshot holds counts per
region only (docs/reports.md §6 gives the JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from node.reports.completeness import compute_completeness
from node.reports.errors import ReportModelError, SnapshotFormatError
from node.reports.model import QualityKind, Stage, check_count
from node.reports.period import Period
from node.reports.progress import Counts, compute_progress
from node.reports.quality import compute_quality

if TYPE_CHECKING:
    from node.reports.source import ReportSource

__all__ = [
    "SNAPSHOT_VERSION",
    "Snapshot",
    "SnapshotRow",
    "TimelinePoint",
    "stage_rate",
    "take_snapshot",
    "timeline",
]

#: The ``version`` of the snapshot JSON; a reader refuses any other.
SNAPSHOT_VERSION: Final = "muster/report-snapshot/v1"
_ROW_FIELDS: Final = 8
#: A snapshot of the largest province (a few thousand towns) is a few hundred kB.
MAX_SNAPSHOT_CHARS: Final = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRow:
    """One region's figures on the snapshot's day."""

    code: str
    counts: Counts
    required: int
    missing: int

    def __post_init__(self) -> None:
        check_count(self.required, f"snapshot row {self.code}")
        check_count(self.missing, f"snapshot row {self.code}")
        if self.missing > self.required:
            raise ReportModelError(f"snapshot row {self.code}: expected missing <= required")


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The figures of every region of a hub on one day.

    Attributes:
        day: the day it was taken.
        root: the hub's region code.
        rows: one per region, depth first (the root first).
        open_items: open quality items per :class:`QualityKind`, in enum order.
    """

    day: date
    root: str
    rows: tuple[SnapshotRow, ...]
    open_items: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.rows or self.rows[0].code != self.root:
            raise ReportModelError("snapshot: expected the root's row first")
        if len(self.open_items) != len(QualityKind):
            raise ReportModelError(f"snapshot: expected {len(QualityKind)} open-item counts")
        for count in self.open_items:
            check_count(count, "snapshot open items")

    def row(self, code: str) -> SnapshotRow | None:
        """The row of region ``code``, if the snapshot has one."""
        return next((r for r in self.rows if r.code == code), None)

    def to_json(self) -> str:
        """Return the snapshot as compact JSON (stable: equal snapshots give equal text)."""
        body = {
            "version": SNAPSHOT_VERSION,
            "day": self.day.isoformat(),
            "root": self.root,
            "rows": [
                [
                    r.code,
                    r.counts.expected,
                    r.counts.collected,
                    r.counts.authorised,
                    r.counts.merged,
                    r.counts.verified,
                    r.required,
                    r.missing,
                ]
                for r in self.rows
            ],
            "open": {kind.value: n for kind, n in zip(QualityKind, self.open_items, strict=True)},
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        """Parse a snapshot written by :meth:`to_json`.

        Raises:
            SnapshotFormatError: the text is too long, not JSON, of another
                version, or its values are missing, mistyped or inconsistent.
        """
        if len(text) > MAX_SNAPSHOT_CHARS:
            raise SnapshotFormatError(
                f"snapshot: expected at most {MAX_SNAPSHOT_CHARS} characters, saw {len(text)}"
            )
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise SnapshotFormatError(
                f"snapshot: expected JSON, {exc.__class__.__name__}"
            ) from None
        if not isinstance(body, dict) or body.get("version") != SNAPSHOT_VERSION:
            raise SnapshotFormatError(f"snapshot: expected version {SNAPSHOT_VERSION}")
        try:
            return _decode(body)
        except SnapshotFormatError:
            raise
        except (ReportModelError, KeyError, TypeError, ValueError) as exc:
            what = exc.message if isinstance(exc, ReportModelError) else type(exc).__name__
            raise SnapshotFormatError(f"snapshot: malformed content ({what})") from None


def _int(value: Any) -> int:
    if type(value) is not int:
        raise SnapshotFormatError("snapshot: expected whole numbers in the rows")
    return value


def _decode(body: dict[str, Any]) -> Snapshot:
    rows = []
    for raw in body["rows"]:
        if not isinstance(raw, list) or len(raw) != _ROW_FIELDS or not isinstance(raw[0], str):
            raise SnapshotFormatError(f"snapshot: expected rows of {_ROW_FIELDS} values")
        numbers = [_int(v) for v in raw[1:]]
        counts = Counts(
            expected=numbers[0],
            collected=numbers[1],
            authorised=numbers[2],
            merged=numbers[3],
            verified=numbers[4],
        )
        rows.append(
            SnapshotRow(code=raw[0], counts=counts, required=numbers[5], missing=numbers[6])
        )
    opened = body["open"]
    if not isinstance(opened, dict) or set(opened) != {k.value for k in QualityKind}:
        raise SnapshotFormatError("snapshot: expected an open count for every queue")
    day, root = body["day"], body["root"]
    if not isinstance(day, str) or not isinstance(root, str):
        raise SnapshotFormatError("snapshot: expected day and root as text")
    return Snapshot(
        day=date.fromisoformat(day),
        root=root,
        rows=tuple(rows),
        open_items=tuple(_int(opened[k.value]) for k in QualityKind),
    )


def take_snapshot(source: ReportSource, today: date) -> Snapshot:
    """Compute today's figures from ``source`` (the daily scheduler job calls this).

    Raises:
        ReportModelError: the source's read model is inconsistent.
    """
    tree, schema, tally = source.regions(), source.schema(), source.tally()
    progress = compute_progress(tree, source.expectations(), tally, schema, today=today)
    completeness = compute_completeness(tree, tally, schema)
    quality = compute_quality(source.quality_items(), tree, Period(start=today, end=today))
    return Snapshot(
        day=today,
        root=tree.root.code,
        rows=tuple(
            SnapshotRow(code=p.code, counts=p.persons, required=c.required, missing=c.missing)
            for p, c in zip(progress.regions, completeness.regions, strict=True)
        ),
        open_items=tuple(q.open for q in quality.queues),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelinePoint:
    """One region's people expected and at each stage, on one day."""

    day: date
    counts: Counts


def timeline(
    snapshots: Iterable[Snapshot], region: str, period: Period | None = None
) -> tuple[TimelinePoint, ...]:
    """Return ``region``'s figures per day, from the snapshots that have it, by day.

    A day with two snapshots keeps the later one given.
    """
    points: dict[date, TimelinePoint] = {}
    for snapshot in snapshots:
        if period is not None and snapshot.day not in period:
            continue
        row = snapshot.row(region)
        if row is not None:
            points[snapshot.day] = TimelinePoint(day=snapshot.day, counts=row.counts)
    return tuple(points[d] for d in sorted(points))


def stage_rate(
    points: Sequence[TimelinePoint], stage: Stage, today: date, window_days: int
) -> float | None:
    """People per day reaching ``stage`` over the last ``window_days`` of ``points``.

    Compares the latest point on or before today with the earliest one inside
    the window; ``None`` when there are not two such points on different days.
    """
    first = today - timedelta(days=window_days)
    inside = [p for p in points if first <= p.day <= today]
    if len(inside) < 2 or inside[0].day == inside[-1].day:
        return None
    gained = inside[-1].counts.at(stage) - inside[0].counts.at(stage)
    return max(0, gained) / (inside[-1].day - inside[0].day).days
