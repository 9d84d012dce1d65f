"""Where everything of one demo run lives: one directory (``demo-run/`` by default).

::

    demo-run/
      .muster-demo          marks the directory as a demo's (only such a directory is wiped)
      processes.json        the running processes (pid, process group, log) for --stop
      commands.log          every ``muster`` command the demo ran, as an operator types it
      ledger.json           what each town collected and the events the scenario planted
      summary.json          the province summary the demo printed
      secrets/              passphrases and passwords, one file each (0600)
      root/                 the offline root of the key ceremony and the anchor file
      hubs/<site>/          a hub's data directory (``muster hub init --data``)
      nodes/<node id>/      a node's data directory (``muster node init --data``)
      readers/<node id>.*   the simulated card reader: its cards and the link to its pty
      usb/                  the "USB stick"
      reports/              reports the scenario writes
      logs/<name>.log       the output of each process
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.demo.errors import DemoBusyError, DemoDirError
from node.fsutil import write_atomic

__all__ = ["MARKER", "DemoLayout", "free_ports", "pid_alive"]

MARKER: Final = ".muster-demo"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state is the field after the parenthesised command name.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_ports(count: int, host: str = "127.0.0.1") -> tuple[int, ...]:
    """``count`` distinct TCP ports free on ``host`` now, below the ephemeral range.

    The demo binds them seconds to a minute later; ports the kernel hands out for
    outgoing connections and ``bind(0)`` come from the ephemeral range, so choosing
    below it keeps other programs from taking them meanwhile.
    """
    ephemeral = _ephemeral_range()
    candidates = [p for p in range(20000, 32768) if p not in ephemeral]
    secrets.SystemRandom().shuffle(candidates)
    chosen: list[int] = []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return tuple(chosen)
    raise DemoBusyError(f"no {count} free ports on {host} between 20000 and 32767")


@dataclass(frozen=True, slots=True)
class DemoLayout:
    """The paths of a demo directory (see the module docstring)."""

    root: Path

    @property
    def processes(self) -> Path:
        return self.root / "processes.json"

    @property
    def commands_log(self) -> Path:
        return self.root / "commands.log"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def ceremony(self) -> Path:
        return self.root / "root"

    @property
    def anchor(self) -> Path:
        """The root anchor file the key ceremony writes (``muster root init``)."""
        return self.ceremony / "anchor.json"

    @property
    def usb(self) -> Path:
        return self.root / "usb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def hub_dir(self, site: str) -> Path:
        return self.root / "hubs" / site

    def node_dir(self, node_id: str) -> Path:
        return self.root / "nodes" / node_id

    def reader_cards(self, node_id: str) -> Path:
        return self.root / "readers" / f"{node_id}.json"

    def reader_link(self, node_id: str) -> Path:
        return self.root / "readers" / f"{node_id}.tty"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def secret_file(self, name: str) -> Path:
        return self.secrets / f"{name}.txt"

    def new_secret(self, name: str) -> Path:
        """Write a fresh random secret (passphrase or password) to its own 0600 file."""
        path = self.secret_file(name)
        write_atomic(path, (secrets.token_urlsafe(18) + "\n").encode(), mode=0o600)
        return path

    def read_secret(self, name: str) -> str:
        return self.secret_file(name).read_text("utf-8").split("\n", 1)[0]

    def recorded_pids(self) -> list[int]:
        """The process ids ``processes.json`` lists (none when there is no file)."""
        try:
            data = json.loads(self.processes.read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [int(p["pid"]) for p in data.get("processes", []) if isinstance(p, dict)]

    def prepare(self) -> None:
        """Make an empty demo directory, wiping a previous demo's.

        Raises:
            DemoDirError: the directory holds files and no demo marker: it is not wiped.
            DemoBusyError: the previous demo there still has running processes.
        """
        if self.root.exists():
            if not (self.root / MARKER).exists() and any(self.root.iterdir()):
                raise DemoDirError(
                    f"{self.root} holds files that are not a demo's: choose another --dir"
                )
            if any(pid_alive(pid) for pid in self.recorded_pids()):
                raise DemoBusyError(f"the demo in {self.root} is still running")
            shutil.rmtree(self.root)
        for directory in (self.root, self.secrets, self.ceremony, self.logs, self.usb):
            directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        (self.root / MARKER).write_text("a muster demo directory: `muster demo` may wipe it\n")
        (self.root / "readers").mkdir()
        (self.root / "hubs").mkdir()
        (self.root / "nodes").mkdir()
