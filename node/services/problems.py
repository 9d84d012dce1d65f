"""The cross-check's to-do list at a node: problems from the hub, and the collectors' answers.

A ``problems`` bundle from the parent carries one ``problem`` entry per finding
(docs/crosscheck.md §6); :func:`store_problem` keeps each as a to-do item, keyed by
the finding's id. A finding sent again (the hub rejected the answer, or the
disagreement came back after a fix) reopens its item with the new body.

A collector deals with an item in one of two ways, both of which travel up:

- fixes the record: an ordinary edit, whose ops go up with the next authorised
  batch like any other (:func:`apply_proposed` takes the value the register proposes
  in one step and answers ``record_fixed``);
- answers with a reason (``register_wrong``, ``person_moved`` with where to, …):
  :func:`answer_problem`. The answer waits until an approver authorises the next
  batch, and leaves as an ``answer`` entry of that batch's ``delta`` bundle
  (:func:`pending_answers`, :func:`mark_sent`); with nothing else to authorise, the
  batch carries the answers alone. Nothing leaves the node unauthorised.

When the hub closes a finding (a re-check found it fixed, it accepted the answer, or
it withdrew the finding), a ``closure`` entry follows in a later ``problems`` bundle
and :func:`close_problem` closes the item, with why and when. A finding sent again
after that reopens it.

Items that are not cross-check findings (a rejected batch's decision, or a problem
in an older format) are answered with free text, kept here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.errors import ConflictError, FormError, NotFoundError
from node.services import records as _records
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.values import SaveResult
from node.store.models import ProblemRow
from protocol.entries import (
    MAX_ANSWER_NOTE,
    NOTE_REQUIRED,
    AnswerReason,
    Problem,
    ProblemAnswer,
    ProblemClosure,
)
from protocol.errors import EntryError
from protocol.trust.statement import canonical_json

__all__ = [
    "ANSWERED",
    "CLOSED",
    "OPEN",
    "answer_problem",
    "apply_proposed",
    "close_problem",
    "is_finding",
    "mark_sent",
    "pending_answers",
    "store_problem",
]

OPEN: Final = "open"
ANSWERED: Final = "answered"
CLOSED: Final = "closed"
#: ``ProblemRow.source`` of the items that came in ``problems`` bundles.
FROM_PROBLEMS: Final = "problem"
_MAX_FREE_TEXT: Final = 2000
_FINDING_ID: Final = re.compile(r"[0-9a-f]{32}")


def is_finding(row: ProblemRow) -> bool:
    """Whether the item is a cross-check finding (its answer goes up to the hub)."""
    return row.source == FROM_PROBLEMS and _FINDING_ID.fullmatch(row.problem_id) is not None


def _plain(value: Any) -> Any:
    """msgpack values as JSON (binary as hex), for the problems table."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _problem_id(bundle_id: str, body: Mapping[str, Any]) -> str:
    given = body.get("id")
    if isinstance(given, str) and 0 < len(given) <= 64:
        return given
    text = "\x00".join((bundle_id, canonical_json(body).decode("utf-8")))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def store_problem(session: Session, problem: Problem, bundle_id: str, now: datetime) -> None:
    """Keep a ``problem`` entry as a to-do item; a finding sent again reopens its item."""
    body = _plain(dict(problem.body))
    problem_id = _problem_id(bundle_id, body)
    record = body.get("record_id", body.get("record"))
    kind = body.get("kind")
    row = session.get(ProblemRow, problem_id)
    if row is None:
        session.add(
            ProblemRow(
                problem_id=problem_id,
                source=FROM_PROBLEMS,
                kind=kind if isinstance(kind, str) else "problem",
                record_id=record if isinstance(record, str) and len(record) == 36 else None,
                bundle_id=bundle_id,
                body=body,
                received_at=now,
                state=OPEN,
            )
        )
        return
    if row.body == body and row.state == OPEN:
        return  # the same problem delivered again: nothing new
    # The hub sent it again: it rejected the answer, or the problem came back.
    row.body, row.bundle_id, row.received_at, row.state = body, bundle_id, now, OPEN
    row.answer = row.answered_by = row.answered_at = None
    row.answer_reason = row.answer_batch = None
    row.resolution = row.closed_at = None


def close_problem(session: Session, closure: ProblemClosure, *, by: str, now: datetime) -> bool:
    """Close the item of a finding the hub closed; return whether anything changed.

    A closure for an item this node never got (it was served by another machine of the
    town, or joined later) changes nothing, nor does one delivered again. The answer
    stays as it was; one not sent yet no longer goes up (the hub would ignore it).
    """
    row = session.get(ProblemRow, closure.finding_id)
    if row is None or not is_finding(row):
        return False
    resolution = closure.resolution.value
    if row.state == CLOSED and row.resolution == resolution:
        return False
    row.state, row.resolution, row.closed_at = CLOSED, resolution, closure.at
    append_audit(session, at=now, actor=by, action="problem.closed", subject=row.problem_id,
                 details={"resolution": resolution})  # fmt: skip
    return True


def _reason(row: ProblemRow, reason: str | None, note: str) -> AnswerReason | None:
    if not is_finding(row):
        return None
    try:
        chosen = AnswerReason(reason or "")
    except ValueError:
        raise FormError(
            f"answer: choose a reason ({', '.join(r.value for r in AnswerReason)})",
            field="reason",
        ) from None
    if chosen in NOTE_REQUIRED and not note:
        raise FormError(f"answer {chosen.value}: say where to, or why", field="note")
    return chosen


def answer_problem(
    ctx: NodeContext,
    session: Session,
    problem_id: str,
    *,
    answer: str,
    author: str,
    reason: str | None = None,
) -> ProblemRow:
    """Keep a collector's answer to an item; a finding's answer waits for the next batch.

    Args:
        ctx, session: the node and the caller's transaction.
        problem_id: the item.
        answer: the note (a finding's) or the whole answer (anything else).
        author: the collector's subject (``370102001/zhang.wei``).
        reason: for a finding, one of :class:`~protocol.entries.AnswerReason`.

    Raises:
        NotFoundError: no such item.
        ConflictError: the item is closed.
        FormError: no reason for a finding, a note missing where the reason needs one,
            or a text that is empty or too long.
    """
    row = session.get(ProblemRow, problem_id) if isinstance(problem_id, str) else None
    if row is None:
        raise NotFoundError("no such problem", what="problem")
    if row.state == CLOSED:
        raise ConflictError(f"problem {problem_id[:40]} is closed")
    text = answer.strip() if isinstance(answer, str) else ""
    limit = MAX_ANSWER_NOTE if is_finding(row) else _MAX_FREE_TEXT
    if len(text) > limit:
        raise FormError(f"answer: expected at most {limit} characters")
    chosen = _reason(row, reason, text)
    if chosen is None and not text:
        raise FormError(f"answer: expected 1 to {_MAX_FREE_TEXT} characters")
    row.answer = text
    row.answer_reason = chosen.value if chosen else None
    row.answer_batch = None
    row.answered_by = author
    row.answered_at = ctx.now()
    row.state = ANSWERED
    append_audit(session, at=row.answered_at, actor=author, action="problem.answered",
                 subject=problem_id,
                 details={"reason": row.answer_reason or "text"})  # fmt: skip
    return row


def pending_answers(session: Session) -> list[tuple[str, ProblemAnswer]]:
    """The findings' answers not sent yet, oldest first: ``(problem id, answer entry)``."""
    rows = session.execute(
        select(ProblemRow)
        .where(
            ProblemRow.state == ANSWERED,
            ProblemRow.answer_reason.is_not(None),
            ProblemRow.answer_batch.is_(None),
        )
        .order_by(ProblemRow.answered_at, ProblemRow.problem_id)
    ).scalars()
    found: list[tuple[str, ProblemAnswer]] = []
    for row in rows:
        if not is_finding(row) or row.answered_at is None or row.answered_by is None:
            continue
        try:
            entry = ProblemAnswer(finding_id=row.problem_id,
                                  reason=AnswerReason(row.answer_reason or ""),
                                  note=row.answer or "", by=row.answered_by,
                                  at=row.answered_at)  # fmt: skip
        except (EntryError, ValueError):
            continue  # cannot be said on the wire (an old row): it stays here
        found.append((row.problem_id, entry))
    return found


def mark_sent(session: Session, problem_ids: Iterable[str], batch_id: str) -> None:
    """Mark answers as gone up in ``batch_id`` (in the transaction that sealed it)."""
    for problem_id in problem_ids:
        row = session.get(ProblemRow, problem_id)
        if row is not None:
            row.answer_batch = batch_id


def apply_proposed(
    ctx: NodeContext, session: Session, problem_id: str, *, author: str
) -> SaveResult:
    """Take the value the register proposes into the record, and answer ``record_fixed``.

    Raises:
        NotFoundError: no such item, or its record is not on this node.
        ConflictError: the item is closed, or proposes no value for a record's field.
        FormError: the value does not fit the field (the record is left as it was).
    """
    row = session.get(ProblemRow, problem_id) if isinstance(problem_id, str) else None
    if row is None:
        raise NotFoundError("no such problem", what="problem")
    body = row.body
    field, proposed, record_id = body.get("field"), body.get("proposed"), row.record_id
    if row.state == CLOSED or not is_finding(row):
        raise ConflictError(f"problem {problem_id[:40]} cannot be fixed from here")
    if not isinstance(field, str) or proposed is None or record_id is None:
        raise ConflictError(f"problem {problem_id[:40]} proposes no value for a record")
    view = _records.get_record(ctx, session, record_id)
    result = _records.save_record(
        ctx,
        session,
        record_id=record_id,
        categories=view.categories,
        raw_values={field: proposed},
        author=author,
    )
    if not result.saved:
        raise FormError(f"the proposed value does not fit the record's {field}", field=field)
    answer_problem(ctx, session, problem_id, answer="", author=author,
                   reason=AnswerReason.RECORD_FIXED.value)  # fmt: skip
    return result
