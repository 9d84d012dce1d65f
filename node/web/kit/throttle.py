"""Login throttling: per login and per client address, with exponential backoff.

Pure and clock-free: every method takes ``now`` (seconds on any monotonic
scale). Once a key has ``free_failures`` failures, the next attempt must wait
``base_delay_s · 2^(failures - free_failures)`` seconds after the last failure,
capped at ``max_delay_s``; a key that has not failed for
``forget_after_s`` starts again from zero. Logins and addresses are counted
separately, each with its own allowance (an office shares one address, so the
address allowance is larger). A successful login clears that login's count
but not the address's, so a person with one valid account cannot use it to
reset the counter of an address that is guessing others' passwords.

The tables hold at most ``max_entries`` keys each (least recently failed
dropped first), so a flood of invented logins cannot exhaust memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from crypto.errors import UsageError

__all__ = ["LoginThrottle", "ThrottlePolicy"]

_LIMITS: Final = {
    "free_failures": (1, 1000),
    "address_free_failures": (1, 10000),
    "base_delay_s": (0.01, 3600.0),
    "max_delay_s": (0.01, 86400.0),
    "forget_after_s": (1.0, 7 * 86400.0),
    "max_entries": (10, 10_000_000),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    """How many failed logins are free and how the wait grows after that.

    Attributes:
        free_failures: failures of one login before it must wait (default 5).
        address_free_failures: failures from one client address before it must
            wait (default 20: several people may share an office's address).
        base_delay_s: the first wait, in seconds (default 1).
        max_delay_s: the longest wait, in seconds (default 900).
        forget_after_s: a key without failures for this long is forgotten (default 3600).
        max_entries: the most keys remembered per table (default 10,000).
    """

    free_failures: int = 5
    address_free_failures: int = 20
    base_delay_s: float = 1.0
    max_delay_s: float = 900.0
    forget_after_s: float = 3600.0
    max_entries: int = 10_000

    def __post_init__(self) -> None:
        for name, (low, high) in _LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(f"throttle {name}: expected a number, got {type(value).__name__}")
            if not low <= value <= high:
                raise UsageError(f"throttle {name}: expected {low}..{high}, got {value}")
        if self.base_delay_s > self.max_delay_s:
            raise UsageError("throttle: expected base_delay_s <= max_delay_s")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ThrottlePolicy:
        """Build a policy from a TOML table (unknown keys are refused).

        Raises:
            UsageError: an unknown key, or a value out of its range.
        """
        unknown = sorted(set(values) - set(_LIMITS))
        if unknown:
            raise UsageError(f"throttle: unknown setting {unknown[0]!r}", setting=unknown[0])
        return cls(**values)

    def delay(self, failures: int, free: int) -> float:
        """Return the wait after ``failures`` failures of a key allowed ``free`` of them."""
        excess = failures - free
        if excess < 0:
            return 0.0
        # 2**excess overflows a float long before any sane cap; cap the exponent first.
        exponent = min(excess, math.ceil(math.log2(self.max_delay_s / self.base_delay_s)) + 1)
        return min(self.max_delay_s, self.base_delay_s * 2.0**exponent)


@dataclass(slots=True)
class _Count:
    failures: int
    last: float


class _Table:
    def __init__(self, policy: ThrottlePolicy, free: int) -> None:
        self._policy = policy
        self._free = free
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def _live(self, key: str, now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last >= self._policy.forget_after_s:
            del self._counts[key]
            return None
        return count

    def wait(self, key: str, now: float) -> float:
        count = self._live(key, now)
        if count is None:
            return 0.0
        delay = self._policy.delay(count.failures, self._free)
        return max(0.0, count.last + delay - now)

    def fail(self, key: str, now: float) -> None:
        count = self._live(key, now)
        if count is None:
            count = self._counts[key] = _Count(failures=0, last=now)
        count.failures += 1
        count.last = max(count.last, now)
        self._counts.move_to_end(key)
        while len(self._counts) > self._policy.max_entries:
            self._counts.popitem(last=False)

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)


class LoginThrottle:
    """Counts failed logins and says how long the next attempt must wait."""

    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._logins = _Table(self.policy, self.policy.free_failures)
        self._addresses = _Table(self.policy, self.policy.address_free_failures)

    @staticmethod
    def _login_key(login: str) -> str:
        return login.strip().casefold()

    def retry_after(self, login: str, address: str, now: float) -> float:
        """Return the seconds until an attempt for ``login`` from ``address`` is allowed."""
        return max(
            self._logins.wait(self._login_key(login), now), self._addresses.wait(address, now)
        )

    def failed(self, login: str, address: str, now: float) -> None:
        """Count a failed attempt for ``login`` from ``address``."""
        self._logins.fail(self._login_key(login), now)
        self._addresses.fail(address, now)

    def succeeded(self, login: str) -> None:
        """Clear the count of ``login`` (the address keeps its count)."""
        self._logins.clear(self._login_key(login))

    @property
    def size(self) -> tuple[int, int]:
        """How many logins and addresses are remembered."""
        return len(self._logins), len(self._addresses)
