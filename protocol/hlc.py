"""Hybrid logical clocks: timestamps that order every op in the federation.

A :class:`Timestamp` is ``(wall_ms, counter, node)``: milliseconds since the Unix
epoch as the issuing node last knew them, a counter for events within one
millisecond, and the issuing node's id as the final tie-break, so the order is
total. :class:`HybridClock` issues timestamps that only ever grow, even when the
machine's wall clock steps back, and folds in the timestamps it receives
(Kulkarni et al., "Logical Physical Clocks", 2014).

The text form (:meth:`Timestamp.encode`) sorts like the timestamps themselves;
``docs/adr/0003-hlc-encoding.md`` gives the grammar and the reasons.

The clock is the one mutable object here. The wall clock is injected, so this
module never reads the time itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeGuard

from crypto.errors import UsageError
from protocol.errors import OpError

__all__ = [
    "DEFAULT_MAX_DRIFT_MS",
    "MAX_COUNTER",
    "MAX_WALL_MS",
    "NODE_ID_PATTERN",
    "HybridClock",
    "Timestamp",
    "is_node_id",
]

#: Largest counter value; one more moves the clock to the next millisecond.
MAX_COUNTER: Final = 0xFFFF
#: Largest wall time the 12-hex-digit encoding can carry (about the year 10889).
MAX_WALL_MS: Final = 0xFFFF_FFFF_FFFF
#: How far a received timestamp may run ahead of our wall clock (24 hours): wide
#: enough for a machine whose RTC keeps local time (UTC+8) read as UTC, narrow
#: enough that one badly set clock cannot win every last-writer-wins race for a year.
DEFAULT_MAX_DRIFT_MS: Final = 24 * 60 * 60 * 1000

#: A node id: a site's division code (2 to 12 digits), optionally followed by a
#: dash and a machine suffix of lowercase letters and digits: ``370102001-01``.
NODE_ID_PATTERN: Final = r"[0-9]{2,12}(?:-[0-9a-z]{1,16})?"

_NODE_RE: Final = re.compile(NODE_ID_PATTERN)
_ENCODED_RE: Final = re.compile(r"([0-9a-f]{12})([0-9a-f]{4})@(" + NODE_ID_PATTERN + ")")
_MAX_ENCODED_LEN: Final = 16 + 1 + 12 + 1 + 16


def is_node_id(text: object) -> TypeGuard[str]:
    """Return whether ``text`` is a well-formed node id (see :data:`NODE_ID_PATTERN`)."""
    return isinstance(text, str) and _NODE_RE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Timestamp:
    """A hybrid logical clock reading, ordered by ``(wall_ms, counter, node)``.

    Raises:
        OpError: a component is out of range or the node id is malformed.
    """

    wall_ms: int
    counter: int
    node: str

    def __post_init__(self) -> None:
        if type(self.wall_ms) is not int or not 0 <= self.wall_ms <= MAX_WALL_MS:
            raise OpError(
                f"timestamp wall_ms: expected an integer in 0..{MAX_WALL_MS}, "
                f"got {_describe(self.wall_ms)}"
            )
        if type(self.counter) is not int or not 0 <= self.counter <= MAX_COUNTER:
            raise OpError(
                f"timestamp counter: expected an integer in 0..{MAX_COUNTER}, "
                f"got {_describe(self.counter)}"
            )
        if not is_node_id(self.node):
            raise OpError("timestamp node: expected a node id like 370102001-01")

    def encode(self) -> str:
        """Return the sortable text form, e.g. ``"0193a1b2c3d40001@370102001-01"``.

        For any two timestamps ``a < b`` exactly when ``a.encode() < b.encode()``.
        """
        return f"{self.wall_ms:012x}{self.counter:04x}@{self.node}"

    @classmethod
    def decode(cls, text: object) -> Timestamp:
        """Parse the text form made by :meth:`encode`, strictly.

        Only the exact form :meth:`encode` produces is accepted: lowercase hex,
        fixed widths, one ``@``, a well-formed node id.

        Raises:
            OpError: ``text`` is not a string in that form.
        """
        if not isinstance(text, str):
            raise OpError(f"timestamp: expected text, got {_describe(text)}")
        match = _ENCODED_RE.fullmatch(text) if len(text) <= _MAX_ENCODED_LEN else None
        if match is None:
            raise OpError(
                "timestamp: expected 16 lowercase hex digits, '@' and a node id, "
                f"got {len(text)} characters that do not match"
            )
        wall, counter, node = match.groups()
        return cls(wall_ms=int(wall, 16), counter=int(counter, 16), node=node)


class HybridClock:
    """The clock of one node: issues and receives :class:`Timestamp` values.

    Every timestamp it returns is greater than every timestamp it returned or
    observed before, whatever the wall clock does. Persist :attr:`last` and pass
    it back as ``last`` after a restart, so a clock that stepped back while the
    node was down cannot make it reuse a timestamp.

    Args:
        node: this node's id.
        now_ms: the wall clock, milliseconds since the Unix epoch.
        max_drift_ms: how far ahead of ``now_ms()`` a received timestamp may be.
        last: the last timestamp this node issued or observed, if it has run before.

    Raises:
        UsageError: the node id, the drift bound or ``last`` is unusable.
    """

    __slots__ = ("_counter", "_max_drift_ms", "_node", "_now_ms", "_wall")

    def __init__(
        self,
        node: str,
        now_ms: Callable[[], int],
        *,
        max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
        last: Timestamp | None = None,
    ) -> None:
        if not is_node_id(node):
            raise UsageError("clock node: expected a node id like 370102001-01")
        if type(max_drift_ms) is not int or max_drift_ms < 0:
            raise UsageError(
                f"clock max_drift_ms: expected a non-negative integer, got {max_drift_ms!r}"
            )
        self._node = node
        self._now_ms = now_ms
        self._max_drift_ms = max_drift_ms
        self._wall = 0
        self._counter = -1  # so that the very first event can be (wall, 0)
        if last is not None:
            self._wall, self._counter = last.wall_ms, last.counter

    @property
    def node(self) -> str:
        """This node's id."""
        return self._node

    @property
    def last(self) -> Timestamp | None:
        """The greatest timestamp issued or observed so far, or None before the first."""
        if self._counter < 0:
            return None
        return Timestamp(wall_ms=self._wall, counter=self._counter, node=self._node)

    def now(self) -> Timestamp:
        """Return a timestamp for a local event (a new op).

        Raises:
            UsageError: the wall clock returned something other than a usable time.
        """
        physical = self._read_wall()
        if physical > self._wall:
            return self._set(physical, 0)
        return self._set(self._wall, self._counter + 1)

    def observe(self, remote: Timestamp) -> Timestamp:
        """Fold in a received timestamp and return one greater than both clocks.

        Raises:
            OpError: ``remote`` is more than ``max_drift_ms`` ahead of our wall
                clock; the clock is left unchanged.
            UsageError: the wall clock returned something other than a usable time.
        """
        physical = self._read_wall()
        drift = remote.wall_ms - physical
        if drift > self._max_drift_ms:
            raise OpError(
                f"timestamp from {remote.node} is {drift} ms ahead of our clock: "
                f"at most {self._max_drift_ms} ms allowed",
                node=remote.node,
                drift_ms=drift,
                max_drift_ms=self._max_drift_ms,
            )
        wall = max(self._wall, remote.wall_ms, physical)
        if wall == self._wall and wall == remote.wall_ms:
            counter = max(self._counter, remote.counter) + 1
        elif wall == self._wall:
            counter = self._counter + 1
        elif wall == remote.wall_ms:
            counter = remote.counter + 1
        else:
            counter = 0
        return self._set(wall, counter)

    def _read_wall(self) -> int:
        physical = self._now_ms()
        if type(physical) is not int or not 0 <= physical <= MAX_WALL_MS:
            raise UsageError(
                f"wall clock: expected integer milliseconds in 0..{MAX_WALL_MS}, "
                f"got {_describe(physical)}"
            )
        return physical

    def _set(self, wall: int, counter: int) -> Timestamp:
        if counter > MAX_COUNTER:
            # 65,536 events in one millisecond: borrow the next millisecond rather
            # than widen the counter; the wall clock catches up soon after.
            wall, counter = wall + 1, 0
        if wall > MAX_WALL_MS:
            raise UsageError(f"clock: wall time beyond {MAX_WALL_MS} ms cannot be encoded")
        self._wall, self._counter = wall, counter
        return Timestamp(wall_ms=wall, counter=counter, node=self._node)


def _describe(value: object) -> str:
    """Name a bad value without echoing arbitrary input into a message."""
    if type(value) is int:
        return str(value)
    return f"a value of type {type(value).__name__}"
