"""The province's escrow statement: signed by the root or the province hub, carried in
enrollment answers, and the refusal to seal without it once enrolled."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.age import AgeIdentity
from hub.context import HubContext, set_state
from hub.downward import queue_down
from hub.escrow import escrow_statement, install_escrow
from hub.rawstore import bundle_path
from hub.sites import enrollment_answer
from hub.store.models import DownBundle
from node.errors import NoEscrowError
from protocol.bundle import BundleKind, open_bundle
from protocol.entries import Problem
from protocol.errors import TrustError
from protocol.trust import CertificateTrust
from protocol.trust.enrollment import EnrollmentAnswer, verify_answer
from protocol.trust.escrow import EscrowStatement, issue_escrow, verify_escrow
from tests.hub.conftest import make_hub
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    Clock,
    approver_answer,
    form_for,
    make_node,
)
from tests.node.core.helpers import enrollment_answer as enrollment_answer_of
from tests.pki import NOW, YEAR, Pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.build()


def test_a_root_signed_statement_verifies_and_round_trips(pki: Pki) -> None:
    statement = pki.escrow()
    again = EscrowStatement.from_bytes(statement.to_bytes())
    assert again == statement
    verify_escrow(again, pki.store())
    assert [r.text for r in again.recipients] == [pki.recovery.recipient.text]


def test_the_province_hub_may_sign_it_too(pki: Pki) -> None:
    province = pki["province"]
    statement = issue_escrow(
        key=province.keys.signing,
        by="370000",
        site="370000",
        recipients=[pki.recovery.recipient],
        issued_at=NOW,
    )
    verify_escrow(statement, pki.store())


def test_a_swapped_recipient_is_refused(pki: Pki) -> None:
    document = json.loads(pki.escrow().to_bytes())
    document["body"]["recipients"] = [AgeIdentity.generate().recipient.text]
    forged = EscrowStatement.from_bytes(json.dumps(document))
    with pytest.raises(TrustError, match="escrow statement: signature does not verify"):
        verify_escrow(forged, pki.store())


def test_a_city_hub_may_not_name_the_recovery_key(pki: Pki) -> None:
    city = pki["city"]
    statement = issue_escrow(
        key=city.keys.signing,
        by="370100",
        site="370000",
        recipients=[AgeIdentity.generate().recipient],
        issued_at=NOW,
    )
    with pytest.raises(TrustError, match="signed by 370100, expected the root or the province"):
        verify_escrow(statement, pki.store())


def test_a_statement_for_another_province_is_refused(pki: Pki) -> None:
    statement = issue_escrow(
        key=pki.root.keys.signing,
        by=pki.root.subject,
        site="410000",
        recipients=[pki.recovery.recipient],
        issued_at=NOW,
    )
    with pytest.raises(TrustError, match="for province 410000, expected 370000"):
        verify_escrow(statement, pki.store())


def test_malformed_statements_are_refused() -> None:
    with pytest.raises(TrustError, match="expected a muster-escrow statement"):
        EscrowStatement.from_bytes(b'{"type":"muster-anchor"}')
    body = {
        "site": "370000",
        "recipients": ["age1nope"],
        "by": "370000/root",
        "key": "0011223344556677",
        "at": "2026-11-29T12:00:00Z",
    }
    document = {"type": "muster-escrow", "v": 1, "body": body, "sig": "A" * 86 + "=="}
    with pytest.raises(TrustError, match="escrow statement: age recipient"):
        EscrowStatement.from_bytes(json.dumps(document))


def test_an_answer_carries_it_and_a_tampered_one_fails_verification(pki: Pki) -> None:
    node = pki["node"]
    assert node.cert is not None
    chain = tuple(pki[p].cert for p in ("district", "city", "province"))
    answer = EnrollmentAnswer(certificates=(node.cert, *chain), escrow=pki.escrow())  # type: ignore[arg-type]
    parsed = EnrollmentAnswer.from_bytes(answer.to_bytes())
    assert parsed.escrow == pki.escrow()
    kwargs = {
        "anchor": pki.anchor,
        "subject": node.subject,
        "role": node.cert.role,
        "sign_key": node.keys.signing.public_key,
        "age": node.keys.age.recipient,
        "at": NOW,
    }
    verify_answer(parsed, **kwargs)  # type: ignore[arg-type]
    swapped = dataclasses.replace(pki.escrow(), recipients=(AgeIdentity.generate().recipient,))
    with pytest.raises(TrustError, match="signature does not verify"):
        verify_answer(dataclasses.replace(parsed, escrow=swapped), **kwargs)  # type: ignore[arg-type]


def _hub(tmp_path: Path, pki: Pki) -> HubContext:
    return make_hub(tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}", pki)


def test_a_hub_seals_every_down_bundle_to_the_recovery_key_too(tmp_path: Path, pki: Pki) -> None:
    hub = _hub(tmp_path, pki)
    with hub.store.write() as session:
        row = queue_down(
            hub,
            session,
            recipient="370102001-01",
            kind=BundleKind.PROBLEMS,
            entries=[Problem(body={"id": "p-1"})],
        )
        digest = row.bundle_hash
    data = bundle_path(hub.config.down_dir, digest).read_bytes()
    opened = open_bundle(
        io.BytesIO(data), trust=CertificateTrust(pki.store(), NOW), identities=[pki.recovery]
    )
    assert [e[0] for e in opened.entries()] == ["problem"]
    with hub.store.read() as session:
        assert escrow_statement(session) == pki.escrow()
        enrolled = pki["node"].cert
        assert enrolled is not None
        assert enrollment_answer(hub, session, enrolled).escrow == pki.escrow()
    hub.store.dispose()


def test_an_enrolled_hub_without_the_recovery_key_refuses_to_seal(tmp_path: Path, pki: Pki) -> None:
    hub = _hub(tmp_path, pki)
    with hub.store.write() as session:
        set_state(session, "escrow", "")
    with (
        pytest.raises(NoEscrowError, match="holds no province recovery key"),
        hub.store.write() as session,
    ):
        queue_down(
            hub,
            session,
            recipient="370102001-01",
            kind=BundleKind.PROBLEMS,
            entries=[Problem(body={"id": "p-1"})],
        )
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DownBundle)) == 0
    assert not any(hub.config.down_dir.glob("*.bundle"))
    hub.store.dispose()


def test_an_older_statement_does_not_replace_a_newer_one(tmp_path: Path, pki: Pki) -> None:
    hub = _hub(tmp_path, pki)
    older = issue_escrow(
        key=pki.root.keys.signing,
        by=pki.root.subject,
        site="370000",
        recipients=[AgeIdentity.generate().recipient],
        issued_at=NOW - 2 * YEAR,
    )
    with hub.store.write() as session:
        assert not install_escrow(hub, session, older)
        assert escrow_statement(session) == pki.escrow()
    hub.store.dispose()


def test_an_enrolled_node_without_the_recovery_key_refuses_to_seal(
    tmp_path: Path, pki: Pki
) -> None:
    clock = Clock()
    node = make_node(tmp_path, pki, clock)
    services = node.services
    answer = EnrollmentAnswer.from_bytes(enrollment_answer_of(node))
    services.enroll(dataclasses.replace(answer, escrow=None).to_bytes())
    services.create_account(*COLLECTOR[:2], "collector", COLLECTOR[2])
    services.create_account(*APPROVER[:2], "approver", APPROVER[2])
    services.install_approver_certificate(approver_answer(node, APPROVER[0]))
    categories, values = form_for(services, seed=3)
    services.save_record(None, categories, values, COLLECTOR[0])
    with pytest.raises(NoEscrowError, match="holds no province recovery key"):
        services.authorise(APPROVER[0], APPROVER[2])
    assert services.outbox() == []
    assert len(services.pending_changes()) == 1  # still waiting, nothing lost
    services.enroll(enrollment_answer_of(node))  # a fresh answer brings the statement
    assert services.authorise(APPROVER[0], APPROVER[2]).batches
    services.close()
