"""Packages up the tree: district → city → province (issue 6, upward).

Every hub below the province runs its scheduled jobs (``hub/scheduler.py``): every few
seconds it packages what it merged for its parent, authorised by its own administrator
key (``package_authorisation = "auto"``: the demo sets it for the city hubs too), and
syncs with the parent. City and province hubs review what arrives from below (their
``auto_approve_levels`` are empty by default), so their administrators approve the held
packages through the admin API, level by level, until the province holds exactly the
live records its districts hold — the conflict's resolution and the duplicate's merge
included, since they travel up as ops like any other.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from hub.demo.scenario import Outcome, check, done
from hub.demo.summary import read_only_engine
from hub.demo.world import World
from protocol.merge import RecordState
from protocol.ops import STATUS_LIVE

__all__ = ["package_up"]

_WAIT_SECONDS: Final = 300.0


def _live(database: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every live record of a hub's store: record id → (values, versions)."""
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT record_id, status, data, versions FROM records")
            )
            return {
                str(rid): (_json(data), _json(versions))
                for rid, status, data, versions in rows
                if status == STATUS_LIVE
            }
    finally:
        engine.dispose()


def _json(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


async def _approve_held(world: World, hub: str) -> int:
    """The hub's administrator approves every package held for review; return how many."""
    approved = 0
    async with world.launcher.admin(hub) as admin:
        held = (await admin.get("/api/v1/admin/bundles", state="staged"))["bundles"]
        for bundle in held:
            check(
                bundle["kind"] == "package",
                f"packages at {hub}: a held {bundle['kind']} bundle from {bundle['sender']} "
                "was not expected",
            )
            await admin.post(f"/api/v1/admin/bundles/{bundle['row']}/approve", {})
            approved += 1
    return approved


async def package_up(world: World) -> Outcome:
    """Wait for the packages, approving them at each city and at the province."""
    province = world.province
    root = province.root.ident
    layout = world.layout
    districts = sorted({t.parent for t in world.towns if t.parent is not None})
    reviewers = [s.ident for s in province.hubs if s.ident not in districts]
    expected: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for district in districts:
        expected.update(_live(layout.hub_dir(district) / "hub.db"))
    approved: Counter[str] = Counter()
    deadline = time.monotonic() + _WAIT_SECONDS
    held = _live(layout.hub_dir(root) / "hub.db")
    while set(held) != set(expected):
        check(
            time.monotonic() < deadline,
            f"packages: the province holds {len(set(held) & set(expected))} of the "
            f"{len(expected)} live records of its districts after {_WAIT_SECONDS:.0f} s",
        )
        for hub in reviewers:
            approved[hub] += await _approve_held(world, hub)
        await asyncio.sleep(1.0)
        held = _live(layout.hub_dir(root) / "hub.db")
    conflict = world.ledger.events.get("conflict", {})
    record = conflict.get("record_id")
    if record in held:
        values, versions = held[record]
        state = RecordState.from_row(record, values, versions)
        check(
            not state.open_conflicts(),
            f"packages: the conflict resolved at {conflict.get('hub')} is still open at {root}",
        )
    categories = Counter(
        c for values, _ in held.values() for c in values.get("subject_category", [])
    )
    world.ledger.event(
        "packages", approved=dict(approved), province_records=len(held), categories=len(categories)
    )
    return done(
        f"{len(districts)} districts packaged for their cities and the cities for the province "
        f"(each authorised by its hub's own key); city and province administrators approved "
        f"{sum(approved.values())} packages in the admin API; the province holds all "
        f"{len(held)} live records of its districts, the conflict closed and the duplicate merged"
    )
