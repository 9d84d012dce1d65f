"""Watching a hub's inbox through its admin API until a bundle has been dealt with.

The hub verifies, stages and merges in the background; a step that sent a bundle waits
here until the bundle with the expected sequence number from that sender has reached
one of the states it expects (``merged``, ``staged`` for review, ``rejected``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, Final

from hub.demo.errors import DemoCheckError
from hub.demo.http import HubAdmin

__all__ = ["FINAL_STATES", "bundles_of", "wait_for_bundle"]

#: States a bundle rests in until someone acts.
FINAL_STATES: Final = frozenset({"merged", "staged", "rejected"})
_WAIT_SECONDS: Final = 180.0


async def bundles_of(admin: HubAdmin, sender: str) -> list[dict[str, Any]]:
    """Every bundle the hub holds from ``sender``, newest first."""
    found = await admin.get("/api/v1/admin/bundles", sender=sender, limit=500)
    bundles: list[dict[str, Any]] = found["bundles"]
    return bundles


async def wait_for_bundle(
    admin: HubAdmin,
    sender: str,
    seq: int,
    *,
    states: Iterable[str] = FINAL_STATES,
    timeout: float = _WAIT_SECONDS,
) -> dict[str, Any]:
    """Wait until the hub's bundle ``seq`` from ``sender`` is in one of ``states``.

    Raises:
        DemoCheckError: it reached another resting state, or ``timeout`` passed.
    """
    wanted = frozenset(states)
    deadline = time.monotonic() + timeout
    seen = "absent"
    while True:
        for bundle in await bundles_of(admin, sender):
            if bundle["seq"] != seq or bundle["kind"] != "delta":
                continue
            seen = str(bundle["state"])
            if seen in wanted:
                return bundle
            if seen in FINAL_STATES:
                raise DemoCheckError(
                    f"bundle {seq} from {sender} at {admin.base_url}: expected "
                    f"{' or '.join(sorted(wanted))}, got {seen}"
                    + (f" ({bundle['reason_code']})" if bundle.get("reason_code") else ""),
                    summary=bundle.get("summary"),
                )
        if time.monotonic() > deadline:
            raise DemoCheckError(
                f"bundle {seq} from {sender} at {admin.base_url}: expected "
                f"{' or '.join(sorted(wanted))} within {timeout:.0f} s, it is {seen}"
            )
        await asyncio.sleep(0.3)
