"""Administrators' pages: enrollment and revocation, accounts, the audit log, the status
page; every change audited, every refused form changing nothing."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from hub.accounts import list_accounts
from hub.console import CONSOLE_PREFIX, JobBoard
from hub.console.appkeys import JOB_BOARD
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.sites import submit_enrollment
from hub.store.models import AuditRow, CertificateRow, DownBundle, EnrollmentRow
from protocol.trust import Certificate, Role
from protocol.trust.enrollment import make_enrollment_request
from tests.hub.console.conftest import AsRole
from tests.hub.console.console import audit_actions, console_app, log_in
from tests.pki import NOW, Pki, seeded_key

P = CONSOLE_PREFIX


def request_enrollment(hub: HubContext, subject: str = "370102002-01") -> str:
    keys = KeyPair(seeded_key(subject), AgeIdentity.generate())
    request = make_enrollment_request(
        keys.signing,
        subject=subject,
        role=Role.NODE,
        name="新采集点",
        at=NOW,
        age=keys.age.recipient,
    )
    return submit_enrollment(hub, request.to_bytes()).id


def enrollment(hub: HubContext, ident: str) -> EnrollmentRow:
    with hub.store.read() as session:
        row = session.get(EnrollmentRow, ident)
        assert row is not None
        return row


async def test_approving_an_enrollment_issues_a_certificate_inside_the_jurisdiction(
    as_role: AsRole, console_hub: HubContext, pki: Pki
) -> None:
    ident = request_enrollment(console_hub)
    client, csrf = await as_role("admin")
    page = await (await client.get(f"{P}sites")).text()
    assert f'data-request="{ident}"' in page
    answer = await client.post(
        f"{P}enrollments/{ident}/approve", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    row = enrollment(console_hub, ident)
    assert (row.state, row.decided_by) == ("approved", "admin")
    with console_hub.store.read() as session:
        cert_row = session.get(CertificateRow, row.serial)
        assert cert_row is not None
        cert = Certificate.from_bytes(cert_row.statement)
    assert (cert.subject, cert.issuer, cert.role) == ("370102002-01", "370102", Role.NODE)
    # The chain up to the root holds, name constraints included.
    chain = pki.store().with_certificates([cert]).validate(cert, NOW)
    assert [c.issuer for c in chain] == ["370102", "370100", "370000", "370000/root"]
    assert audit_actions(console_hub)[-1] == "enrollment.approved"


async def test_refusing_an_enrollment_needs_a_reason(
    as_role: AsRole, console_hub: HubContext
) -> None:
    ident = request_enrollment(console_hub)
    client, csrf = await as_role("admin")
    empty = await client.post(
        f"{P}enrollments/{ident}/refuse", data={"csrf_token": csrf, "reason": " "}
    )
    assert empty.status == 422
    assert "拒绝必须填写原因" in await empty.text()
    assert enrollment(console_hub, ident).state == "pending"
    answer = await client.post(
        f"{P}enrollments/{ident}/refuse",
        data={"csrf_token": csrf, "reason": "申请编号与电话核对不符"},
        allow_redirects=False,
    )
    assert answer.status == 303
    row = enrollment(console_hub, ident)
    assert (row.state, row.reason) == ("refused", "申请编号与电话核对不符")


async def test_revoking_a_certificate_needs_a_reason_and_sends_the_list_down(
    as_role: AsRole, console_hub: HubContext, pki: Pki
) -> None:
    cert = pki["approver"].cert
    assert cert is not None
    serial = cert.serial
    client, csrf = await as_role("admin")
    refused = await client.post(
        f"{P}certificates/{serial}/revoke", data={"csrf_token": csrf, "reason": "because"}
    )
    assert refused.status == 422
    assert "请选择吊销原因" in await refused.text()
    with console_hub.store.read() as session:
        untouched = session.get(CertificateRow, serial)
        assert untouched is not None
        assert untouched.revoked_at is None
    answer = await client.post(
        f"{P}certificates/{serial}/revoke",
        data={"csrf_token": csrf, "reason": "cessation"},
        allow_redirects=False,
    )
    assert answer.status == 303
    with console_hub.store.read() as session:
        row = session.get(CertificateRow, serial)
        assert row is not None
        assert row.revocation_reason == "cessation"
        trust = session.scalars(sa.select(DownBundle).where(DownBundle.kind == "trust")).all()
    assert [t.recipient for t in trust] == [pki["node"].subject]
    page = await (await client.get(f"{P}sites")).text()
    assert "已吊销" in page


async def test_an_administrator_creates_an_account(
    as_role: AsRole, console_hub: HubContext
) -> None:
    client, csrf = await as_role("admin")
    answer = await client.post(
        f"{P}accounts",
        data={
            "csrf_token": csrf,
            "login": "zhang.wei",
            "display_name": "张伟",
            "role": "reviewer",
            "scope": "370102001",
            "password": "another good one",
            "password_confirm": "another good one",
        },
        allow_redirects=False,
    )
    assert answer.status == 303
    created = {a.login: a for a in list_accounts(console_hub)}["zhang.wei"]
    assert (created.role.value, created.scope) == ("reviewer", "370102001")
    assert audit_actions(console_hub)[-1] == "account.created"


async def test_account_forms_say_what_to_fix_and_change_nothing(
    as_role: AsRole, console_hub: HubContext
) -> None:
    client, csrf = await as_role("admin")
    good = {
        "csrf_token": csrf,
        "login": "li.lei",
        "display_name": "李雷",
        "role": "viewer",
        "password": "long enough pw",
        "password_confirm": "long enough pw",
    }
    cases = [
        ({"login": "Li Lei"}, "用户名只能使用小写字母"),
        ({"login": "viewer"}, "该用户名已被使用"),
        ({"role": "root"}, "请选择角色"),
        ({"display_name": ""}, "请填写姓名"),
        ({"password": "short", "password_confirm": "short"}, "密码至少 8 个字符"),
        ({"password_confirm": "something else"}, "两次输入的密码不一致"),
        ({"scope": "37"}, "管辖范围必须是 370102 以内的区划代码"),
    ]
    before = list_accounts(console_hub)
    for change, message in cases:
        answer = await client.post(f"{P}accounts", data={**good, **change})
        assert answer.status == 422, change
        text = await answer.text()
        assert message in text, change
        assert "long enough pw" not in text
    assert list_accounts(console_hub) == before


async def test_disabling_an_account_ends_its_session_at_once(
    as_role: AsRole, console_hub: HubContext
) -> None:
    viewer, _ = await as_role("viewer")
    admin, csrf = await as_role("admin")
    answer = await admin.post(
        f"{P}accounts/viewer/disable", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    page = await viewer.get(P, allow_redirects=False)
    assert page.status == 303
    assert audit_actions(console_hub)[-1] == "account.disabled"
    again = await admin.post(
        f"{P}accounts/viewer/enable", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert again.status == 303
    assert audit_actions(console_hub)[-1] == "account.enabled"


async def test_an_administrator_cannot_disable_their_own_account(
    as_role: AsRole, console_hub: HubContext
) -> None:
    admin, csrf = await as_role("admin")
    answer = await admin.post(f"{P}accounts/admin/disable", data={"csrf_token": csrf})
    assert answer.status == 422
    assert "不能停用自己的账号" in await answer.text()
    assert not {a.login: a for a in list_accounts(console_hub)}["admin"].disabled


async def test_a_new_password_replaces_the_old_one(
    as_role: AsRole, console_hub: HubContext, aiohttp_client: AiohttpClient
) -> None:
    admin, csrf = await as_role("admin")
    mismatch = await admin.post(
        f"{P}accounts/viewer/password",
        data={"csrf_token": csrf, "password": "new password 1", "password_confirm": "other"},
    )
    assert mismatch.status == 422
    answer = await admin.post(
        f"{P}accounts/viewer/password",
        data={
            "csrf_token": csrf,
            "password": "new password 1",
            "password_confirm": "new password 1",
        },
        allow_redirects=False,
    )
    assert answer.status == 303
    assert audit_actions(console_hub)[-1] == "account.password"
    viewer = await aiohttp_client(console_app(console_hub))
    await log_in(viewer, "viewer", "new password 1")


async def test_the_audit_chain_check_passes_and_is_itself_audited(
    as_role: AsRole, console_hub: HubContext
) -> None:
    client, csrf = await as_role("auditor")
    page = await (await client.get(f"{P}audit")).text()
    assert "创建账号" in page
    answer = await client.post(f"{P}audit/verify", data={"csrf_token": csrf})
    assert answer.status == 200
    assert "校验通过" in await answer.text()
    assert audit_actions(console_hub)[-1] == "audit.verified"


async def test_an_altered_audit_entry_is_reported(as_role: AsRole, console_hub: HubContext) -> None:
    client, csrf = await as_role("auditor")
    with console_hub.store.write() as session:
        session.execute(sa.update(AuditRow).where(AuditRow.seq == 2).values(actor="mallory"))
    answer = await client.post(f"{P}audit/verify", data={"csrf_token": csrf})
    assert answer.status == 409
    text = await answer.text()
    assert "校验失败" in text
    assert "audit log:" in text
    assert "audit.verified" not in audit_actions(console_hub)


async def test_the_audit_log_filters_by_kind(as_role: AsRole) -> None:
    client, _ = await as_role("admin")
    page = await (await client.get(f"{P}audit?kind=login")).text()
    assert 'data-action="login"' in page
    assert 'data-action="account.created"' not in page


async def test_the_status_page_shows_the_jobs_and_the_pipeline(
    as_role: AsRole, console_hub: HubContext
) -> None:
    client, _ = await as_role("viewer")
    app = client.app
    assert isinstance(app, web.Application)
    board: JobBoard = app[JOB_BOARD]
    board.register("sync_up", "every 60 s")
    with board.run("sync_up", lambda: NOW):
        pass
    try:
        with board.run("snapshot", lambda: NOW):
            raise NotFoundError("no parent hub configured")
    except NotFoundError:
        pass
    page = await (await client.get(f"{P}status")).text()
    assert 'data-job="sync_up"' in page
    assert "every 60 s" in page
    assert "not_found: no parent hub configured" in page
    assert "处理任务运行中" in page


def test_a_job_that_fails_with_a_foreign_error_shows_only_its_class() -> None:
    board = JobBoard()
    try:
        with board.run("export", lambda: NOW):
            raise ValueError("李四 110101199003077777 is not a number")
    except ValueError:
        pass
    (job,) = board.snapshot()
    assert (job.last_error, job.runs, job.failures, job.running) == ("ValueError", 1, 1, False)


async def test_the_whole_console_is_usable_in_english(as_role: AsRole) -> None:
    client, _ = await as_role("admin")
    await client.get(f"{P}lang/en?next={P}")
    for path in ("", "records", "sites", "accounts", "audit", "status"):
        page = await (await client.get(P + path)).text()
        assert '<html lang="en">' in page, path


async def test_an_administrator_gives_an_account_another_role(
    as_role: AsRole, console_hub: HubContext
) -> None:
    viewer, _ = await as_role("viewer")
    assert "· 查看员</span>" in await (await viewer.get(P)).text()
    admin, csrf = await as_role("admin")
    answer = await admin.post(
        f"{P}accounts/viewer/role",
        data={"csrf_token": csrf, "role": "reviewer"},
        allow_redirects=False,
    )
    assert answer.status == 303
    assert {a.login: a for a in list_accounts(console_hub)}["viewer"].role == "reviewer"
    with console_hub.store.read() as session:
        last = session.scalars(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).one()
    assert (last.action, last.actor, last.subject) == ("account.role", "admin", "viewer")
    assert last.details == '{"from":"viewer","to":"reviewer"}'
    # From the account's next page on, without logging in again.
    assert "· 审核员</span>" in await (await viewer.get(P)).text()
    page = await (await admin.get(f"{P}audit?kind=account")).text()
    assert "修改角色" in page


async def test_a_role_change_that_cannot_be_made_changes_nothing(
    as_role: AsRole, console_hub: HubContext
) -> None:
    admin, csrf = await as_role("admin")
    before = list_accounts(console_hub)
    actions = audit_actions(console_hub)
    for login, role, shown in (
        ("admin", "viewer", "不能修改自己的角色"),
        ("viewer", "boss", "请选择角色"),
    ):
        answer = await admin.post(
            f"{P}accounts/{login}/role", data={"csrf_token": csrf, "role": role}
        )
        assert answer.status == 422
        assert shown in await answer.text()
    missing = await admin.post(
        f"{P}accounts/nobody/role", data={"csrf_token": csrf, "role": "viewer"}
    )
    assert missing.status == 404
    assert list_accounts(console_hub) == before
    assert audit_actions(console_hub) == actions


async def test_a_console_logout_is_audited(as_role: AsRole, console_hub: HubContext) -> None:
    viewer, csrf = await as_role("viewer")
    answer = await viewer.post(f"{P}logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert answer.status == 303
    with console_hub.store.read() as session:
        last = session.scalars(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).one()
    assert (last.action, last.actor, last.subject) == ("logout", "viewer", "viewer")
    assert (await viewer.get(P, allow_redirects=False)).status == 303
