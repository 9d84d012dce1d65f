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
- anything else (a foreign sender or origin, a closed finding, an answer older
  than the finding's last change) is ignored: kept with its outcome, counted and
  audited, but it never fails the bundle around it, whose ops are the node's real work.

Every answer is kept with its *origin* (:class:`protocol.entries.AnswerOrigin`): the
authorisation its node's approver signed, and the digests of that batch's answers.
A delta's origin is its own authorisation; a package carries the origins of the
answers it passes up, which its staging checked. The answers go up with their
origins, so the hub that made the finding checks the town approver's signature on
each one, not only the signature of the administrator of the hub that passed it on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgpack
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext
from hub.crosscheck.errors import FindingStateError
from hub.crosscheck.findingstore import status_of, store_status
from hub.crosscheck.lifecycle import Answer, Answered, advance
from hub.crosscheck.mirror import mirror_answer
from hub.store.crosscheck_models import AnswerOriginRow, AnswerRow, FindingRow
from hub.store.engine import insert_unless_present
from protocol.divisions import Level, contains, level_of
from protocol.entries import AnswerOrigin, AnswerReason, ProblemAnswer, decode_entry, entry_bytes
from protocol.errors import AuthorisationError, DivisionCodeError, TrustError
from protocol.trust import answer_digest, site_of

__all__ = [
    "APPLIED",
    "IGNORED",
    "RELAY",
    "AnswerCounts",
    "AnswerToSend",
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


def _may_answer(row: FindingRow, *subjects: str) -> bool:
    """Whether every one of ``subjects`` (the sender, the answer's node) lies inside
    the site the finding was sent down to."""
    if row.routed_to is None:
        return False
    try:
        return all(contains(row.routed_to, site_of(subject)) for subject in subjects)
    except (DivisionCodeError, TrustError):
        return False


def _has_parent(ctx: HubContext) -> bool:
    return level_of(ctx.site) is not Level.PROVINCE


def _outcome(
    ctx: HubContext, session: Session, answer: ProblemAnswer, sender: str, node: str
) -> str:
    row = session.get(FindingRow, answer.finding_id, with_for_update=True)
    if row is None or row.origin != ctx.site:
        if row is not None:  # a mirror of a finding made above: it shows the answer too
            mirror_answer(row, answer, answered_by_child=_may_answer(row, sender, node))
        return RELAY if _has_parent(ctx) else IGNORED
    if not _may_answer(row, sender, node):
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
    origins: Sequence[AnswerOrigin],
    bundle: int | None = None,
) -> AnswerCounts:
    """Take the answers of one bundle from ``sender``, in the caller's transaction.

    ``origins`` say where the answers were signed; the caller has verified them (the
    delta's own authorisation, or a package's ``origin`` entries).

    Raises:
        AuthorisationError: an answer is not among the digests of any origin.
    """
    by_digest: dict[bytes, AnswerOrigin] = {}
    for origin in origins:
        for digest in origin.digests:
            by_digest.setdefault(digest, origin)
    kept: dict[int, int] = {}  # id(origin) → its row
    counts: Counter[str] = Counter()
    now = ctx.now()
    for answer in answers:
        signed = by_digest.get(answer_digest(entry_bytes(answer)))
        if signed is None:
            raise AuthorisationError(
                f"the answer to finding {answer.finding_id} carries no authorisation from "
                "the node where it was given"
            )
        origin_row = kept.get(id(signed))
        if origin_row is None:
            origin_row = kept[id(signed)] = _keep_origin(session, signed)
        outcome = _outcome(ctx, session, answer, sender, signed.auth.origin)
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
                origin_id=origin_row,
            )
        )
    if counts:
        session.flush()
        append_audit(session, at=now, actor=sender, action="crosscheck.answers",
                     subject=str(bundle or ""), details=dict(counts))  # fmt: skip
    return AnswerCounts(**counts)


def _keep_origin(session: Session, origin: AnswerOrigin) -> int:
    """The row of ``origin``, added if this hub has not seen it yet.

    Two hub processes sharing a store may take in the same origin at once, and
    neither must fail its bundle for it.
    """
    encoded = entry_bytes(origin)
    key = hashlib.blake2b(encoded, digest_size=32).hexdigest()
    insert_unless_present(session, AnswerOriginRow, key=key, entry=encoded)
    return session.execute(
        sa.select(AnswerOriginRow.id).where(AnswerOriginRow.key == key)
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class AnswerToSend:
    """An answer waiting to go up, with the origin the parent checks it by."""

    row_id: int
    answer: ProblemAnswer
    origin_id: int
    origin: AnswerOrigin


def answers_for_parent(session: Session, *, limit: int = 10_000) -> list[AnswerToSend]:
    """Answers to pass up to the parent, oldest first.

    An answer received before answers carried their origin cannot be checked above,
    so it is not among them (it stays ``relay``, with no origin).
    """
    rows = session.execute(
        sa.select(AnswerRow, AnswerOriginRow.entry)
        .join(AnswerOriginRow, AnswerOriginRow.id == AnswerRow.origin_id)
        .where(AnswerRow.outcome == RELAY, AnswerRow.forwarded_at.is_(None))
        .order_by(AnswerRow.id)
        .limit(limit)
    ).all()
    origins: dict[int, AnswerOrigin] = {}
    result = []
    for row, encoded in rows:
        assert row.origin_id is not None  # the join holds only answers with an origin
        origin = origins.get(row.origin_id)
        if origin is None:
            origin = origins[row.origin_id] = _origin(encoded)
        result.append(AnswerToSend(row.id, _entry(row), row.origin_id, origin))
    return result


def _origin(encoded: bytes) -> AnswerOrigin:
    value = decode_entry(msgpack.unpackb(encoded, raw=False))
    if not isinstance(value, AnswerOrigin):  # only origins are written to that table
        raise AuthorisationError("a stored answer origin is not an origin entry")
    return value


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
