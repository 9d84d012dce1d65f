"""Applying ops to record states: the merge rules of docs/merge.md §3. Pure.

For a field ``f`` and an op ``X`` that writes it:

1. ``covered(f) |= X.base``, and every head now covered stops being a head.
2. If ``X`` is already a head or covered, it is ALREADY_APPLIED (step 1 still runs:
   an op that arrives after the op superseding it still carries news about what it
   superseded). Otherwise ``X`` becomes a head.
3. The winner is the head with the greatest ``(hlc, op id)``.

Heads are ``{x delivered : x not named in any delivered base}`` and covered is the
union of the delivered bases, so the state depends only on the set of ops
delivered, never on their order or repetition. Outcomes say what happened at each
step and may differ between orders.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Final

from crypto.errors import UsageError
from protocol.merge._reg import EMPTY, Reg, Version
from protocol.merge.policy import ID_NUMBER_FIELD, FieldPolicy
from protocol.merge.state import RecordState, make_state, parts
from protocol.ops import STATUS_FIELD, STATUS_LIVE, Op, OpKind, Value

__all__ = ["ApplyResult", "HolderLookup", "Outcome", "OutcomeKind", "apply_op"]

#: Record ids currently holding an ID number (live records, as the caller knows them).
HolderLookup = Callable[[str], Iterable[str]]


class OutcomeKind(enum.Enum):
    """What applying an op did."""

    #: The op wrote its field(s): a fast-forward, a first write, or a resolution.
    APPLIED = "applied"
    #: The op was delivered before, or something we hold already supersedes it.
    ALREADY_APPLIED = "already_applied"
    #: Applied, but the record had changes in other fields its author had not seen.
    PARALLEL_UPDATE = "parallel_update"
    #: The field now has more than one head: concurrent edits of the same field.
    CONFLICT = "conflict"
    #: The record now shares its ID number with another live record.
    DUPLICATE = "duplicate"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One thing that happened when an op was applied.

    Values are personal data, so they are left out of the repr.

    Attributes:
        kind: what happened.
        record_id: the record the op changed.
        op_id: the op.
        field: the field concerned; None for a create as a whole.
        old: the field's value before (APPLIED, PARALLEL_UPDATE, CONFLICT).
        new: the field's value after: the winner under last-writer-wins.
        values: CONFLICT: the competing values, winner first.
        heads: CONFLICT: the op ids of the competing heads, winner first; a
            resolution names all of them as its base.
        others: DUPLICATE: the other live records that hold the same ID number.
        needs_review: a reviewer must look before the hub accepts this.
    """

    kind: OutcomeKind
    record_id: str
    op_id: str
    field: str | None
    old: Value = dataclasses.field(default=None, repr=False)
    new: Value = dataclasses.field(default=None, repr=False)
    values: tuple[Value, ...] = dataclasses.field(default=(), repr=False)
    heads: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    needs_review: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """The state after one op, and what happened."""

    state: RecordState
    outcomes: tuple[Outcome, ...]


_NO_VALUE: Final = object()
_by_version: Final = itemgetter(0)


def apply_op(
    state: RecordState | None,
    op: Op,
    policy: FieldPolicy,
    *,
    holder_of: HolderLookup | None = None,
) -> ApplyResult:
    """Apply ``op`` to ``state`` (None for a record not seen before).

    Args:
        state: the record's current state, or None.
        op: the op; it must be for this record.
        policy: which fields need review.
        holder_of: returns the live records holding an ID number; without it no
            DUPLICATE is reported.

    Raises:
        UsageError: ``state`` belongs to another record.
    """
    key = op.sort_key
    if state is None:
        if op.kind is OpKind.CREATE:
            return _create_new(op, key, holder_of)
        state = RecordState(op.record_id)
    elif state.record_id != op.record_id:
        raise UsageError("apply_op: the state and the op are for different records")
    old_values, old_regs, old_version = parts(state)
    work = _Work(op, key, dict(old_values), dict(old_regs), policy)
    known = True
    for name, value in op.writes():
        known = work.write(name, value, op.base) and known
    outcomes = work.outcomes
    op_id = key[1]
    field = None if op.kind is OpKind.CREATE else op.target
    if known:
        outcomes.append(
            Outcome(
                kind=OutcomeKind.ALREADY_APPLIED,
                record_id=op.record_id,
                op_id=op_id,
                field=field,
            )
        )
    elif not outcomes:  # applied without conflict
        parallel = (
            op.record_base is not None
            and old_version is not None
            and old_version[1] != op.record_base
        )
        outcomes.append(
            Outcome(
                kind=OutcomeKind.PARALLEL_UPDATE if parallel else OutcomeKind.APPLIED,
                record_id=op.record_id,
                op_id=op_id,
                field=field,
                old=None if field is None else old_values.get(field),
                new=None if field is None else work.values[field],
                needs_review=op.kind is OpKind.SET and policy.requires_review(op.target),
            )
        )
    version = key if old_version is None or key > old_version else old_version
    new = make_state(op.record_id, work.values, work.regs, version)
    if holder_of is not None and _identity(old_values) != _identity(work.values):
        _check_duplicate(new, op_id, holder_of, outcomes)
    return ApplyResult(state=new, outcomes=tuple(outcomes))


def _create_new(op: Op, key: Version, holder_of: HolderLookup | None) -> ApplyResult:
    """The common case: a create for a record we have never seen. Two dict builds."""
    values: dict[str, Value] = dict(op.writes())
    regs = dict.fromkeys(values, Reg((key,), (), EMPTY))
    state = make_state(op.record_id, values, regs, key)
    outcomes = [Outcome(kind=OutcomeKind.APPLIED, record_id=op.record_id, op_id=key[1], field=None)]
    if holder_of is not None:
        _check_duplicate(state, key[1], holder_of, outcomes)
    return ApplyResult(state=state, outcomes=tuple(outcomes))


class _Work:
    """The copies of one record's values and registers that one op changes."""

    __slots__ = ("key", "op", "outcomes", "policy", "regs", "values")

    def __init__(
        self,
        op: Op,
        key: Version,
        values: dict[str, Value],
        regs: dict[str, Reg],
        policy: FieldPolicy,
    ) -> None:
        self.op, self.key, self.values, self.regs, self.policy = op, key, values, regs, policy
        self.outcomes: list[Outcome] = []

    def write(self, name: str, value: Value, base: tuple[str, ...]) -> bool:
        """Apply one write by the register rules; return whether it was known."""
        values, regs, key = self.values, self.regs, self.key
        reg = regs.get(name)
        if reg is None:
            regs[name] = Reg((key,), (), frozenset(base) if base else EMPTY)
            values[name] = value
            return False
        heads, others, covered = reg
        op_id = key[1]
        known = op_id in covered or any(head[1] == op_id for head in heads)
        if base and not covered.issuperset(base):
            covered = covered.union(base)
        elif known:
            return True  # a plain replay: nothing changes
        old = values[name]
        pairs = [
            (head, head_value)
            for head, head_value in zip(heads, (old, *others), strict=True)
            if head[1] not in covered
        ]
        if not known:
            pairs.append((key, value))
        if not pairs:
            raise UsageError(f"merge: field {name} lost every head (the state is damaged)")
        pairs.sort(key=_by_version, reverse=True)
        reg = Reg(tuple(head for head, _ in pairs), tuple(v for _, v in pairs[1:]), covered)
        regs[name] = reg
        values[name] = pairs[0][1]
        if len(pairs) > 1 and not known:
            self.outcomes.append(
                Outcome(
                    kind=OutcomeKind.CONFLICT,
                    record_id=self.op.record_id,
                    op_id=op_id,
                    field=name,
                    old=old,
                    new=pairs[0][1],
                    values=(pairs[0][1], *reg.others),
                    heads=tuple(head[1] for head in reg.heads),
                    needs_review=self.policy.requires_review(name),
                )
            )
        return known


def _identity(values: dict[str, Value]) -> tuple[object, object]:
    return values.get(STATUS_FIELD, _NO_VALUE), values.get(ID_NUMBER_FIELD, _NO_VALUE)


def _check_duplicate(
    state: RecordState, op_id: str, holder_of: HolderLookup, outcomes: list[Outcome]
) -> None:
    number = state.value(ID_NUMBER_FIELD)
    if state.status != STATUS_LIVE or not isinstance(number, str):
        return
    others = tuple(sorted({rid for rid in holder_of(number) if rid != state.record_id}))
    if others:
        outcomes.append(
            Outcome(
                kind=OutcomeKind.DUPLICATE,
                record_id=state.record_id,
                op_id=op_id,
                field=ID_NUMBER_FIELD,
                others=others,
                needs_review=True,
            )
        )
