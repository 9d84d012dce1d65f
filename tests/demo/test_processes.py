"""The demo's processes: each in its own group, stopped whole, never outliving the demo;
and the demo directory: a previous demo's is wiped, anything else is left alone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hub.demo.errors import DemoBusyError, DemoDirError, DemoProcessError
from hub.demo.http import wait_until_up
from hub.demo.layout import MARKER, DemoLayout, free_ports, pid_alive
from hub.demo.processes import Supervisor, child_environment, stop_recorded
from tests.demo.helpers import all_dead

ROOT = Path(__file__).resolve().parents[2]


def _group(pgid: int) -> list[int]:
    """Live processes of a process group (zombies are dead)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


async def _members(pgid: int, count: int) -> list[int]:
    """The group's live processes once it has ``count`` (a slow machine forks slowly)."""
    deadline = time.monotonic() + 60
    while len(members := _group(pgid)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return members


async def test_stopping_a_process_stops_its_whole_group(layout: DemoLayout) -> None:
    supervisor = Supervisor(layout)
    info = await supervisor.start("shell", ["sh", "-c", "sleep 300 & sleep 300 & wait"])
    members = await _members(info.pid, 3)
    assert len(members) == 3
    assert layout.recorded_pids() == [info.pid]
    await supervisor.stop("shell")
    assert all_dead(members)
    assert layout.recorded_pids() == []
    assert supervisor.names == ()


async def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(layout: DemoLayout) -> None:
    supervisor = Supervisor(layout)
    info = await supervisor.start("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"])
    # The shell ignores SIGTERM only once it has run the trap; the sleep it starts next
    # shows that it has. (A fixed pause was too short on a loaded machine: SIGTERM came
    # first, the shell died of it and stop() returned -SIGTERM.)
    members = await _members(info.pid, 2)
    assert len(members) == 2
    code = await supervisor.stop("stubborn", grace=0.5)
    assert code == -signal.SIGKILL
    assert all_dead(members)


def test_a_child_dies_with_the_demo_even_when_the_demo_is_killed(layout: DemoLayout) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from hub.demo.layout import DemoLayout
        from hub.demo.processes import Supervisor

        async def main():
            supervisor = Supervisor(DemoLayout(Path({str(layout.root)!r})))
            info = await supervisor.start("sleeper", ["sleep", "300"])
            print(info.pid, flush=True)
            await asyncio.sleep(300)

        asyncio.run(main())
        """
    )
    demo = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert demo.stdout is not None
        child = int(demo.stdout.readline())
        assert pid_alive(child)
        demo.kill()
        demo.wait()
        assert all_dead([child])
    finally:
        demo.kill()
        demo.wait()
        if demo.stdout is not None:
            demo.stdout.close()


async def test_stop_recorded_stops_what_a_kept_demo_left_running(layout: DemoLayout) -> None:
    supervisor = Supervisor(layout, die_with_parent=False)
    info = await supervisor.start("kept", ["sleep", "300"])
    assert [i.pid for i in supervisor.detach()] == [info.pid]
    assert stop_recorded(layout, grace=5) == 1
    assert all_dead([info.pid])
    assert layout.recorded_pids() == []


def test_stop_recorded_leaves_a_reused_process_id_alone(layout: DemoLayout) -> None:
    document = {"processes": [{"name": "hub", "pid": os.getpid(), "argv": ["muster", "hub"]}]}
    layout.processes.write_text(json.dumps(document))
    assert stop_recorded(layout, grace=0.1) == 0
    assert pid_alive(os.getpid())


def test_children_do_not_inherit_the_demos_muster_settings() -> None:
    given = {"MUSTER_HUB_LISTEN_PORT": "8480", "MUSTER_PASSPHRASE_FILE": "x", "MUSTER_DEBUG": "1"}
    assert child_environment({**given, "PATH": "/bin"}) == {"MUSTER_DEBUG": "1", "PATH": "/bin"}


async def test_a_process_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    [port] = free_ports(1)
    with pytest.raises(DemoProcessError, match="hub-370102 exited while starting") as caught:
        await wait_until_up(
            f"http://127.0.0.1:{port}/api/v1/status",
            timeout=5,
            alive=lambda: False,
            name="hub-370102",
            log=tmp_path / "hub.log",
        )
    assert str(tmp_path / "hub.log") in caught.value.diagnostics()


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(13)
    assert len(set(ports)) == 13
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_directory_that_is_not_a_demos_is_never_wiped(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(DemoDirError, match="holds files that are not a demo's"):
        DemoLayout(precious).prepare()
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_a_previous_demo_is_wiped_unless_it_still_runs(tmp_path: Path) -> None:
    layout = DemoLayout(tmp_path / "demo-run")
    layout.prepare()
    (layout.logs / "old.log").write_text("old")
    document = {"processes": [{"name": "me", "pid": os.getpid(), "argv": ["x"]}]}
    layout.processes.write_text(json.dumps(document))
    with pytest.raises(DemoBusyError, match="is still running"):
        layout.prepare()
    assert (layout.logs / "old.log").exists()
    layout.processes.write_text('{"processes": []}')
    layout.prepare()
    assert not (layout.logs / "old.log").exists()
    assert (layout.root / MARKER).exists()
    assert oct(layout.secrets.stat().st_mode & 0o777) == "0o700"
