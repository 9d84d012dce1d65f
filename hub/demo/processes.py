"""Starting and stopping the demo's processes, with no orphans left behind.

Every process starts in a session (and process group) of its own, so a Ctrl-C in the
terminal reaches only the demo, which then stops them; stopping one sends SIGTERM to
its whole group and SIGKILL to whatever is left after a grace period. Unless the demo
keeps them running (``--keep``), each child also asks the kernel for SIGTERM when the
demo itself dies, even by SIGKILL (``PR_SET_PDEATHSIG``), so an orphan cannot outlive
it. ``processes.json`` lists what runs, for ``muster demo --stop`` and for the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.demo.errors import DemoProcessError
from hub.demo.layout import DemoLayout, pid_alive
from node.fsutil import write_atomic

__all__ = ["ProcessInfo", "Supervisor", "child_environment", "muster_command", "stop_recorded"]

_PR_SET_PDEATHSIG: Final = 1
_GRACE_SECONDS: Final = 10.0
#: Settings a child must not inherit from the demo's own environment.
_PRIVATE_PREFIX: Final = "MUSTER_"
_KEPT: Final = frozenset({"MUSTER_DEBUG"})


def _load_prctl() -> Callable[[int, int], int] | None:
    # Looked up once in the parent: after fork only this call runs in the child,
    # which takes no lock another thread could hold.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[[int, int], int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return function


_PRCTL: Final = _load_prctl()


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def muster_command() -> tuple[str, ...]:
    """How to run ``muster`` here: the venv's script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("muster")
    if script.exists():
        return (str(script),)
    return (sys.executable, "-m", "node.cli.main")


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The demo's environment without ``MUSTER_…`` settings, which would override every
    child's configuration (``MUSTER_HUB_LISTEN_PORT`` would give all hubs one port)."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(_PRIVATE_PREFIX) or k in _KEPT}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessInfo:
    """A process the demo started."""

    name: str
    pid: int
    argv: tuple[str, ...]
    log: Path

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "pid": self.pid, "argv": list(self.argv), "log": str(self.log)}


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Supervisor:
    """The demo's processes: start, wait, stop; ``processes.json`` kept up to date."""

    def __init__(self, layout: DemoLayout, *, die_with_parent: bool = True) -> None:
        self._layout = layout
        self._die_with_parent = die_with_parent
        self._running: dict[str, tuple[ProcessInfo, asyncio.subprocess.Process]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._running)

    def info(self, name: str) -> ProcessInfo:
        return self._running[name][0]

    def returncode(self, name: str) -> int | None:
        """The exit status of a process that ended, or None while it runs."""
        return self._running[name][1].returncode

    def _write(self) -> None:
        document = {"processes": [info.to_dict() for info, _ in self._running.values()]}
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        write_atomic(self._layout.processes, text.encode("utf-8"), mode=0o644)

    async def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> ProcessInfo:
        """Start ``argv`` in its own session, its output appended to ``logs/<name>.log``.

        Raises:
            DemoProcessError: the program cannot be started.
        """
        if name in self._running and self._running[name][1].returncode is None:
            raise DemoProcessError(f"process {name} is running already")
        log = self._layout.log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=sink,
                    stderr=asyncio.subprocess.STDOUT,
                    env=dict(env) if env is not None else child_environment(),
                    start_new_session=True,
                    preexec_fn=_die_with_parent if self._die_with_parent else None,
                )
            except OSError as exc:
                raise DemoProcessError(f"cannot start {name}: {exc.strerror}", log=log) from exc
        info = ProcessInfo(name=name, pid=process.pid, argv=tuple(argv), log=log)
        self._running[name] = (info, process)
        self._write()
        return info

    async def stop(self, name: str, *, grace: float = _GRACE_SECONDS) -> int | None:
        """Stop one process and its group: SIGTERM, then SIGKILL after ``grace`` seconds.

        Returns its exit status.
        """
        entry = self._running.pop(name, None)
        if entry is None:
            return None
        info, process = entry
        if process.returncode is None:
            _signal_group(info.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                _signal_group(info.pid, signal.SIGKILL)
                await process.wait()
        # Whatever the leader left in its group goes too.
        _signal_group(info.pid, signal.SIGKILL)
        self._write()
        return process.returncode

    async def stop_all(self, *, grace: float = _GRACE_SECONDS) -> None:
        """Stop every process, the last started first (nodes before the hubs they use)."""
        names = list(reversed(self.names))
        for name in names:
            info, process = self._running[name]
            if process.returncode is None:
                _signal_group(info.pid, signal.SIGTERM)
        for name in names:
            await self.stop(name, grace=grace)

    def kill_all_now(self) -> None:
        """SIGKILL every group at once: the last resort when no event loop runs any more."""
        for info, _ in self._running.values():
            _signal_group(info.pid, signal.SIGKILL)

    def detach(self) -> tuple[ProcessInfo, ...]:
        """Leave the processes running (``--keep``); ``processes.json`` still lists them."""
        kept = tuple(info for info, _ in self._running.values())
        self._running.clear()
        return kept


def stop_recorded(layout: DemoLayout, *, grace: float = _GRACE_SECONDS) -> int:
    """Stop the processes ``processes.json`` lists (``muster demo --stop``); return how many.

    A listed process id is signalled only while its command line still ends with the
    arguments the demo started it with, so a reused id of another program is left alone.
    (A script's command line starts with its interpreter, hence the comparison of tails.)
    """
    try:
        document = json.loads(layout.processes.read_text("utf-8"))
    except (OSError, ValueError):
        return 0
    ours: list[int] = []
    for item in document.get("processes", []):
        pid, argv = int(item["pid"]), [str(a) for a in item["argv"]]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        parts = [part.decode("utf-8", "replace") for part in cmdline]
        if len(parts) >= len(argv) and parts[len(parts) - len(argv) + 1 :] == argv[1:]:
            ours.append(pid)
    for pid in ours:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(pid) or _group_alive(pid) for pid in ours):
        time.sleep(0.1)
    for pid in ours:
        _signal_group(pid, signal.SIGKILL)
    write_atomic(layout.processes, b'{"processes": []}\n', mode=0o644)
    return len(ours)
