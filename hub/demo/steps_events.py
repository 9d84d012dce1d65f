"""Two events off the network path: a batch carried on a USB stick, and a lost laptop.

- USB: a town's approver signs a batch while "the line is down"; the node is stopped and
  ``muster node export`` writes the bundle to ``usb/``; at the district the stick is read
  with ``muster hub import`` (with the hub stopped: on SQLite a hub's store belongs to one
  process), and the hub is started again. Later the town syncs as usual and sends the
  same bundle again; the hub answers it with the receipt it gave the stick's copy.
- Revocation: a town's second machine collects two records; its district's administrator
  revokes the machine's certificate through the admin API (key compromise: the laptop
  was lost); someone signs and sends the records from it anyway, and the hub refuses.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final

from hub.demo.hubwatch import bundles_of, wait_for_bundle
from hub.demo.scenario import Outcome, check, done, not_available
from hub.demo.steps_towns import COLLECTOR, _collect_at, _sign, roles
from hub.demo.town import sync
from hub.demo.world import World

__all__ = ["revoked", "usb"]

#: ``<node id>-<seq>-<kind>-<bundle id>.bundle`` (docs/node.md §8).
_EXPORTED: Final = re.compile(
    r"(?P<node>\d{6,12}-\d{2})-(?P<seq>\d+)-(?P<kind>[a-z]+)-(?P<id>\w+)\.bundle"
)


async def usb(world: World) -> Outcome:
    """A batch travels to the district on a USB stick."""
    town = roles(world)["usb"]
    district = town.parent
    assert district is not None
    launcher = world.launcher
    planned = world.planned("usb", town.ident)
    await _collect_at(world, town, planned)
    ids = [r.record_id for r in world.ledger.of(town.ident) if r.key.startswith("usb/")]
    seq = await _sign(world, town, ids)
    node, hub = f"node-{town.ident}", f"hub-{district}"
    node_dir, hub_dir = launcher.layout.node_dir(town.ident), launcher.layout.hub_dir(district)
    await launcher.stop(node)
    said = await launcher.runner.run(
        ["node", "export", "--to", str(world.layout.usb), "--data", str(node_dir),
         "--passphrase-file", str(launcher.passphrase_file(town.ident))],
        log_name=f"usb-{town.ident}",
    )  # fmt: skip
    files = sorted(p for p in world.layout.usb.iterdir() if _EXPORTED.fullmatch(p.name))
    deltas = [m for p in files if (m := _EXPORTED.fullmatch(p.name)) and m["kind"] == "delta"]
    check(
        len(deltas) == 1 and int(deltas[0]["seq"]) == seq,
        f"USB export of {town.ident}: expected delta bundle {seq}, got {[p.name for p in files]}",
        said=said[-200:],
    )

    async def at_the_district() -> str:
        # On SQLite a hub's store belongs to one process: the stick is read with the hub
        # stopped, as an operator at a district without a second machine would.
        await launcher.stop(hub)
        imported = await launcher.runner.run(
            ["hub", "import", *(str(p) for p in files), "--data", str(hub_dir),
             "--passphrase-file", str(launcher.passphrase_file(district))],
            log_name=f"usb-{district}",
        )  # fmt: skip
        await launcher.start_hub(district)
        return imported

    imported, _ = await asyncio.gather(at_the_district(), launcher.start_node(town.ident))
    check("accepted" in imported, f"USB import at {district}: expected accepted")
    async with launcher.admin(district) as admin:
        bundle = await wait_for_bundle(admin, town.ident, seq, states=("merged",))
    world.ledger.event(
        "usb", node=town.ident, hub=district, seq=seq, bundle_id=deltas[0]["id"],
        file=files[0].name, records=len(ids),
    )  # fmt: skip
    return done(
        f"{town.ident} exported bundle {seq} ({len(ids)} new records) to usb/; "
        f"{district} imported it from the stick: accepted, merged ({bundle['count']} ops)"
    )


async def revoked(world: World) -> Outcome:
    """A lost laptop's certificate is revoked; what it sends afterwards is refused."""
    laptop = roles(world).get("revoked")
    if laptop is None:
        return not_available("the province has no second machine at a town to lose")
    assert laptop.parent is not None
    launcher = world.launcher
    planned = world.planned("laptop", laptop.ident)
    await _collect_at(world, laptop, planned)
    async with launcher.admin(laptop.parent) as admin:
        sites = await admin.get("/api/v1/admin/sites")
        serials = [s["serial"] for s in sites["sites"] if s["subject"] == laptop.ident]
        check(len(serials) == 1, f"revocation: expected 1 certificate of {laptop.ident}")
        revoked_ = await admin.post(
            f"/api/v1/admin/certificates/{serials[0]}/revoke", {"reason": "key_compromise"}
        )
    seq = await _sign(world, laptop, [r.record_id for r in world.ledger.of(laptop.ident)])
    async with launcher.node_ui(laptop.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
    check(
        notice == "sync_failed",
        f"upload from revoked {laptop.ident}: expected the sync to fail, got {notice}",
    )
    async with launcher.admin(laptop.parent) as admin:
        refused = await wait_for_bundle(admin, laptop.ident, seq, states=("rejected",))
        merged = [b for b in await bundles_of(admin, laptop.ident) if b["state"] == "merged"]
    check(not merged, f"revocation: {laptop.ident} has {len(merged)} bundles merged")
    world.ledger.event(
        "revoked", node=laptop.ident, hub=laptop.parent, serial=serials[0], seq=seq,
        crl=revoked_["crl_number"], reason_code=refused["reason_code"], node_error=code,
    )  # fmt: skip
    return done(
        f"{laptop.parent} revoked {laptop.ident} (key compromise, revocation list "
        f"{revoked_['crl_number']}) in the admin API; its next upload ({len(planned)} records) "
        f"was refused: {refused['reason_code']}"
    )
