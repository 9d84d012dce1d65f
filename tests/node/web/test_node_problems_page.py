"""The node's to-do list over real HTTP: a cross-check finding shows what the register and the
record say; the collector takes the proposed value, or answers with a reason (and the
note a move needs); a bad answer comes back with its message and changes nothing; an
item the hub closed shows why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from hub.crosscheck import Finding, FindingKind, SourceKind, problem_body
from hub.crosscheck.authority import Authority
from node.services.inbox import accept_down
from protocol.bundle import BundleKind
from protocol.entries import ClosureResolution, Problem, ProblemClosure
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    Clock,
    NodeUnderTest,
    down_bundle,
    form_for,
    ready_node,
)
from tests.node.web.nodeapp import make_ui, ui_log_in
from tests.pki import Pki

Client = TestClient[Any, Any]
FINDING = "7c" * 16
NEW_ADDRESS = "山东省济南市历下区和平路18号"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.build()


@pytest.fixture
def node(tmp_path: Path, pki: Pki) -> Iterator[NodeUnderTest]:
    ready = ready_node(tmp_path, pki, Clock())
    yield ready
    ready.services.close()


@pytest.fixture
async def ui(aiohttp_client: AiohttpClient, node: NodeUnderTest) -> Client:
    return await aiohttp_client(make_ui(node))


def _deliver(node: NodeUnderTest) -> str:
    return _deliver_finding(node)[0]


def _deliver_finding(node: NodeUnderTest) -> tuple[str, str]:
    """A record, and the hub's finding that its household address disagrees."""
    categories, values = form_for(node.services, seed=4)
    saved = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert saved.record_id is not None
    finding = Finding(
        finding_id=FINDING, kind=FindingKind.VALUE_MISMATCH, source="历下区户籍",
        source_kind=SourceKind.PUBLIC_SECURITY, dataset_id="d" * 32, row=3,
        record_id=saved.record_id, field="hukou_address", register_value=NEW_ADDRESS,
        record_value=str(values["hukou_address"]), authority=Authority.REGISTER,
        proposed_value=NEW_ADDRESS, division_code="370102001",
    )  # fmt: skip
    data, digest = down_bundle(node, [Problem(body=problem_body(finding))],
                               kind=BundleKind.PROBLEMS)  # fmt: skip
    accept_down(node.services.context, data, source="http")
    return saved.record_id, digest


async def test_a_finding_shows_both_sides_and_the_proposed_value(
    ui: Client, node: NodeUnderTest
) -> None:
    _deliver(node)
    await ui_log_in(ui, "collector")
    page = await (await ui.get("/problems")).text()
    row = re.search(rf'<tr data-problem="{FINDING}".*?</tr>', page, re.S)
    assert row is not None
    assert "“历下区户籍”登记的户籍地址与采集信息不一致" in row.group(0)
    assert f'<dd class="proposed">{NEW_ADDRESS}</dd>' in row.group(0)
    assert 'name="reason"' in row.group(0)
    assert f'action="/problems/{FINDING}/apply"' in row.group(0)


async def test_taking_the_proposed_value_edits_the_record(ui: Client, node: NodeUnderTest) -> None:
    record = _deliver(node)
    csrf = await ui_log_in(ui, "collector")
    answer = await ui.post(f"/problems/{FINDING}/apply", data={"csrf_token": csrf},
                           allow_redirects=False)  # fmt: skip
    assert answer.status == 303
    assert answer.headers["Location"].endswith("notice=fixed")
    assert node.services.get_record(record).values["hukou_address"] == NEW_ADDRESS
    [item] = node.services.problems()
    assert (item.state, item.answer_reason, item.answer_sent) == ("answered", "record_fixed", False)


async def test_a_move_without_where_to_comes_back_and_changes_nothing(
    ui: Client, node: NodeUnderTest
) -> None:
    _deliver(node)
    csrf = await ui_log_in(ui, "collector")
    answer = await ui.post(f"/problems/{FINDING}/answer",
                           data={"csrf_token": csrf, "reason": "person_moved", "answer": ""},
                           allow_redirects=False)  # fmt: skip
    assert answer.status == 422
    assert "答复不完整" in await answer.text()
    assert node.services.problems()[0].state == "open"
    done = await ui.post(f"/problems/{FINDING}/answer",
                         data={"csrf_token": csrf, "reason": "person_moved",
                               "answer": "已迁往历城区"}, allow_redirects=False)  # fmt: skip
    assert done.status == 303
    page = await (await ui.get("/problems")).text()
    assert "本人已迁出：已迁往历城区" in page
    assert "随下一批审核后上报" in page


async def test_an_approver_sees_the_answers_and_authorises_them_alone(
    ui: Client, node: NodeUnderTest
) -> None:
    _deliver(node)
    node.services.authorise(APPROVER[0], APPROVER[2])  # the record went up already
    node.services.answer_problem(FINDING, "户籍登记有误", author=COLLECTOR[0],
                                 reason="register_wrong")  # fmt: skip
    csrf = await ui_log_in(ui, "approver")
    page = await (await ui.get("/approval")).text()
    assert 'id="answers"' in page
    assert "登记信息有误（户籍登记有误）" in page
    assert 'name="record_id"' not in page
    answer = await ui.post("/approval/authorise",
                           data={"csrf_token": csrf, "password": APPROVER[2]},
                           allow_redirects=False)  # fmt: skip
    assert answer.status == 303
    assert answer.headers["Location"].endswith("notice=authorised")
    assert node.services.problems()[0].answer_sent
    assert 'id="nothing-pending"' in await (await ui.get("/approval")).text()


async def test_an_item_the_hub_closed_shows_why_and_takes_no_answer(
    ui: Client, node: NodeUnderTest
) -> None:
    record, first = _deliver_finding(node)
    closure = ProblemClosure(finding_id=FINDING, resolution=ClosureResolution.ACCEPTED,
                             division="370102001", record_id=record, at=node.clock())  # fmt: skip
    data, _digest = down_bundle(node, [closure], kind=BundleKind.PROBLEMS, seq=2, prev=first)
    assert accept_down(node.services.context, data, source="http").outcome == "applied"
    await ui_log_in(ui, "collector")
    page = await (await ui.get("/problems")).text()
    row = re.search(rf'<tr data-problem="{FINDING}".*?</tr>', page, re.S)
    assert row is not None
    assert "已关闭" in row.group(0)
    assert '<span class="small resolution">上级已采纳答复' in row.group(0)
    assert 'name="reason"' not in row.group(0)
