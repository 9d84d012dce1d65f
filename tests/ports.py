"""A TCP port on 127.0.0.1 for a server that another process will start (a subprocess
told ``--port N``), where the test cannot hand over a socket it already holds.

Not "bind port 0, close, pass the number on": the kernel hands out that range (the
ephemeral ports, ``net.ipv4.ip_local_port_range``) to every ``bind(0)`` and outgoing
``connect()`` on the machine, so in the seconds a subprocess takes to start, a
connection elsewhere (a test's PostgreSQL session, another test run) could take the
port, and the server then failed to start or the test talked to someone else. A port
below that range is never handed out by the kernel; one that binds now is free.

Servers inside the test process keep listening on the socket of a ``bind(0)`` instead
(``tests/hub/console/live.py``). ``hub.demo.layout.free_ports`` does the same for the
demo's processes; importing it here would load the whole demo package (its
``__init__`` imports the launcher and the scenario) into every test session.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Final

__all__ = ["server_port"]

_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: How far below the ephemeral range to look (above the well-known ports either way).
_SPAN: Final = 10_000


def _ephemeral_low() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def server_port() -> int:
    """A port below the ephemeral range that nothing on 127.0.0.1 holds now."""
    high = _ephemeral_low() - 1
    low = max(1024, high - _SPAN)
    candidates = list(range(low, high + 1))
    random.SystemRandom().shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {low}–{high} on 127.0.0.1")
