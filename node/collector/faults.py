"""Scriptable misbehaviour of the simulated reader.

A :class:`Fault` says what goes wrong, on which command, how often and after
how many good answers; a :class:`FaultScript` hands out the faults in order as
requests arrive. :func:`shape_reply` turns a good reply's bytes into what a
misbehaving device puts on the wire, as (pause, bytes) pieces. All of it is
pure: the randomness comes in as a :class:`random.Random`.

The command-line form, for ``muster collector simulate --fault``, is
``KIND[:COMMAND[:TIMES]][:key=value...]`` — e.g. ``bad_checksum:read_base:1``,
``silence:any:always``, ``unplug:find_card:1:seconds=2``,
``status:get_sam_status:always:sw3=0x60``.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from crypto.errors import UsageError
from node.collector.commands import Command
from node.collector.frames import HEADER_SIZE, MAX_LENGTH, PREAMBLE

__all__ = ["Fault", "FaultKind", "FaultScript", "noise", "shape_reply"]


class FaultKind(enum.StrEnum):
    """What goes wrong with one reply."""

    BAD_CHECKSUM = "bad_checksum"  # the checksum byte is flipped
    BAD_LENGTH = "bad_length"  # the length field claims more than any frame
    STRAY_BYTES = "stray_bytes"  # line noise before the preamble
    SPLIT = "split"  # the reply in small pieces with pauses between them
    TRUNCATE = "truncate"  # only the first half of the reply, ever
    SILENCE = "silence"  # no reply at all
    DELAY = "delay"  # the reply after ``seconds``
    GARBAGE = "garbage"  # noise instead of the reply
    STATUS = "status"  # the reply carries status ``sw3`` and no data
    LIFT_AFTER_SELECT = "lift_after_select"  # the card leaves right after selection
    UNPLUG = "unplug"  # the pty closes; it comes back after ``seconds`` (0: never)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One scripted misbehaviour.

    Attributes:
        kind: what goes wrong.
        command: the command it hits; None for any.
        times: how many replies it spoils; None for every one.
        skip: how many matching requests are answered normally first.
        seconds: pause for ``delay`` and ``split``, replug delay for ``unplug``.
        sw3: the status byte ``status`` sends.
    """

    kind: FaultKind
    command: Command | None = None
    times: int | None = 1
    skip: int = 0
    seconds: float = 0.0
    sw3: int = 0x24

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise UsageError(f"fault times {self.times}: expected 1 or more, or always")
        if self.skip < 0 or self.seconds < 0 or not 0 <= self.sw3 <= 0xFF:
            raise UsageError("fault skip, seconds and sw3: expected non-negative, sw3 a byte")
        if self.kind is FaultKind.LIFT_AFTER_SELECT and self.command not in (
            None,
            Command.SELECT_CARD,
        ):
            raise UsageError("lift_after_select: expected command select_card")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse ``KIND[:COMMAND[:TIMES]][:key=value...]``.

        Raises:
            UsageError: an unknown kind, command or key, or a bad number.
        """
        parts = spec.split(":")
        positional = [part for part in parts if "=" not in part]
        options = dict(part.split("=", 1) for part in parts if "=" in part)
        if not 1 <= len(positional) <= 3 or not set(options) <= {"seconds", "sw3", "skip"}:
            raise UsageError(f"fault {spec!r}: expected KIND[:COMMAND[:TIMES]][:key=value...]")
        try:
            kind = FaultKind(positional[0])
            name = positional[1] if len(positional) > 1 else "any"
            command = None if name == "any" else Command(name)
            count = positional[2] if len(positional) > 2 else "1"
            return cls(
                kind=kind,
                command=command,
                times=None if count == "always" else int(count),
                skip=int(options.get("skip", "0")),
                seconds=float(options.get("seconds", "0")),
                sw3=int(options.get("sw3", "0x24"), 0),
            )
        except ValueError as exc:
            raise UsageError(f"fault {spec!r}: {exc}") from exc


@dataclass(slots=True)
class _Armed:
    fault: Fault
    skip: int
    left: int | None


@dataclass(slots=True)
class FaultScript:
    """The faults still to happen, matched against requests in order."""

    faults: tuple[Fault, ...] = ()
    _armed: list[_Armed] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._armed = [_Armed(fault=f, skip=f.skip, left=f.times) for f in self.faults]

    def add(self, fault: Fault) -> None:
        """Arm one more fault (tests arm them while the simulator runs)."""
        self._armed.append(_Armed(fault=fault, skip=fault.skip, left=fault.times))

    def take(self, command: Command | None) -> Fault | None:
        """Return the fault for a request carrying ``command``, or None to answer normally."""
        for armed in self._armed:
            target = armed.fault.command
            if target is not None and target is not command:
                continue
            if armed.fault.kind is FaultKind.LIFT_AFTER_SELECT and command is not (
                Command.SELECT_CARD
            ):
                continue
            if armed.skip:
                armed.skip -= 1
                continue
            if armed.left is not None:
                armed.left -= 1
                if armed.left == 0:
                    self._armed.remove(armed)
            return armed.fault
        return None


def noise(rng: random.Random, size: int) -> bytes:
    """Return ``size`` bytes of line noise that can never contain a preamble."""
    return bytes(rng.choice(range(0x00, 0xAA)) for _ in range(size))


def shape_reply(
    wire: bytes, fault: Fault | None, rng: random.Random
) -> tuple[tuple[float, bytes], ...]:
    """Return what a device with ``fault`` sends instead of ``wire``: (pause, bytes) pieces."""
    kind = None if fault is None else fault.kind
    if fault is None or kind in (FaultKind.STATUS, FaultKind.LIFT_AFTER_SELECT):
        return ((0.0, wire),)
    if kind is FaultKind.BAD_CHECKSUM:
        return ((0.0, wire[:-1] + bytes((wire[-1] ^ 0x5A,))),)
    if kind is FaultKind.BAD_LENGTH:
        return ((0.0, PREAMBLE + (MAX_LENGTH + 1).to_bytes(2, "big") + wire[HEADER_SIZE:]),)
    if kind is FaultKind.STRAY_BYTES:
        return ((0.0, noise(rng, rng.randrange(1, 24)) + wire),)
    if kind is FaultKind.GARBAGE:
        return ((0.0, noise(rng, rng.randrange(3, 40))),)
    if kind is FaultKind.TRUNCATE:
        return ((0.0, wire[: len(wire) // 2]),)
    if kind is FaultKind.DELAY:
        return ((fault.seconds, wire),)
    if kind is FaultKind.SPLIT:
        pieces: list[tuple[float, bytes]] = []
        start = 0
        while start < len(wire):
            size = rng.randrange(1, 8) if start < 64 else rng.randrange(64, 512)
            pieces.append((fault.seconds or 0.002, wire[start : start + size]))
            start += size
        return tuple(pieces)
    return ()  # silence and unplug send nothing
