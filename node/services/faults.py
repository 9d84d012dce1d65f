"""Named pause points, so crash tests can kill the process exactly where they mean to.

When ``MUSTER_PAUSE_AT`` names a point the code reaches, the process writes the point's
name to ``MUSTER_PAUSE_FILE`` (if set) and waits there forever, with its transaction
open, until a test kills it with SIGKILL. Nothing happens otherwise: the check is one
environment lookup. The points are listed in docs/node.md ("Crash safety").
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final

__all__ = ["PAUSE_ENV", "PAUSE_FILE_ENV", "POINTS", "pause_point"]

PAUSE_ENV: Final = "MUSTER_PAUSE_AT"
PAUSE_FILE_ENV: Final = "MUSTER_PAUSE_FILE"
#: Every point the code has, and where it is.
POINTS: Final = frozenset(
    {
        # authorise: bundles sealed, batch, outbox and op rows written, not committed.
        "authorise.before_commit",
        # applying a down bundle: records, ops and inbox written, not committed.
        "apply.before_commit",
        # sync: a bundle uploaded and its receipt received, not yet stored.
        "sync.before_receipt",
    }
)


def pause_point(name: str) -> None:
    """Wait forever here if the environment asks for it (crash tests only)."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(name, "utf-8")
    while True:  # pragma: no cover - ended by SIGKILL
        time.sleep(3600)
