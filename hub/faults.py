"""Named fault points for the crash tests: the process can die (or stop) exactly there.

``MUSTER_FAULT_HUB=<point>[:<action>][,…]`` arms points; the action is ``kill`` (the
default: the process sends itself SIGKILL, as ``kill -9`` would), ``pause`` (the
process writes ``MUSTER_FAULT_HUB_MARK`` and sleeps, so a test can kill it there),
``hold`` (the process writes the mark and waits until the test removes it, each time
it passes the point: a test can stop the hub there and let it go on, one point at a
time) or ``enospc`` (an ``OSError`` "No space left on device" is raised there, as a
full disk would raise it from a write).
Unset, :func:`fault` costs one environment lookup.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path
from typing import Final

__all__ = ["FAULT_ENV", "MARK_ENV", "POINTS", "fault"]

FAULT_ENV: Final = "MUSTER_FAULT_HUB"
MARK_ENV: Final = "MUSTER_FAULT_HUB_MARK"

#: Every point the hub passes, in pipeline order (docs/hub.md "Crash safety").
POINTS: Final = (
    "intake.file_written",
    "intake.row_inserted",
    "intake.before_verdict",
    "intake.after_verdict",
    "claim.taken",
    "stage.opened",
    "stage.chunk_applied",
    "stage.before_commit",
    "stage.after_commit",
    "stage.items_spooled",
    "review.before_commit",
    "merge.chunk_applied",
    "merge.resolutions_applied",
    "merge.down_sealed",
    "merge.before_commit",
    "merge.after_commit",
    "down.file_written",
    "audit.appended",
    "verify.parked_promoted",
)


def fault(point: str) -> None:
    """Die or pause here if the environment arms ``point``."""
    armed = os.environ.get(FAULT_ENV)
    if not armed:
        return
    for item in armed.split(","):
        name, _, action = item.partition(":")
        if name.strip() != point:
            continue
        if action.strip() == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if action.strip() == "hold":
            _hold(os.environ.get(MARK_ENV), point)
            return
        if action.strip() == "pause":
            mark = os.environ.get(MARK_ENV)
            if mark:
                Path(mark).write_text(point)
            while True:  # until the test kills us
                time.sleep(3600)
        os.kill(os.getpid(), signal.SIGKILL)


def _hold(mark: str | None, point: str) -> None:
    if not mark:
        return
    path = Path(mark)
    path.write_text(point)
    while path.exists():  # until the test removes it
        time.sleep(0.02)
