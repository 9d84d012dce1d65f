"""docs/hub.md stays true: every config field, every state transition, every fault point;
and the bundle state machine refuses every pair its table does not list."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import StateError
from hub.config import HubConfig
from hub.faults import POINTS
from hub.states import TRANSITIONS, BundleState, Event, transition

DOC = (Path(__file__).resolve().parents[2] / "docs" / "hub.md").read_text("utf-8")


def test_every_config_field_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, flags=re.MULTILINE))
    fields = {f.name for f in dataclasses.fields(HubConfig)} - {"data_dir"}
    assert fields - documented == set()


def test_the_documented_transition_table_is_the_code_s() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| `([a-z_]+)` \| `([a-z_]+)` \|$", DOC, flags=re.MULTILINE)
    documented = {(BundleState(a), Event(e)): BundleState(b) for a, e, b in rows}
    assert documented == TRANSITIONS


def test_every_fault_point_is_documented() -> None:
    assert [p for p in POINTS if f"`{p}`" not in DOC] == []


@given(st.sampled_from(list(BundleState)), st.sampled_from(list(Event)))
def test_every_state_and_event_either_follows_the_table_or_is_refused(
    state: BundleState, event: Event
) -> None:
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(StateError, match=f"cannot {event}"):
            transition(state.value, event)
    else:
        assert transition(state.value, event) is expected


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_merged_is_final_and_every_walk_stays_in_known_states(events: list[Event]) -> None:
    state = BundleState.RECEIVED
    for event in events:
        try:
            after = transition(state.value, event)
        except StateError:
            continue
        assert state is not BundleState.MERGED
        state = after
    assert state in set(BundleState)


def test_only_a_rejected_bundle_comes_back_to_received() -> None:
    into_received = {k for k, v in TRANSITIONS.items() if v is BundleState.RECEIVED}
    assert into_received == {(BundleState.REJECTED, Event.RESEND)}


def test_every_fault_point_is_passed_somewhere_in_the_hub() -> None:
    hub = Path(__file__).resolve().parents[2] / "hub"
    source = "".join(p.read_text("utf-8") for p in hub.glob("*.py"))
    assert [p for p in POINTS if f'fault("{p}")' not in source] == []
