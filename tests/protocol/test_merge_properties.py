"""Convergence and the other order-independence properties of the merge rules.

Histories come from ``op_strategies.histories``: 3 to 5 simulated sites that create,
edit from the versions they hold, delete, merge, resolve and sync. The order
tests run under the ``convergence`` profile (tests/protocol/conftest.py): 500
examples in CI; the others under the session's profile.
"""

from __future__ import annotations

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.hlc import Timestamp
from protocol.merge import DEFAULT_POLICY, OutcomeKind, apply_op, apply_ops, find_duplicates
from protocol.ops import Op, OpKind
from tests.protocol.op_strategies import Site, canonical, deliver, histories

convergence = settings(settings.get_profile("convergence"))

History = tuple[list[Site], list[Op]]


@convergence
@given(histories(), st.data())
def test_every_delivery_order_gives_the_same_states_and_conflicts(
    history: History, data: st.DataObject
) -> None:
    _, ops = history
    expected = deliver(ops)
    for _ in range(3):
        order = data.draw(st.permutations(ops))
        replays = data.draw(st.lists(st.sampled_from(ops), max_size=5)) if ops else []
        at = data.draw(st.integers(0, len(order)))
        got = deliver([*order[:at], *replays, *order[at:]])
        assert canonical(got) == canonical(expected)
        assert {r: s.open_conflicts() for r, s in got.items()} == {
            r: s.open_conflicts() for r, s in expected.items()
        }


@convergence
@given(histories())
def test_sites_that_have_exchanged_everything_agree_with_any_replica(history: History) -> None:
    sites, ops = history
    for site in sites:  # every site receives every op, in its own order after its own
        for each in ops:
            site.receive(each)
    expected = canonical(deliver(ops))
    for site in sites:
        assert canonical(site.states) == expected


@given(histories())
def test_applying_everything_twice_is_applying_it_once(history: History) -> None:
    _, ops = history
    assert canonical(deliver(ops + ops)) == canonical(deliver(ops))


@given(histories(), st.data())
def test_a_replay_after_everything_is_a_no_op(history: History, data: st.DataObject) -> None:
    _, ops = history
    if not ops:
        return
    states = deliver(ops)
    again = data.draw(st.sampled_from(ops))
    result = apply_op(states[again.record_id], again, DEFAULT_POLICY)
    assert [o.kind for o in result.outcomes] == [OutcomeKind.ALREADY_APPLIED]
    assert canonical({again.record_id: result.state}) == canonical(
        {again.record_id: states[again.record_id]}
    )


@convergence
@given(histories(), st.data())
def test_duplicates_are_found_whatever_the_order(history: History, data: st.DataObject) -> None:
    _, ops = history
    expected = find_duplicates(deliver(ops).values())
    order = data.draw(st.permutations(ops))
    states, outcomes = apply_ops({}, order, DEFAULT_POLICY)
    assert find_duplicates(states.values()) == expected
    # Every record in a final duplicate group was reported in some DUPLICATE outcome.
    reported: set[str] = set()
    for outcome in outcomes:
        if outcome.kind is OutcomeKind.DUPLICATE:
            reported.update((outcome.record_id, *outcome.others))
    for group in expected.values():
        assert group <= reported


# --- resolution ---------------------------------------------------------------------

RID = "00000000-0000-4000-8000-0000000000aa"
EDITORS = ("370102001-01", "370102002-01", "370103001-01", "370104001-01")
HUB = "3701"


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 4),
    st.sampled_from(["name", "phone"]),
    st.lists(st.integers(1, 10_000), min_size=4, max_size=4),
)
def test_a_resolution_closes_the_conflict_in_every_order(
    editors: int, field: str, walls: list[int]
) -> None:
    def stamp(node: str, wall: int) -> Timestamp:
        return Timestamp(wall_ms=wall, counter=0, node=node)

    create = Op(
        kind=OpKind.CREATE,
        record_id=RID,
        value={field: "first"},
        hlc=stamp(EDITORS[0], 0),
        author="u-1",
        site=EDITORS[0],
    )
    edits = [
        Op(
            kind=OpKind.SET,
            record_id=RID,
            field=field,
            value=f"edit {n}",
            base=(create.op_id,),
            record_base=create.op_id,
            hlc=stamp(EDITORS[n], walls[n]),
            author="u-1",
            site=EDITORS[n],
        )
        for n in range(editors)
    ]
    resolution = Op(
        kind=OpKind.SET,
        record_id=RID,
        field=field,
        value="agreed",
        base=tuple(e.op_id for e in edits),
        hlc=stamp(HUB, 5),  # an older clock than the edits': the base decides, not the time
        author="admin-1",
        site=HUB,
        reason="checked against the ID card",
    )
    for order in permutations([create, *edits, resolution]):
        state = deliver(order)[RID]
        assert state.open_conflicts() == frozenset()
        assert state.value(field) == "agreed"
