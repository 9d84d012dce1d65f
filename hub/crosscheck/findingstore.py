"""Findings in the hub store: a ``crosscheck_findings`` row ↔ a :class:`Finding` and its
:class:`FindingStatus`.

The row keeps the finding as the body of its ``problem`` entry (docs/crosscheck.md
§6), so what is stored is exactly what goes down, and :func:`finding_of` reads it
back with the same strict reader a node may use. Status changes go through the
engine's :func:`~hub.crosscheck.lifecycle.advance` only: :func:`store_status`
writes back whatever it returned.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.crosscheck.findings import Finding
from hub.crosscheck.lifecycle import (
    Answer,
    FindingState,
    FindingStatus,
    Rechecked,
    Resolution,
    advance,
)
from hub.crosscheck.routing import problem_body, read_problem_body
from hub.store.crosscheck_models import FindingRow
from protocol.entries import AnswerReason
from protocol.schema import Schema

__all__ = [
    "FOUND_NEW",
    "FOUND_REOPENED",
    "FOUND_SEEN",
    "Found",
    "fill_row",
    "finding_of",
    "load_known",
    "record_found",
    "status_of",
    "store_status",
]

FOUND_NEW: Final = "new"
FOUND_SEEN: Final = "seen"
FOUND_REOPENED: Final = "reopened"


def finding_of(row: FindingRow) -> Finding:
    """The finding a row holds (its stored ``problem`` body, read strictly)."""
    return read_problem_body(row.body)


def status_of(row: FindingRow) -> FindingStatus:
    """The row's place in the fix loop."""
    answer = None
    if row.answer_reason is not None and row.answer_at is not None:
        answer = Answer(
            finding_id=row.finding_id,
            reason=AnswerReason(row.answer_reason),
            note=row.answer_note or "",
            by=row.answer_by or "",
            at=row.answer_at,
        )
    return FindingStatus(
        finding_id=row.finding_id,
        state=FindingState(row.state),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        answer=answer,
        resolution=Resolution(row.resolution) if row.resolution else None,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        rejection=row.rejection,
        reopened=row.reopened,
    )


def store_status(row: FindingRow, status: FindingStatus) -> None:
    """Write a status (from :func:`advance`) back into its row."""
    row.state = status.state.value
    row.opened_at = status.opened_at
    row.updated_at = status.updated_at
    answer = status.answer
    row.answer_reason = answer.reason.value if answer else None
    row.answer_note = answer.note if answer else None
    row.answer_by = answer.by if answer else None
    row.answer_at = answer.at if answer else None
    row.resolution = status.resolution.value if status.resolution else None
    row.closed_at = status.closed_at
    row.closed_by = status.closed_by
    row.rejection = status.rejection
    row.reopened = status.reopened


def fill_row(row: FindingRow, finding: Finding, body: dict[str, object], seen_in: str) -> None:
    """Copy a finding (and its ``problem`` body) into its row; ``seen_in``: its dataset."""
    row.source = finding.source
    row.source_kind = finding.source_kind.value
    row.kind = finding.kind.value
    row.field = finding.field
    row.record_id = finding.record_id
    person = dict(finding.person)
    number = person.get("id_number")
    row.id_number = number if isinstance(number, str) and len(number) == 18 else None
    row.dataset_id = finding.dataset_id
    row.row = finding.row
    row.last_seen = seen_in
    row.division_code = finding.division_code
    row.body = body


def load_known(session: Session, finding_ids: Collection[str]) -> dict[str, FindingRow]:
    """The stored rows of these findings, locked, in one query per thousand ids."""
    wanted = sorted(set(finding_ids))
    found: dict[str, FindingRow] = {}
    for start in range(0, len(wanted), 1000):
        rows = session.scalars(
            sa.select(FindingRow)
            .where(FindingRow.finding_id.in_(wanted[start : start + 1000]))
            .with_for_update()
        )
        found.update((row.finding_id, row) for row in rows)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """What storing a finding did: ``new``, ``seen`` again, or ``reopened`` (fixed, then back)."""

    outcome: str
    row: FindingRow


def record_found(
    session: Session,
    finding: Finding,
    *,
    origin: str,
    at: datetime,
    schema: Schema,
    id_number: str | None = None,
    known: dict[str, FindingRow] | None = None,
) -> Found:
    """Keep a finding a check made: a new one opens; one known already is seen again.

    A finding seen again keeps its state (an answered one stays answered; one an
    administrator closed stays closed); one closed by a fix reopens and goes down
    again (it is sent anew). ``id_number`` is the register row's valid number, for
    re-checks of a record's finding. ``known``: the rows of a batch of findings, loaded
    (and locked) at once by :func:`load_known`, instead of one query per finding.
    """
    body = problem_body(finding, schema=schema)
    if known is None:
        row = session.get(FindingRow, finding.finding_id, with_for_update=True)
    else:
        row = known.get(finding.finding_id)
    if row is None:
        row = FindingRow(finding_id=finding.finding_id, origin=origin)
        fill_row(row, finding, body, finding.dataset_id)
        store_status(row, FindingStatus.opened(finding.finding_id, at))
        row.id_number = id_number or row.id_number
        session.add(row)
        if known is not None:
            known[finding.finding_id] = row
        return Found(outcome=FOUND_NEW, row=row)
    before = status_of(row)
    fill_row(row, finding, body, finding.dataset_id)
    row.id_number = id_number or row.id_number
    after = advance(before, Rechecked(holds=True, at=max(at, before.updated_at)))
    store_status(row, after)
    if before.state is FindingState.CLOSED and after.state is FindingState.OPEN:
        row.routed_to = row.sent_at = None
        return Found(outcome=FOUND_REOPENED, row=row)
    return Found(outcome=FOUND_SEEN, row=row)
