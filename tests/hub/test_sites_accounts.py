"""Sites (enrollment, certificates, revocation) and accounts (roles, scopes, sessions)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crypto.age import AgeIdentity
from crypto.errors import InputError
from crypto.keys import KeyPair
from hub.accounts import (
    HubAuthenticator,
    HubSessionStore,
    authenticate,
    create_account,
    set_disabled,
)
from hub.context import HubContext
from hub.errors import AlreadyDecidedError, AuthenticationError, NotFoundError
from hub.queries import get_record, search_records
from hub.rawstore import bundle_path
from hub.sites import (
    approve_enrollment,
    enrollment_status,
    list_enrollments,
    list_sites,
    refuse_enrollment,
    revoke,
    submit_enrollment,
)
from hub.store.models import DownBundle
from node.web.kit.sessions import SessionStore
from protocol.bundle import open_bundle
from protocol.entries import decode_entry
from protocol.trust import RevocationList, RevocationReason, Role
from protocol.trust.enrollment import make_enrollment_request, verify_answer
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import NOW, Pki, seeded_key


def enroll(hub: HubContext, subject: str, role: Role = Role.NODE) -> tuple[str, KeyPair]:
    keys = KeyPair(seeded_key(subject), AgeIdentity.generate())
    age = keys.age.recipient if role in (Role.NODE, Role.HUB) else None
    request = make_enrollment_request(
        keys.signing, subject=subject, role=role, name="新点", at=NOW, age=age
    )
    return submit_enrollment(hub, request.to_bytes()).id, keys


def test_an_approved_enrollment_answer_chains_to_the_root(hub: HubContext, pki: Pki) -> None:
    ident, keys = enroll(hub, "370102003-01")
    assert [e.id for e in list_enrollments(hub, "pending")] == [ident]
    cert = approve_enrollment(hub, ident, by="wang.fang")
    state, answer, _ = enrollment_status(hub, ident)
    assert state == "approved"
    assert answer is not None
    verify_answer(
        answer,
        anchor=pki.anchor,
        subject="370102003-01",
        role=Role.NODE,
        sign_key=keys.signing.public_key,
        age=keys.age.recipient,
        at=NOW,
    )
    assert cert.not_after - cert.not_before > timedelta(days=700)
    assert "370102003-01" in [s.subject for s in list_sites(hub)]
    with pytest.raises(AlreadyDecidedError):
        approve_enrollment(hub, ident, by="wang.fang")


def test_a_resent_request_is_the_same_request(hub: HubContext) -> None:
    keys = KeyPair(seeded_key("same"), AgeIdentity.generate())
    request = make_enrollment_request(
        keys.signing,
        subject="370102004-01",
        role=Role.NODE,
        name="同一",
        at=NOW,
        age=keys.age.recipient,
    )
    first = submit_enrollment(hub, request.to_bytes())
    again = submit_enrollment(hub, request.to_bytes())
    assert first.id == again.id
    assert len(list_enrollments(hub)) == 1


def test_a_refused_enrollment_says_why(hub: HubContext) -> None:
    ident, _ = enroll(hub, "370102005-01")
    refuse_enrollment(hub, ident, by="wang.fang", reason="不是本区的采集点")
    assert enrollment_status(hub, ident) == ("refused", None, "不是本区的采集点")


def test_an_unknown_request_is_not_found(hub: HubContext) -> None:
    with pytest.raises(NotFoundError):
        enrollment_status(hub, "0" * 32)


def test_revoking_a_node_sends_the_list_down_and_its_bundles_are_refused(
    hub: HubContext, pki: Pki
) -> None:
    ident, keys = enroll(hub, "370102006-01")
    cert = approve_enrollment(hub, ident, by="wang.fang")
    crl = revoke(hub, cert.serial, reason=RevocationReason.KEY_COMPROMISE, by="wang.fang")
    assert crl.number == 1
    assert crl.find(cert.serial) is not None
    with hub.store.read() as session:
        down = session.scalars(sa.select(DownBundle).order_by(DownBundle.recipient)).all()
        # Every child of the hub gets the new list, the revoked one too.
        assert [(d.recipient, d.kind) for d in down] == [
            ("370102001-01", "trust"),
            ("370102006-01", "trust"),
        ]
        digest = down[1].bundle_hash
        store = hub.trust(session)
    with bundle_path(hub.config.down_dir, digest).open("rb") as source:
        opened = open_bundle(source, trust=pki.trust(), identities=[keys.age])
        [entry] = [decode_entry(e, i) for i, e in enumerate(opened.entries())]
    assert isinstance(entry, RevocationList)
    with pytest.raises(Exception, match="revoked"):
        store.validate(cert, NOW)
    with pytest.raises(AlreadyDecidedError):
        revoke(hub, cert.serial, reason=RevocationReason.CESSATION, by="wang.fang")


def test_a_revoked_approver_can_no_longer_authorise(
    hub: HubContext, pki: Pki, deltas: DeltaFactory
) -> None:
    approver = pki["approver"].cert
    assert approver is not None
    # The approver's certificate was issued by this district hub, so it may revoke it.
    revoke(hub, approver.serial, reason=RevocationReason.KEY_COMPROMISE, by="wang.fang")
    result = submit(hub, deltas.bundle([deltas.create(record_id(1))], advance=False)[0])
    assert result.status == "rejected"
    assert result.error is not None
    assert result.error.code == "certificate_revoked"


def test_records_outside_an_accounts_scope_are_never_shown(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1), deltas.record("370102001"))])[0])
    drain(hub)
    inside = create_account(
        hub,
        login="town1",
        display_name="镇",
        role="viewer",
        password="correct horse battery",
        by="t",
        scope="370102001",
    )
    outside = create_account(
        hub,
        login="town2",
        display_name="镇",
        role="viewer",
        password="correct horse battery",
        by="t",
        scope="370102002",
    )
    assert get_record(hub, inside, record_id(1))["record_id"] == record_id(1)
    with pytest.raises(NotFoundError):
        get_record(hub, outside, record_id(1))
    assert search_records(hub, outside) == []
    assert len(search_records(hub, inside)) == 1


def test_an_account_outside_the_hub_s_jurisdiction_cannot_be_made(hub: HubContext) -> None:
    with pytest.raises(InputError, match="scope: expected a division code inside 370102"):
        create_account(
            hub,
            login="far",
            display_name="远",
            role="viewer",
            password="correct horse battery",
            by="t",
            scope="370103",
        )


def test_sessions_live_in_the_store_and_end_when_the_account_is_disabled(
    hub: HubContext,
) -> None:
    create_account(
        hub,
        login="li",
        display_name="李",
        role="reviewer",
        password="correct horse battery",
        by="t",
    )
    store = HubSessionStore(hub)
    assert isinstance(store, SessionStore)
    token = store.create("li", NOW)
    session = store.get(token, NOW + timedelta(minutes=1))
    assert session is not None
    assert session.account == "li"
    assert store.get(token, NOW + timedelta(hours=2)) is None  # idle too long
    token = store.create("li", NOW)
    set_disabled(hub, "li", True, by="admin")
    assert store.get(token, NOW) is None
    assert HubAuthenticator(hub).authenticate("li", "correct horse battery") is None
    with pytest.raises(AuthenticationError):
        authenticate(hub, "li", "correct horse battery")
