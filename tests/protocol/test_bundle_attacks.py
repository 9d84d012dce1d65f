"""One named case per attack on a bundle; each asserts the error type and its message."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from protocol.bundle import BundleKind, open_bundle
from protocol.errors import (
    BadSignatureError,
    BundleError,
    HeaderSyntaxError,
    PayloadDecryptError,
    UntrustedSignerError,
)
from protocol.trust import RevocationReason, Revoked, Role, issue_revocation_list
from tests.pki import NOW, YEAR, Party, Pki, seal, seeded_key

PKI = Pki.build()
NODE, DISTRICT = PKI["node"], PKI["district"]
ENTRIES = [{"i": i, "name": "李秀英"} for i in range(3)]
DATA, SEALED = seal(ENTRIES, sender=NODE, to=DISTRICT)
SIGNATURE_END = DATA.index(b"age-encryption.org/v1\n")


def _open(data: bytes, trust=None, identity: AgeIdentity | None = None):
    opened = open_bundle(
        io.BytesIO(data),
        trust=trust or PKI.trust(),
        identities=[identity or DISTRICT.keys.age],
    )
    return list(opened.entries())


def test_the_untampered_bundle_opens() -> None:
    assert _open(DATA) == ENTRIES


@pytest.mark.parametrize("position", range(len(DATA)))
def test_every_single_byte_flip_is_rejected(position: int) -> None:
    tampered = bytearray(DATA)
    tampered[position] ^= 0x01
    with pytest.raises(BundleError) as caught:
        _open(bytes(tampered))
    if position < DATA.index(b"\n"):
        # Line 1 (the untrusted comment) is not signed, but its text is fixed.
        assert isinstance(caught.value, HeaderSyntaxError)
    elif position >= SIGNATURE_END + len(b"age-encryption.org/v1\n"):
        # Inside the ciphertext, only the signature can notice.
        assert isinstance(caught.value, BadSignatureError), caught.value
    else:
        assert isinstance(caught.value, HeaderSyntaxError | BadSignatureError), caught.value


@pytest.mark.parametrize("cut", [0, 10, 100, SIGNATURE_END - 1, SIGNATURE_END + 30, -1])
def test_truncated_bundles_are_rejected(cut: int) -> None:
    with pytest.raises((HeaderSyntaxError, BadSignatureError)):
        _open(DATA[:cut])


def test_truncated_within_the_ciphertext_fails_the_signature() -> None:
    with pytest.raises(BadSignatureError, match="signature does not verify under key"):
        _open(DATA[:-16])


def test_wrong_recipient_cannot_decrypt() -> None:
    with pytest.raises(PayloadDecryptError, match="cannot be decrypted with this receiver's key"):
        _open(DATA, identity=PKI["other_district"].keys.age)


def test_unknown_signer_is_a_bad_signature() -> None:
    # Someone claiming to be the node, with a key no certificate of ours names.
    intruder = Party("370102001-01", KeyPair(seeded_key("intruder"), AgeIdentity.generate()))
    data, _ = seal(ENTRIES, sender=intruder, to=DISTRICT)
    with pytest.raises(BadSignatureError, match="which this receiver does not know"):
        _open(data)


def test_a_node_key_cannot_send_a_package() -> None:
    data, _ = seal(ENTRIES, sender=NODE, to=DISTRICT, kind=BundleKind.PACKAGE)
    with pytest.raises(UntrustedSignerError, match="a node certificate may not send package"):
        _open(data)


def test_a_certificate_expired_when_the_bundle_was_made_is_untrusted() -> None:
    pki = Pki.build()
    late = pki.add("late", "370102002-01", Role.NODE, issuer="district",
                   not_before=NOW - 2 * YEAR, not_after=NOW - timedelta(days=10))  # fmt: skip
    data, _ = seal(ENTRIES, sender=late, to=pki["district"])
    with pytest.raises(
        UntrustedSignerError, match=r"signer not trusted: certificate .* valid from"
    ):
        open_bundle(io.BytesIO(data), trust=pki.trust(), identities=[pki["district"].keys.age])


def test_a_bundle_made_in_validity_but_arriving_after_the_grace_is_untrusted() -> None:
    pki = Pki.build()
    node = pki["node"]
    data, _ = seal(ENTRIES, sender=node, to=pki["district"], created=NOW)
    much_later = pki.trust(now=node.cert.not_after + timedelta(days=31))
    with pytest.raises(UntrustedSignerError, match="expired on"):
        open_bundle(io.BytesIO(data), trust=much_later, identities=[pki["district"].keys.age])


def test_a_revoked_signer_is_untrusted_after_the_revocation_time() -> None:
    pki = Pki.build()
    crl = issue_revocation_list(
        issuer_key=pki["district"].keys.signing, issuer="370102", number=1, issued_at=NOW,
        entries=[Revoked(serial=pki["node"].cert.serial, revoked_at=NOW - timedelta(hours=1),
                         reason=RevocationReason.CESSATION)],
    )  # fmt: skip
    trust = type(pki.trust())(pki.store().with_revocation_list(crl), NOW)
    data, _ = seal(ENTRIES, sender=pki["node"], to=pki["district"], created=NOW)
    with pytest.raises(UntrustedSignerError, match="was revoked by 370102"):
        open_bundle(io.BytesIO(data), trust=trust, identities=[pki["district"].keys.age])
    # A bundle sealed before the revocation (in flight on a USB stick) is still accepted.
    early, _ = seal(
        ENTRIES, sender=pki["node"], to=pki["district"], created=NOW - timedelta(days=1)
    )
    opened = open_bundle(io.BytesIO(early), trust=trust, identities=[pki["district"].keys.age])
    assert list(opened.entries()) == ENTRIES


def test_a_compromised_key_is_untrusted_whatever_time_it_claims() -> None:
    pki = Pki.build()
    crl = issue_revocation_list(
        issuer_key=pki["district"].keys.signing, issuer="370102", number=1, issued_at=NOW,
        entries=[Revoked(serial=pki["node"].cert.serial, revoked_at=NOW,
                         reason=RevocationReason.KEY_COMPROMISE)],
    )  # fmt: skip
    trust = type(pki.trust())(pki.store().with_revocation_list(crl), NOW)
    backdated, _ = seal(ENTRIES, sender=pki["node"], to=pki["district"],
                        created=NOW - timedelta(days=100))  # fmt: skip
    with pytest.raises(UntrustedSignerError, match="key_compromise"):
        open_bundle(io.BytesIO(backdated), trust=trust, identities=[pki["district"].keys.age])


def test_a_certificate_outside_its_issuers_jurisdiction_is_untrusted() -> None:
    pki = Pki.build()
    # District 370102 certifies a node in district 370103: outside its jurisdiction.
    rogue = pki.add("rogue", "370103002-01", Role.NODE, issuer="district")
    data, _ = seal(ENTRIES, sender=rogue, to=pki["district"])
    with pytest.raises(UntrustedSignerError, match="outside issuer 370102's jurisdiction"):
        open_bundle(io.BytesIO(data), trust=pki.trust(), identities=[pki["district"].keys.age])


def test_a_node_cannot_issue_certificates() -> None:
    pki = Pki.build()
    child = pki.add("child", "370102001-02", Role.NODE, issuer="node")
    data, _ = seal(ENTRIES, sender=child, to=pki["district"])
    with pytest.raises(UntrustedSignerError, match="only hubs issue certificates"):
        open_bundle(io.BytesIO(data), trust=pki.trust(), identities=[pki["district"].keys.age])


def test_a_bundle_from_the_future_is_untrusted() -> None:
    data, _ = seal(ENTRIES, sender=NODE, to=DISTRICT, created=NOW + timedelta(days=3))
    with pytest.raises(UntrustedSignerError, match="in the future"):
        _open(data)


def test_random_garbage_is_rejected_with_a_bundle_error() -> None:
    rng = random.Random(7)
    for size in (0, 1, 50, 5000):
        with pytest.raises(BundleError):
            _open(rng.randbytes(size))
