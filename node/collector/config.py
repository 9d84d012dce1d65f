"""Collector configuration: port, speed, timeouts, polling and the photo decoder.

The node loads one :class:`CollectorConfig` at start-up (``[collector]`` in its
TOML, through :meth:`CollectorConfig.from_mapping`); every field is documented
in ``docs/collector.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node.collector.commands import BAUD_RATES, Command
from node.collector.errors import CollectorConfigError

__all__ = ["DEFAULT_BAUDRATE", "CollectorConfig", "Timeouts"]

DEFAULT_BAUDRATE = 115200
#: Bounds that keep a typo from hanging the reader (seconds).
_MAX_TIMEOUT = 60.0
_MIN_POLL, _MAX_POLL = 0.05, 60.0
_MAX_RETRIES = 5


def _seconds(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CollectorConfigError(f"{name}: expected a number of seconds", setting=name)
    seconds = float(value)
    if not (math.isfinite(seconds) and low <= seconds <= high):
        raise CollectorConfigError(f"{name} {seconds} s: expected {low} to {high} s", setting=name)
    return seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """How long to wait for each command's reply.

    Attributes:
        scale: multiplies the command table's hints (a slow USB bridge may need 2).
        overrides: explicit seconds for some commands; they are not scaled.
    """

    scale: float = 1.0
    overrides: tuple[tuple[Command, float], ...] = ()

    def __post_init__(self) -> None:
        _seconds("timeouts.scale", self.scale, 0.1, 20.0)
        for command, seconds in self.overrides:
            if not isinstance(command, Command):
                raise CollectorConfigError(
                    "timeouts.overrides: expected (Command, seconds) pairs", setting="timeouts"
                )
            _seconds(f"timeouts.{command.value}", seconds, 0.01, _MAX_TIMEOUT)

    def for_command(self, command: Command) -> float:
        """Return the reply timeout of ``command`` in seconds."""
        for overridden, seconds in self.overrides:
            if overridden is command:
                return seconds
        return command.timeout_s * self.scale

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Timeouts:
        """Build from ``{"scale": 2, "read_base": 5.0, ...}``.

        Raises:
            CollectorConfigError: an unknown command name or a bad number.
        """
        names = {command.value: command for command in Command}
        overrides: list[tuple[Command, float]] = []
        for key, value in data.items():
            if key == "scale":
                continue
            if key not in names:
                raise CollectorConfigError(
                    f"timeouts.{key}: expected 'scale' or a command name", setting="timeouts"
                )
            overrides.append((names[key], _seconds(f"timeouts.{key}", value, 0.01, _MAX_TIMEOUT)))
        scale = _seconds("timeouts.scale", data.get("scale", 1.0), 0.1, 20.0)
        return cls(scale=scale, overrides=tuple(overrides))


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorConfig:
    """Settings of one ID-card reader.

    Attributes:
        port_url: a device path (``/dev/ttyUSB0``, a stable ``/dev/serial/by-id/...``
            path, a pty) or any pyserial URL (``loop://``, ``rfc2217://host:port``).
        baudrate: the speed tried first; 115200 is the module's default.
        timeouts: per-command reply timeouts.
        poll_interval: seconds between "find card" polls (the protocol wants 0.3 or more).
        photo_decoder: dotted path of a :class:`~node.collector.photo.PhotoDecoder`,
            or None to keep the raw WLT photo only.
        retries: how many times a command is resent after a line fault (bad frame,
            bad checksum, silence, a transport status) before the error is raised.
        probe_baud: when the module is silent at ``baudrate``, try the other speeds
            in the usual order.
    """

    port_url: str
    baudrate: int = DEFAULT_BAUDRATE
    timeouts: Timeouts = field(default_factory=Timeouts)
    poll_interval: float = 0.3
    photo_decoder: str | None = None
    retries: int = 1
    probe_baud: bool = True

    def __post_init__(self) -> None:
        if not self.port_url or not self.port_url.strip():
            raise CollectorConfigError("port_url: expected a device path or URL, got none")
        if self.baudrate not in BAUD_RATES:
            raise CollectorConfigError(
                f"baudrate {self.baudrate}: expected one of {BAUD_RATES}", setting="baudrate"
            )
        _seconds("poll_interval", self.poll_interval, _MIN_POLL, _MAX_POLL)
        if isinstance(self.retries, bool) or not 0 <= self.retries <= _MAX_RETRIES:
            raise CollectorConfigError(
                f"retries {self.retries}: expected 0 to {_MAX_RETRIES}", setting="retries"
            )

    @property
    def baud_order(self) -> tuple[int, ...]:
        """The speeds to try, configured one first."""
        if not self.probe_baud:
            return (self.baudrate,)
        return (self.baudrate, *(rate for rate in BAUD_RATES if rate != self.baudrate))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CollectorConfig:
        """Build from a parsed ``[collector]`` TOML table.

        Raises:
            CollectorConfigError: an unknown key or a value out of range.
        """
        known = {
            "port_url",
            "baudrate",
            "timeouts",
            "poll_interval",
            "photo_decoder",
            "retries",
            "probe_baud",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise CollectorConfigError(
                f"collector settings {unknown}: expected only {sorted(known)}"
            )
        values = dict(data)
        if "timeouts" in values:
            values["timeouts"] = Timeouts.from_mapping(values["timeouts"])
        try:
            return cls(**values)
        except TypeError as exc:
            raise CollectorConfigError("collector settings: port_url is required") from exc
