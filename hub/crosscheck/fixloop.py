"""The fix loop at a hub: re-checks, an administrator's decisions on answers, proposals.

- :func:`recheck_findings` asks of each open or answered finding whether it still
  holds, against the newest dataset of its source and the record as it now is
  (:func:`hub.crosscheck.lifecycle.recheck`): a merged fix closes it (``fixed``).
  It runs after every check (for the findings the new dataset no longer shows), on
  the schedule of ``recheck_minutes``, and by hand.
- :func:`accept_answer`, :func:`reject_answer` and :func:`withdraw` are an
  administrator's events; a rejected answer sends the finding down again with the
  reason in its ``details``.
- :func:`confirm_proposal` turns a fuzzy match into findings as if the row had
  matched by its ID number; :func:`refuse_proposal` makes a row of a collected
  category *missing* once all its proposals are refused.

Every change goes through :func:`~hub.crosscheck.lifecycle.advance` and is audited
(ids and counts only).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext, give_up_if_stopping
from hub.crosscheck.dataset import Dataset, RegisterRow
from hub.crosscheck.findings import (
    Finding,
    FindingKind,
    FindingScope,
    compare_row,
    compared_fields,
    row_finding,
)
from hub.crosscheck.findingstore import finding_of, record_found, status_of, store_status
from hub.crosscheck.hubrecords import holder_of, record_values
from hub.crosscheck.lifecycle import (
    AnswerAccepted,
    AnswerRejected,
    Event,
    FindingState,
    FindingStatus,
    Rechecked,
    Withdrawn,
    advance,
    recheck,
)
from hub.crosscheck.mapping import ColumnMapping
from hub.crosscheck.storedatasets import StoreDatasets
from hub.errors import AlreadyDecidedError, NotFoundError
from hub.store.crosscheck_models import FindingRow, ProposalRow
from protocol.schema import CATEGORY_FIELD

__all__ = [
    "RecheckSummary",
    "accept_answer",
    "confirm_proposal",
    "recheck_findings",
    "refuse_proposal",
    "reject_answer",
    "withdraw",
]

_PAGE: Final = 500
_LIVE_STATES: Final = (FindingState.OPEN.value, FindingState.ANSWERED.value)
PENDING: Final = "pending"
CONFIRMED: Final = "confirmed"
REFUSED: Final = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecheckSummary:
    """How a re-check went: findings checked, and how many of them closed as fixed."""

    checked: int
    closed: int
    no_dataset: int


class _Evidence:
    """What a re-check compares: the newest dataset of each source, and the records."""

    def __init__(self, ctx: HubContext) -> None:
        self.reader = StoreDatasets(ctx.store)
        self._newest: dict[str, Dataset | None] = {}

    def newest(self, source: str) -> Dataset | None:
        if source not in self._newest:
            self._newest[source] = self.reader.newest(source)
        return self._newest[source]

    def of(
        self, session: Session, row: FindingRow, finding: Finding, dataset: Dataset
    ) -> tuple[tuple[RegisterRow, ...], dict[str, Any] | None]:
        record: dict[str, Any] | None = None
        number = row.id_number
        if finding.record_id is not None:
            record = record_values(session, finding.record_id)
            held = record.get("id_number") if record else None
            number = held if isinstance(held, str) else number
        elif number is not None and finding.kind is FindingKind.MISSING:
            found = holder_of(session, number)
            record = found[1] if found else None
        if number is not None:
            return self.reader.rows_with_id(dataset.dataset_id, number), record
        # Row numbers mean nothing across extracts: only the dataset it was found in.
        if finding.row is not None and dataset.dataset_id == finding.dataset_id:
            same = self.reader.row(dataset.dataset_id, finding.row)
            return ((same,) if same else ()), record
        return (), record


def _live(
    ctx: HubContext,
    *,
    after: str,
    source: str | None,
    finding_ids: Collection[str] | None,
    not_seen_in: str | None,
) -> Any:
    query = (
        sa.select(FindingRow)
        .where(
            FindingRow.origin == ctx.site,
            FindingRow.state.in_(_LIVE_STATES),
            FindingRow.finding_id > after,
        )
        .order_by(FindingRow.finding_id)
        .limit(_PAGE)
        .with_for_update()
    )
    if source is not None:
        query = query.where(FindingRow.source == source)
    if finding_ids is not None:
        query = query.where(FindingRow.finding_id.in_(list(finding_ids)))
    if not_seen_in is not None:
        query = query.where(FindingRow.last_seen != not_seen_in)
    return query


def recheck_findings(
    ctx: HubContext,
    *,
    source: str | None = None,
    finding_ids: Collection[str] | None = None,
    not_seen_in: str | None = None,
    by: str = "system",
) -> RecheckSummary:
    """Re-check this hub's open and answered findings; close those that no longer hold.

    Args:
        ctx: the hub.
        source: only this source's findings.
        finding_ids: only these findings.
        not_seen_in: only findings whose last check was not of this dataset.
        by: who asked (audited).

    Raises:
        StoppingError: the hub began to stop; the pages done so far are kept.
    """
    evidence = _Evidence(ctx)
    policy = ctx.config.crosscheck.authority
    checked = closed = no_dataset = 0
    after = ""
    while True:
        # Between two pages, each its own transaction, a stopping hub gives up: what is
        # left open is checked by the next run.
        give_up_if_stopping(ctx, "the re-check of the cross-check's findings")
        with ctx.store.write() as session:
            page = session.scalars(
                _live(
                    ctx,
                    after=after,
                    source=source,
                    finding_ids=finding_ids,
                    not_seen_in=not_seen_in,
                )
            ).all()
            if not page:
                break
            for row in page:
                finding = finding_of(row)
                dataset = evidence.newest(row.source)
                if dataset is None:
                    no_dataset += 1
                    continue
                rows, record = evidence.of(session, row, finding, dataset)
                holds = recheck(finding, rows=rows, record=record, policy=policy)
                status = advance(status_of(row), Rechecked(holds=holds, at=_at(ctx, row)))
                store_status(row, status)
                checked += 1
                closed += status.state is FindingState.CLOSED
            after = page[-1].finding_id
    if checked:
        with ctx.store.write() as session:
            append_audit(session, at=ctx.now(), actor=by, action="crosscheck.rechecked",
                         subject=source or "*",
                         details={"checked": checked, "closed": closed})  # fmt: skip
    return RecheckSummary(checked=checked, closed=closed, no_dataset=no_dataset)


def _at(ctx: HubContext, row: FindingRow) -> Any:
    # An event may not predate the finding's last change (a clock set back).
    return max(ctx.now(), row.updated_at)


def _decide(ctx: HubContext, finding_id: str, event: Event, action: str, by: str) -> FindingStatus:
    with ctx.store.write() as session:
        row = session.get(FindingRow, finding_id, with_for_update=True)
        if row is None or row.origin != ctx.site:
            raise NotFoundError(f"no finding {finding_id[:40]}")
        status = advance(status_of(row), event)
        store_status(row, status)
        if status.state is FindingState.OPEN and status.rejection:
            # Down again, with the reason, for the collector to look at once more.
            row.routed_to = row.sent_at = None
        append_audit(session, at=ctx.now(), actor=by, action=action, subject=finding_id,
                     details={"state": status.state.value})  # fmt: skip
        return status


def accept_answer(ctx: HubContext, finding_id: str, *, by: str) -> FindingStatus:
    """Accept the collector's answer: the finding closes (``accepted``).

    Raises:
        NotFoundError: no such finding of this hub.
        FindingStateError: it is not answered.
    """
    event = AnswerAccepted(by=by, at=ctx.now())
    return _decide(ctx, finding_id, event, "crosscheck.answer_accepted", by)


def reject_answer(ctx: HubContext, finding_id: str, *, by: str, reason: str) -> FindingStatus:
    """Reject the answer with a reason: the finding reopens and goes down again.

    Raises:
        NotFoundError: no such finding of this hub.
        FindingStateError: it is not answered, or the reason is empty.
    """
    event = AnswerRejected(by=by, at=ctx.now(), reason=reason)
    return _decide(ctx, finding_id, event, "crosscheck.answer_rejected", by)


def withdraw(ctx: HubContext, finding_id: str, *, by: str) -> FindingStatus:
    """Withdraw a finding (a register known to be wrong): it closes (``withdrawn``).

    Raises:
        NotFoundError: no such finding of this hub.
        FindingStateError: it is closed already.
    """
    return _decide(ctx, finding_id, Withdrawn(by=by, at=ctx.now()), "crosscheck.withdrawn", by)


def _proposals(session: Session, dataset_id: str, row: int) -> Sequence[ProposalRow]:
    return session.scalars(
        sa.select(ProposalRow)
        .where(ProposalRow.dataset_id == dataset_id, ProposalRow.row == row)
        .with_for_update()
    ).all()


def _pending(proposals: Sequence[ProposalRow], record_id: str) -> ProposalRow:
    chosen = next((p for p in proposals if p.record_id == record_id), None)
    if chosen is None:
        raise NotFoundError("no such proposal")
    if chosen.state != PENDING:
        raise AlreadyDecidedError(f"proposal for row {chosen.row} was {chosen.state} already")
    return chosen


def _row_and_scope(ctx: HubContext, dataset_id: str, row: int) -> tuple[Dataset, RegisterRow]:
    reader = StoreDatasets(ctx.store)
    try:
        dataset = reader.dataset(dataset_id)
    except KeyError:
        raise NotFoundError(f"no imported register {dataset_id[:40]}") from None
    found = reader.row(dataset_id, row)
    if found is None:
        raise NotFoundError(f"register {dataset_id} has no row {row}")
    return dataset, found


def confirm_proposal(ctx: HubContext, dataset_id: str, row: int, record_id: str, *, by: str) -> int:
    """Confirm that a register row is the person of a record; return the findings it gives.

    The row is compared with the record as if it had matched by ID number; the
    row's other proposals are refused.

    Raises:
        NotFoundError: no such proposal, row or record.
        AlreadyDecidedError: the proposal was confirmed or refused already.
    """
    dataset, register_row = _row_and_scope(ctx, dataset_id, row)
    mapping = ColumnMapping.from_json(dataset.mapping_json)
    scope = FindingScope.of(dataset)
    with ctx.store.write() as session:
        proposals = _proposals(session, dataset_id, row)
        chosen = _pending(proposals, record_id)
        values = record_values(session, record_id)
        if values is None:
            raise NotFoundError(f"record {record_id} is no longer live")
        now = ctx.now()
        for proposal in proposals:
            proposal.state = CONFIRMED if proposal is chosen else REFUSED
            proposal.decided_by, proposal.decided_at = by, now
        division = values.get("hukou_division_code")
        findings = compare_row(
            register_row,
            record_id,
            lambda key: _value(values.get(key)),
            scope=scope,
            keys=compared_fields(mapping),
            division_code=division if isinstance(division, str) else register_row.division_code,
            policy=ctx.config.crosscheck.authority,
        )
        for finding in findings:
            record_found(session, finding, origin=ctx.site, at=now, schema=ctx.schema)
        details = {"row": row, "findings": len(findings)}
        append_audit(session, at=now, actor=by, action="crosscheck.proposal_confirmed",
                     subject=dataset_id, details=details)  # fmt: skip
    return len(findings)


def refuse_proposal(ctx: HubContext, dataset_id: str, row: int, record_id: str, *, by: str) -> int:
    """Refuse a proposal; once a row's proposals are all refused, a row of a collected
    category becomes a *missing* finding. Returns the findings made (0 or 1).

    Raises:
        NotFoundError: no such proposal or row.
        AlreadyDecidedError: the proposal was confirmed or refused already.
    """
    dataset, register_row = _row_and_scope(ctx, dataset_id, row)
    with ctx.store.write() as session:
        proposals = _proposals(session, dataset_id, row)
        chosen = _pending(proposals, record_id)
        now = ctx.now()
        chosen.state, chosen.decided_by, chosen.decided_at = REFUSED, by, now
        made = 0
        if all(p.state == REFUSED for p in proposals) and register_row.get(CATEGORY_FIELD):
            missing = row_finding(FindingScope.of(dataset), register_row, FindingKind.MISSING)
            record_found(session, missing, origin=ctx.site, at=now, schema=ctx.schema)
            made = 1
        append_audit(session, at=now, actor=by, action="crosscheck.proposal_refused",
                     subject=dataset_id, details={"row": row, "findings": made})  # fmt: skip
    return made


def _value(value: object) -> Any:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return value if isinstance(value, str | bool | int | float) else None
