"""Findings a hub above made, as this hub passes them down: listed here too.

A city's finding reaches the town through the district, which re-issues it
(:mod:`hub.reissue`). The district keeps a copy of it (a *mirror*: a
``crosscheck_findings`` row whose ``origin`` is the parent that sent it, not this
hub), so its administrators see, per region, what the offices below still owe the
hubs above, and follow it as it moves:

- a ``problem`` from the parent opens the mirror (or reopens it: sent again after a
  rejected answer or a fix that did not hold), routed to the child it went on to;
- an answer from that child on its way up marks it answered (the answer still goes
  up: the hub that made the finding decides);
- a ``closure`` from the parent closes it, with the parent's resolution.

A mirror is never sent down by this hub, re-checked, accepted, rejected or
withdrawn here: those belong to the hub that made the finding. A finding id this
hub holds as its own (the same register checked here too) is left alone. A problem
whose body cannot be read is passed on unlisted (the node judges it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from hub.crosscheck.errors import FindingStateError, ProblemBodyError
from hub.crosscheck.findingstore import fill_row, status_of, store_status
from hub.crosscheck.lifecycle import (
    Answer,
    Answered,
    FindingState,
    FindingStatus,
    Resolution,
    advance,
)
from hub.crosscheck.routing import read_problem_body
from hub.store.crosscheck_models import FindingRow
from protocol.entries import Problem, ProblemAnswer, ProblemClosure

__all__ = ["mirror_answer", "mirror_closure", "mirror_problem"]

_REJECTION = "rejection"


def mirror_problem(
    session: Session, problem: Problem, *, origin: str, routed_to: str | None, at: datetime
) -> bool:
    """Open (or reopen) the mirror of a problem the parent ``origin`` sent down.

    Returns whether it is listed (False: its body cannot be read, or the id is this
    hub's own finding).
    """
    body = dict(problem.body)
    try:
        finding = read_problem_body(body)
    except ProblemBodyError:
        return False
    row = session.get(FindingRow, finding.finding_id, with_for_update=True)
    if row is not None and row.origin != origin:
        return False  # this hub's own finding (or another parent's): not ours to change
    details = body.get("details")
    rejection = details.get(_REJECTION) if isinstance(details, dict) else None
    if row is None:
        row = FindingRow(finding_id=finding.finding_id, origin=origin)
        status = FindingStatus.opened(finding.finding_id, at)
        session.add(row)
    else:
        before = status_of(row)
        status = FindingStatus(
            finding_id=before.finding_id,
            state=FindingState.OPEN,
            opened_at=before.opened_at,
            updated_at=max(at, before.updated_at),
            reopened=before.reopened + int(before.state is FindingState.CLOSED),
        )
    fill_row(row, finding, body, finding.dataset_id)
    store_status(row, replace(status, rejection=rejection if isinstance(rejection, str) else None))
    row.routed_to, row.sent_at, row.closure_sent_at = routed_to, at, None
    return True


def mirror_answer(row: FindingRow, answer: ProblemAnswer, *, answered_by_child: bool) -> None:
    """Mark a mirror answered by the answer passing up through this hub.

    Only an answer from inside the child it was routed to counts, and only while the
    mirror is open or answered and the answer is newer than its last change; anything
    else leaves it as it is (the hub above decides either way).
    """
    if not answered_by_child:
        return
    try:
        store_status(row, advance(status_of(row), Answered(answer=Answer.from_entry(answer))))
    except FindingStateError:
        return


def mirror_closure(session: Session, closure: ProblemClosure, *, origin: str, at: datetime) -> bool:
    """Close the mirror of a finding the parent ``origin`` closed; whether it changed."""
    row = session.get(FindingRow, closure.finding_id, with_for_update=True)
    if row is None or row.origin != origin or row.state == FindingState.CLOSED.value:
        return False
    before = status_of(row)
    store_status(
        row,
        replace(
            before,
            state=FindingState.CLOSED,
            resolution=Resolution(closure.resolution.value),
            closed_at=closure.at,
            closed_by=origin,
            updated_at=max(at, before.updated_at),
        ),
    )
    return True
