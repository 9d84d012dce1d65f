"""The whole fix loop across town → district → city and back, over real HTTP on loopback.

A town node collects; its batch goes up to the district hub and on to the city in a
package. The city imports a household register with planted problems and sends the
findings down: city → district (which re-issues them under its own key) → the town's
node. The collector takes the register's address into one record and answers another
finding "the register is wrong"; both go up with the next authorised batch, through
the district's package, to the city, where the re-check closes the fixed finding and
the administrator accepts the answer. The closures go back down the same way and
close the collector's to-do items. The district lists the city's findings it passed
down, and follows them as they are answered and closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.crosscheck.dispatch import send_problems
from hub.crosscheck.fixloop import accept_answer, recheck_findings, withdraw
from hub.crosscheck.hubrecords import live_records
from hub.crosscheck.overview import FindingFilter, list_findings
from hub.crosscheck.service import import_file, run_check
from hub.crosscheck.synthetic import planted_register
from hub.fromparent import ParentDownPort
from hub.store.crosscheck_models import AnswerRow, FindingRow
from hub.upward.building import build_packages
from hub.upward.port import HubSyncPort
from node.services.client import HubClient, RetryPolicy
from node.services.sync import run_sync
from tests.hub.crosscheck.wiring import household_mapping
from tests.hub.federation.downtree import CITY_ADMIN, Tree, build_tree, close_tree
from tests.hub.helpers import drain
from tests.node.core.helpers import APPROVER, COLLECTOR, form_for
from tests.pki import seeded_key

NODE = "370102001-11"


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path, nodes=(NODE,))
    district, city = built.hubs["district"], built.hubs["city"]
    # The district packages on its own (the county default); the city merges clean
    # packages from its districts without review, so the test drives no reviewer.
    district.admin_key = seeded_key("auto 370102")
    city.config = dataclasses.replace(city.config, auto_approve_levels=("county",))
    try:
        yield built
    finally:
        await close_tree(built)


async def _up(tree: Tree, name: str, parent: str) -> None:
    """The hub's packages up to its parent, over HTTP (the hub's own sync agent)."""
    ctx = tree.hubs[name]
    await asyncio.to_thread(build_packages, ctx)
    async with HubClient(tree.url(parent), subject=ctx.site, key=ctx.keys.signing, now=ctx.now,
                         retry=RetryPolicy(attempts=1)) as client:  # fmt: skip
        report = await run_sync(HubSyncPort(ctx, ParentDownPort(ctx)), client)
    assert report.error is None


async def _drain(ctx: HubContext) -> None:
    await asyncio.to_thread(drain, ctx)


async def _node_up(tree: Tree) -> None:
    services = tree.nodes[NODE]
    services.authorise(APPROVER[0], APPROVER[2])
    report = await tree.sync_node(NODE)
    assert report.error is None


def _mirrors(ctx: HubContext) -> dict[str, tuple[str, str | None]]:
    """The findings a hub lists as made above it: id → (state, resolution)."""
    page = list_findings(ctx, FindingFilter(made="above"))
    assert all(item.origin != ctx.site for item in page.items)
    return {item.finding_id: (item.state, item.resolution) for item in page.items}


def _findings(ctx: HubContext) -> dict[tuple[str | None, str | None], FindingRow]:
    with ctx.store.read() as session:
        rows = session.scalars(sa.select(FindingRow)).all()
    return {(row.record_id, row.field): row for row in rows}


async def test_problems_go_down_the_tree_and_fixes_and_answers_come_back(
    tree: Tree, tmp_path: Path
) -> None:
    services = tree.nodes[NODE]
    district, city = tree.hubs["district"], tree.hubs["city"]
    for seed in range(1, 7):
        categories, values = form_for(services, seed=seed)
        assert services.save_record(None, categories, values, COLLECTOR[0]).saved
    await _node_up(tree)
    await _drain(district)
    await _up(tree, "district", "city")
    await _drain(city)
    collected = list(live_records(city.store))
    assert len(collected) == 6  # what the town collected reached the city

    # The city's cross-check: a household register with planted problems.
    planted = planted_register(collected, random.Random(11), disagreements=2)
    register = tmp_path / "household.csv"
    register.write_text(planted.csv(), encoding="utf-8")
    dataset = import_file(city, register, mapping=household_mapping(), by=CITY_ADMIN)
    summary = run_check(city, dataset.dataset_id, by=CITY_ADMIN)
    assert summary.by_kind == (("deceased", 1), ("missing", 1), ("value_mismatch", 2))
    sent = send_problems(city, by=CITY_ADMIN)
    assert (sent.sent, dict(sent.bundles)) == (4, {"370102": 1})

    # Down: the district re-issues the problems to the town's node, which applies them,
    # and lists them as the city's (made above), routed to the town.
    await tree.sync_hub("district")
    await tree.sync_node(NODE)
    todo = {p.problem_id: p for p in services.problems()}
    assert set(todo) == {row.finding_id for row in _findings(city).values()}
    assert _mirrors(district) == dict.fromkeys(todo, ("open", None))
    assert {row.routed_to for row in _findings(district).values()} == {"370102001"}
    here = list_findings(district, FindingFilter(made="here"))
    assert here.total == 0  # the district made none of them

    (named, name_field), (moved, address_field) = planted.disagreements
    assert (name_field, address_field) == ("name", "hukou_address")
    by_key = _findings(city)
    fixed, answered = by_key[(moved, address_field)], by_key[(named, name_field)]
    services.apply_proposed(fixed.finding_id, author=COLLECTOR[0])
    services.answer_problem(answered.finding_id, "派出所登记有误，身份证为准",
                            author=COLLECTOR[0], reason="register_wrong")  # fmt: skip

    # Up: the fix (an ordinary op) and the answers, through the district's package.
    await _node_up(tree)
    await _drain(district)
    with district.store.read() as session:
        relayed = session.scalars(sa.select(AnswerRow.outcome)).all()
    assert sorted(relayed) == ["relay", "relay"]  # the district passes them up
    answered_here = {f for f, state in _mirrors(district).items() if state[0] == "answered"}
    assert answered_here == {fixed.finding_id, answered.finding_id}  # and shows them answered
    await _up(tree, "district", "city")
    await _drain(city)
    with district.store.read() as session:
        assert session.scalar(
            sa.select(sa.func.count()).select_from(AnswerRow).where(AnswerRow.forwarded_at.is_(None))
        ) == 0  # fmt: skip

    now = _findings(city)
    assert now[(named, name_field)].state == "answered"
    assert now[(named, name_field)].answer_reason == "register_wrong"
    assert now[(moved, address_field)].state == "answered"  # record_fixed, until re-checked
    rechecked = recheck_findings(city, by=CITY_ADMIN)
    assert rechecked.closed == 1
    assert (_findings(city)[(moved, address_field)].resolution) == "fixed"
    accept_answer(city, answered.finding_id, by=CITY_ADMIN)
    states = {key: (row.state, row.resolution) for key, row in _findings(city).items()}
    assert states[(named, name_field)] == ("closed", "accepted")
    assert states[(moved, address_field)] == ("closed", "fixed")
    assert sorted(v for v in states.values() if v[0] == "open") == [("open", None)] * 2
    sent_up = [p for p in services.problems() if p.answer_reason]
    assert {p.answer_reason for p in sent_up} == {"register_wrong", "record_fixed"}
    assert all(p.answer_sent for p in sent_up)

    # Down again: the closures (and a withdrawal) close the collector's items, through the
    # district, which routes them as it routed the problems.
    missing = next(row for row in _findings(city).values() if row.kind == "missing")
    withdraw(city, missing.finding_id, by=CITY_ADMIN)
    closing = send_problems(city, by=CITY_ADMIN)
    assert (closing.sent, closing.closures, dict(closing.bundles)) == (0, 3, {"370102": 1})
    assert send_problems(city, by=CITY_ADMIN).closures == 0  # each closure goes down once
    await tree.sync_hub("district")
    await tree.sync_node(NODE)
    items = {p.problem_id: p for p in services.problems(include_closed=True)}
    assert {pid: (p.state, p.resolution) for pid, p in items.items() if p.state == "closed"} == {
        fixed.finding_id: ("closed", "fixed"),
        answered.finding_id: ("closed", "accepted"),
        missing.finding_id: ("closed", "withdrawn"),
    }
    assert all(p.closed_at is not None for p in items.values() if p.state == "closed")
    assert {f: state for f, state in _mirrors(district).items() if state[0] == "closed"} == {
        fixed.finding_id: ("closed", "fixed"),
        answered.finding_id: ("closed", "accepted"),
        missing.finding_id: ("closed", "withdrawn"),
    }  # the district's list follows the city's closures
    assert [p.kind for p in services.problems()] == ["deceased"]  # the one still open
