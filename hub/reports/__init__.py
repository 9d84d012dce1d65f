"""The hub's side of the reports (docs/reports.md §8): figures from the hub store.

The computations, the read model, the writers and the chart templates are the
shared core in :mod:`node.reports` (a node's status page shows the same figures;
ADR 0010).
"""
