"""The cross-check's console pages through the hub's real app: upload a register as a stream,
map its columns once, import and match it in the background, read the findings per region
and source with their ages, decide answers and fuzzy matches — within each account's
jurisdiction and permissions."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import random
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.crosscheck.answers import receive_answers
from hub.crosscheck.dispatch import send_problems
from hub.crosscheck.service import import_file, run_check
from hub.crosscheck.settings import CrosscheckConfig
from hub.crosscheck.synthetic import PLANTED_HEADERS, planted_register
from hub.store.crosscheck_models import DatasetRow, FindingRow, ProposalRow
from protocol.entries import AnswerReason, ProblemAnswer
from tests.hub.console.conftest import AsRole, Client
from tests.hub.console.console import PREFIX
from tests.hub.crosscheck.signing import origins_at
from tests.hub.crosscheck.wiring import (
    ADMIN,
    SOURCE,
    Register,
    household_mapping,
    live_values,
    merge_records,
    write_register,
)
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import NOW

UPLOAD = f"{PREFIX}crosscheck/upload"


def _findings(hub: HubContext) -> dict[str, FindingRow]:
    with hub.store.read() as session:
        return {r.finding_id: r for r in session.scalars(sa.select(FindingRow))}


@pytest.fixture
def register(console_hub: HubContext, deltas: DeltaFactory, tmp_path: Path) -> Register:
    """Records of two towns merged; a household register of the first imported and matched."""
    merge_records(console_hub, deltas, 6)
    register = write_register(console_hub, tmp_path / "household.csv")
    other = [deltas.create(record_id(n, "other-town"), deltas.record("370102002")) for n in (1, 2)]
    submit(console_hub, deltas.bundle(other)[0])
    drain(console_hub)
    dataset = import_file(console_hub, register.path, mapping=household_mapping(), by=ADMIN)
    run_check(console_hub, dataset.dataset_id, by=ADMIN)
    return register


@pytest.fixture
def checked(console_hub: HubContext, register: Register) -> HubContext:
    return console_hub


async def _get(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(f"{PREFIX}{path}")
    text = await response.text()
    assert response.status == status, text[:500]
    return text


async def _post(client: Client, path: str, csrf: str, **data: str) -> Any:
    return await client.post(f"{PREFIX}{path}", data={"csrf_token": csrf, **data},
                             allow_redirects=False)  # fmt: skip


async def test_the_overview_counts_findings_per_region_and_source(
    checked: HubContext, as_role: AsRole
) -> None:
    client, _csrf = await as_role("viewer")
    html = await _get(client, "crosscheck")
    region = re.search(r'<tr data-key="370102001">(.*?)</tr>', html, re.S)
    assert region is not None
    cells = re.findall(r'<td class="num[^"]*">(\d+)</td>', region.group(1))
    assert cells[:3] == ["5", "0", "0"]  # open, answered, closed
    assert cells[3] == "5"  # all opened today
    assert f'<tr data-key="{SOURCE}">' in html
    assert "370102002" not in html  # the other town's people agree with the register


async def test_an_auditor_sees_no_findings(checked: HubContext, as_role: AsRole) -> None:
    client, _csrf = await as_role("auditor")
    await _get(client, "crosscheck", status=403)
    await _get(client, "crosscheck/findings", status=403)


async def test_findings_are_listed_within_the_account_s_jurisdiction(
    checked: HubContext, register: Register, as_role: AsRole, tmp_path: Path
) -> None:
    # A finding in the other town, which the town account (370102001) must not see.
    values = dict(live_values(checked))
    other = next(
        rid for rid, v in values.items() if v["hukou_division_code"].startswith("370102002")
    )
    [renamed] = planted_register([(other, values[other])], random.Random(1), disagreements=1,
                                 deceased=0, missing=0).rows  # fmt: skip
    again = write_register(checked, tmp_path / "next.csv",
                           rows=[*register.planted.rows, renamed])  # fmt: skip
    dataset = import_file(checked, again.path, mapping=household_mapping(), by=ADMIN)
    run_check(checked, dataset.dataset_id, by=ADMIN)
    admin, _ = await as_role("admin")
    town, _ = await as_role("town")
    everything = await _get(admin, "crosscheck/findings")
    mine = await _get(town, "crosscheck/findings")
    assert everything.count("data-finding=") == 6
    assert mine.count("data-finding=") == 5
    hidden = next(f for f, r in _findings(checked).items() if r.record_id == other)
    assert hidden in everything
    assert hidden not in mine
    assert (await _get(town, "crosscheck/findings?state=closed")).count("data-finding=") == 0


async def test_a_reviewer_accepts_an_answer_and_a_viewer_may_not(
    checked: HubContext, as_role: AsRole
) -> None:
    send_problems(checked)
    target = next(iter(_findings(checked)))
    answer = ProblemAnswer(finding_id=target, reason=AnswerReason.REGISTER_WRONG, note="",
                           by="370102001/zhang.wei", at=NOW)  # fmt: skip
    with checked.store.write() as session:
        receive_answers(checked, session, [answer], sender="370102001-01",
                        origins=origins_at("370102001-01", [answer]))  # fmt: skip
    viewer, viewer_csrf = await as_role("viewer")
    refused = await _post(viewer, f"crosscheck/findings/{target}/accept", viewer_csrf)
    assert refused.status == 403
    assert _findings(checked)[target].state == "answered"
    reviewer, csrf = await as_role("reviewer")
    html = await _get(reviewer, "crosscheck/findings?state=answered")
    assert "名单登记有误" in html
    empty = await _post(reviewer, f"crosscheck/findings/{target}/reject", csrf, reason="  ")
    assert empty.status == 303
    assert "error=" in empty.headers["Location"]
    assert _findings(checked)[target].state == "answered"
    done = await _post(reviewer, f"crosscheck/findings/{target}/accept", csrf)
    assert done.status == 303
    assert done.headers["Location"].endswith("notice=crosscheck_accepted")
    row = _findings(checked)[target]
    assert (row.state, row.resolution, row.closed_by) == ("closed", "accepted", "reviewer")


async def test_a_finding_outside_the_scope_cannot_be_decided(
    checked: HubContext, as_role: AsRole
) -> None:
    with checked.store.write() as session:
        target = session.scalars(sa.select(FindingRow)).first()
        assert target is not None
        target.division_code = "370102002001"
        finding = target.finding_id
    town, csrf = await as_role("town")
    answer = await _post(town, f"crosscheck/findings/{finding}/accept", csrf)
    assert answer.status == 404


async def test_findings_made_above_are_listed_apart_and_decided_only_there(
    checked: HubContext, as_role: AsRole
) -> None:
    # A finding the city made and this district passed down (a mirror: hub/crosscheck/mirror.py).
    send_problems(checked)
    mirror = next(iter(_findings(checked)))
    with checked.store.write() as session:
        row = session.get(FindingRow, mirror)
        assert row is not None
        row.origin = "370100"
    admin, csrf = await as_role("admin")
    assert mirror not in await _get(admin, "crosscheck/findings")  # this hub's own: 4
    above = await _get(admin, "crosscheck/findings?made=above")
    listed = re.search(rf'<tr data-finding="{mirror}".*?</tr>', above, re.S)
    assert listed is not None
    assert "上级 370100 提出" in listed.group(0)
    assert "<form" not in listed.group(0)  # the city decides, not the district
    overview = await _get(admin, "crosscheck")
    section = re.search(r'<section class="card" id="made-above">(.*?)</section>', overview, re.S)
    assert section is not None
    assert re.findall(r'<td class="num open">(\d+)</td>', section.group(1)) == ["1"]
    refused = await _post(admin, f"crosscheck/findings/{mirror}/withdraw", csrf)
    assert refused.status == 404
    assert _findings(checked)[mirror].state == "open"


async def _until_done(client: Client, path: str) -> str:
    for _ in range(600):
        html = await _get(client, path)
        if (
            'data-state="writing"' not in html
            and "crosscheck.checking" not in html
            and ("正在与采集记录比对" not in html)
        ):
            return html
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} still running")


async def test_a_register_is_uploaded_mapped_imported_and_matched(
    console_hub: HubContext, deltas: DeltaFactory, as_role: AsRole, tmp_path: Path
) -> None:
    merge_records(console_hub, deltas, 5)
    register = write_register(console_hub, tmp_path / "户籍.csv")
    admin, csrf = await as_role("admin")
    form = await _get(admin, "crosscheck/upload")
    assert 'data-upload id="upload-form"' in form
    posted = await admin.post(
        UPLOAD,
        params={"source": SOURCE, "kind": "public_security", "as_of": "2026-11-28",
                "file_name": "户籍.csv"},
        data=register.path.read_bytes(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
        allow_redirects=False,
    )  # fmt: skip
    assert posted.status == 303, await posted.text()
    mapping_url = posted.headers["Location"]
    token = re.search(r"upload/([0-9a-f]{32})", mapping_url)
    assert token is not None
    page = await admin.get(mapping_url)
    html = await page.text()
    assert "此名单已保存的列对应关系" not in html  # first time: proposed, not saved
    assert '<option value="id_number" selected>' in html
    choices = dict(re.findall(r'name="(column-\d+)">.*?<option value="([a-z_]+)" selected>',
                              html, re.S))  # fmt: skip
    assert len(choices) == len(PLANTED_HEADERS)
    started = await _post(admin, f"crosscheck/upload/{token.group(1)}", csrf, source=SOURCE,
                          kind="public_security", as_of="2026-11-28", file_name="户籍.csv",
                          **choices)  # fmt: skip
    assert started.status == 303
    dataset = started.headers["Location"].split("/imports/")[1].split("?")[0]
    done = await _until_done(admin, f"crosscheck/imports/{dataset}")
    assert 'data-state="committed"' in done
    assert f'<dd class="rows-stored">{len(register.planted.rows)}</dd>' in done
    checking = await _post(admin, f"crosscheck/imports/{dataset}/check", csrf)
    assert checking.status == 303
    matched = await _until_done(admin, f"crosscheck/imports/{dataset}")
    assert 'class="checked"' in matched
    found = _findings(console_hub)
    assert len(found) == 5
    assert all(row.sent_at is not None for row in found.values())  # sent down with the check
    with console_hub.store.read() as session:
        stored = session.get(DatasetRow, dataset)
        assert stored is not None
        assert (stored.file_name, str(stored.as_of), stored.imported_by) == (
            "户籍.csv", "2026-11-28", "admin"
        )  # fmt: skip
    assert not list(console_hub.config.scratch_dir.glob("register-*.upload"))
    # Next month the same register: the saved mapping is offered.
    again = await admin.post(
        UPLOAD, params={"source": SOURCE, "kind": "public_security"},
        data=register.path.read_bytes(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert "此名单已保存的列对应关系适用于该文件" in await again.text()


@pytest.mark.parametrize(
    ("body", "params", "message"),
    [
        (b"", {"source": SOURCE, "kind": "public_security"}, "请选择名单文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, {"source": SOURCE,
         "kind": "public_security"}, "register file: XLS (Excel 97-2003) is not supported"),
        (b"a,b\n1,2\n", {"source": "", "kind": "public_security"}, "请填写名单名称"),
        (b"a,b\n1,2\n", {"source": SOURCE, "kind": "police"}, "请选择名单的来源部门"),
    ],
)  # fmt: skip
async def test_a_refused_upload_returns_to_the_form_and_keeps_nothing(
    console_hub: HubContext,
    as_role: AsRole,
    body: bytes,
    params: dict[str, str],
    message: str,
) -> None:
    admin, csrf = await as_role("admin")
    answer = await admin.post(UPLOAD, params=params, data=body,
                              headers={"X-CSRF-Token": csrf,
                                       "Content-Type": "application/octet-stream"})  # fmt: skip
    html = await answer.text()
    assert answer.url.path == UPLOAD
    assert message in html
    assert not list(console_hub.config.scratch_dir.glob("register-*.upload"))
    with console_hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DatasetRow)) == 0


async def test_an_upload_above_the_limit_is_refused_while_it_streams(
    console_hub: HubContext, as_role: AsRole
) -> None:
    console_hub.config = dataclasses.replace(
        console_hub.config, crosscheck=CrosscheckConfig(max_upload_mib=1)
    )
    admin, csrf = await as_role("admin")
    answer = await admin.post(UPLOAD, params={"source": SOURCE, "kind": "public_security"},
                              data=io.BytesIO(b"x" * (2 << 20)),
                              headers={"X-CSRF-Token": csrf,
                                       "Content-Type": "application/octet-stream"})  # fmt: skip
    assert "文件超过控制台允许的大小" in await answer.text()
    assert not list(console_hub.config.scratch_dir.glob("register-*.upload"))


async def test_a_small_register_may_come_as_a_plain_form(
    console_hub: HubContext, deltas: DeltaFactory, as_role: AsRole, tmp_path: Path
) -> None:
    merge_records(console_hub, deltas, 4)
    register = write_register(console_hub, tmp_path / "small.csv")
    admin, csrf = await as_role("admin")
    with register.path.open("rb") as handle:
        answer = await admin.post(UPLOAD, data={"csrf_token": csrf, "source": SOURCE,
                                                "kind": "public_security", "file": handle},
                                  allow_redirects=False)  # fmt: skip
    assert answer.status == 303, await answer.text()
    assert "file_name=small.csv" in answer.headers["Location"]


async def test_a_fuzzy_match_is_confirmed_into_findings(
    console_hub: HubContext, deltas: DeltaFactory, as_role: AsRole, tmp_path: Path
) -> None:
    merge_records(console_hub, deltas, 4)
    values = live_values(console_hub)
    agreeing = planted_register(values, random.Random(2), disagreements=0, deceased=0, missing=0)
    rows = list(agreeing.rows)
    # The first person's row lost its ID number, and the register spells the address apart.
    rows[0] = ("", rows[0][1], *rows[0][2:5], rows[0][5] + "附2号", *rows[0][6:])
    register = write_register(console_hub, tmp_path / "b.csv", rows=rows)
    dataset = import_file(console_hub, register.path, mapping=household_mapping(), by=ADMIN)
    run_check(console_hub, dataset.dataset_id, by=ADMIN)
    with console_hub.store.read() as session:
        [proposal] = session.scalars(sa.select(ProposalRow)).all()
    assert proposal.record_id == values[0][0]
    admin, csrf = await as_role("admin")
    html = await _get(admin, "crosscheck/proposals")
    assert f'data-record="{proposal.record_id}"' in html
    assert "姓名相同" in html
    path = f"crosscheck/proposals/{proposal.dataset_id}/{proposal.row}/{proposal.record_id}"
    confirmed = await _post(admin, f"{path}/confirm", csrf)
    assert confirmed.status == 303
    [finding] = [r for r in _findings(console_hub).values() if r.record_id == proposal.record_id]
    assert (finding.field, finding.kind) == ("hukou_address", "value_mismatch")
    again = await _post(admin, f"{path}/confirm", csrf)
    assert again.status == 404  # decided: it no longer waits on the page


@pytest.mark.parametrize(
    ("login", "path", "status"),
    [
        ("viewer", "crosscheck", 200),
        ("viewer", "crosscheck/upload", 403),
        ("viewer", "crosscheck/proposals", 403),
        ("reviewer", "crosscheck/findings", 200),
        ("reviewer", "crosscheck/upload", 403),
        ("auditor", "crosscheck/proposals", 403),
        ("admin", "crosscheck/upload", 200),
        ("admin", "crosscheck/proposals", 200),
        ("admin", "crosscheck/imports/" + "0" * 32, 404),
        ("admin", "crosscheck/upload/" + "0" * 32, 404),
    ],
)
async def test_pages_follow_the_role(as_role: AsRole, login: str, path: str, status: int) -> None:
    client, _csrf = await as_role(login)
    await _get(client, path, status=status)


@pytest.mark.parametrize("path", ["crosscheck/send", "crosscheck/recheck"])
async def test_only_an_administrator_sends_and_re_checks(
    checked: HubContext, as_role: AsRole, path: str
) -> None:
    reviewer, csrf = await as_role("reviewer")
    assert (await _post(reviewer, path, csrf)).status == 403
    assert all(row.sent_at is None for row in _findings(checked).values())
    admin, admin_csrf = await as_role("admin")
    answer = await _post(admin, path, admin_csrf)
    assert answer.status == 303
    if path.endswith("send"):
        assert all(row.sent_at is not None for row in _findings(checked).values())
