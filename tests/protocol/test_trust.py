"""Certificates, chains with name constraints, revocation lists, receipts and authorisations."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from protocol.errors import (
    AuthorisationError,
    CertificateExpiredError,
    CertificateRevokedError,
    ChainError,
    NameConstraintError,
    TrustError,
)
from protocol.trust import (
    Authorisation,
    Certificate,
    Receipt,
    ReceiptStatus,
    RevocationList,
    RevocationReason,
    Revoked,
    Role,
    answer_digest,
    answers_hash,
    answers_hash_of_digests,
    authorise,
    issue_receipt,
    issue_revocation_list,
    manifest_hash,
    newest_certificate,
    verify_answers,
    verify_authorisation,
)
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest, make_enrollment_request
from tests.pki import NOW, Pki

PKI = Pki.build()
OPS = [f"{i:032x}" for i in range(5)]


def test_certificate_files_round_trip_and_verify() -> None:
    cert = PKI["node"].cert
    again = Certificate.from_bytes(cert.to_bytes())
    assert again == cert
    again.verify_signature(PKI["district"].keys.signing.public_key)
    assert Certificate.from_bytes(cert.to_dict()) == cert


def test_a_chain_validates_up_to_the_root() -> None:
    chain = PKI.store().validate(PKI["approver"].cert, NOW)
    assert [c.subject for c in chain] == ["370102001/li.na", "370102", "370100", "370000"]


def test_an_altered_certificate_fails_its_chain() -> None:
    body = json.loads(PKI["node"].cert.to_bytes())
    body["body"]["role"] = "hub"
    forged = Certificate.from_bytes(json.dumps(body))
    with pytest.raises(ChainError, match="issuer signature does not verify"):
        PKI.store().validate(forged, NOW)


def test_a_certificate_whose_issuer_is_unknown_has_no_chain() -> None:
    pki = Pki.build()
    store = type(pki.store())(pki.anchor).with_certificates([pki["node"].cert])
    with pytest.raises(ChainError, match="issuer 370102 is not known"):
        store.validate(pki["node"].cert, NOW)


def test_root_certifies_only_inside_its_province() -> None:
    pki = Pki.build()
    foreign = pki.add("foreign", "410000", Role.HUB, issuer=pki.root)
    with pytest.raises(NameConstraintError, match="outside the root's jurisdiction 370000"):
        pki.store().validate(foreign.cert, NOW)


def test_a_hub_cannot_certify_a_sibling_city() -> None:
    pki = Pki.build()
    sibling = pki.add("sibling", "370200", Role.HUB, issuer="city")
    with pytest.raises(NameConstraintError, match="outside issuer 370100's jurisdiction"):
        pki.store().validate(sibling.cert, NOW)


def test_expiry_is_checked_at_the_time_of_use() -> None:
    cert = PKI["node"].cert
    PKI.store().validate(cert, cert.not_after - timedelta(days=1))
    with pytest.raises(CertificateExpiredError, match="valid from"):
        PKI.store().validate(cert, cert.not_after + timedelta(days=1))


def test_revoking_an_intermediate_revokes_everything_below_it() -> None:
    pki = Pki.build()
    crl = issue_revocation_list(
        issuer_key=pki["city"].keys.signing, issuer="370100", number=1, issued_at=NOW,
        entries=[Revoked(serial=pki["district"].cert.serial, revoked_at=NOW,
                         reason=RevocationReason.CESSATION)],
    )  # fmt: skip
    store = pki.store().with_revocation_list(crl)
    with pytest.raises(CertificateRevokedError, match="revoked by 370100"):
        store.validate(pki["node"].cert, NOW + timedelta(minutes=1))
    store.validate(pki["node"].cert, NOW - timedelta(minutes=1))


def test_revocation_lists_round_trip_and_newer_numbers_win() -> None:
    pki = Pki.build()
    key = pki["district"].keys.signing

    def crl(number: int, serials: list[str]) -> RevocationList:
        return issue_revocation_list(
            issuer_key=key, issuer="370102", number=number, issued_at=NOW,
            entries=[Revoked(serial=s, revoked_at=NOW, reason=RevocationReason.SUPERSEDED)
                     for s in serials],
        )  # fmt: skip

    first = crl(1, [pki["node"].cert.serial])
    assert RevocationList.from_bytes(first.to_bytes()) == first
    store = pki.store().with_revocation_list(crl(2, [])).with_revocation_list(first)
    store.validate(pki["node"].cert, NOW + timedelta(days=1))  # list 1 is older: ignored


def test_a_revocation_list_signed_by_someone_else_is_refused() -> None:
    pki = Pki.build()
    forged = issue_revocation_list(
        issuer_key=pki["node"].keys.signing, issuer="370102", number=1, issued_at=NOW, entries=[]
    )
    with pytest.raises(ChainError, match="issuer 370102 with key"):
        pki.store().with_revocation_list(forged)


def test_receipts_round_trip_and_verify() -> None:
    key = PKI["district"].keys.signing
    receipt = issue_receipt(
        key=key, bundle_id="a" * 32, bundle_hash="b" * 64, sender="370102001-01",
        receiver="370102", seq=4, status=ReceiptStatus.ACCEPTED, received_at=NOW,
    )  # fmt: skip
    again = Receipt.from_bytes(receipt.to_bytes())
    assert again == receipt
    again.verify_signature(key.public_key)
    with pytest.raises(TrustError, match="signed by another key"):
        again.verify_signature(PKI["node"].keys.signing.public_key)


def test_a_receipt_with_an_altered_status_fails() -> None:
    key = PKI["district"].keys.signing
    receipt = issue_receipt(
        key=key, bundle_id="a" * 32, bundle_hash="b" * 64, sender="370102001-01",
        receiver="370102", seq=4, status=ReceiptStatus.REJECTED, received_at=NOW,
        reason="signature does not verify", reason_code="bad_signature",
    )  # fmt: skip
    body = json.loads(receipt.to_bytes())
    body["body"]["status"] = "accepted"
    with pytest.raises(TrustError, match="signature does not verify"):
        Receipt.from_bytes(json.dumps(body)).verify_signature(key.public_key)


def _authorise(
    by: str = "approver",
    ops: list[str] = OPS,
    origin: str = "370102001-01",
    answers: list[bytes] | None = None,
):
    party = PKI[by]
    return authorise(
        key=party.keys.signing, by=party.subject, batch_id="c" * 32, origin=origin,
        op_ids=ops, signed_at=NOW, answers=answers or (),
    )  # fmt: skip


ANSWERS = [b"answer one", b"answer two"]


def test_an_authorisation_covers_exactly_the_answers_it_was_given() -> None:
    auth = Authorisation.from_dict(_authorise(answers=ANSWERS).to_dict())
    assert auth.answers == answers_hash(ANSWERS)
    verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370102001-01")
    verify_answers(auth, ANSWERS)
    with pytest.raises(AuthorisationError, match="its answers differ from the ones"):
        verify_answers(auth, list(reversed(ANSWERS)))
    with pytest.raises(AuthorisationError, match="its answers differ from the ones"):
        verify_answers(auth, ANSWERS[:1])
    with pytest.raises(AuthorisationError, match="covers answers the batch does not carry"):
        verify_answers(auth, [])


def _blake(tag: bytes, *parts: bytes) -> bytes:
    """docs/protocol.md §5, written out: BLAKE2b-256 over the framed tag and parts."""
    h = hashlib.blake2b(digest_size=32)
    h.update(len(tag).to_bytes(2, "big") + tag)
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.digest()


def test_the_answers_hash_is_the_hash_of_each_answer_s_digest_as_documented() -> None:
    digests = [_blake(b"muster/answer/v1", answer) for answer in ANSWERS]
    assert [answer_digest(answer) for answer in ANSWERS] == digests
    assert answers_hash(ANSWERS) == _blake(b"muster/answers/v1", *digests).hex()


def test_the_digests_prove_one_answer_without_the_others() -> None:
    auth = _authorise(answers=ANSWERS)
    digests = [answer_digest(answer) for answer in ANSWERS]
    assert answers_hash_of_digests(digests) == auth.answers
    assert answer_digest(ANSWERS[1]) in digests
    assert answer_digest(b"answer three") not in digests
    assert answers_hash_of_digests(digests[::-1]) != auth.answers  # the order is signed


def test_an_authorisation_without_answers_authorises_none() -> None:
    auth = Authorisation.from_dict(_authorise().to_dict())
    assert auth.answers is None
    assert "answers" not in auth.to_dict()["body"]  # statements made before answers existed
    verify_answers(auth, [])
    with pytest.raises(AuthorisationError, match="carries an answer to cross-check problems"):
        verify_answers(auth, ANSWERS[:1])
    with pytest.raises(AuthorisationError, match="carries 2 answers to cross-check problems"):
        verify_answers(auth, ANSWERS)


def test_the_answers_hash_is_signed() -> None:
    document = _authorise(answers=ANSWERS).to_dict()
    document["body"]["answers"] = answers_hash([b"something else"])
    with pytest.raises(TrustError, match="signature does not verify"):
        verify_authorisation(
            Authorisation.from_dict(document), op_ids=OPS, store=PKI.store(),
            origin="370102001-01",
        )  # fmt: skip
    document["body"].pop("answers")  # dropping it does not make the statement valid either
    with pytest.raises(TrustError, match="signature does not verify"):
        verify_authorisation(
            Authorisation.from_dict(document), op_ids=OPS, store=PKI.store(),
            origin="370102001-01",
        )  # fmt: skip


def test_an_approvers_authorisation_covers_exactly_its_ops() -> None:
    auth = Authorisation.from_dict(_authorise().to_dict())
    verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370102001-01")
    with pytest.raises(AuthorisationError, match="ops differ from the manifest"):
        verify_authorisation(auth, op_ids=[*OPS[:-1], "f" * 32], store=PKI.store(),
                             origin="370102001-01")  # fmt: skip
    with pytest.raises(AuthorisationError, match="6 ops, authorisation covers 5"):
        verify_authorisation(auth, op_ids=[*OPS, "e" * 32], store=PKI.store(),
                             origin="370102001-01")  # fmt: skip


def test_manifest_order_matters() -> None:
    assert manifest_hash(OPS) != manifest_hash(list(reversed(OPS)))


def test_an_approver_of_one_town_cannot_authorise_another() -> None:
    auth = _authorise(origin="370103001-01")
    with pytest.raises(AuthorisationError, match="may not authorise batches of 370103001-01"):
        verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370103001-01")


def test_a_node_key_is_not_an_approver() -> None:
    auth = _authorise(by="node")
    with pytest.raises(AuthorisationError, match="holds no approver certificate"):
        verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370102001-01")


def test_an_authorisation_for_another_origin_is_refused() -> None:
    auth = _authorise()
    with pytest.raises(AuthorisationError, match="authorised for 370102001-01, not for"):
        verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370102001-02")


def test_an_administrator_authorises_a_hub_package() -> None:
    auth = _authorise(by="admin", origin="370102")
    verify_authorisation(auth, op_ids=OPS, store=PKI.store(), origin="370102", role=Role.ADMIN)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(type="muster-receipt"), "expected a muster-authorisation"),
        (lambda d: d.update(v=2), "version 2 not supported"),
        (lambda d: d.update(sig="!!"), "sig is not base64"),
        (lambda d: d["body"].update(batch="zz"), "field 'batch' missing or malformed"),
        (lambda d: d["body"].pop("at"), "expected YYYY-MM-DDTHH:MM:SSZ"),
        (lambda d: d["body"].update(answers="AB" * 32), "field 'answers' missing or malformed"),
        # Full-width digits are digits to Python's \d, and never a division code.
        (lambda d: d["body"].update(by="３７０１０２００１-01"), "field 'by' missing or malformed"),
    ],
)
def test_malformed_authorisations_are_refused(mutate, message: str) -> None:
    document = _authorise().to_dict()
    mutate(document)
    with pytest.raises(AuthorisationError, match=message):
        Authorisation.from_dict(document)


def test_the_newest_certificate_is_the_last_issued_not_the_longest_lasting() -> None:
    pki = Pki.build()  # add() below replaces the node: not the module's PKI
    old = pki["node"].cert
    assert old is not None
    later_but_shorter = pki.add(
        "node", "370102001-01", Role.NODE, issuer="district",
        not_before=old.not_before + timedelta(days=1),
        not_after=old.not_before + timedelta(days=730),
    ).cert  # fmt: skip
    assert later_but_shorter is not None
    assert newest_certificate([old, later_but_shorter]) == later_but_shorter
    assert newest_certificate([later_but_shorter, old]) == later_but_shorter
    same_day_longer = dataclasses.replace(later_but_shorter, not_after=old.not_after)
    assert newest_certificate([later_but_shorter, same_day_longer]) == same_day_longer
    with pytest.raises(ValueError):
        newest_certificate([])


#: A JSON number of 5000 digits: Python's json refuses any integer over 4300 digits
#: with a bare ValueError, which is not a JSONDecodeError (found by fuzzing).
_HUGE_NUMBER = "9" * 5000


@pytest.mark.parametrize(
    "parse",
    [
        Certificate.from_bytes,
        RevocationList.from_bytes,
        Receipt.from_bytes,
        Authorisation.from_dict,
        EnrollmentAnswer.from_bytes,
    ],
)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_statement_with_a_number_too_long_to_read_is_not_valid_json(
    parse: Callable[[bytes | str], object], as_bytes: bool
) -> None:
    text = '{"type":"muster-certificate","v":1,"body":{"number":' + _HUGE_NUMBER + "}}"
    with pytest.raises(TrustError, match="not valid JSON"):
        parse(text.encode() if as_bytes else text)


def _named_with_lone_surrogate(statement: bytes) -> str:
    # json.dumps writes the lone surrogate as the escape "\ud800", as an attacker would.
    document = json.loads(statement)
    document["body"]["name"] = "\ud800"
    return json.dumps(document)


def _enrollment_request() -> bytes:
    node = PKI["node"]
    return make_enrollment_request(
        node.keys.signing, subject=node.subject, role=Role.NODE, name="历下区", at=NOW,
        age=node.keys.age.recipient,
    ).to_bytes()  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "statement"),
    [
        (Certificate.from_bytes, PKI["node"].cert.to_bytes),  # type: ignore[union-attr]
        (EnrollmentRequest.from_bytes, _enrollment_request),
    ],
)
def test_a_statement_with_an_unpaired_surrogate_escape_is_refused_when_read(
    parse: Callable[[str], object], statement: Callable[[], bytes]
) -> None:
    # Found by fuzzing: such text parsed, then failed with a UnicodeEncodeError when
    # the signature was checked (an enrollment request checks its own at once).
    with pytest.raises(TrustError, match="unpaired surrogate"):
        parse(_named_with_lone_surrogate(statement()))
