"""Errors of the reporting core (leaves of the tree drawn in :mod:`crypto.errors`)::

    MusterError
    ├── InputError
    │   ├── node.reports.NarrativeError       the administrator's narrative is too long or not text
    │   ├── node.reports.PeriodError          a report period text is malformed or backwards
    │   ├── node.reports.RegionError          a region asked for is not in the hub's tree (HTTP 404)
    │   └── node.reports.SnapshotFormatError  a stored snapshot is not a readable snapshot
    ├── UsageError
    │   └── node.reports.ReportModelError     the read model the hub built is inconsistent
    └── StateError
        └── node.reports.ReportWriteError     a report file cannot be written (disk full, I/O)

Messages name codes, counts and positions, never a person's data.
"""

from __future__ import annotations

from crypto.errors import InputError, StateError, UsageError

__all__ = [
    "NarrativeError",
    "PeriodError",
    "RegionError",
    "ReportModelError",
    "ReportWriteError",
    "SnapshotFormatError",
]


class NarrativeError(InputError):
    """The narrative an administrator wrote is too long or holds control characters."""

    http_status = 422
    code = "bad_narrative"


class PeriodError(InputError):
    """A report period (``--period``) is not one of the accepted forms, or ends before it starts."""

    code = "bad_period"

    def diagnostics(self) -> str:
        return "Give a month (2025-06), a day (2025-06-30) or a range (2025-06-01..2025-06-30)."


class RegionError(InputError):
    """A region code asked for is malformed or outside the hub's jurisdiction."""

    http_status = 404
    code = "unknown_region"


class SnapshotFormatError(InputError):
    """A stored snapshot is not JSON, not of a known version, or not internally consistent."""

    code = "bad_snapshot"


class ReportModelError(UsageError):
    """The read model is inconsistent (a region twice, a count below zero, an unknown category)."""

    code = "bad_report_model"


class ReportWriteError(StateError):
    """A report or export file cannot be written; nothing was left behind at its path."""

    http_status = 507
    code = "report_not_written"

    def diagnostics(self) -> str:
        return "Check free space and permissions of the output directory, then try again."
