"""A hub seals to a child's current key: the certificate issued last, even when the
one it replaces lasts longer (a rekey under a shorter ``certificate_days``)."""

from __future__ import annotations

from datetime import timedelta

from crypto.age import AgeIdentity
from crypto.sign import SigningKey
from hub.context import HubContext
from hub.downward import recipient_key
from hub.trust import install_certificates
from protocol.trust import Role, issue_certificate
from tests.pki import NOW, VALID_UNTIL, Pki, serial_for


def test_the_replacement_issued_later_is_sealed_to_though_it_ends_sooner(
    hub: HubContext, pki: Pki
) -> None:
    node = pki["node"]
    assert node.cert is not None
    replacement_age = AgeIdentity.generate()
    replacement = issue_certificate(
        issuer_key=pki["district"].keys.signing,
        issuer="370102",
        serial=serial_for("the node's replacement"),
        subject=node.subject,
        role=Role.NODE,
        sign_key=SigningKey(bytes(range(32))).public_key,
        age=replacement_age.recipient,
        not_before=NOW,
        not_after=NOW + timedelta(days=730),
    )
    assert replacement.not_after < node.cert.not_after == VALID_UNTIL
    with hub.store.write() as session:
        install_certificates(session, [replacement], source="issued")
    with hub.store.read() as session:
        assert recipient_key(hub, session, node.subject) == replacement_age.recipient
