"""The root anchor file and enrollment statements (protocol/trust/anchor.py, enrollment.py)."""

from __future__ import annotations

import json

import pytest

from crypto.age import AgeIdentity
from protocol.errors import TrustError
from protocol.trust import Role
from protocol.trust.anchor import anchor_from_bytes, anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest, make_enrollment_request
from tests.pki import NOW, Pki, seeded_key


def test_an_anchor_round_trips(pki: Pki) -> None:
    data = anchor_to_bytes(pki.anchor)
    assert data.endswith(b"\n")
    assert json.loads(data) == {
        "type": "muster-anchor",
        "v": 1,
        "site": "370000",
        "key": pki.anchor.key.to_base64(),
    }
    anchor = anchor_from_bytes(data)
    assert (anchor.key, anchor.site, anchor.subject) == (pki.anchor.key, "370000", "370000/root")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "muster-certificate"}, "expected a muster-anchor document"),
        ({"v": 2}, "version 2 not supported"),
        ({"extra": 1}, "exactly the keys"),
        ({"site": "3700"}, "6-digit division code"),
        ({"key": "not a key"}, "root anchor: public key"),
        ({"key": 7}, "minisign public key in base64"),
    ],
)
def test_a_bad_anchor_is_refused(pki: Pki, change: dict[str, object], message: str) -> None:
    document = json.loads(anchor_to_bytes(pki.anchor)) | change
    with pytest.raises(TrustError, match=message):
        anchor_from_bytes(json.dumps(document))


def test_an_anchor_that_is_not_json_or_too_large_is_refused() -> None:
    with pytest.raises(TrustError, match="not valid JSON"):
        anchor_from_bytes(b"\xff\xfe")
    with pytest.raises(TrustError, match="larger than"):
        anchor_from_bytes(b" " * 5000)


def _request(role: Role = Role.NODE, subject: str = "370102001-02") -> EnrollmentRequest:
    age = AgeIdentity.generate().recipient if role in (Role.NODE, Role.HUB) else None
    return make_enrollment_request(
        seeded_key("new"), subject=subject, role=role, name="新采集点", at=NOW, age=age
    )


def test_a_request_round_trips_and_proves_possession_of_its_key() -> None:
    request = _request()
    again = EnrollmentRequest.from_bytes(request.to_bytes())
    assert again == request
    assert again.site == "370102001"
    person = _request(Role.APPROVER, "370102001/li.na")
    assert EnrollmentRequest.from_bytes(person.to_bytes()).age is None


def test_a_request_with_an_altered_body_fails_its_self_signature() -> None:
    document = json.loads(_request().to_bytes())
    document["body"]["name"] = "另一个名字"
    with pytest.raises(TrustError, match="signature does not verify"):
        EnrollmentRequest.from_bytes(json.dumps(document))


@pytest.mark.parametrize(
    ("role", "subject", "message"),
    [
        (Role.NODE, "370102001/li.na", "must be a node or hub id"),
        (Role.APPROVER, "370102001-01", "must be a person id"),
    ],
)
def test_a_request_whose_subject_does_not_fit_its_role_is_refused(
    role: Role, subject: str, message: str
) -> None:
    with pytest.raises(TrustError, match=message):
        _request(role, subject)


def test_an_answer_round_trips(pki: Pki) -> None:
    chain = tuple(pki[n].cert for n in ("node", "district", "city", "province"))
    answer = EnrollmentAnswer(certificates=chain)  # type: ignore[arg-type]
    assert EnrollmentAnswer.from_bytes(answer.to_bytes()) == answer
    with pytest.raises(TrustError, match="at least the new certificate"):
        EnrollmentAnswer(certificates=())
    with pytest.raises(TrustError, match="expected a muster-enrollment-answer"):
        EnrollmentAnswer.from_bytes(b'{"type": "other"}')
