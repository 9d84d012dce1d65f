"""Hybrid logical clocks: order, monotonicity, drift, overflow and the text form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import UsageError
from protocol.errors import OpError
from protocol.hlc import (
    DEFAULT_MAX_DRIFT_MS,
    MAX_COUNTER,
    MAX_WALL_MS,
    HybridClock,
    Timestamp,
    is_node_id,
)
from tests.protocol.op_strategies import node_ids, timestamps

NODE = "370102001-01"
OTHER = "370102002-01"
T0 = 1_767_225_600_000


def at(wall: int, counter: int = 0, node: str = NODE) -> Timestamp:
    return Timestamp(wall_ms=wall, counter=counter, node=node)


class FakeWall:
    """A wall clock the test sets by hand."""

    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


# --- order and text form -----------------------------------------------------------


def test_order_is_wall_then_counter_then_node() -> None:
    assert at(1, 9) < at(2, 0)
    assert at(1, 1, OTHER) < at(1, 2, NODE)
    assert at(1, 1, NODE) < at(1, 1, OTHER)


def test_encode_is_fixed_width_hex_then_node() -> None:
    stamp = Timestamp(wall_ms=0x0193A1B2C3D4, counter=1, node=NODE)
    assert stamp.encode() == "0193a1b2c3d40001@370102001-01"


@given(timestamps)
def test_encode_decode_round_trip(stamp: Timestamp) -> None:
    assert Timestamp.decode(stamp.encode()) == stamp


@given(timestamps, timestamps)
def test_text_order_is_timestamp_order(a: Timestamp, b: Timestamp) -> None:
    assert (a < b) == (a.encode() < b.encode())
    assert (a == b) == (a.encode() == b.encode())


@pytest.mark.parametrize(
    "text",
    [
        "0193A1B2C3D40001@370102001-01",  # uppercase hex
        "193a1b2c3d40001@370102001-01",  # 15 digits
        "0193a1b2c3d400010@370102001-01",  # 17 digits
        "0193a1b2c3d40001370102001-01",  # no @
        "0193a1b2c3d40001@",  # no node
        "0193a1b2c3d40001@ABC-01",  # node not digits
        "0193a1b2c3d40001@370102001-01 ",  # trailing space
        " 0193a1b2c3d40001@370102001-01",  # leading space
        "0193a1b2c3d40001@370102001-01\n",  # trailing newline
        "0193a1b2c3d4000g@370102001-01",  # not hex
        "0193a1b2c3d40001@370102001-01@x",  # two @
        "0193a1b2c3d40001@" + "1" * 5000,  # far too long
        "",
    ],
)
def test_decode_refuses_anything_but_the_exact_form(text: str) -> None:
    with pytest.raises(OpError, match="timestamp: expected 16 lowercase hex digits, '@'"):
        Timestamp.decode(text)


def test_decode_refuses_non_text() -> None:
    with pytest.raises(OpError, match="timestamp: expected text, got a value of type bytes"):
        Timestamp.decode(b"0193a1b2c3d40001@370102001-01")


# --- the value checks itself -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"wall_ms": -1, "counter": 0, "node": NODE},
            "wall_ms: expected an integer in 0..281474976710655, got -1",
        ),
        ({"wall_ms": MAX_WALL_MS + 1, "counter": 0, "node": NODE}, "wall_ms: expected an integer"),
        (
            {"wall_ms": True, "counter": 0, "node": NODE},
            "wall_ms: expected an integer in .*type bool",
        ),
        ({"wall_ms": 1.0, "counter": 0, "node": NODE}, "wall_ms: .*type float"),
        (
            {"wall_ms": 1, "counter": MAX_COUNTER + 1, "node": NODE},
            "counter: expected an integer in 0..65535, got 65536",
        ),
        ({"wall_ms": 1, "counter": -1, "node": NODE}, "counter: expected an integer"),
        (
            {"wall_ms": 1, "counter": 0, "node": "node-1"},
            "node: expected a node id like 370102001-01",
        ),
        ({"wall_ms": 1, "counter": 0, "node": "370102001-"}, "node: expected a node id"),
        ({"wall_ms": 1, "counter": 0, "node": "370102001-01@x"}, "node: expected a node id"),
    ],
)
def test_timestamp_refuses_bad_components(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OpError, match=message):
        Timestamp(**kwargs)  # type: ignore[arg-type]


def test_node_ids() -> None:
    assert is_node_id("370102001-01")
    assert is_node_id("3701")  # a hub may be named by its division code alone
    assert is_node_id("370100-hub")
    assert not is_node_id("3")
    assert not is_node_id("370102001-01-02")
    assert not is_node_id("370102001-AB")
    assert not is_node_id(370102001)


# --- the clock ----------------------------------------------------------------------


def test_first_event_takes_the_wall_clock() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    assert clock.last is None
    assert clock.now() == at(T0, 0)
    assert clock.last == at(T0, 0)


def test_events_within_one_millisecond_count_up() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    assert [clock.now() for _ in range(3)] == [at(T0, 0), at(T0, 1), at(T0, 2)]


def test_wall_clock_stepping_back_does_not_move_the_clock_back() -> None:
    wall = FakeWall(T0)
    clock = HybridClock(NODE, wall)
    first = clock.now()
    wall.ms = T0 - 60_000
    assert clock.now() == at(T0, 1) > first


def test_counter_overflow_moves_to_the_next_millisecond() -> None:
    clock = HybridClock(NODE, FakeWall(T0), last=at(T0, MAX_COUNTER))
    assert clock.now() == at(T0 + 1, 0)


def test_counter_overflow_on_observe_moves_to_the_next_millisecond() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    assert clock.observe(at(T0, MAX_COUNTER, OTHER)) == at(T0 + 1, 0)


def test_a_restarted_clock_continues_after_its_last_timestamp() -> None:
    clock = HybridClock(NODE, FakeWall(T0 - 5_000), last=at(T0, 7))
    assert clock.now() == at(T0, 8)


def test_observe_moves_past_a_remote_clock_that_is_ahead() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    assert clock.observe(at(T0 + 500, 3, OTHER)) == at(T0 + 500, 4)
    assert clock.now() == at(T0 + 500, 5)


def test_observe_keeps_the_local_clock_when_it_is_ahead() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    clock.now()
    assert clock.observe(at(T0 - 10, 9, OTHER)) == at(T0, 1)


def test_observe_takes_the_wall_clock_when_both_are_behind() -> None:
    wall = FakeWall(T0)
    clock = HybridClock(NODE, wall)
    clock.now()
    wall.ms = T0 + 1_000
    assert clock.observe(at(T0 + 10, 9, OTHER)) == at(T0 + 1_000, 0)


def test_observe_refuses_a_timestamp_too_far_ahead() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    clock.now()
    ahead = at(T0 + DEFAULT_MAX_DRIFT_MS + 1, 0, OTHER)
    with pytest.raises(
        OpError,
        match="timestamp from 370102002-01 is 86400001 ms ahead of our clock: "
        "at most 86400000 ms allowed",
    ) as caught:
        clock.observe(ahead)
    assert caught.value.fields["drift_ms"] == DEFAULT_MAX_DRIFT_MS + 1
    assert clock.last == at(T0, 0)  # unchanged


def test_observe_accepts_exactly_the_drift_bound() -> None:
    clock = HybridClock(NODE, FakeWall(T0))
    assert (
        clock.observe(at(T0 + DEFAULT_MAX_DRIFT_MS, 0, OTHER)).wall_ms == T0 + DEFAULT_MAX_DRIFT_MS
    )


def test_the_drift_bound_is_configurable() -> None:
    clock = HybridClock(NODE, FakeWall(T0), max_drift_ms=1_000)
    with pytest.raises(OpError, match="1001 ms ahead of our clock: at most 1000 ms allowed"):
        clock.observe(at(T0 + 1_001, 0, OTHER))


@pytest.mark.parametrize("reading", [-1, MAX_WALL_MS + 1, 1.5, None])
def test_a_broken_wall_clock_is_a_usage_error(reading: object) -> None:
    clock = HybridClock(NODE, lambda: reading)  # type: ignore[arg-type,return-value]
    with pytest.raises(UsageError, match="wall clock: expected integer milliseconds"):
        clock.now()


def test_clock_refuses_a_bad_node_id_or_drift_bound() -> None:
    with pytest.raises(UsageError, match="clock node: expected a node id"):
        HybridClock("hub", FakeWall())
    with pytest.raises(UsageError, match="clock max_drift_ms: expected a non-negative integer"):
        HybridClock(NODE, FakeWall(), max_drift_ms=-1)


def test_the_clock_cannot_pass_the_largest_encodable_time() -> None:
    clock = HybridClock(NODE, FakeWall(MAX_WALL_MS), last=at(MAX_WALL_MS, MAX_COUNTER))
    with pytest.raises(UsageError, match="wall time beyond 281474976710655 ms cannot be encoded"):
        clock.now()


# --- properties ---------------------------------------------------------------------

#: An event: (observe?, wall clock step, remote's offset from the wall clock,
#: remote counter, remote node). A plain local event ignores the last three.
events = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(-10_000, 10_000),
        st.integers(-DEFAULT_MAX_DRIFT_MS, DEFAULT_MAX_DRIFT_MS),
        st.integers(0, MAX_COUNTER),
        node_ids,
    ),
    min_size=1,
    max_size=60,
)


#: Low enough to test clocks near the epoch, high enough that a script's steps back
#: (60 of up to 10 s) and a remote's drift behind never make a negative remote time,
#: which is not a Timestamp at all.
EARLIEST_START = DEFAULT_MAX_DRIFT_MS + 60 * 10_000


@given(events, st.integers(EARLIEST_START, MAX_WALL_MS // 2))
def test_every_timestamp_is_greater_than_everything_before(
    script: list[tuple[bool, int, int, int, str]], start: int
) -> None:
    wall = FakeWall(start)
    clock = HybridClock(NODE, wall)
    previous: Timestamp | None = None
    for observe, step, offset, counter, node in script:
        wall.ms += step  # the wall clock may step back
        if observe:
            remote = Timestamp(wall_ms=wall.ms + offset, counter=counter, node=node)
            stamp = clock.observe(remote)
            assert stamp > remote
        else:
            stamp = clock.now()
        assert previous is None or stamp > previous
        assert stamp.wall_ms >= wall.ms  # never behind the wall clock either
        assert clock.last == stamp
        previous = stamp
