"""The demo's command runner: one command at a time, and none started once it is stopped.

``main`` is replaced by a stand-in that records each command and holds the first until
the test lets it go, so what runs after a cancellation is seen, not timed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Sequence

import pytest

from hub.demo import commands
from hub.demo.commands import CommandRunner
from hub.demo.layout import DemoLayout

#: How long a test waits for the held command to start before it fails (never a pass).
DEADLINE = 60.0


class HeldCommands:
    """A stand-in for ``main``: records every command; ``first`` waits for ``release``."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.running = threading.Event()
        self.release = threading.Event()

    def __call__(self, argv: Sequence[str]) -> int:
        self.ran.append(argv[0])
        if argv[0] == "first":
            self.running.set()
            assert self.release.wait(DEADLINE), "the test never released the first command"
            print("first: done")
        return 0

    async def first_started(self) -> None:
        started = await asyncio.to_thread(self.running.wait, DEADLINE)
        assert started, "the first command never started"


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldCommands:
    stand_in = HeldCommands()
    monkeypatch.setattr(commands, "main", stand_in)
    return stand_in


def _transcript(layout: DemoLayout) -> list[str]:
    return layout.commands_log.read_text("utf-8").splitlines()


async def test_a_waiting_command_whose_caller_is_cancelled_never_starts(
    layout: DemoLayout, held: HeldCommands
) -> None:
    async with CommandRunner(layout) as runner:
        first = asyncio.create_task(runner.run(["first"], log_name="a"))
        waiting = [asyncio.create_task(runner.run([f"queued-{n}"], log_name="a")) for n in range(3)]
        await held.first_started()
        for task in waiting:
            task.cancel()
        held.release.set()
        assert await first == "first: done\n"
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
        # The runner still takes new commands after its callers were cancelled.
        assert await runner.run(["later"], log_name="a") == ""
    assert held.ran == ["first", "later"]
    assert _transcript(layout) == ["muster first", "muster later"]


async def test_once_closed_no_waiting_or_new_command_starts(
    layout: DemoLayout, held: HeldCommands
) -> None:
    async with CommandRunner(layout) as runner:
        first = asyncio.create_task(runner.run(["first"], log_name="a"))
        waiting = asyncio.create_task(runner.run(["queued"], log_name="a"))
        await held.first_started()
        assert runner.close() == 1
        held.release.set()
        assert await first == "first: done\n"
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(asyncio.CancelledError):
            await runner.run(["new"], log_name="a")
    assert held.ran == ["first"]
    assert _transcript(layout) == ["muster first"]


async def test_leaving_waits_for_the_running_command_and_keeps_its_output_in_its_log(
    layout: DemoLayout, held: HeldCommands, capsys: pytest.CaptureFixture[str]
) -> None:
    stdout = sys.stdout
    async with CommandRunner(layout) as runner:
        first = asyncio.create_task(runner.run(["first"], log_name="a"))
        await held.first_started()
        # Released only once leaving the runner waits (the first time this task yields).
        asyncio.get_running_loop().call_soon(held.release.set)
    assert sys.stdout is stdout
    assert await first == "first: done\n"
    assert "first: done" not in capsys.readouterr().out
    assert layout.log("a").read_text("utf-8").endswith("$ muster first\nfirst: done\n")


async def test_a_command_s_log_lines_go_to_its_log_not_to_the_terminal(
    layout: DemoLayout, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def warns(argv: Sequence[str]) -> int:
        logging.getLogger("muster.test").warning("hub unreachable, retrying")
        return 0

    monkeypatch.setattr(commands, "main", warns)
    # What ``main``'s logging.basicConfig made in the demo's own process.
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(handler)
    try:
        async with CommandRunner(layout) as runner:
            await runner.run(["enroll"], log_name="a")
        logging.getLogger("muster.test").warning("the demo's own")
    finally:
        logging.getLogger().removeHandler(handler)
    assert capsys.readouterr().err == "the demo's own\n"
    assert "hub unreachable, retrying" in layout.log("a").read_text("utf-8")
