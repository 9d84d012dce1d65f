"""Answers coming up: a collector's ``answer`` entries, received at the hub that made the finding.

An answer travels up with the node's next authorised batch, as an ``answer`` entry
of its ``delta`` bundle (:class:`protocol.entries.ProblemAnswer`), and through each
hub above in its ``package`` until it reaches the hub that made the finding.
:func:`receive_answers` runs inside the transaction that merges the bundle (so an
answer in a bundle held for review counts once the bundle merges, and never if it
is rejected):

- an answer to a finding of this hub, from a sender inside the site the finding was
  sent to, moves it to ``answered`` (:func:`~hub.crosscheck.lifecycle.advance`);
- an answer to a finding this hub did not make is kept to go up to the parent
  (:func:`answers_for_parent` gives them to the package builder, which marks them
  sent with :func:`mark_forwarded`); a province has no parent and ignores them; the
  mirror of such a finding, if this hub passed it down, shows it answered
  (:mod:`hub.crosscheck.mirror`);
- anything else (a foreign sender, a closed finding, an answer older than the
  finding's last change) is ignored: kept with its outcome, counted and audited,
  but it never fails the bundle around it, whose ops are the node's real work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext
from hub.crosscheck.errors import FindingStateError
from hub.crosscheck.findingstore import status_of, store_status
from hub.crosscheck.lifecycle import Answer, Answered, advance
from hub.crosscheck.mirror import mirror_answer
from hub.store.crosscheck_models import AnswerRow, FindingRow
from protocol.divisions import Level, contains, level_of
from protocol.entries import AnswerReason, ProblemAnswer
from protocol.errors import DivisionCodeError, TrustError
from protocol.trust import site_of

__all__ = [
    "APPLIED",
    "IGNORED",
    "RELAY",
    "AnswerCounts",
    "answers_for_parent",
    "mark_forwarded",
    "receive_answers",
]

APPLIED: Final = "applied"
RELAY: Final = "relay"
IGNORED: Final = "ignored"


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerCounts:
    """What became of a bundle's answers."""

    applied: int = 0
    relay: int = 0
    ignored: int = 0


def _may_answer(row: FindingRow, sender: str) -> bool:
    """Whether ``sender`` lies inside the site the finding was sent down to."""
    if row.routed_to is None:
        return False
    try:
        return contains(row.routed_to, site_of(sender))
    except (DivisionCodeError, TrustError):
        return False


def _has_parent(ctx: HubContext) -> bool:
    return level_of(ctx.site) is not Level.PROVINCE


def _outcome(ctx: HubContext, session: Session, answer: ProblemAnswer, sender: str) -> str:
    row = session.get(FindingRow, answer.finding_id, with_for_update=True)
    if row is None or row.origin != ctx.site:
        if row is not None:  # a mirror of a finding made above: it shows the answer too
            mirror_answer(row, answer, answered_by_child=_may_answer(row, sender))
        return RELAY if _has_parent(ctx) else IGNORED
    if not _may_answer(row, sender):
        return IGNORED
    try:
        status = advance(status_of(row), Answered(answer=Answer.from_entry(answer)))
    except FindingStateError:
        return IGNORED
    store_status(row, status)
    return APPLIED


def receive_answers(
    ctx: HubContext,
    session: Session,
    answers: Iterable[ProblemAnswer],
    *,
    sender: str,
    bundle: int | None = None,
) -> AnswerCounts:
    """Take the answers of one bundle from ``sender``, in the caller's transaction."""
    counts: Counter[str] = Counter()
    now = ctx.now()
    for answer in answers:
        outcome = _outcome(ctx, session, answer, sender)
        counts[outcome] += 1
        session.add(
            AnswerRow(
                finding_id=answer.finding_id,
                reason=answer.reason.value,
                note=answer.note,
                by=answer.by,
                at=answer.at,
                sender=sender,
                received_at=now,
                bundle=bundle,
                outcome=outcome,
            )
        )
    if counts:
        session.flush()
        append_audit(session, at=now, actor=sender, action="crosscheck.answers",
                     subject=str(bundle or ""), details=dict(counts))  # fmt: skip
    return AnswerCounts(**counts)


def answers_for_parent(session: Session, *, limit: int = 10_000) -> list[tuple[int, ProblemAnswer]]:
    """Answers to pass up to the parent, oldest first: ``(answer row id, entry)`` pairs."""
    rows: Sequence[AnswerRow] = session.scalars(
        sa.select(AnswerRow)
        .where(AnswerRow.outcome == RELAY, AnswerRow.forwarded_at.is_(None))
        .order_by(AnswerRow.id)
        .limit(limit)
    ).all()
    return [(row.id, _entry(row)) for row in rows]


def _entry(row: AnswerRow) -> ProblemAnswer:
    return ProblemAnswer(
        finding_id=row.finding_id,
        reason=AnswerReason(row.reason),
        note=row.note,
        by=row.by,
        at=row.at,
    )


def mark_forwarded(session: Session, row_ids: Iterable[int], *, at: datetime) -> None:
    """Mark answers as gone up (in the transaction that queued the package carrying them)."""
    ids = list(row_ids)
    for start in range(0, len(ids), 1000):
        session.execute(
            sa.update(AnswerRow)
            .where(AnswerRow.id.in_(ids[start : start + 1000]))
            .values(forwarded_at=at)
        )
