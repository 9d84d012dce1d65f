"""The scenario's first half: the province comes up, the towns collect and send, and three
towns plant what the reviewers will meet (a conflicting edit, a person collected twice,
a name changed without proof).

Which town plays which part is taken from the province, not hard-coded: the conflict
and the duplicate happen in the first district with two towns (its reviewer sees both
records), the unproven name change in a town of another district.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from hub.demo.hubwatch import wait_for_bundle
from hub.demo.records import PlannedRecord
from hub.demo.scenario import Outcome, check, done
from hub.demo.topology import Site
from hub.demo.town import authorise, edit_form, enter_by_card, enter_record, save_edit, sync
from hub.demo.world import SavedRecord, World

__all__ = [
    "collect",
    "conflict",
    "duplicate",
    "first_sync",
    "identity_edit",
    "province_up",
    "roles",
    "second_batch",
    "sign_batches",
]

T = TypeVar("T")
COLLECTOR = "zhang.wei"
SECOND_COLLECTOR = "liu.yang"
#: The field two collectors change at once (not an identity field: last writer wins,
#: and the conflict stays open until a reviewer closes it).
CONFLICT_FIELD = "phone"
CONFLICT_VALUES = ("13805310001", "13905310002")


async def each(sites: Iterable[Site], act: Callable[[Site], Awaitable[T]]) -> list[T]:
    """Run ``act`` for every site at once (towns work in parallel)."""
    return list(await asyncio.gather(*(act(site) for site in sites)))


def roles(world: World) -> dict[str, Site]:
    """Who plays which part (see the module docstring).

    Raises:
        DemoCheckError: the province has too few towns for the scenario.
    """
    towns = world.towns
    pair = next(
        ((a, b) for a in towns for b in towns if a.ident < b.ident and a.parent == b.parent),
        None,
    )
    check(pair is not None, "scenario: expected a district with two towns")
    assert pair is not None
    other = [t for t in towns if t.parent != pair[0].parent]
    check(len(other) >= 2, "scenario: expected towns in another district")
    parts = {"conflict": pair[0], "duplicate": pair[1], "rejected": other[0], "usb": other[-1]}
    spare = world.spare_machines
    if spare:
        parts["revoked"] = spare[0]
    return parts


async def province_up(world: World) -> Outcome:
    """Root ceremony, every hub and node set up, enrolled and started."""
    started = time.monotonic()
    launcher = world.launcher
    await launcher.bring_up()
    hubs, nodes = len(world.province.hubs), len(world.province.nodes)
    readers = len(launcher.readers)
    return done(
        f"root ceremony; {hubs} hubs enrolled up the tree, {nodes} nodes enrolled with their "
        f"approvers certified; {hubs + nodes + readers} processes ({readers} card readers) "
        f"on ports {min(launcher.ports.values())}–{max(launcher.ports.values())}; "
        f"{launcher.runner.count} muster commands in {time.monotonic() - started:.0f} s"
    )


async def _collect_at(
    world: World, town: Site, planned: list[PlannedRecord], *, first_by_card: bool = False
) -> int:
    """A collector enters the town's records (the first from its ID card, if asked)."""
    cards = 0
    async with world.launcher.node_ui(town.ident, COLLECTOR) as ui:
        for index, record in enumerate(planned):
            seed = zlib.crc32(record.key.encode())
            by_card = first_by_card and index == 0 and town.ident in world.launcher.readers
            if by_card:
                record_id = await enter_by_card(ui, world.schema, record, seed=seed)
                cards += 1
            else:
                record_id = await enter_record(ui, world.schema, record, seed=seed)
            world.ledger.saved(
                SavedRecord(
                    key=record.key,
                    node=town.ident,
                    record_id=record_id,
                    categories=record.categories,
                    id_number=record.id_number,
                    by_card=by_card,
                )
            )
    return cards


async def collect(world: World) -> Outcome:
    """Every town's collector enters its records in the node's UI."""
    cards = await each(
        world.towns,
        lambda t: _collect_at(world, t, world.planned("collect", t.ident), first_by_card=True),
    )
    saved = [r for r in world.ledger.records.values() if r.key.startswith("collect/")]
    categories = Counter(c for r in saved for c in r.categories)
    every = {c.key for c in world.schema.categories}
    check(
        set(categories) == every,
        f"collect: expected every one of {len(every)} categories, got {len(categories)}",
    )
    return done(
        f"{len(saved)} records entered in {len(world.towns)} towns' UIs "
        f"({sum(cards)} read from ID cards on the simulated readers), "
        f"all {len(every)} subject categories"
    )


async def _sign(world: World, town: Site, record_ids: list[str]) -> int:
    approver = world.launcher.approver(town.ident)
    async with world.launcher.node_ui(town.ident, approver.login) as ui:
        await authorise(ui, world.launcher.password(town.ident, approver.login), record_ids)
    return world.ledger.sealed_one(town.ident)


async def sign_batches(world: World) -> Outcome:
    """Each town's approver authorises everything collected, with their password."""
    await each(
        world.towns, lambda t: _sign(world, t, [r.record_id for r in world.ledger.of(t.ident)])
    )
    return done(f"{len(world.towns)} approvers signed {len(world.towns)} batches with their keys")


async def _send(world: World, town: Site) -> dict[str, Any]:
    async with world.launcher.node_ui(town.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
    check(notice == "synced", f"sync of {town.ident}: expected synced, got {notice} {code}".strip())
    assert town.parent is not None
    async with world.launcher.admin(town.parent) as admin:
        return await wait_for_bundle(
            admin, town.ident, world.ledger.sealed[town.ident], states=("merged",)
        )


async def first_sync(world: World) -> Outcome:
    """Each town presses 立即同步; its district verifies, stages and merges the batch."""
    bundles = await each(world.towns, lambda t: _send(world, t))
    records = sum(b["count"] or 0 for b in bundles)
    districts = {t.parent for t in world.towns}
    return done(
        f"{len(bundles)} bundles up, receipts back; {len(districts)} districts merged all "
        f"{len(bundles)} without review (clean batches from towns: auto-approved), {records} ops"
    )


async def conflict(world: World) -> Outcome:
    """Two collectors open the same record and change its phone number at once."""
    town = roles(world)["conflict"]
    record = world.ledger.of(town.ident)[0]
    launcher = world.launcher
    async with (
        launcher.node_ui(town.ident, COLLECTOR) as first,
        launcher.node_ui(town.ident, SECOND_COLLECTOR) as second,
    ):
        forms = [await edit_form(ui, record.record_id) for ui in (first, second)]
        notices = [
            await save_edit(ui, record.record_id, form, {CONFLICT_FIELD: value})
            for ui, form, value in zip((first, second), forms, CONFLICT_VALUES, strict=True)
        ]
    check(
        notices == ["saved", "saved_with_conflicts"],
        f"conflict at {town.ident}: expected saved, then saved_with_conflicts; got {notices}",
    )
    world.ledger.event(
        "conflict", node=town.ident, record_id=record.record_id, field=CONFLICT_FIELD
    )
    return done(
        f"at {town.ident} 张伟 and 刘洋 changed one record's {CONFLICT_FIELD} from the same "
        "version: the node keeps both values as an open conflict"
    )


async def duplicate(world: World) -> Outcome:
    """A person already collected in one town is collected again in the next one."""
    parts = roles(world)
    first, town = parts["conflict"], parts["duplicate"]
    original = world.planned("collect", first.ident)[-1]
    held = next(r for r in world.ledger.records.values() if r.key == original.key)
    again = original.at(town.ident, f"duplicate/{town.ident}#1")
    await _collect_at(world, town, [again])
    record_id = world.ledger.records[again.key].record_id
    world.ledger.event(
        "duplicate", node=town.ident, record_id=record_id, other=held.record_id, first=first.ident
    )
    return done(
        f"{town.ident} entered a person {first.ident} already holds (same ID number); "
        "its node cannot know"
    )


async def identity_edit(world: World) -> Outcome:
    """A collector changes a person's name (an identity field) without proof."""
    town = roles(world)["rejected"]
    record = world.ledger.of(town.ident)[0]
    async with world.launcher.node_ui(town.ident, COLLECTOR) as ui:
        form = await edit_form(ui, record.record_id)
        name = form.get("name") or ""
        notice = await save_edit(ui, record.record_id, form, {"name": name[:1] + "晓" + name[1:]})
    check(notice == "saved", f"name change at {town.ident}: expected saved, got {notice}")
    world.ledger.event("rejection", node=town.ident, record_id=record.record_id)
    return done(f"at {town.ident} a collector changed one person's name (an identity field)")


async def second_batch(world: World) -> Outcome:
    """The three towns' approvers sign the changes; the towns sync; all three are held."""
    parts = roles(world)
    events = world.ledger.events
    planted = (
        ("conflict", parts["conflict"], events["conflict"]["record_id"]),
        ("duplicate", parts["duplicate"], events["duplicate"]["record_id"]),
        ("rejection", parts["rejected"], events["rejection"]["record_id"]),
    )
    expected = {"conflict": "conflicts", "duplicate": "duplicates", "rejection": "identity_edits"}

    async def one(item: tuple[str, Site, str]) -> dict[str, Any]:
        name, town, record_id = item
        seq = await _sign(world, town, [record_id])
        bundle = await _send_staged(world, town, seq)
        summary = bundle.get("summary") or {}
        check(
            summary.get(expected[name], 0) >= 1,
            f"{name} at {town.ident}: expected the hub to find {expected[name]}, got {summary}",
        )
        world.ledger.event(name, bundle_id=bundle["bundle_id"], hub=town.parent, row=bundle["row"])
        return bundle

    bundles = await asyncio.gather(*(one(item) for item in planted))
    return done(
        f"{len(bundles)} bundles up; {parts['conflict'].parent} held a conflict and a "
        f"duplicate (from another town), {parts['rejected'].parent} an identity edit, for review"
    )


async def _send_staged(world: World, town: Site, seq: int) -> dict[str, Any]:
    async with world.launcher.node_ui(town.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
    check(notice == "synced", f"sync of {town.ident}: expected synced, got {notice} {code}".strip())
    assert town.parent is not None
    async with world.launcher.admin(town.parent) as admin:
        return await wait_for_bundle(admin, town.ident, seq, states=("staged",))
