"""The node UI over real HTTP on a real node store: records, validation, approval, roles."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from node.store.models import OpState
from tests.node.core.helpers import Clock, NodeUnderTest, form_for, png_bytes, ready_node
from tests.node.web.nodeapp import form_fields, make_ui, ui_log_in
from tests.pki import Pki

Client = TestClient[Any, Any]


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


async def _new_record(client: Client, node: NodeUnderTest, csrf: str, *, seed: int = 1) -> str:
    categories, values = form_for(node.services, seed=seed)
    answer = await client.post(
        "/records/new", data=form_fields(categories, values, csrf), allow_redirects=False
    )
    assert answer.status == 303, (await answer.text())[-3000:]
    location = answer.headers["Location"]
    assert location.endswith("?notice=saved")
    return location.split("/")[2].split("?")[0]


async def test_a_collector_creates_a_record_and_finds_it(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    record_id = await _new_record(ui, node, csrf)
    page = await ui.get(f"/records/{record_id}?notice=saved")
    body = await page.text()
    view = node.services.get_record(record_id)
    assert str(view.values["name"]) in body
    assert "已保存" in body
    assert "修改历史" in body
    found = await ui.get("/records", params={"q": str(view.values["id_number"])[:10]})
    assert f"/records/{record_id}" in await found.text()


async def test_a_form_with_problems_saves_nothing_and_keeps_what_was_typed(
    ui: Client, node: NodeUnderTest
) -> None:
    csrf = await ui_log_in(ui, "collector")
    categories, values = form_for(node.services)
    values["name"] = ""
    values["phone"] = "0531-1234567 typed"
    values["birth_date"] = "2999-01-01"
    answer = await ui.post("/records/new", data=form_fields(categories, values, csrf))
    assert answer.status == 422
    body = await answer.text()
    assert "没有保存任何内容" in body
    assert "姓名为必填项" in body
    assert "出生日期晚于今天" in body
    assert 'value="0531-1234567 typed"' in body
    # The photos already chosen stay on the form.
    assert str(values["portrait_photo"]) in body
    assert node.services.status().records == 0
    assert node.services.search("") == []


async def _post_with_portrait(
    ui: Client, node: NodeUnderTest, photo: bytes, *, seed: int
) -> ClientResponse:
    """Post a new record whose portrait is an uploaded file (multipart, like a browser)."""
    csrf = await ui_log_in(ui, "collector")
    categories, values = form_for(node.services, seed=seed)
    values.pop("portrait_photo")
    form = FormData()
    for key, value in form_fields(categories, values, csrf):
        form.add_field(key, value)
    form.add_field("upload__portrait_photo", photo, filename="portrait", content_type="image/png")
    return await ui.post("/records/new", data=form, allow_redirects=False)


async def test_a_photo_upload_is_stored_and_kept_on_the_form(
    ui: Client, node: NodeUnderTest
) -> None:
    photo = png_bytes(4242)
    answer = await _post_with_portrait(ui, node, photo, seed=3)
    assert answer.status == 303, (await answer.text())[-2000:]
    record_id = answer.headers["Location"].split("/")[2].split("?")[0]
    ref = node.services.get_record(record_id).values["portrait_photo"]
    assert isinstance(ref, str)
    assert node.services.get_blob(ref) == ("image/png", photo)
    shown = await ui.get(f"/blobs/{ref}")
    assert shown.headers["Content-Type"] == "image/png"
    assert await shown.read() == photo


async def test_a_file_that_is_not_a_picture_is_refused_beside_its_field(
    ui: Client, node: NodeUnderTest
) -> None:
    answer = await _post_with_portrait(ui, node, b"MZ\x90\x00 not a photo", seed=5)
    assert answer.status == 422
    assert "本人照片：文件无法保存" in await answer.text()
    assert node.services.status().records == 0


async def test_a_form_without_its_csrf_token_is_refused(ui: Client, node: NodeUnderTest) -> None:
    await ui_log_in(ui, "collector")
    categories, values = form_for(node.services)
    fields = [f for f in form_fields(categories, values, "x") if f[0] != "csrf_token"]
    answer = await ui.post("/records/new", data=fields)
    assert answer.status == 403
    assert node.services.status().records == 0


async def test_editing_sets_only_the_changed_fields(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    record_id = await _new_record(ui, node, csrf)
    form_page = await (await ui.get(f"/records/{record_id}/edit")).text()
    assert 'name="_versions"' in form_page
    view = node.services.get_record(record_id)
    fields = form_fields(view.categories, dict(view.values), csrf)
    fields = [(k, "13900000000" if k == "phone" else v) for k, v in fields]
    versions = csrf_free_hidden(form_page)
    answer = await ui.post(
        f"/records/{record_id}/edit", data=fields + versions, allow_redirects=False
    )
    assert answer.status == 303, (await answer.text())[-2000:]
    history = node.services.get_record(record_id).history
    assert [h.kind for h in history] == ["create", "set"]
    assert [c.field for c in history[-1].changes] == ["phone"]


_HIDDEN = re.compile(r'<input type="hidden" name="(_versions|_record_version)" value="([^"]*)"')


def csrf_free_hidden(page: str) -> list[tuple[str, str]]:
    """The edit form's hidden version fields, unescaped."""
    return [(name, html.unescape(value)) for name, value in _HIDDEN.findall(page)]


async def test_an_approver_authorises_with_their_password(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    await _new_record(ui, node, csrf)
    await _new_record(ui, node, csrf, seed=2)
    await ui.post("/logout", data={"csrf_token": csrf})
    csrf = await ui_log_in(ui, "approver")
    page = await (await ui.get("/approval")).text()
    assert "共 2 条记录" in page
    pending = node.services.pending_changes()
    ids = [p.record_id for p in pending]

    wrong = await ui.post(
        "/approval/authorise",
        data=[("csrf_token", csrf), ("password", "not the password")]
        + [("record_id", i) for i in ids],
    )
    assert wrong.status == 401
    assert "密码错误，没有授权任何内容" in await wrong.text()
    assert node.services.outbox() == []
    assert node.services.status().ops_in(OpState.DRAFT) == 2

    right = await ui.post(
        "/approval/authorise",
        data=[("csrf_token", csrf), ("password", "approver-pass-1")]
        + [("record_id", i) for i in ids],
        allow_redirects=False,
    )
    assert right.status == 303
    assert right.headers["Location"] == "/outbox?notice=authorised"
    outbox = await (await ui.get("/outbox?notice=authorised")).text()
    assert "已签名授权" in outbox
    (item,) = node.services.outbox()
    assert item.bundle_hash[:16] in outbox
    assert node.services.status().ops_in(OpState.AUTHORISED) == 2


async def test_an_approver_sends_a_record_back_with_a_note(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    record_id = await _new_record(ui, node, csrf)
    await ui.post("/logout", data={"csrf_token": csrf})
    csrf = await ui_log_in(ui, "approver")
    answer = await ui.post(
        f"/approval/{record_id}/return",
        data={"csrf_token": csrf, "note": "照片不清楚，请重拍"},
        allow_redirects=False,
    )
    assert answer.status == 303
    page = await (await ui.get(f"/records/{record_id}")).text()
    assert "照片不清楚，请重拍" in page
    assert node.services.pending_changes() == []


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("collector", "/approval"),
        ("collector", "/admin/accounts"),
        ("collector", "/outbox"),
        ("admin", "/records"),
        ("admin", "/records/new"),
        ("approver", "/admin/accounts"),
    ],
)
async def test_pages_are_for_their_roles_only(ui: Client, who: str, path: str) -> None:
    await ui_log_in(ui, who)
    answer = await ui.get(path)
    assert answer.status == 403
    assert "您的账号没有此项权限" in await answer.text()


async def test_a_site_admin_adds_and_disables_an_account(
    ui: Client, aiohttp_client: AiohttpClient, node: NodeUnderTest
) -> None:
    csrf = await ui_log_in(ui, "admin")
    answer = await ui.post(
        "/admin/accounts",
        data={
            "csrf_token": csrf,
            "login": "wang.fang",
            "display_name": "王芳",
            "role": "collector",
            "password": "wang-fang-pass",
            "password_again": "wang-fang-pass",
        },
        allow_redirects=False,
    )
    assert answer.status == 303
    assert "王芳" in await (await ui.get("/admin/accounts")).text()
    collector: Client = await aiohttp_client(ui.server)
    await ui_log_in(collector, "collector")
    answer = await ui.post(
        "/admin/accounts/zhang.wei/active", data={"csrf_token": csrf, "active": "0"}
    )
    assert answer.status == 200
    assert "账号已停用" in await answer.text()
    logged_out = await collector.get("/records", allow_redirects=False)
    assert logged_out.status == 303
    assert "/login" in logged_out.headers["Location"]


async def test_mismatched_passwords_add_no_account(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "admin")
    before = len(node.services.accounts())
    answer = await ui.post(
        "/admin/accounts",
        data={
            "csrf_token": csrf,
            "login": "wang.fang",
            "display_name": "王芳",
            "role": "approver",
            "password": "wang-fang-pass",
            "password_again": "wang-fang-pas",
        },
    )
    assert answer.status == 422
    assert "password: the two entries differ" in await answer.text()
    assert len(node.services.accounts()) == before


async def test_flags_are_set_and_shown(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    record_id = await _new_record(ui, node, csrf)
    for flag in ("home_visit", "unreachable"):
        answer = await ui.post(
            f"/records/{record_id}/flags",
            data={"csrf_token": csrf, "flag": flag, "value": "1"},
            allow_redirects=False,
        )
        assert answer.status == 303
    flags = {f.value for f in node.services.get_record(record_id).flags}
    assert {"home_visit", "unreachable"} <= flags
    page = await (await ui.get(f"/records/{record_id}")).text()
    assert "上门采集" in page
    assert "联系不上" in page


async def test_reading_a_card_without_a_reader_says_so(ui: Client, node: NodeUnderTest) -> None:
    csrf = await ui_log_in(ui, "collector")
    answer = await ui.post(
        "/records/new/card", data=[("csrf_token", csrf), ("subject_category", "retired_soldier")]
    )
    assert answer.status == 422
    assert "本机没有配置读卡器" in await answer.text()


async def test_the_home_page_in_english(ui: Client) -> None:
    await ui_log_in(ui, "collector")
    await ui.get("/lang/en?next=/")
    body = await (await ui.get("/")).text()
    assert "Collection point status" in body
    assert "Sync now" in body


async def test_a_stale_form_makes_a_conflict_not_a_silent_overwrite(
    ui: Client, node: NodeUnderTest
) -> None:
    csrf = await ui_log_in(ui, "collector")
    record_id = await _new_record(ui, node, csrf)
    form_page = await (await ui.get(f"/records/{record_id}/edit")).text()
    view = node.services.get_record(record_id)
    # Someone else changes the phone after this form was drawn.
    node.services.save_record(record_id, view.categories, {"phone": "13800000001"}, "zhang.wei")
    fields = form_fields(view.categories, dict(view.values), csrf)
    fields = [(k, "13900000002" if k == "phone" else v) for k, v in fields]
    answer = await ui.post(
        f"/records/{record_id}/edit",
        data=fields + csrf_free_hidden(form_page),
        allow_redirects=False,
    )
    assert answer.status == 303
    assert answer.headers["Location"].endswith("?notice=saved_with_conflicts")
    after = node.services.get_record(record_id)
    assert set(after.conflicts) == {"phone"}
    page = await (await ui.get(answer.headers["Location"])).text()
    assert "形成了冲突" in page
    assert "13800000001 / 13900000002" in page or "13900000002 / 13800000001" in page


async def test_sync_now_without_a_parent_address_says_to_use_usb(
    ui: Client, node: NodeUnderTest
) -> None:
    csrf = await ui_log_in(ui, "collector")
    answer = await ui.post("/sync", data={"csrf_token": csrf}, allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/?notice=sync_no_parent"
    page = await (await ui.get(answer.headers["Location"])).text()
    assert "只能用U盘传送数据" in page


async def test_a_scanned_pdf_is_offered_as_a_download(ui: Client, node: NodeUnderTest) -> None:
    await ui_log_in(ui, "collector")
    scan = b"%PDF-1.4\n% a scanned confirmation sheet\n"
    ref = node.services.store_blob(scan, "application/pdf").blob_id
    answer = await ui.get(f"/blobs/{ref}")
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="file.pdf"'
    assert answer.headers["Cache-Control"] == "no-store"
    assert await answer.read() == scan
