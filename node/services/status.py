"""The status page's figures, and the hub's problems and decisions as a to-do list."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.services import problems as _problems
from node.services.context import NodeContext
from node.services.state import node_state
from node.services.values import NodeStatus, ProblemItem, RecordFlag, frozen_map
from node.store.models import (
    BundleState,
    OpRow,
    OpState,
    OutboxRow,
    ProblemRow,
    RecordFlagRow,
    RecordRow,
    SyncRunRow,
)
from protocol.ops import STATUS_LIVE

__all__ = ["answer_problem", "list_problems", "node_status"]

_LAST_ERRORS: Final = 5
OPEN: Final = _problems.OPEN
CLOSED: Final = _problems.CLOSED


def node_status(ctx: NodeContext, session: Session) -> NodeStatus:
    """Counts by category and state, and how the last syncs went."""
    state = node_state(session)
    by_category: Counter[str] = Counter()
    live = 0
    for (categories,) in session.execute(
        select(RecordRow.categories).where(RecordRow.status == STATUS_LIVE)
    ):
        live += 1
        by_category.update(c for c in categories.split("|") if c)
    ops = _count_by(session, OpRow.state)
    bundles = _count_by(session, OutboxRow.state)
    to_verify = session.execute(
        select(func.count()).where(RecordFlagRow.flag == RecordFlag.TO_VERIFY.value)
    ).scalar_one()
    open_problems = session.execute(
        select(func.count()).where(ProblemRow.state == OPEN)
    ).scalar_one()
    runs = list(
        session.execute(select(SyncRunRow).order_by(SyncRunRow.id.desc()).limit(20)).scalars()
    )
    finished = next((r for r in runs if r.finished_at is not None and r.via == "http"), None)
    errors = tuple(r.error for r in runs if r.error)[:_LAST_ERRORS]
    return NodeStatus(
        node_id=ctx.node_id,
        parent_id=state.parent_id,
        enrolled=state.parent_id is not None,
        records=live,
        records_by_category=tuple(sorted(by_category.items())),
        ops_by_state=tuple((s, int(ops.get(s.value, 0))) for s in OpState),
        outbox_by_state=tuple((s, int(bundles.get(s.value, 0))) for s in BundleState),
        records_to_verify=int(to_verify),
        open_problems=int(open_problems),
        last_sync_at=finished.finished_at if finished else None,
        last_sync_ok=None if finished is None else finished.error is None,
        last_errors=errors,
    )


def _count_by(session: Session, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column)).all()
    return {str(value): int(count) for value, count in rows}


def _item(row: ProblemRow) -> ProblemItem:
    body = row.body
    message_zh, message_en = body.get("message_zh"), body.get("message_en")
    field = body.get("field")
    return ProblemItem(
        problem_id=row.problem_id,
        source=row.source,
        kind=row.kind,
        record_id=row.record_id,
        message_zh=message_zh if isinstance(message_zh, str) else "",
        message_en=message_en if isinstance(message_en, str) else "",
        field=field if isinstance(field, str) else None,
        details=frozen_map(body),
        received_at=row.received_at,
        state=row.state,
        answer=row.answer,
        answer_reason=row.answer_reason,
        answer_sent=row.answer_batch is not None,
        resolution=row.resolution,
        closed_at=row.closed_at,
    )


def list_problems(session: Session, *, include_closed: bool = False) -> list[ProblemItem]:
    """Problems and rejections from the hub, oldest first (open and answered ones)."""
    query = select(ProblemRow).order_by(ProblemRow.received_at, ProblemRow.problem_id)
    if not include_closed:
        query = query.where(ProblemRow.state != CLOSED)
    return [_item(row) for row in session.execute(query).scalars()]


def answer_problem(
    ctx: NodeContext,
    session: Session,
    problem_id: str,
    answer: str,
    author: str,
    *,
    reason: str | None = None,
) -> ProblemItem:
    """Keep a collector's answer to a problem; a cross-check finding's answer (with its
    reason) goes up with the next authorised batch (:mod:`node.services.problems`).

    Raises:
        NotFoundError: no such problem.
        ConflictError: the problem is closed.
        FormError: a finding's reason is missing, or the answer is empty or too long.
    """
    row = _problems.answer_problem(
        ctx, session, problem_id, answer=answer, author=author, reason=reason
    )
    return _item(row)
