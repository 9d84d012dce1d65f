"""The rotation request for new keys that a node and a hub both send (protocol.trust.rotation)."""

from __future__ import annotations

import secrets

import pytest

from crypto.keys import KeyPair
from protocol.errors import TrustError
from protocol.trust import Role
from protocol.trust.rotation import RotationRequest, new_keys_rotation_request, verify_rotation
from tests.pki import NOW, Pki


def _request(pki: Pki, party: str, new: KeyPair, role: Role) -> RotationRequest:
    old = pki[party]
    assert old.cert is not None
    return new_keys_rotation_request(
        new,
        old_key=old.keys.signing,
        old_serial=old.cert.serial,
        subject=old.subject,
        role=role,
        name=party,
        at=NOW,
    )


def test_it_is_the_new_keys_enrollment_request_vouched_for_by_the_old_key() -> None:
    pki = Pki.build()
    fresh = KeyPair.generate(secrets.token_bytes)
    made = _request(pki, "node", fresh, Role.NODE)
    inner = made.request
    assert (inner.subject, inner.role, inner.name, inner.requested_at) == (
        "370102001-01",
        Role.NODE,
        "node",
        NOW,
    )
    assert (inner.sign_key, inner.age) == (fresh.signing.public_key, fresh.age.recipient)
    again = RotationRequest.from_bytes(made.to_bytes())
    assert again == made
    assert verify_rotation(again, pki.store(), NOW) == pki["node"].cert


def test_the_old_key_cannot_be_its_own_new_key() -> None:
    pki = Pki.build()
    with pytest.raises(TrustError, match="the new signing key is the old one"):
        _request(pki, "district", pki["district"].keys, Role.HUB)
