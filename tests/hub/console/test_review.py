"""The review pages and decisions over HTTP: the diff, conflicts side by side, the
duplicate merge screen, approve with resolutions, reject with a reason, and the
``decisions`` bundle the sending node receives. The flow runs on SQLite and on
PostgreSQL; refusals are checked to change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytest_aiohttp import AiohttpClient

from hub.console import CONSOLE_PREFIX
from hub.context import HubContext
from hub.rawstore import bundle_path
from hub.store.models import Alert, BundleRow, DownBundle, RecordRow
from protocol.bundle import open_bundle
from protocol.entries import Decision, DecisionStatus, decode_entry
from protocol.ops import Op, OpKind
from tests.hub.console.conftest import AsRole, Client
from tests.hub.console.console import (
    Scenario,
    audit_actions,
    console_app,
    log_in,
    make_accounts,
    make_console_hub,
    make_scenario,
)
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, drain, snapshot, submit
from tests.pki import Pki

P = CONSOLE_PREFIX


def down_to_node(hub: HubContext, pki: Pki) -> list[list[object]]:
    """Every down bundle queued for the town node, opened as the node opens them."""
    with hub.store.read() as session:
        rows = session.scalars(
            sa.select(DownBundle)
            .where(DownBundle.recipient == pki["node"].subject)
            .order_by(DownBundle.seq)
        ).all()
    bundles = []
    for row in rows:
        assert row.kind == "decisions"
        with bundle_path(hub.config.down_dir, row.bundle_hash).open("rb") as source:
            opened = open_bundle(source, trust=pki.trust(), identities=[pki["node"].keys.age])
            bundles.append([decode_entry(e, i) for i, e in enumerate(opened.entries())])
    return bundles


def record(hub: HubContext, rid: str) -> RecordRow:
    with hub.store.read() as session:
        row = session.get(RecordRow, rid)
        assert row is not None
        return row


@pytest.fixture(params=["sqlite", "postgresql"])
def flow_hub(request: pytest.FixtureRequest, tmp_path: Path, pki: Pki) -> Iterator[HubContext]:
    """A district hub with a reviewer, on SQLite and on a real PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    hub = make_console_hub(tmp_path / "data", url, pki)
    make_accounts(hub, ["reviewer"])
    yield hub
    hub.store.dispose()


async def reviewer_of(aiohttp_client: AiohttpClient, hub: HubContext) -> tuple[Client, str]:
    client = await aiohttp_client(console_app(hub))
    return client, await log_in(client, "reviewer")


async def test_resolving_a_conflict_and_a_duplicate_then_approving(
    aiohttp_client: AiohttpClient, flow_hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    scenario = make_scenario(flow_hub, deltas)
    client, csrf = await reviewer_of(aiohttp_client, flow_hub)
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    assert all(phone in page for phone in scenario.phones)
    assert 'name="dup-' in page
    conflict = _item(page, "conflict")
    duplicate = _item(page, "dup")
    form = {
        "csrf_token": csrf,
        f"conflict-{conflict}": "other",
        f"conflict-{conflict}-other": "13900000009",
        f"dup-{duplicate}": scenario.first,
        f"dup-{duplicate}-{scenario.first}-survivor": "other",
        f"dup-{duplicate}-{scenario.first}-name": "new",
        "resolution_reason": "经电话核实",
    }
    answer = await client.post(
        f"{P}bundles/{scenario.conflicted}/approve", data=form, allow_redirects=False
    )
    assert answer.status == 303, await answer.text()
    assert bundle_row(flow_hub, scenario.conflicted).state == "approved"
    assert "review.approved" in audit_actions(flow_hub)
    drain(flow_hub)
    assert bundle_row(flow_hub, scenario.conflicted).state == "merged"
    survivor = record(flow_hub, scenario.first)
    assert survivor.data["phone"] == "13900000009"
    assert survivor.data["name"] == scenario.newcomer_values["name"]
    assert "phone" not in {
        k for k, v in survivor.versions["f"].items() if isinstance(v, list) and len(v[0]) > 1
    }
    assert record(flow_hub, scenario.newcomer).status == f"merged:{scenario.first}"
    (decisions,) = down_to_node(flow_hub, pki)
    decision = decisions[0]
    assert isinstance(decision, Decision)
    assert decision.status is DecisionStatus.APPROVED
    assert decision.by == "reviewer"
    ops = [e for e in decisions[1:] if isinstance(e, Op)]
    assert [(o.kind, o.record_id) for o in ops] == [
        (OpKind.SET, scenario.first),
        (OpKind.SET, scenario.first),
        (OpKind.MERGE_INTO, scenario.newcomer),
    ]
    assert {o.reason for o in ops} == {"经电话核实"}
    shown = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    assert "处理意见" in shown
    assert "下发给采集点的审核决定" in shown
    # The record's history: its create and edits with their batches and the node's
    # approver, and the reviewer's resolutions.
    history = await (await client.get(f"{P}records/{scenario.first}")).text()
    assert 'class="op-create"' in history
    assert history.count('class="op-set resolution"') == 2
    batch = bundle_row(flow_hub, 1).batch_id
    assert batch is not None
    assert batch in history
    assert "370102001/li.na" in history
    assert "<td>reviewer</td>" in history


async def test_rejecting_with_a_reason_tells_the_node(
    aiohttp_client: AiohttpClient, flow_hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    scenario = make_scenario(flow_hub, deltas)
    client, csrf = await reviewer_of(aiohttp_client, flow_hub)
    answer = await client.post(
        f"{P}bundles/{scenario.renamed}/reject",
        data={"csrf_token": csrf, "reason": "姓名与户籍不符，请核对身份证"},
        allow_redirects=False,
    )
    assert answer.status == 303
    row = bundle_row(flow_hub, scenario.renamed)
    assert (row.state, row.reason, row.decided_by) == (
        "rejected",
        "姓名与户籍不符，请核对身份证",
        "reviewer",
    )
    (decisions,) = down_to_node(flow_hub, pki)
    decision = decisions[0]
    assert isinstance(decision, Decision)
    assert decision.status is DecisionStatus.REJECTED
    assert decision.reason == "姓名与户籍不符，请核对身份证"
    assert record(flow_hub, scenario.first).data["name"] == scenario.first_values["name"]


def _item(page: str, prefix: str) -> str:
    marker = f'name="{prefix}-'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)].split("-", maxsplit=1)[0]


async def test_the_page_shows_the_diff_conflicts_duplicates_and_new_records(
    as_role: AsRole, scenario: Scenario
) -> None:
    client, _ = await as_role("reviewer")
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    for section in ('id="conflicts"', 'id="duplicates"', 'id="new-records"', 'id="decide"'):
        assert section in page
    # Each competing value with who wrote it: the node, the collector, the time.
    assert page.count("collector-1") >= 2
    assert "370102001-01" in page
    assert "本数据包" in page
    # The merge screen: the new record beside the existing one, a survivor to choose.
    assert scenario.newcomer_values["name"] in page
    assert scenario.first_values["name"] in page
    assert f'name="dup-{_item(page, "dup")}-{scenario.first}-survivor"' in page
    renamed = await (await client.get(f"{P}bundles/{scenario.renamed}")).text()
    assert 'id="parallel"' in renamed
    assert "王小明" in renamed


async def test_a_rejection_without_a_reason_is_refused_and_changes_nothing(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, csrf = await as_role("reviewer")
    before = snapshot(console_hub)
    answer = await client.post(
        f"{P}bundles/{scenario.renamed}/reject", data={"csrf_token": csrf, "reason": "   "}
    )
    assert answer.status == 422
    assert "退回必须填写原因" in await answer.text()
    assert snapshot(console_hub) == before
    assert bundle_row(console_hub, scenario.renamed).state == "staged"


async def test_a_typed_value_the_field_refuses_is_shown_again_and_nothing_is_decided(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, csrf = await as_role("reviewer")
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    conflict = _item(page, "conflict")
    answer = await client.post(
        f"{P}bundles/{scenario.conflicted}/approve",
        data={
            "csrf_token": csrf,
            f"conflict-{conflict}": "other",
            f"conflict-{conflict}-other": "",
        },
    )
    assert answer.status == 422
    text = await answer.text()
    assert "没有填写值" in text
    assert 'value="other" checked' in text
    assert bundle_row(console_hub, scenario.conflicted).state == "staged"
    assert "review.approved" not in audit_actions(console_hub)


async def test_a_merge_with_a_record_not_offered_is_refused(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, csrf = await as_role("reviewer")
    page = await (await client.get(f"{P}bundles/{scenario.conflicted}")).text()
    duplicate = _item(page, "dup")
    answer = await client.post(
        f"{P}bundles/{scenario.conflicted}/approve",
        data={"csrf_token": csrf, f"dup-{duplicate}": record_id(99)},
    )
    assert answer.status == 422
    assert "不在页面列出的范围内" in await answer.text()
    assert bundle_row(console_hub, scenario.conflicted).state == "staged"


async def test_deciding_twice_is_a_conflict_page(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, csrf = await as_role("reviewer")
    url = f"{P}bundles/{scenario.renamed}/approve"
    assert (await client.post(url, data={"csrf_token": csrf}, allow_redirects=False)).status == 303
    again = await client.post(url, data={"csrf_token": csrf})
    assert again.status == 409
    assert "该事项已被处理" in await again.text()
    assert audit_actions(console_hub).count("review.approved") == 1


async def test_an_unknown_bundle_is_not_found(as_role: AsRole, scenario: Scenario) -> None:
    client, csrf = await as_role("reviewer")
    assert (await client.get(f"{P}bundles/999")).status == 404
    assert (await client.get(f"{P}bundles/\u0663")).status == 404  # an Arabic-Indic 3
    answer = await client.post(f"{P}bundles/999/reject", data={"csrf_token": csrf, "reason": "x"})
    assert answer.status == 404


async def test_the_inbox_filters_by_state_and_sender(as_role: AsRole, scenario: Scenario) -> None:
    client, _ = await as_role("viewer")
    staged = await (await client.get(f"{P}?state=staged")).text()
    assert f'data-row="{scenario.conflicted}"' in staged
    assert f'data-row="{scenario.renamed}"' in staged
    assert 'data-row="1"' not in staged
    other = await (await client.get(f"{P}?sender=370102002-01")).text()
    assert "没有符合条件的数据包" in other
    odd = await client.get(f"{P}?state=nonsense&before=²")
    assert odd.status == 200


async def test_a_stream_conflict_is_an_alert_a_reviewer_can_close(
    as_role: AsRole, console_hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(console_hub, deltas.bundle([deltas.create(record_id(1))])[0])
    reuse, _ = deltas.bundle([deltas.create(record_id(2))], seq=1, prev=None, advance=False)
    submit(console_hub, reuse)
    client, csrf = await as_role("reviewer")
    page = await (await client.get(P)).text()
    assert "序号冲突" in page
    assert "seq 1 is already used by another bundle" in page
    with console_hub.store.read() as session:
        alert = session.scalar(sa.select(Alert.id))
    answer = await client.post(
        f"{P}alerts/{alert}/close", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    assert "序号冲突" not in await (await client.get(P)).text()
    assert audit_actions(console_hub)[-1] == "alert.closed"


async def test_a_gap_in_a_stream_is_shown_with_the_missing_numbers(
    as_role: AsRole, console_hub: HubContext, deltas: DeltaFactory
) -> None:
    first, _ = deltas.bundle([deltas.create(record_id(1))])
    deltas.bundle([deltas.create(record_id(2))])
    third, _ = deltas.bundle([deltas.create(record_id(3))])
    fourth, _ = deltas.bundle([deltas.create(record_id(4))])
    for data in (first, third, fourth):
        submit(console_hub, data)
    drain(console_hub)
    client, _ = await as_role("viewer")
    page = await (await client.get(P)).text()
    assert 'id="gaps"' in page
    assert '<td class="gap-missing">2</td>' in page
    assert "3、4" in page


async def test_bundle_rows_carry_no_personal_data_in_the_inbox(
    as_role: AsRole, console_hub: HubContext, scenario: Scenario
) -> None:
    client, _ = await as_role("viewer")
    page = await (await client.get(P)).text()
    for value in (scenario.first_values["name"], scenario.first_values["id_number"]):
        assert str(value) not in page
    with console_hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BundleRow)) == 4


async def test_an_unreadable_bundle_is_listed_without_a_sender(
    as_role: AsRole, console_hub: HubContext
) -> None:
    junk = submit(console_hub, b"not a bundle\n" * 50)
    assert junk.status == "rejected"
    client, _ = await as_role("admin")
    inbox = await (await client.get(P)).text()
    assert f'data-row="{junk.row_id}"' in inbox
    assert "（无法识别）" in inbox
    page = await client.get(f"{P}bundles/{junk.row_id}")
    assert page.status == 200
    assert "已退回" in await page.text()
    # Only accounts of the whole hub see bundles without a sender.
    town, _ = await as_role("town")
    assert (await town.get(f"{P}bundles/{junk.row_id}")).status == 404


async def test_validation_warnings_are_listed_with_their_messages(
    as_role: AsRole, console_hub: HubContext, deltas: DeltaFactory
) -> None:
    values = {**deltas.record(), "birth_date": "2099-01-01"}
    held = submit(console_hub, deltas.bundle([deltas.create(record_id(1), values)])[0])
    drain(console_hub)
    assert bundle_row(console_hub, held.row_id).state == "staged"
    client, _ = await as_role("reviewer")
    page = await (await client.get(f"{P}bundles/{held.row_id}")).text()
    assert 'id="warnings"' in page
    assert "出生日期" in page
    english = await client.get(f"{P}lang/en?next={P}bundles/{held.row_id}")
    assert "Validation warnings" in await english.text()
