"""state_to_row's short path for states whose fields share one register (a create)
gives exactly the row of the general encoding, for any state."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocol.merge import DEFAULT_POLICY, apply_ops
from protocol.merge._reg import EMPTY, Reg, Version
from protocol.merge._rows import _plain, _versions, state_to_row
from protocol.merge.state import parts
from protocol.ops import Value
from tests.protocol.op_strategies import R1, A, create, deliver, field_names, histories, values

versions_ = st.tuples(st.sampled_from(["0001", "0002", "0003"]), st.sampled_from(["a", "b"]))
covered_ = st.frozensets(st.sampled_from(["c1", "c2"]), max_size=2)


@st.composite
def regs_(draw: st.DrawFn) -> Reg:
    heads = tuple(draw(st.lists(versions_, min_size=1, max_size=3, unique=True)))
    others = tuple(draw(st.lists(values, min_size=len(heads) - 1, max_size=len(heads) - 1)))
    return Reg(heads, others, draw(st.just(EMPTY) | covered_))


@st.composite
def states(draw: st.DrawFn) -> tuple[dict[str, Value], dict[str, Reg], Version | None]:
    """Registers shared by several fields, equal but distinct, or of their own."""
    names = draw(st.lists(field_names, max_size=8, unique=True))
    pool = draw(st.lists(regs_(), min_size=1, max_size=3))
    regs: dict[str, Reg] = {}
    for name in names:
        reg = draw(st.sampled_from(pool))
        # A copy: equal to a shared register, but another object.
        regs[name] = Reg(*reg) if draw(st.booleans()) else reg
    vals = {name: draw(values) for name in names}
    return vals, regs, draw(st.none() | versions_)


def _general(
    vals: dict[str, Value], regs: dict[str, Reg], version: Version | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    names = sorted(regs)
    return {name: _plain(vals[name]) for name in names}, _versions(names, regs, version)


def _exact(row: object) -> str:
    # repr shows key order and each value's type (lists, tuples, bool or int).
    return repr(row)


@given(states())
def test_any_registers_encode_as_the_general_path_does(
    state: tuple[dict[str, Value], dict[str, Reg], Version | None],
) -> None:
    assert _exact(state_to_row(*state)) == _exact(_general(*state))


@given(histories())
def test_merged_states_encode_as_the_general_path_does(history: Any) -> None:
    _, ops = history
    for state in deliver(ops).values():
        assert _exact(state.to_row()) == _exact(_general(*parts(state)))


@given(st.dictionaries(field_names, values, max_size=8))
def test_a_create_takes_the_short_path_and_encodes_as_the_general_path_does(
    fields: dict[str, Value],
) -> None:
    state = apply_ops({}, [create(A, 0, R1, **fields)], DEFAULT_POLICY).states[R1]
    vals, regs, version = parts(state)
    assert len({id(reg) for reg in regs.values()}) == 1  # one shared register
    assert _exact(state.to_row()) == _exact(_general(vals, regs, version))
