"""The demo's cross-check round (issue 7), done as the people would do it.

1. The district's administrator imports a household register of one of its towns
   (generated from the district's own records by :func:`hub.crosscheck.synthetic.
   planted_register`: a name and an address that disagree, one person registered as
   deceased, one person of a collected category never collected) with ``muster hub
   crosscheck import --run``: a dated dataset, the findings kept and sent down.
2. The town presses 立即同步: the problems arrive in its to-do list.
3. A collector takes the register's address into the record (采用建议值) and answers the
   name "the register is wrong"; the approver authorises; the town syncs again.
4. The district merges the batch; ``muster hub crosscheck recheck`` closes the fixed
   finding, ``muster hub crosscheck accept`` closes the answered one. The deceased and
   the missing person stay open for the office.
5. ``muster hub crosscheck send`` takes the two closures down; the town syncs and its
   to-do list shows both items closed, with why.

The province summary counts every hub's findings by state (hub/demo/summary.py).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from hub.crosscheck.synthetic import planted_register
from hub.demo.hubwatch import wait_for_bundle
from hub.demo.scenario import Outcome, check, done
from hub.demo.steps_towns import COLLECTOR, roles
from hub.demo.summary import read_only_engine
from hub.demo.topology import Site
from hub.demo.town import authorise, notice_of, sync
from hub.demo.world import World
from node.fsutil import write_atomic
from protocol.ops import STATUS_LIVE

__all__ = ["SOURCE", "crosscheck_round"]

#: The register's name at the district (its saved column mapping is kept under it).
SOURCE: Final = "公安户籍人口"
_PROBLEM: Final = re.compile(r'data-problem="([0-9a-f]{32})"')
#: A to-do row the hub closed, with the finding's id (node/web/templates/node/problems.html).
_CLOSED: Final = re.compile(
    r'data-problem="([0-9a-f]{32})"(?:(?!</tr>).)*?class="small resolution"', re.S
)


def _town(world: World) -> Site:
    """A town no other planted event uses (its records are plain), else the first."""
    busy = {site.ident for site in roles(world).values()}
    return next((t for t in world.towns if t.ident not in busy), world.towns[0])


def _records(database: Path, town: str) -> list[tuple[str, dict[str, Any]]]:
    """The district's live records of a town (read only, like an extract would be made)."""
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT record_id, data FROM records WHERE status = :live "
                        "AND site LIKE :town ORDER BY record_id"),
                {"live": STATUS_LIVE, "town": f"{town}%"},
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    return [(r[0], json.loads(r[1]) if isinstance(r[1], str) else dict(r[1])) for r in rows]


async def _hub_command(world: World, hub: str, *args: str) -> str:
    launcher = world.launcher
    argv = ["hub", "crosscheck", *args, "--data", str(launcher.layout.hub_dir(hub)),
            "--passphrase-file", str(launcher.passphrase_file(hub))]  # fmt: skip
    return await launcher.runner.run(argv, log_name=f"crosscheck-{hub}")


async def _findings(world: World, hub: str) -> list[dict[str, Any]]:
    printed = await _hub_command(world, hub, "findings", "--json")
    return [json.loads(line) for line in printed.splitlines() if line.startswith("{")]


async def crosscheck_round(world: World) -> Outcome:
    """Import a register at a district, fix and answer at the town, re-check and accept."""
    town = _town(world)
    district = town.parent
    assert district is not None
    launcher = world.launcher
    records = _records(launcher.layout.hub_dir(district) / "hub.db", town.code)
    check(len(records) >= 3, f"crosscheck: expected 3 records of {town.code} at {district}, "
          f"got {len(records)}")  # fmt: skip
    rng = random.Random(world.options.seed)  # noqa: S311 - made-up people, seeded to repeat
    planted = planted_register(records, rng, disagreements=2)
    register = launcher.layout.root / "crosscheck" / f"household-{town.code}.csv"
    register.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(register, planted.csv().encode("utf-8"), mode=0o644)
    admin = f"{district}/admin"
    await _hub_command(world, district, "import", str(register), "--source", SOURCE,
                       "--kind", "public_security", "--by", admin, "--run")  # fmt: skip
    found = {f["finding"]: f for f in await _findings(world, district)}
    kinds = Counter(f["kind"] for f in found.values())
    expected = Counter({"value_mismatch": 2, "deceased": 1, "missing": 1})
    check(kinds == expected, f"crosscheck: expected {dict(expected)}, got {dict(kinds)}")
    (named, _), (moved, _) = planted.disagreements
    by_record = {(f["record"], f["field"]): f["finding"] for f in found.values()}
    wrong, fixed = by_record[(named, "name")], by_record[(moved, "hukou_address")]

    async with launcher.node_ui(town.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
        check(notice == "synced", f"crosscheck: sync of {town.ident} gave {notice} {code}")
        todo = set(_PROBLEM.findall(await ui.page("/problems")))
        check(todo == set(found), f"crosscheck: {town.ident}'s to-do list holds {len(todo)} "
              f"of the {len(found)} problems")  # fmt: skip
        applied = await ui.submit(f"/problems/{fixed}/apply", [])
        check(notice_of(applied)[0] == "fixed", "crosscheck: the proposed address was not taken")
        answered = await ui.submit(f"/problems/{wrong}/answer",
                                   [("reason", "register_wrong"),
                                    ("answer", "姓名以居民身份证为准，户籍登记有误")])  # fmt: skip
        check(notice_of(answered)[0] == "answered", "crosscheck: the answer was not kept")
    approver = launcher.approver(town.ident)
    async with launcher.node_ui(town.ident, approver.login) as ui:
        await authorise(ui, launcher.password(town.ident, approver.login), [moved])
    seq = world.ledger.sealed_one(town.ident)
    async with launcher.node_ui(town.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
    check(notice == "synced", f"crosscheck: sync of {town.ident} gave {notice} {code}")
    async with launcher.admin(district) as api:
        await wait_for_bundle(api, town.ident, seq, states=("merged",))

    await _hub_command(world, district, "recheck", "--by", admin)
    await _hub_command(world, district, "accept", wrong, "--by", admin)
    states = {f["finding"]: (f["state"], f["resolution"]) for f in await _findings(world, district)}
    check(states[fixed] == ("closed", "fixed"), f"crosscheck: the fix left {states[fixed]}")
    check(states[wrong] == ("closed", "accepted"), f"crosscheck: the answer left {states[wrong]}")
    still = sorted(found[f]["kind"] for f, (state, _r) in states.items() if state == "open")
    check(still == ["deceased", "missing"], f"crosscheck: expected 2 open, got {still}")
    await _hub_command(world, district, "send", "--by", admin)
    async with launcher.node_ui(town.ident, COLLECTOR) as ui:
        notice, code = await sync(ui)
        check(notice == "synced", f"crosscheck: sync of {town.ident} gave {notice} {code}")
        closed = set(_CLOSED.findall(await ui.page("/problems")))
    check(closed == {fixed, wrong}, f"crosscheck: {town.ident} shows {len(closed)} of the 2 "
          "closed problems closed")  # fmt: skip
    world.ledger.event("crosscheck", hub=district, town=town.ident, findings=len(found),
                       fixed=fixed, accepted=wrong, open=len(still))  # fmt: skip
    return done(
        f"household register of {len(planted.rows)} people imported at {district}: "
        f"{len(found)} findings (2 disagreements, 1 deceased, 1 missing) sent down to "
        f"{town.ident}; the collector fixed one and answered one, both went up with the next "
        f"batch; the re-check closed the fix, the answer was accepted, and both closures "
        f"reached the town's to-do list; 2 stay open"
    )
