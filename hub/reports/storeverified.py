"""Who is *verified*: people the phase-2 cross-check has passed (docs/reports.md §8.2).

A live record counts as verified when a committed register, already matched
against the records (``checked_at`` set), holds a row with the record's ID
number, and no cross-check finding about the record is still open or
answered. Before any register has been checked nobody is verified, and the
query is not run at all.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.store.crosscheck_models import DatasetRow, FindingRow, RegisterRowRow
from hub.store.models import RecordRow
from hub.store.report_models import FactsRow

__all__ = ["verified_counts"]

_COMMITTED: Final = "committed"
_CLOSED: Final = "closed"


def _checked(session: Session) -> bool:
    found = session.scalar(
        sa.select(DatasetRow.dataset_id)
        .where(DatasetRow.state == _COMMITTED, DatasetRow.checked_at.is_not(None))
        .limit(1)
    )
    return found is not None


def verified_counts(session: Session, where: Any) -> dict[tuple[str, str], int]:
    """Verified people per ``(region, categories)`` of ``report_facts`` rows matching ``where``."""
    if not _checked(session):
        return {}
    matched = (
        sa.select(RegisterRowRow.row)
        .join(DatasetRow, DatasetRow.dataset_id == RegisterRowRow.dataset_id)
        .where(
            DatasetRow.state == _COMMITTED,
            DatasetRow.checked_at.is_not(None),
            RegisterRowRow.id_number == RecordRow.id_number,
        )
        .exists()
    )
    unresolved = (
        sa.select(FindingRow.finding_id)
        .where(FindingRow.record_id == FactsRow.record_id, FindingRow.state != _CLOSED)
        .exists()
    )
    rows = session.execute(
        sa.select(FactsRow.region, FactsRow.categories, sa.func.count())
        .join(RecordRow, RecordRow.record_id == FactsRow.record_id)
        .where(where, matched, ~unresolved)
        .group_by(FactsRow.region, FactsRow.categories)
    )
    return {(region, categories): int(count) for region, categories, count in rows}
