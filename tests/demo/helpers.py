"""Shared by the demo's tests: starting ``muster demo`` as a real process, waiting for ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.demo.layout import DemoLayout, pid_alive
from hub.demo.processes import child_environment

ROOT = Path(__file__).resolve().parents[2]


def demo_command(layout: DemoLayout, *options: str) -> list[str]:
    """``muster demo --records 3 --dir DIR OPTIONS``, run by this Python."""
    return [sys.executable, "-m", "node.cli.main", "demo", "--records", "3",
            "--dir", str(layout.root), *options]  # fmt: skip


def start_demo(layout: DemoLayout, *options: str, **popen: Any) -> subprocess.Popen[str]:
    """``muster demo`` as its own process, without the shell's ``MUSTER_…`` settings."""
    return subprocess.Popen(
        demo_command(layout, *options),
        cwd=ROOT,
        env={**child_environment(), "PYTHONPATH": str(ROOT)},
        text=True,
        **popen,
    )


def all_dead(pids: Iterable[int], seconds: float = 10.0) -> bool:
    """Whether every process ends within ``seconds``."""
    waiting = list(pids)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in waiting):
            return True
        time.sleep(0.05)
    return False
