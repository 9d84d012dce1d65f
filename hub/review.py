"""Review: the policy that decides who must look at a staged bundle, and the decisions.

Policy (docs/hub.md "Review policy"): a *clean* bundle (no conflicts, no duplicates,
no warnings, no identity edits, no deletes or merges) from a sender whose level is
in ``auto_approve_levels`` merges without review; anything else waits in ``staged``.

Decisions, by an account allowed to review:

- :func:`approve`, optionally with resolutions. A resolution is an op the hub makes
  when the bundle merges: ``set`` a field, based on every head it then has (closing a
  conflict), or ``merge`` a duplicate into the surviving record with the values picked
  for it (sets on the survivor, then ``merge_into``). The resolutions and a
  ``decision`` go down to the sending node as a ``decisions`` bundle.
- :func:`reject` with a reason: the bundle is never merged and a ``decisions`` bundle
  tells the node why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.config import LEVEL_NAMES
from hub.context import HubContext, get_state, set_state
from hub.downward import queue_down
from hub.errors import AlreadyDecidedError, NotFoundError
from hub.faults import fault
from hub.states import BundleState, Event, transition
from hub.store.bulk import load_states
from hub.store.models import BundleRow
from protocol.bundle import BundleKind
from protocol.divisions import level_of
from protocol.entries import Decision, DecisionStatus
from protocol.errors import FieldValueError, OpError
from protocol.hlc import HybridClock, Timestamp
from protocol.ops import STATUS_FIELD, Op, OpKind, canonical_value, is_record_id
from protocol.trust import site_of
from protocol.validation import validate_value

__all__ = [
    "Resolution",
    "approve",
    "auto_approves",
    "decisions_down",
    "reject",
    "resolution_ops",
]

_HLC_KEY = "hlc_last"


def auto_approves(ctx: HubContext, sender: str) -> bool:
    """Whether clean bundles from ``sender`` merge without review here."""
    level = LEVEL_NAMES[level_of(site_of(sender))]
    return level in (ctx.config.auto_approve_levels or ())


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """An administrator's fix, turned into ops when the bundle merges.

    Attributes:
        kind: ``set`` (one field of ``record_id``) or ``merge`` (``record_id`` into
            ``survivor``, after setting ``fields`` on the survivor).
        reason: why, shown to the collector.
    """

    kind: str
    record_id: str
    field: str | None = None
    value: Any = None
    survivor: str | None = None
    fields: tuple[tuple[str, Any], ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("set", "merge"):
            raise OpError(f"resolution kind: expected set or merge, got {self.kind[:20]!r}")
        if not is_record_id(self.record_id):
            raise OpError("resolution record: expected a record id")
        if self.kind == "set" and (self.field is None or self.field.startswith("_")):
            raise OpError("resolution set: expected a field")
        if self.kind == "merge" and (
            self.survivor is None
            or not is_record_id(self.survivor)
            or self.survivor == self.record_id
        ):
            raise OpError("resolution merge: expected another record as the survivor")
        if len(self.reason) > 2000:
            raise OpError("resolution reason: at most 2000 characters")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "record": self.record_id,
            "field": self.field,
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "survivor": self.survivor,
            "fields": {k: list(v) if isinstance(v, tuple) else v for k, v in self.fields},
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resolution:
        """Raises:
        OpError: malformed.
        """
        if not isinstance(data, Mapping):
            raise OpError("resolution: expected an object")
        fields = data.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise OpError("resolution fields: expected an object of field → value")
        try:
            return cls(
                kind=str(data.get("kind")),
                record_id=str(data.get("record")),
                field=data.get("field"),
                value=canonical_value(data["value"]) if data.get("value") is not None else None,
                survivor=data.get("survivor"),
                fields=tuple(sorted((str(k), canonical_value(v)) for k, v in fields.items())),
                reason=str(data.get("reason") or ""),
            )
        except (TypeError, ValueError) as exc:
            raise OpError(f"resolution: {exc}") from exc


def _check_values(ctx: HubContext, row: BundleRow, res: Resolution) -> None:
    today = (row.created or ctx.now()).date()
    pairs = [(res.field, res.value)] if res.kind == "set" else list(res.fields)
    for field, value in pairs:
        assert field is not None
        problem = validate_value(field, value, ctx.schema, today=today, divisions=ctx.divisions)
        if problem is not None:
            raise FieldValueError(
                f"resolution of record {res.record_id}: field {field} fails {problem.code}",
                problem=problem,
            )


def _decidable(session: Session, row_id: int) -> BundleRow:
    row = session.get(BundleRow, row_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no bundle {row_id}")
    if row.state != BundleState.STAGED.value:
        raise AlreadyDecidedError(
            f"bundle {row.bundle_id} is {row.state}: only a staged bundle can be decided"
        )
    return row


def approve(
    ctx: HubContext, row_id: int, *, by: str, resolutions: Sequence[Resolution] = ()
) -> None:
    """Approve a staged bundle (it merges next, with its resolutions).

    Raises:
        NotFoundError, AlreadyDecidedError: no such bundle, or not waiting for review.
        FieldValueError: a resolution's value is not valid for its field.
    """
    with ctx.store.write() as session:
        row = _decidable(session, row_id)
        for res in resolutions:
            _check_values(ctx, row, res)
        row.state = transition(row.state, Event.APPROVE)
        row.decided_by, row.decided_at = by, ctx.now()
        row.summary = {**(row.summary or {}), "resolutions": [r.to_dict() for r in resolutions]}
        append_audit(
            session,
            at=ctx.now(),
            actor=by,
            action="review.approved",
            subject=row.bundle_id or "",
            details={"row": row.id, "resolutions": len(resolutions)},
        )
        fault("review.before_commit")


def reject(ctx: HubContext, row_id: int, *, by: str, reason: str) -> None:
    """Reject a staged bundle with a reason; the sender learns it in a decisions bundle.

    Raises:
        NotFoundError, AlreadyDecidedError: no such bundle, or not waiting for review.
        OpError: the reason is empty or longer than 2000 characters.
    """
    if not reason.strip() or len(reason) > 2000:
        raise OpError("rejection reason: expected 1 to 2000 characters")
    with ctx.store.write() as session:
        row = _decidable(session, row_id)
        row.state = transition(row.state, Event.REJECT)
        row.decided_by, row.decided_at = by, ctx.now()
        row.reason, row.reason_code = reason, "rejected_by_reviewer"
        decisions_down(ctx, session, row, status=DecisionStatus.REJECTED, by=by, reason=reason)
        append_audit(
            session,
            at=ctx.now(),
            actor=by,
            action="review.rejected",
            subject=row.bundle_id or "",
            details={"row": row.id},
        )
        fault("review.before_commit")


def decisions_down(
    ctx: HubContext,
    session: Session,
    row: BundleRow,
    *,
    status: DecisionStatus,
    by: str,
    reason: str = "",
    ops: Sequence[Op] = (),
) -> None:
    """Queue a ``decisions`` bundle for the bundle's sender: the decision and any ops."""
    assert row.sender is not None
    assert row.bundle_id is not None
    decision = Decision(
        bundle_id=row.bundle_id,
        status=status,
        reason=reason,
        by=by,
        decided_at=ctx.now(),
        record_ids=tuple(sorted({op.record_id for op in ops})),
    )
    queue_down(
        ctx,
        session,
        recipient=row.sender,
        kind=BundleKind.DECISIONS,
        entries=[decision, *ops],
        about=row.id,
    )


def resolution_ops(
    ctx: HubContext, session: Session, resolutions: Sequence[Resolution], *, author: str
) -> list[Op]:
    """Turn resolutions into ops based on the store's current heads (inside a merge)."""
    last = get_state(session, _HLC_KEY)
    clock = HybridClock(
        ctx.site,
        lambda: int(ctx.now().timestamp() * 1000),
        last=Timestamp.decode(last) if last else None,
    )
    ids = {r.record_id for r in resolutions} | {r.survivor for r in resolutions if r.survivor}
    states = {rid: state for rid, (state, _, _) in load_states(session, ids).items()}
    ops: list[Op] = []

    def base_of(record_id: str, field: str) -> tuple[str, ...]:
        state = states.get(record_id)
        current = state.field_state(field) if state is not None else None
        return tuple(head.op_id for head in current.heads) if current is not None else ()

    def make(
        kind: OpKind,
        record_id: str,
        *,
        field: str | None,
        value: Any,
        base: tuple[str, ...],
        reason: str,
    ) -> None:
        state = states.get(record_id)
        ops.append(
            Op(
                kind=kind,
                record_id=record_id,
                field=field,
                value=value,
                base=base,
                record_base=state.version if state is not None else None,
                hlc=clock.now(),
                author=author,
                site=ctx.site,
                reason=reason or None,
            )
        )

    for res in resolutions:
        if res.kind == "set":
            assert res.field is not None
            base = base_of(res.record_id, res.field)
            make(
                OpKind.SET,
                res.record_id,
                field=res.field,
                value=res.value,
                base=base,
                reason=res.reason,
            )
            continue
        assert res.survivor is not None
        for field, value in res.fields:
            base = base_of(res.survivor, field)
            make(OpKind.SET, res.survivor, field=field, value=value, base=base, reason=res.reason)
        base = base_of(res.record_id, STATUS_FIELD)
        make(
            OpKind.MERGE_INTO,
            res.record_id,
            field=None,
            value=res.survivor,
            base=base,
            reason=res.reason,
        )
    if clock.last is not None:
        set_state(session, _HLC_KEY, clock.last.encode())
    return ops
