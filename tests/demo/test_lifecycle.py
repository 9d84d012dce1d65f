"""The demo's processes end with it: after a failed check, an error, a cancellation and a
Ctrl-C; only ``--keep`` leaves a successful run's processes running, until ``--stop``.

The in-process tests drive ``run_demo`` with small scenarios whose steps start real
processes through the demo's own supervisor; the Ctrl-C test sends SIGINT to a real
``muster demo`` while it sets the province up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hub.demo.errors import DemoCheckError
from hub.demo.layout import DemoLayout, pid_alive
from hub.demo.run import run_demo
from hub.demo.scenario import Outcome, Scenario, Step, check, done
from hub.demo.world import DemoOptions, World
from node.cli.main import main
from tests.demo.helpers import all_dead, start_demo


class Sleepers:
    """Steps that start processes through the demo's supervisor, and remember them."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    async def start(self, world: World) -> Outcome:
        for name in ("sleeper-1", "sleeper-2"):
            info = await world.launcher.supervisor.start(name, ["sleep", "300"])
            self.pids.append(info.pid)
        return done("2 processes started")


async def _fail(world: World) -> Outcome:
    check(False, "review at 370102: expected 1 conflict, got 0")
    return done("never")


async def _forever(world: World) -> Outcome:
    await asyncio.sleep(300)
    return done("never")


def _scenario(*steps: tuple[str, Callable[[World], Awaitable[Outcome]]]) -> Scenario[World]:
    return Scenario(tuple(Step(name=name, title=name, action=action) for name, action in steps))


async def test_a_failed_check_stops_every_process_and_says_where(tmp_path: Path) -> None:
    layout, lines, sleepers = DemoLayout(tmp_path / "run"), list[str](), Sleepers()
    scenario = _scenario(("start", sleepers.start), ("review", _fail))
    with pytest.raises(DemoCheckError, match="expected 1 conflict, got 0") as caught:
        await run_demo(layout, DemoOptions(per_town=3), say=lines.append, scenario=scenario)
    assert caught.value.fields["step"] == "review"
    assert all_dead(sleepers.pids)
    assert layout.recorded_pids() == []
    assert lines[-2].endswith("FAILED: review at 370102: expected 1 conflict, got 0")
    assert lines[-1] == f"The demo stopped; the processes' logs are in {layout.logs}"
    assert json.loads(layout.ledger.read_text()) == {"events": {}, "records": [], "sealed": {}}


async def test_a_cancelled_demo_stops_every_process(tmp_path: Path) -> None:
    layout, sleepers = DemoLayout(tmp_path / "run"), Sleepers()
    scenario = _scenario(("start", sleepers.start), ("wait", _forever))
    task = asyncio.create_task(
        run_demo(layout, DemoOptions(per_town=3), say=lambda _: None, scenario=scenario)
    )
    deadline = asyncio.get_running_loop().time() + 120
    while len(sleepers.pids) < 2:
        # The demo ending (or failing) before its processes start is a failure, not a wait.
        assert not task.done(), task
        assert asyncio.get_running_loop().time() < deadline, "the demo never started its processes"
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all_dead(sleepers.pids)
    assert layout.log("demo").read_text("utf-8").splitlines()[-1] == (
        "interrupted (cancelled) during step 2/2 (wait) after 0 set-up commands; "
        "no further command or step started"
    )


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
async def test_a_signal_stops_the_demo_before_its_next_step_and_says_where(
    tmp_path: Path, signum: signal.Signals, status: int, word: str
) -> None:
    layout, sleepers = DemoLayout(tmp_path / "run"), Sleepers()
    lines, warned, later = list[str](), list[str](), list[str]()

    async def interrupt(world: World) -> Outcome:
        os.kill(os.getpid(), signum)
        await asyncio.sleep(300)
        return done("never")

    async def after(world: World) -> Outcome:
        later.append("ran")
        return done("ran")

    scenario = _scenario(("start", sleepers.start), ("interrupt", interrupt), ("after", after))
    # Should the demo not take the signal, this test fails instead of the whole session.
    previous = signal.signal(signum, lambda *_: pytest.fail(f"the demo did not take {signum}"))
    try:
        status_seen = await run_demo(
            layout, DemoOptions(per_town=3), say=lines.append, warn=warned.append, scenario=scenario
        )
    finally:
        signal.signal(signum, previous)
    assert status_seen == status
    assert later == []
    assert all_dead(sleepers.pids)
    assert warned == [
        f"muster: {word} during step 2/3 (interrupt): nothing further was started, and the 2 "
        f"processes the demo had started are stopped (logs in {layout.logs})"
    ]
    # The first step's line, and no line of the interrupted step or of any after it.
    assert len(lines) == 2, lines
    assert lines[1].split()[:5] == ["[", "1/3]", "start", "2", "processes"], lines


async def test_keep_leaves_the_processes_running_until_stop(tmp_path: Path) -> None:
    layout, lines, sleepers = DemoLayout(tmp_path / "run"), list[str](), Sleepers()
    options = DemoOptions(per_town=3, keep=True)
    try:
        assert (
            await run_demo(
                layout, options, say=lines.append, scenario=_scenario(("start", sleepers.start))
            )
            == 0
        )
        assert all(pid_alive(p) for p in sleepers.pids)
        assert sorted(layout.recorded_pids()) == sorted(sleepers.pids)
        assert f"Stop it with: muster demo --stop --dir {layout.root}" in lines
        assert main(["demo", "--stop", "--dir", str(layout.root)]) == 0
        assert all_dead(sleepers.pids)
    finally:
        for pid in sleepers.pids:
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)


def test_too_few_records_per_town_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--records", "2", "--dir", str(tmp_path / "run")]) == 2
    assert "--records: expected 3 to 500 records per town, got 2" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_while_the_province_comes_up_stops_at_once_and_says_where(tmp_path: Path) -> None:
    """Ctrl-C while set-up commands wait their turn: none of them starts after it, every
    process ends, and the demo says in one line what it interrupted (status 130)."""
    layout = DemoLayout(tmp_path / "run")
    demo = start_demo(layout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while len(seen) < 3 and time.monotonic() < deadline and demo.poll() is None:
            seen.update(layout.recorded_pids())
            time.sleep(0.2)
        assert len(seen) >= 3, "the demo never started three processes"
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 130, err[-2000:]
    # One line on stderr, no traceback.
    lines = err.splitlines()
    assert len(lines) == 1, err[-2000:]
    stopped = re.fullmatch(
        r"muster: interrupted during step 1/16 \(set up the province\): nothing further was "
        r"started, and the (\d+) processes the demo had started are stopped "
        rf"\(logs in {re.escape(str(layout.logs))}\)",
        lines[0],
    )
    assert stopped, lines[0]
    assert int(stopped[1]) >= 3
    # Nothing after the first line: no set-up command's output reached the terminal.
    assert out.splitlines() == [
        f"Muster demo in {layout.root}: a province on 127.0.0.1 (logs in {layout.logs})"
    ]
    # The demo's log says how many commands had started when the interrupt came, and the
    # transcript (a command's line is written as it starts) holds no more than those.
    said = [
        line
        for line in layout.log("demo").read_text("utf-8").splitlines()
        if line.startswith("interrupted")
    ]
    assert len(said) == 1, said
    found = re.fullmatch(
        r"interrupted \(SIGINT\) during step 1/16 \(set up the province\) after (\d+) "
        r"set-up commands; no further command or step started",
        said[0],
    )
    assert found, said[0]
    assert len(layout.commands_log.read_text("utf-8").splitlines()) == int(found[1])
    assert all_dead(sorted(seen | set(layout.recorded_pids())))
