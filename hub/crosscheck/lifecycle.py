"""The fix loop's pure part: a finding's states, the events that move it, and the re-check.

::

    OPEN ──answer──▶ ANSWERED ──accept──▶ CLOSED (accepted)
      ▲  ◀──reject──    │
      │                 └──re-check passes──▶ CLOSED (fixed)
      ├──re-check passes──────────────────▶ CLOSED (fixed)
      └──re-check fails again── CLOSED (fixed)
    OPEN / ANSWERED ──withdraw──▶ CLOSED (withdrawn)

An answer comes up from the collector ("the register is wrong", "moved to …");
the re-check compares the record as it now is with the register row. A finding
an administrator closed (accepted or withdrawn) stays closed whatever later
re-checks say: the disagreement is known and settled. One closed by a fix
reopens if the disagreement comes back. :func:`advance` is a pure function of
status and event; anything else is a :class:`FindingStateError` and the status
is unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Final

from crypto.errors import UsageError
from hub.crosscheck.authority import DEFAULT_AUTHORITY, AuthorityPolicy
from hub.crosscheck.cells import Value
from hub.crosscheck.dataset import RegisterRow
from hub.crosscheck.errors import FindingStateError, ProblemBodyError
from hub.crosscheck.findings import (
    Finding,
    FindingKind,
    FindingScope,
    compare_row,
    row_finding,
)
from protocol.entries import NOTE_REQUIRED, AnswerReason, ProblemAnswer

__all__ = [
    "Answer",
    "AnswerAccepted",
    "AnswerReason",
    "AnswerRejected",
    "Answered",
    "Event",
    "FindingState",
    "FindingStatus",
    "Rechecked",
    "Resolution",
    "Withdrawn",
    "advance",
    "recheck",
]

_MAX_NOTE: Final = 500
_MAX_BY: Final = 80


class FindingState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Resolution(enum.StrEnum):
    """Why a closed finding is closed."""

    FIXED = "fixed"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"


def _check_by(by: str, what: str) -> None:
    if not by or len(by) > _MAX_BY:
        raise UsageError(f"{what}: expected who did it (1..{_MAX_BY} characters)")


def _check_at(at: datetime, what: str) -> None:
    if at.tzinfo is None:
        raise UsageError(f"{what}: time must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """A collector's answer to a finding; it travels up in the node's next authorised batch."""

    finding_id: str
    reason: AnswerReason
    note: str
    by: str
    at: datetime

    def __post_init__(self) -> None:
        if len(self.note) > _MAX_NOTE:
            raise UsageError(f"answer: note longer than {_MAX_NOTE} characters")
        if self.reason in NOTE_REQUIRED and not self.note.strip():
            raise UsageError(f"answer {self.reason.value}: needs a note (where to, or why)")
        _check_by(self.by, "answer")
        _check_at(self.at, "answer")

    def to_dict(self) -> dict[str, Any]:
        """The wire form (a JSON/msgpack object)."""
        return {"finding": self.finding_id, "reason": self.reason.value, "note": self.note,
                "by": self.by, "at": self.at.isoformat()}  # fmt: skip

    @classmethod
    def from_entry(cls, entry: ProblemAnswer) -> Answer:
        """The answer carried by an ``answer`` bundle entry (already checked by its decoder)."""
        return cls(finding_id=entry.finding_id, reason=entry.reason, note=entry.note,
                   by=entry.by, at=entry.at)  # fmt: skip

    def to_entry(self) -> ProblemAnswer:
        """The ``answer`` bundle entry of this answer.

        Raises:
            EntryError: the answer does not fit the entry (``by`` is not a subject id).
        """
        return ProblemAnswer(finding_id=self.finding_id, reason=self.reason, note=self.note,
                             by=self.by, at=self.at)  # fmt: skip

    @classmethod
    def from_dict(cls, body: object) -> Answer:
        """Read an answer's wire form.

        Raises:
            ProblemBodyError: the body is malformed.
        """
        keys = {"finding", "reason", "note", "by", "at"}
        if not isinstance(body, dict) or set(body) != keys:
            raise ProblemBodyError("answer: expected an object with keys at, by, finding, "
                                   "note, reason")  # fmt: skip
        if not all(isinstance(body[key], str) for key in keys):
            raise ProblemBodyError("answer: every value must be text")
        try:
            return cls(finding_id=body["finding"], reason=AnswerReason(body["reason"]),
                       note=body["note"], by=body["by"],
                       at=datetime.fromisoformat(body["at"]))  # fmt: skip
        except (ValueError, UsageError) as exc:
            raise ProblemBodyError(f"answer: {str(exc)[:120]}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    answer: Answer


@dataclass(frozen=True, slots=True, kw_only=True)
class Rechecked:
    """The outcome of a re-check: whether the finding still holds."""

    holds: bool
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerAccepted:
    by: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerRejected:
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawn:
    by: str
    at: datetime


Event = Answered | Rechecked | AnswerAccepted | AnswerRejected | Withdrawn


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingStatus:
    """Where a finding stands in the fix loop.

    Invariants (checked): an answered finding has an answer; a closed one has a
    resolution and a closing time; an open one has neither; times never go back.
    """

    finding_id: str
    state: FindingState
    opened_at: datetime
    updated_at: datetime
    answer: Answer | None = None
    resolution: Resolution | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    rejection: str | None = None
    reopened: int = 0

    def __post_init__(self) -> None:
        if self.updated_at < self.opened_at:
            raise UsageError(f"finding {self.finding_id}: updated before it was opened")
        closed = self.state is FindingState.CLOSED
        if closed != (self.resolution is not None) or closed != (self.closed_at is not None):
            raise UsageError(f"finding {self.finding_id}: closed exactly when it has a resolution")
        if (self.state is FindingState.ANSWERED) and self.answer is None:
            raise UsageError(f"finding {self.finding_id}: answered without an answer")
        if self.reopened < 0:
            raise UsageError(f"finding {self.finding_id}: reopened count below zero")

    @classmethod
    def opened(cls, finding_id: str, at: datetime) -> FindingStatus:
        """A new finding, open since ``at``."""
        _check_at(at, "finding")
        return cls(finding_id=finding_id, state=FindingState.OPEN, opened_at=at, updated_at=at)


def _refuse(status: FindingStatus, event: Event) -> FindingStateError:
    name = type(event).__name__
    return FindingStateError(
        f"finding {status.finding_id}: {name} is not allowed when {status.state.value}"
        + (f" ({status.resolution.value})" if status.resolution else ""),
        finding=status.finding_id,
        state=status.state.value,
    )


def _close(status: FindingStatus, resolution: Resolution, at: datetime,
           by: str | None) -> FindingStatus:  # fmt: skip
    return replace(status, state=FindingState.CLOSED, resolution=resolution, closed_at=at,
                   closed_by=by, updated_at=at)  # fmt: skip


def advance(status: FindingStatus, event: Event) -> FindingStatus:
    """Apply one event to a finding's status.

    Raises:
        FindingStateError: the event is not allowed in the status's state, or it
            happened before the status's last change.
    """
    at = event.answer.at if isinstance(event, Answered) else event.at
    last = status.updated_at
    if isinstance(event, Answered):
        # An answer's time travels in whole seconds (the entry's YYYY-MM-DDTHH:MM:SSZ): one
        # given in the same second as the finding's last change is not before it.
        last = last.replace(microsecond=0)
    if at < last:
        raise FindingStateError(
            f"finding {status.finding_id}: event at {at.isoformat()} is before its last "
            f"change at {status.updated_at.isoformat()}",
            finding=status.finding_id,
        )
    state = status.state
    if isinstance(event, Answered):
        if state is FindingState.CLOSED or event.answer.finding_id != status.finding_id:
            raise _refuse(status, event)
        return replace(status, state=FindingState.ANSWERED, answer=event.answer,
                       updated_at=max(at, status.updated_at))  # fmt: skip
    if isinstance(event, Rechecked):
        if state is not FindingState.CLOSED:
            if event.holds:
                return replace(status, updated_at=at)
            return _close(status, Resolution.FIXED, at, None)
        if status.resolution is Resolution.FIXED and event.holds:
            return replace(status, state=FindingState.OPEN, resolution=None, closed_at=None,
                           closed_by=None, answer=None, updated_at=at,
                           reopened=status.reopened + 1)  # fmt: skip
        return status
    if isinstance(event, AnswerAccepted):
        if state is not FindingState.ANSWERED:
            raise _refuse(status, event)
        _check_by(event.by, "accept")
        return _close(status, Resolution.ACCEPTED, at, event.by)
    if isinstance(event, AnswerRejected):
        if state is not FindingState.ANSWERED or not event.reason.strip():
            raise _refuse(status, event)
        _check_by(event.by, "reject")
        return replace(status, state=FindingState.OPEN, answer=None,
                       rejection=event.reason[:_MAX_NOTE], updated_at=at)  # fmt: skip
    if state is FindingState.CLOSED:
        raise _refuse(status, event)
    _check_by(event.by, "withdraw")
    return _close(status, Resolution.WITHDRAWN, at, event.by)


def _record_value(record: Mapping[str, object], key: str) -> Value | None:
    value = record.get(key)
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return value if isinstance(value, str | bool | int | float | tuple) else None


def recheck(
    finding: Finding,
    *,
    rows: Sequence[RegisterRow],
    record: Mapping[str, object] | None,
    policy: AuthorityPolicy = DEFAULT_AUTHORITY,
) -> bool:
    """Does the finding still hold, given the register rows it is about and the record now?

    Args:
        finding: the finding.
        rows: the register rows concerned, from the newest dataset of its source:
            those holding the person's ID number, or the one row of a row finding.
            Empty when the person is no longer on the register.
        record: the record's current canonical values (``finding.record_id``'s, or
            the record now holding the person's ID number), or ``None``.
        policy: the authority policy (it does not change whether a finding holds).
    """
    if finding.row is None:
        # A record claiming a benefit that a complete register does not list.
        field = finding.field
        claims = record is not None and field is not None and record.get(field) is True
        return claims and not rows
    if not rows:
        return False
    scope = FindingScope(source=finding.source, source_kind=finding.source_kind,
                         dataset_id=finding.dataset_id)  # fmt: skip
    kind = finding.kind
    if kind is FindingKind.DUPLICATE_ID_NUMBER:
        return len(rows) > 1
    if kind in (FindingKind.INVALID_ID_NUMBER, FindingKind.MISSING):
        if kind is FindingKind.MISSING and record is not None:
            return False
        return any(row_finding(scope, row, kind).finding_id == finding.finding_id for row in rows)
    if record is None or finding.record_id is None or finding.field is None:
        return False
    for row in rows:
        found = compare_row(row, finding.record_id, partial(_record_value, record), scope=scope,
                            keys=(finding.field,), division_code=finding.division_code,
                            policy=policy)  # fmt: skip
        if any(f.finding_id == finding.finding_id for f in found):
            return True
    return False
