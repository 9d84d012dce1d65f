"""The merge rules, one small hand-written history per outcome."""

from __future__ import annotations

import pytest

from crypto.errors import UsageError
from protocol.merge import (
    DEFAULT_POLICY,
    STATUS_PENDING,
    Outcome,
    OutcomeKind,
    RecordState,
    StaticPolicy,
    apply_op,
    apply_ops,
    find_duplicates,
)
from protocol.ops import STATUS_FIELD, Op, OpKind
from tests.protocol.op_strategies import (
    ID1,
    ID2,
    R1,
    R2,
    R3,
    A,
    B,
    C,
    create,
    deliver,
    op_at,
    set_,
)


def run(*ops: Op, state: RecordState | None = None) -> tuple[RecordState, list[Outcome]]:
    outcomes: list[Outcome] = []
    for each in ops:
        result = apply_op(state, each, DEFAULT_POLICY)
        state = result.state
        outcomes.extend(result.outcomes)
    assert state is not None
    return state, outcomes


def kinds(outcomes: list[Outcome]) -> list[OutcomeKind]:
    return [o.kind for o in outcomes]


# --- APPLIED -----------------------------------------------------------------------


def test_create_of_a_new_record_is_applied_and_live() -> None:
    c = create(name="x", phone="1")
    state, outcomes = run(c)
    assert kinds(outcomes) == [OutcomeKind.APPLIED]
    assert outcomes[0].field is None
    assert state.values() == {"name": "x", "phone": "1", STATUS_FIELD: "live"}
    assert state.status == "live"
    assert state.version == c.op_id
    assert state.open_conflicts() == frozenset()


def test_set_based_on_the_current_version_fast_forwards() -> None:
    c = create()
    s = set_(c, "phone", "2", A, 10)
    state, outcomes = run(c, s)
    assert outcomes[-1] == Outcome(
        kind=OutcomeKind.APPLIED, record_id=R1, op_id=s.op_id, field="phone", old="1", new="2"
    )
    assert state.value("phone") == "2"
    field = state.field_state("phone")
    assert field is not None
    assert [h.op_id for h in field.heads] == [s.op_id]
    assert field.covered == frozenset({c.op_id})
    assert state.version == s.op_id


def test_first_set_of_a_field_the_create_left_out_is_applied() -> None:
    c = create()
    state, outcomes = run(c, set_(c, "address", "road 1", A, 10, base=()))
    assert outcomes[-1].kind is OutcomeKind.APPLIED
    assert state.value("address") == "road 1"


def test_set_of_an_identity_field_is_flagged_for_review_even_when_it_fast_forwards() -> None:
    c = create()
    _, outcomes = run(c, set_(c, "name", "y", A, 10))
    assert outcomes[-1].kind is OutcomeKind.APPLIED
    assert outcomes[-1].needs_review


def test_set_of_an_ordinary_field_needs_no_review() -> None:
    c = create()
    _, outcomes = run(c, set_(c, "phone", "2", A, 10))
    assert not outcomes[-1].needs_review


def test_delete_and_merge_into_write_the_status() -> None:
    c = create()
    d = op_at(OpKind.DELETE, A, 10, base=(c.op_id,), record_base=c.op_id, reason="entered twice")
    state, outcomes = run(c, d)
    assert outcomes[-1].kind is OutcomeKind.APPLIED
    assert (outcomes[-1].field, outcomes[-1].old, outcomes[-1].new) == (
        STATUS_FIELD,
        "live",
        "deleted",
    )
    assert state.status == "deleted"
    m = op_at(OpKind.MERGE_INTO, A, 20, value=R2, base=(d.op_id,), record_base=d.op_id)
    assert run(m, state=state)[0].status == f"merged:{R2}"


def test_a_set_before_its_create_leaves_the_record_pending() -> None:
    c = create()
    s = set_(c, "phone", "2", A, 10)
    state, _ = run(s)
    assert state.status == STATUS_PENDING
    state, outcomes = run(c, state=state)
    assert outcomes[-1].kind is OutcomeKind.APPLIED
    assert state.status == "live"
    assert state.value("phone") == "2"  # the create's phone was already superseded


# --- ALREADY_APPLIED ------------------------------------------------------------------


def test_a_replay_is_already_applied_and_changes_nothing() -> None:
    c = create()
    s = set_(c, "phone", "2", A, 10)
    once, _ = run(c, s)
    twice, outcomes = run(s, state=once)
    assert kinds(outcomes) == [OutcomeKind.ALREADY_APPLIED]
    assert twice == once


def test_a_replayed_create_is_already_applied() -> None:
    c = create()
    once, _ = run(c)
    again, outcomes = run(c, state=once)
    assert kinds(outcomes) == [OutcomeKind.ALREADY_APPLIED]
    assert again == once


def test_an_op_arriving_after_the_op_that_superseded_it_is_already_applied() -> None:
    c = create()
    s1 = set_(c, "phone", "2", A, 10)
    s2 = set_(s1, "phone", "3", A, 20)
    state, outcomes = run(c, s2, s1)
    assert kinds(outcomes) == [
        OutcomeKind.APPLIED,
        OutcomeKind.CONFLICT,
        OutcomeKind.ALREADY_APPLIED,
    ]
    assert state.value("phone") == "3"
    assert state.open_conflicts() == frozenset()  # s1 arriving closed the transient conflict


def test_a_chain_delivered_backwards_ends_where_it_does_forwards() -> None:
    c = create()
    s1 = set_(c, "phone", "2", A, 10)
    s2 = set_(s1, "phone", "3", A, 20)
    forwards, _ = run(c, s1, s2)
    backwards, _ = run(s2, s1, c)
    assert backwards == forwards
    assert backwards.open_conflicts() == frozenset()


# --- PARALLEL_UPDATE --------------------------------------------------------------------


def test_edits_of_different_fields_from_the_same_version_are_parallel_updates() -> None:
    c = create()
    phone = set_(c, "phone", "2", A, 10)
    name = set_(c, "name", "y", B, 11)
    state, outcomes = run(c, phone, name)
    assert kinds(outcomes) == [
        OutcomeKind.APPLIED,
        OutcomeKind.APPLIED,
        OutcomeKind.PARALLEL_UPDATE,
    ]
    assert outcomes[-1].field == "name"
    assert outcomes[-1].needs_review  # still an identity field
    assert state.values() == {"name": "y", "phone": "2", STATUS_FIELD: "live"}
    assert state.open_conflicts() == frozenset()


def test_an_author_who_had_seen_the_other_edit_makes_no_parallel_update() -> None:
    c = create()
    phone = set_(c, "phone", "2", A, 10)
    name = set_(c, "name", "y", B, 11, record_base=phone.op_id)
    _, outcomes = run(c, phone, name)
    assert outcomes[-1].kind is OutcomeKind.APPLIED


def test_without_a_record_base_no_parallel_update_is_reported() -> None:
    c = create()
    phone = set_(c, "phone", "2", A, 10)
    _, outcomes = run(c, phone, set_(c, "name", "y", B, 11, record_base=None))
    assert outcomes[-1].kind is OutcomeKind.APPLIED


# --- CONFLICT -----------------------------------------------------------------------------


def test_concurrent_edits_of_one_field_conflict_and_the_latest_wins() -> None:
    c = create()
    a = set_(c, "phone", "2", A, 10)
    b = set_(c, "phone", "3", B, 20)
    state, outcomes = run(c, a, b)
    conflict = outcomes[-1]
    assert conflict.kind is OutcomeKind.CONFLICT
    assert conflict.field == "phone"
    assert conflict.values == ("3", "2")
    assert conflict.heads == (b.op_id, a.op_id)
    assert (conflict.old, conflict.new) == ("2", "3")
    assert not conflict.needs_review  # phone is last-writer-wins, recorded and reviewable
    assert state.value("phone") == "3"
    assert state.open_conflicts() == frozenset({"phone"})


def test_a_conflict_on_an_identity_field_needs_review() -> None:
    c = create()
    _, outcomes = run(c, set_(c, "name", "y", A, 10), set_(c, "name", "z", B, 20))
    assert outcomes[-1].kind is OutcomeKind.CONFLICT
    assert outcomes[-1].needs_review


def test_the_policy_decides_which_fields_need_review() -> None:
    c = create()
    a, b = set_(c, "phone", "2", A, 10), set_(c, "phone", "3", B, 20)
    state: RecordState | None = None
    outcomes: list[Outcome] = []
    for each in (c, a, b):
        result = apply_op(state, each, StaticPolicy(review_fields=frozenset({"phone"})))
        state, outcomes = result.state, [*outcomes, *result.outcomes]
    assert outcomes[-1].needs_review


def test_equal_timestamps_from_two_nodes_are_ordered_by_node() -> None:
    c = create()
    a = set_(c, "phone", "from A", A, 10)
    b = set_(c, "phone", "from B", B, 10)  # same wall time and counter
    assert run(c, a, b)[0].value("phone") == "from B"  # "370102002-01" > "370102001-01"
    assert run(c, b, a)[0].value("phone") == "from B"


def test_a_resolution_naming_every_head_closes_the_conflict() -> None:
    c = create()
    a = set_(c, "phone", "2", A, 10)
    b = set_(c, "phone", "3", B, 20)
    fix = set_((a, b), "phone", "2", C, 30, reason="checked with the family")
    state, outcomes = run(c, a, b, fix)
    assert outcomes[-1].kind is OutcomeKind.APPLIED
    assert state.open_conflicts() == frozenset()
    assert state.value("phone") == "2"


def test_a_resolution_naming_only_some_heads_leaves_the_conflict_open() -> None:
    c = create()
    a, b = set_(c, "phone", "2", A, 10), set_(c, "phone", "3", B, 20)
    state, outcomes = run(c, a, b, set_(a, "phone", "4", C, 30))
    assert outcomes[-1].kind is OutcomeKind.CONFLICT
    assert state.open_conflicts() == frozenset({"phone"})


def test_a_second_create_conflicts_on_every_field_it_shares() -> None:
    first = create(A, 0, name="x", phone="1")
    second = create(B, 5, name="x", address="road 1")
    state, outcomes = run(first, second)
    conflicted = {o.field for o in outcomes if o.kind is OutcomeKind.CONFLICT}
    assert conflicted == {"name", STATUS_FIELD}
    assert state.value("address") == "road 1"
    assert state.open_conflicts() == frozenset({"name", STATUS_FIELD})


def test_delete_concurrent_with_merge_into_conflicts_on_the_status() -> None:
    c = create()
    d = op_at(OpKind.DELETE, A, 10, base=(c.op_id,), record_base=c.op_id)
    m = op_at(OpKind.MERGE_INTO, B, 20, value=R2, base=(c.op_id,), record_base=c.op_id)
    state, outcomes = run(c, d, m)
    assert outcomes[-1].kind is OutcomeKind.CONFLICT
    assert outcomes[-1].field == STATUS_FIELD
    assert state.status == f"merged:{R2}"


# --- DUPLICATE ----------------------------------------------------------------------------


def test_a_create_whose_id_number_is_held_elsewhere_is_a_duplicate() -> None:
    c = create(name="x", id_number=ID1)
    result = apply_op(
        None, c, DEFAULT_POLICY, holder_of=lambda number: [R3] if number == ID1 else []
    )
    assert [o.kind for o in result.outcomes] == [OutcomeKind.APPLIED, OutcomeKind.DUPLICATE]
    duplicate = result.outcomes[-1]
    assert (duplicate.field, duplicate.others, duplicate.needs_review) == ("id_number", (R3,), True)
    assert ID1 not in repr(duplicate)  # the number itself is personal data


def test_a_record_is_not_its_own_duplicate() -> None:
    c = create(name="x", id_number=ID1)
    result = apply_op(None, c, DEFAULT_POLICY, holder_of=lambda number: [R1])
    assert [o.kind for o in result.outcomes] == [OutcomeKind.APPLIED]


def test_a_set_that_takes_another_records_number_is_a_duplicate() -> None:
    c = create(name="x", id_number=ID2)
    state, _ = run(c)
    result = apply_op(
        state, set_(c, "id_number", ID1, A, 10), DEFAULT_POLICY, holder_of=lambda n: [R2]
    )
    assert [o.kind for o in result.outcomes] == [OutcomeKind.APPLIED, OutcomeKind.DUPLICATE]


def test_an_edit_that_leaves_the_number_alone_does_not_look_up_holders() -> None:
    c = create(name="x", id_number=ID1)
    state, _ = run(c)

    def fail(number: str) -> list[str]:
        raise AssertionError("looked up")

    apply_op(state, set_(c, "phone", "2", A, 10), DEFAULT_POLICY, holder_of=fail)


def test_apply_ops_finds_duplicates_within_the_batch() -> None:
    first = create(A, 0, R1, name="x", id_number=ID1)
    second = create(B, 5, R2, name="y", id_number=ID1)
    states, outcomes = apply_ops({}, [first, second], DEFAULT_POLICY)
    duplicates = [o for o in outcomes if o.kind is OutcomeKind.DUPLICATE]
    assert [(o.record_id, o.others) for o in duplicates] == [(R2, (R1,))]
    assert find_duplicates(states.values()) == {ID1: frozenset({R1, R2})}


def test_a_deleted_record_holds_no_number() -> None:
    first = create(A, 0, R1, name="x", id_number=ID1)
    gone = op_at(OpKind.DELETE, A, 10, R1, base=(first.op_id,), record_base=first.op_id)
    second = create(B, 20, R2, name="y", id_number=ID1)
    states, outcomes = apply_ops({}, [first, gone, second], DEFAULT_POLICY)
    assert OutcomeKind.DUPLICATE not in [o.kind for o in outcomes]
    assert find_duplicates(states.values()) == {}


def test_apply_ops_asks_holder_of_only_about_records_outside_the_batch() -> None:
    first = create(A, 0, R1, name="x", id_number=ID1)
    moved = set_(first, "id_number", ID2, A, 10)
    second = create(B, 20, R2, name="y", id_number=ID1)
    # The hub's index still says R1 holds ID1; the batch moved R1 to ID2.
    _, outcomes = apply_ops(
        {}, [first, moved, second], DEFAULT_POLICY, holder_of=lambda n: [R1, R3] if n == ID1 else []
    )
    duplicates = [o for o in outcomes if o.kind is OutcomeKind.DUPLICATE]
    assert [(o.record_id, o.others) for o in duplicates] == [(R1, (R3,)), (R2, (R3,))]


# --- misuse ---------------------------------------------------------------------------------


def test_applying_an_op_to_another_records_state_is_a_usage_error() -> None:
    state, _ = run(create(record=R1))
    with pytest.raises(
        UsageError, match="apply_op: the state and the op are for different records"
    ):
        apply_op(state, create(record=R2), DEFAULT_POLICY)


def test_state_is_immutable_and_its_repr_names_no_values() -> None:
    state, _ = run(create(name="Zhang San", id_number=ID1))
    with pytest.raises(AttributeError):
        state.record_id = R2
    assert "Zhang San" not in repr(state)
    assert ID1 not in repr(state)


def test_apply_ops_gives_the_states_of_applying_one_by_one() -> None:
    history = [create(), create(B, 5, R2)]
    assert deliver(history) == apply_ops({}, history, DEFAULT_POLICY).states


def test_states_with_values_equal_only_in_python_are_different() -> None:
    state, _ = run(create(phone=1))
    values, versions = state.to_row()
    assert RecordState.from_row(R1, values, versions) == state
    assert RecordState.from_row(R1, {**values, "phone": True}, versions) != state
    assert RecordState.from_row(R1, {**values, "phone": 1.0}, versions) != state
