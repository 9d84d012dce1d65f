"""Accounts, sessions, enrollment answers and the audit log: each bad input refused by
type and message, with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from node.errors import AuthenticationError, ConflictError, FormError, NotFoundError
from node.store import transaction
from node.store.models import AccountRow, AuditRow, SessionRow
from protocol.errors import AuditChainError, TrustError
from protocol.trust import Role
from protocol.trust.enrollment import EnrollmentAnswer
from tests.node.core.helpers import (
    ADMIN,
    APPROVER,
    COLLECTOR,
    NodeUnderTest,
    approver_answer,
    certify,
    enrollment_answer,
    form_for,
)
from tests.pki import NOW


def _audit(node: NodeUnderTest) -> list[tuple[str, str]]:
    with transaction(node.services.context.engine) as session:
        return [
            (row.action, row.subject)
            for row in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()
        ]


def _accounts(node: NodeUnderTest) -> int:
    with transaction(node.services.context.engine) as session:
        return int(session.execute(select(func.count()).select_from(AccountRow)).scalar_one())


def test_a_right_password_logs_in_and_is_audited(node: NodeUnderTest) -> None:
    account = node.services.authenticate(*COLLECTOR[::2])
    assert (account.login, account.role.value) == (COLLECTOR[0], "collector")
    assert _audit(node)[-1] == ("login", COLLECTOR[0])


@pytest.mark.parametrize(
    ("login", "password"),
    [(COLLECTOR[0], "wrong password"), ("nobody", "whatever1"), (COLLECTOR[0], "")],
)
def test_wrong_logins_and_passwords_get_one_message(
    node: NodeUnderTest, login: str, password: str
) -> None:
    with pytest.raises(AuthenticationError, match="login or password is wrong"):
        node.services.authenticate(login, password)


def test_failed_attempts_stay_in_the_audit_log(node: NodeUnderTest) -> None:
    with pytest.raises(AuthenticationError):
        node.services.authenticate(COLLECTOR[0], "wrong password")
    with pytest.raises(AuthenticationError):
        node.services.authorise(APPROVER[0], "wrong password")
    assert _audit(node)[-2:] == [("login.failed", COLLECTOR[0]), ("authorise.failed", APPROVER[0])]


def test_a_disabled_account_cannot_log_in(node: NodeUnderTest) -> None:
    node.services.set_account_active(COLLECTOR[0], False, by=ADMIN[0])
    with pytest.raises(AuthenticationError):
        node.services.authenticate(*COLLECTOR[::2])
    assert _audit(node)[-2:] == [
        ("account.disabled", COLLECTOR[0]),
        ("login.failed", COLLECTOR[0]),
    ]


@pytest.mark.parametrize(
    ("login", "name", "role", "password", "message"),
    [
        ("Bad Login", "x", "collector", "long enough", "login: expected"),
        ("ok.login", "", "collector", "long enough", "display name"),
        ("ok.login", "x", "boss", "long enough", "role: expected one of"),
        ("ok.login", "x", "collector", "short", "at least 8 characters"),
    ],
)
def test_bad_account_details_are_refused(
    node: NodeUnderTest, login: str, name: str, role: str, password: str, message: str
) -> None:
    before = _accounts(node)
    with pytest.raises(FormError, match=message):
        node.services.create_account(login, name, role, password)
    assert _accounts(node) == before


def test_a_taken_login_and_the_last_admin_are_protected(node: NodeUnderTest) -> None:
    with pytest.raises(ConflictError, match="already taken"):
        node.services.create_account(COLLECTOR[0], "x", "collector", "long enough")
    with pytest.raises(ConflictError, match="last active site administrator"):
        node.services.set_account_active(ADMIN[0], False)
    with pytest.raises(NotFoundError):
        node.services.set_account_active("nobody", False)


def test_a_new_password_reseals_the_approvers_key(node: NodeUnderTest) -> None:
    services = node.services
    with pytest.raises(AuthenticationError):
        services.change_password(APPROVER[0], "not it", "new password 1")
    services.change_password(APPROVER[0], APPROVER[2], "new password 1")
    services.authenticate(APPROVER[0], "new password 1")
    categories, values = form_for(services)
    services.save_record(None, categories, values, COLLECTOR[0])
    with pytest.raises(AuthenticationError, match="approver's password is wrong"):
        services.authorise(APPROVER[0], APPROVER[2])
    assert services.authorise(APPROVER[0], "new password 1").op_count == 1


def test_an_enrollment_answer_for_other_keys_is_refused(bare_node: NodeUnderTest) -> None:
    pki = bare_node.pki
    foreign = EnrollmentAnswer(
        certificates=tuple(pki[n].cert for n in ("node", "district", "city", "province"))  # type: ignore[misc]
    ).to_bytes()
    with pytest.raises(TrustError, match="names other keys"):
        bare_node.services.enroll(foreign)
    assert not bare_node.services.enrollment().enrolled


def test_an_enrollment_answer_without_its_chain_is_refused(bare_node: NodeUnderTest) -> None:
    full = EnrollmentAnswer.from_bytes(enrollment_answer(bare_node))
    alone = EnrollmentAnswer(certificates=full.certificates[:1]).to_bytes()
    with pytest.raises(TrustError, match="not known to this store"):
        bare_node.services.enroll(alone)
    assert not bare_node.services.enrollment().enrolled


def test_an_expired_enrollment_answer_is_refused(bare_node: NodeUnderTest) -> None:
    answer = enrollment_answer(bare_node)
    ends = EnrollmentAnswer.from_bytes(answer).certificates[0].not_after
    bare_node.clock.moment = ends + timedelta(days=1)
    with pytest.raises(TrustError, match="valid from"):
        bare_node.services.enroll(answer)
    assert not bare_node.services.enrollment().enrolled


def test_an_approver_certificate_for_another_key_is_refused(node: NodeUnderTest) -> None:
    services = node.services
    services.create_account("wang.li", "王丽", "approver", "approver-pass-2")
    others = certify(node.pki, services.approver_request(APPROVER[0]), Role.APPROVER)
    with pytest.raises(NotFoundError, match="certifies no approver"):
        services.install_approver_certificate(
            others.replace(b"li.na", b"wang.li")  # a tampered subject: the signature fails
        )
    assert not services.account("wang.li").certified  # type: ignore[union-attr]
    services.install_approver_certificate(approver_answer(node, "wang.li"))
    assert services.account("wang.li").certified  # type: ignore[union-attr]


def test_sessions_keep_digests_and_end_when_idle(node: NodeUnderTest) -> None:
    store = node.services.session_store(idle=timedelta(minutes=30))
    token = store.create(COLLECTOR[0], NOW)
    with transaction(node.services.context.engine) as session:
        stored = session.execute(select(SessionRow.token_digest)).scalars().all()
    assert token not in stored
    assert store.get(token, NOW + timedelta(minutes=10)) is not None
    store.touch(token, NOW + timedelta(minutes=20))
    assert store.get(token, NOW + timedelta(minutes=45)) is not None
    assert store.get(token, NOW + timedelta(minutes=80)) is None
    second = store.create(COLLECTOR[0], NOW)
    node.services.set_account_active(COLLECTOR[0], False)
    assert store.get(second, NOW) is None


def test_an_altered_audit_entry_is_found(node: NodeUnderTest) -> None:
    count = node.services.verify_audit()
    assert count > 3
    with transaction(node.services.context.engine) as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values(actor="someone else"))
    with pytest.raises(AuditChainError, match="entry 2 was altered"):
        node.services.verify_audit()
