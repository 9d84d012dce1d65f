"""Review at the districts, through the admin JSON API a browser uses, and the decisions
coming back down to the towns.

Each district's administrator logs in (session cookie, CSRF token), lists the bundles
held for review, reads their findings, and decides: a conflict is closed by choosing
the value the hub shows (a ``set`` resolution based on every head), a duplicate is
merged into the record the other town collected first (``merge``), and a name changed
without proof is rejected with a reason. Anything else held is unexpected and stops the
demo. Then every town syncs and applies the ``decisions`` bundles that came down.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from hub.demo.html import text_of
from hub.demo.http import HubAdmin
from hub.demo.hubwatch import bundles_of, wait_for_bundle
from hub.demo.scenario import Outcome, check, done
from hub.demo.steps_towns import COLLECTOR, each, roles
from hub.demo.town import sync, todo_list
from hub.demo.world import World

__all__ = ["REJECTION_REASON", "decisions", "review"]

REJECTION_REASON: Final = "姓名更正须附户籍证明材料，请补充后重新提交"
CONFLICT_REASON: Final = "已电话核实，以最新号码为准"
DUPLICATE_REASON: Final = "同一人在两个街道重复采集，合并为先采集的记录"


async def _items(admin: HubAdmin, row: int) -> list[dict[str, Any]]:
    found = await admin.get(f"/api/v1/admin/bundles/{row}/items", limit=500)
    items: list[dict[str, Any]] = found["items"]
    return items


def _resolutions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    resolutions: list[dict[str, Any]] = []
    for item in items:
        if item["kind"] == "conflict":
            resolutions.append(
                {
                    "kind": "set",
                    "record": item["record_id"],
                    "field": item["field"],
                    "value": item["values"][0],
                    "reason": CONFLICT_REASON,
                }
            )
        elif item["kind"] == "duplicate":
            resolutions.append(
                {
                    "kind": "merge",
                    "record": item["record_id"],
                    "survivor": item["others"][0],
                    "reason": DUPLICATE_REASON,
                }
            )
    return resolutions


async def _review_at(world: World, district: str) -> dict[str, int]:
    """Decide every held bundle of one district; return what was decided."""
    tally = {"conflicts": 0, "duplicates": 0, "rejected": 0}
    async with world.launcher.admin(district) as admin:
        held = (await admin.get("/api/v1/admin/bundles", state="staged"))["bundles"]
        for bundle in held:
            items = await _items(admin, bundle["row"])
            kinds = {i["kind"] for i in items}
            resolutions = _resolutions(items)
            identity = [i for i in items if i["kind"] == "change" and i.get("needs_review")]
            if resolutions:
                await admin.post(
                    f"/api/v1/admin/bundles/{bundle['row']}/approve", {"resolutions": resolutions}
                )
                tally["conflicts"] += sum(1 for r in resolutions if r["kind"] == "set")
                tally["duplicates"] += sum(1 for r in resolutions if r["kind"] == "merge")
                states = ("merged",)
            elif identity:
                await admin.post(
                    f"/api/v1/admin/bundles/{bundle['row']}/reject", {"reason": REJECTION_REASON}
                )
                tally["rejected"] += 1
                states = ("rejected",)
            else:
                check(
                    False,
                    f"review at {district}: bundle {bundle['seq']} from {bundle['sender']} is "
                    f"held for {sorted(kinds)}, which the scenario did not plant",
                )
            await wait_for_bundle(admin, bundle["sender"], bundle["seq"], states=states)
    return tally


async def review(world: World) -> Outcome:
    """Every district's administrator decides what is held, through the admin API."""
    districts = sorted({t.parent for t in world.towns if t.parent is not None})
    tallies = dict(zip(districts, await each_hub(world, districts), strict=True))
    total = {
        k: sum(t[k] for t in tallies.values()) for k in ("conflicts", "duplicates", "rejected")
    }
    check(
        total == {"conflicts": 1, "duplicates": 1, "rejected": 1},
        f"review: expected 1 conflict, 1 duplicate and 1 rejection decided, got {total}",
    )
    world.ledger.event("review", **{d: t for d, t in tallies.items() if any(t.values())})
    where = {
        name: next(d for d, t in tallies.items() if t[key])
        for name, key in (("c", "conflicts"), ("d", "duplicates"), ("r", "rejected"))
    }
    return done(
        f"through /api/v1/admin: {where['c']} closed 1 conflict, {where['d']} merged 1 "
        f"duplicate, {where['r']} rejected 1 batch with a reason; "
        f"{len(districts)} districts had nothing else waiting"
    )


async def each_hub(world: World, hubs: list[str]) -> list[dict[str, int]]:
    """Review at every district at once."""
    return list(await asyncio.gather(*(_review_at(world, hub) for hub in hubs)))


async def decisions(world: World) -> Outcome:
    """Every town syncs: decisions come down and apply; the USB bundle's resend is a duplicate."""
    launcher = world.launcher
    parts = roles(world)
    events = world.ledger.events

    async def one(town_ident: str) -> tuple[str, str]:
        async with launcher.node_ui(town_ident, COLLECTOR) as ui:
            return await sync(ui)

    notices = await each(world.towns, lambda t: one(t.ident))
    failed = [(t.ident, n) for t, n in zip(world.towns, notices, strict=True) if n[0] != "synced"]
    check(not failed, f"decisions: every town should sync, these did not: {failed}")

    conflict = events["conflict"]
    async with launcher.node_ui(conflict["node"], COLLECTOR) as ui:
        page = await ui.page(f"/records/{conflict['record_id']}")
    check(
        text_of(page, "conflicts") is None,
        f"decisions: the conflict at {conflict['node']} should be closed by the resolution",
    )
    duplicate = events["duplicate"]
    async with launcher.node_ui(duplicate["node"], COLLECTOR) as ui:
        page = await ui.page(f"/records/{duplicate['record_id']}")
    check(
        f"merged:{duplicate['other']}" in page,
        f"decisions: the duplicate at {duplicate['node']} should be merged into "
        f"{duplicate['first']}'s record",
    )
    rejection = events["rejection"]
    async with launcher.node_ui(rejection["node"], COLLECTOR) as ui:
        todo = await todo_list(ui)
    check(
        REJECTION_REASON in todo,
        f"decisions: {rejection['node']}'s to-do list should show the reviewer's reason",
    )
    usb = events["usb"]
    async with launcher.admin(usb["hub"]) as admin:
        copies = [
            b for b in await bundles_of(admin, usb["node"]) if b["bundle_id"] == usb["bundle_id"]
        ]
        await wait_for_bundle(admin, usb["node"], usb["seq"], states=("merged",))
    check(
        len(copies) == 1,
        f"decisions: the USB bundle should be held once at {usb['hub']}, found {len(copies)}",
    )
    world.ledger.event("usb", copies_at_hub=len(copies))
    world.ledger.event("conflict", closed_at_node=True)
    world.ledger.event("rejection", seen_at_node=True, reason=REJECTION_REASON)
    world.ledger.event("duplicate", merged_at_node=True)
    return done(
        f"{len(world.towns)} towns synced: the conflict closed at {conflict['node']}, the "
        f"duplicate merged at {parts['duplicate'].ident}, the rejection on "
        f"{rejection['node']}'s to-do list; the USB bundle, sent again online, was answered "
        f"with its first receipt (held once)"
    )
