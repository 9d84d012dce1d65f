"""A scenario: named steps, each printing one line of what happened and checking itself.

A step's action does its work and returns an :class:`Outcome`: the line to print (with
figures), or :func:`not_available` when what it needs is not built yet — the line then
says so plainly, and nothing is faked. A step that finds something other than it
expected raises :class:`~hub.demo.errors.DemoCheckError` (:func:`check`); the scenario
prints the failure on the step's line and stops. :meth:`Scenario.with_action` puts a
new action into a named slot, which is how later work (packages, the cross-check round,
the province report) joins the demo.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from crypto.errors import MusterError
from hub.demo.errors import DemoCheckError, TopologyError

__all__ = ["Outcome", "Scenario", "Step", "StepRecord", "check", "done", "not_available"]

W = TypeVar("W")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a step did: its one line, and whether it could run at all."""

    line: str
    available: bool = True


def done(line: str) -> Outcome:
    """A step that ran: ``line`` says what happened, with figures."""
    return Outcome(line=line)


def not_available(why: str) -> Outcome:
    """A step whose machinery is not built yet: ``why`` names what is missing."""
    return Outcome(line=f"not available yet: {why}", available=False)


def check(condition: bool, message: str, **fields: Any) -> None:
    """Stop the demo unless ``condition`` holds.

    Raises:
        DemoCheckError: with ``message`` (what was expected and what was seen).
    """
    if not condition:
        raise DemoCheckError(message, **fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step(Generic[W]):
    """A named step: ``name`` is its stable slot name, ``title`` what it shows."""

    name: str
    title: str
    action: Callable[[W], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    """A step as it ran: its outcome and how long it took."""

    name: str
    title: str
    outcome: Outcome
    seconds: float


@dataclass(frozen=True, slots=True)
class Scenario(Generic[W]):
    """Steps run in order over one world ``W``."""

    steps: tuple[Step[W], ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise TopologyError("scenario: step names must be unique")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def with_action(self, name: str, action: Callable[[W], Awaitable[Outcome]]) -> Scenario[W]:
        """The same scenario with step ``name`` doing ``action``.

        Raises:
            TopologyError: there is no step of that name.
        """
        if name not in self.names:
            raise TopologyError(f"scenario: no step {name!r}")
        return Scenario(
            tuple(
                dataclasses.replace(s, action=action) if s.name == name else s for s in self.steps
            )
        )

    async def run(
        self,
        world: W,
        *,
        say: Callable[[str], None],
        begin: Callable[[str], None] = lambda _: None,
    ) -> tuple[StepRecord, ...]:
        """Run every step, printing one line each; ``begin`` is told which step starts
        (``step 3/16 (approvers authorise)``) before it does.

        Raises:
            DemoCheckError: a step's check failed (``step`` names it); later steps do not run.
            MusterError: a step failed otherwise; also printed on its line first.
        """
        width = max(len(s.title) for s in self.steps)
        count = len(self.steps)
        ran: list[StepRecord] = []
        for number, step in enumerate(self.steps, 1):
            head = f"[{number:>2}/{count}] {step.title:<{width}}"
            begin(f"step {number}/{count} ({step.title})")
            started = time.monotonic()
            try:
                outcome = await step.action(world)
            except MusterError as exc:
                say(f"{head}  FAILED: {exc.message}")
                if isinstance(exc, DemoCheckError):
                    exc.fields.setdefault("step", step.name)
                raise
            seconds = time.monotonic() - started
            timing = f"  ({seconds:.1f} s)" if outcome.available else ""
            say(f"{head}  {outcome.line}{timing}")
            ran.append(
                StepRecord(name=step.name, title=step.title, outcome=outcome, seconds=seconds)
            )
        return tuple(ran)
