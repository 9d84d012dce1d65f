"""The hub's side of the reports (docs/reports.md §8): figures from the hub store.

The computations, the read model, the writers and the chart templates are the
shared core in :mod:`node.reports` (a node's status page shows the same figures;
ADR 0010).

The store-backed source and what keeps it (``StoreSource``, ``refresh_facts``),
the settings an administrator makes (:mod:`~hub.reports.storesettings`), the report
of a scope and the daily snapshot (:mod:`~hub.reports.service`), the CLI
(:mod:`~hub.reports.cli`) and the audited record export
(:mod:`~hub.reports.exportservice`).
"""

from hub.reports.exportservice import DEFAULT_EXPORT_FIELDS, export_scope
from hub.reports.service import hub_today, report_for, run_snapshot, scope_report
from hub.reports.storefacts import FactsRefresh, refresh_facts
from hub.reports.storesource import StoreSource

__all__ = [
    "DEFAULT_EXPORT_FIELDS",
    "FactsRefresh",
    "StoreSource",
    "export_scope",
    "hub_today",
    "refresh_facts",
    "report_for",
    "run_snapshot",
    "scope_report",
]
