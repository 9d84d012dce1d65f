"""Enrollment: a new node (or hub) asks its parent for a certificate, and installs the answer.

The **request** is a statement (docs/protocol.md §5) of type
``muster-enrollment-request``, signed by the new key itself under
``muster/enrollment/v1`` as proof that the requester holds it::

    {"body":{"age":"age1…","at":"2026-11-29T20:00:00Z","name":"…","role":"node",
             "sign_key":"<minisign base64>","site":"370102001",
             "subject":"370102001-01"},
     "sig":"<base64>","type":"muster-enrollment-request","v":1}

The **answer** (docs/api.md "Enrollment") carries no signature of its own: every
certificate in it chains to the root anchor, which the requester already holds::

    {"certificates":[<the new certificate>, <its issuer's>, …],"crls":[…],
     "escrow":<escrow statement>,"type":"muster-enrollment-answer","v":1}

``escrow`` (the province's recovery recipients, :mod:`protocol.trust.escrow`) is
absent when the issuing hub holds none. :func:`verify_answer` checks that an answer
certifies exactly the requester's keys, that the chain validates to the anchor, and
that the escrow statement, if any, is signed by the root or the province hub.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.age import AgeRecipient
from crypto.errors import KeyFormatError
from crypto.hashing import TAG_ENROLLMENT
from crypto.sign import PublicKey, SigningKey
from protocol.errors import TrustError
from protocol.trust.certificate import Certificate, Role, site_of
from protocol.trust.escrow import EscrowStatement, verify_escrow
from protocol.trust.revocation import RevocationList
from protocol.trust.statement import (
    SUBJECT_PATTERN,
    canonical_json,
    decode_statement,
    encode_statement,
    format_instant,
    load_json,
    parse_instant,
    sign_body,
    text_field,
    verify_body,
)
from protocol.trust.store import TrustAnchor, TrustStore

__all__ = [
    "ANSWER_TYPE",
    "REQUEST_TYPE",
    "EnrollmentAnswer",
    "EnrollmentRequest",
    "make_enrollment_request",
    "verify_answer",
]

REQUEST_TYPE: Final = "muster-enrollment-request"
ANSWER_TYPE: Final = "muster-enrollment-answer"
_VERSION: Final = 1
_MAX_ANSWER_BYTES: Final = 1 << 20
_MAX_NAME: Final = 200
_SUBJECT_KIND: Final = {True: "a person id (site/login)", False: "a node or hub id"}
_AGE_RULE: Final = {True: "no age recipient", False: "an age recipient"}
_BODY_KEYS: Final = frozenset({"subject", "site", "role", "sign_key", "age", "name", "at"})


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentRequest:
    """A self-signed request for a certificate.

    Attributes:
        subject: the requested id (``370102001-01`` for a node, ``370102`` for a hub,
            ``370102001/li.na`` for an approver).
        role: ``node`` or ``hub`` (with an age recipient), ``approver`` or ``admin``
            (a person: without one).
        sign_key: the requester's signing key (the one that signed this request).
        age: the requester's age recipient; None for people, who receive nothing.
        name: a display name for the administrator who approves it.
        requested_at: when it was made.
        signature: the self-signature over the body.
    """

    subject: str
    role: Role
    sign_key: PublicKey
    age: AgeRecipient | None
    name: str
    requested_at: datetime
    signature: bytes = b""

    def __post_init__(self) -> None:
        what = "enrollment request"
        if not SUBJECT_PATTERN.fullmatch(self.subject):
            raise TrustError(f"{what}: subject id is malformed")
        person = self.role in (Role.APPROVER, Role.ADMIN)
        if person != ("/" in self.subject):
            raise TrustError(f"{what}: a {self.role} subject must be {_SUBJECT_KIND[person]}")
        if person != (self.age is None):
            raise TrustError(f"{what}: a {self.role} has {_AGE_RULE[person]}")
        if len(self.name) > _MAX_NAME:
            raise TrustError(f"{what}: name longer than {_MAX_NAME} characters")

    @property
    def site(self) -> str:
        """The division code of the requested subject."""
        return site_of(self.subject)

    def body(self) -> dict[str, Any]:
        """The signed body."""
        return {
            "subject": self.subject,
            "site": self.site,
            "role": self.role.value,
            "sign_key": self.sign_key.to_base64(),
            "age": self.age.text if self.age is not None else None,
            "name": self.name,
            "at": format_instant(self.requested_at),
        }

    def to_bytes(self) -> bytes:
        """The request file: one line of canonical JSON."""
        return encode_statement(REQUEST_TYPE, self.body(), self.signature)

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> EnrollmentRequest:
        """Parse a request and check its self-signature (proof of possession).

        Raises:
            TrustError: malformed, or the signature is not by the key it names.
        """
        what = "enrollment request"
        body, signature = decode_statement(data, REQUEST_TYPE)
        if set(body) != _BODY_KEYS:
            raise TrustError(f"{what}: expected the fields {', '.join(sorted(_BODY_KEYS))}")
        try:
            role = Role(str(body["role"]))
            sign_key = PublicKey.from_minisign(text_field(body, "sign_key", what))
            age_text = body["age"]
            age = AgeRecipient(text_field(body, "age", what)) if age_text is not None else None
        except ValueError as exc:
            raise TrustError(f"{what}: unknown role") from exc
        except KeyFormatError as exc:
            raise TrustError(f"{what}: {exc.message}") from exc
        request = cls(
            subject=text_field(body, "subject", what, SUBJECT_PATTERN),
            role=role,
            sign_key=sign_key,
            age=age,
            name=text_field(body, "name", what),
            requested_at=parse_instant(body["at"], f"{what}.at"),
            signature=signature,
        )
        if body["site"] != request.site:
            raise TrustError(f"{what}: site must be the subject's division code")
        verify_body(TAG_ENROLLMENT, request.body(), signature, sign_key, what)
        return request


def make_enrollment_request(
    signing: SigningKey,
    *,
    subject: str,
    role: Role,
    name: str,
    at: datetime,
    age: AgeRecipient | None = None,
) -> EnrollmentRequest:
    """Make a request for ``signing``'s key (and ``age``, for nodes and hubs), self-signed.

    Raises:
        TrustError: a field is malformed, or ``age`` does not fit the role.
    """
    unsigned = EnrollmentRequest(
        subject=subject,
        role=role,
        sign_key=signing.public_key,
        age=age,
        name=name,
        requested_at=at,
    )
    signature = sign_body(TAG_ENROLLMENT, unsigned.body(), signing)
    return dataclasses.replace(unsigned, signature=signature)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentAnswer:
    """A parent's answer: the new certificate first, then its issuers, current CRLs, and
    the province's escrow statement (None when the parent holds none)."""

    certificates: tuple[Certificate, ...]
    crls: tuple[RevocationList, ...] = ()
    escrow: EscrowStatement | None = None

    def __post_init__(self) -> None:
        if not self.certificates:
            raise TrustError("enrollment answer: expected at least the new certificate")

    @property
    def certificate(self) -> Certificate:
        """The requester's new certificate."""
        return self.certificates[0]

    def to_bytes(self) -> bytes:
        """The answer file: one line of canonical JSON."""
        document = {
            "type": ANSWER_TYPE,
            "v": _VERSION,
            "certificates": [cert.to_dict() for cert in self.certificates],
            "crls": [json.loads(crl.to_bytes()) for crl in self.crls],
        }
        if self.escrow is not None:
            document["escrow"] = json.loads(self.escrow.to_bytes())
        return canonical_json(document) + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes | str | Mapping[str, Any]) -> EnrollmentAnswer:
        """Parse an answer (its chain is checked by :func:`verify_answer`).

        Raises:
            TrustError: malformed.
        """
        what = "enrollment answer"
        if isinstance(data, bytes | str):
            document = load_json(data, what, _MAX_ANSWER_BYTES)
        else:
            document = data
        if not isinstance(document, Mapping) or document.get("type") != ANSWER_TYPE:
            raise TrustError(f"expected a {ANSWER_TYPE} document")
        if document.get("v") != _VERSION:
            raise TrustError(f"{what}: version {document.get('v')!r} not supported")
        certs, crls = document.get("certificates"), document.get("crls", [])
        if not isinstance(certs, list) or not isinstance(crls, list):
            raise TrustError(f"{what}: certificates and crls must be lists")
        escrow = document.get("escrow")
        return cls(
            certificates=tuple(Certificate.from_bytes(c) for c in certs),
            crls=tuple(RevocationList.from_bytes(c) for c in crls),
            escrow=EscrowStatement.from_bytes(escrow) if escrow is not None else None,
        )


def verify_answer(
    answer: EnrollmentAnswer,
    *,
    anchor: TrustAnchor,
    subject: str,
    role: Role,
    sign_key: PublicKey,
    age: AgeRecipient | None,
    at: datetime,
) -> TrustStore:
    """Check that ``answer`` certifies ``subject``'s keys in ``role``, chained to ``anchor``.

    Returns:
        A trust store holding the answer's certificates and revocation lists.

    Raises:
        TrustError: the certificate is for another subject or other keys, its chain
            does not validate at ``at`` (a subclass names which check failed), or the
            escrow statement is not signed by the root or the province hub.
    """
    cert = answer.certificate
    if cert.subject != subject:
        raise TrustError(f"enrollment answer: certificate is for {cert.subject}, not {subject}")
    if cert.sign_key != sign_key or cert.age != age:
        raise TrustError(f"enrollment answer: certificate {cert.serial} names other keys")
    if cert.role is not role:
        raise TrustError(f"enrollment answer: certificate {cert.serial} is for a {cert.role}")
    store = TrustStore(anchor).with_certificates(answer.certificates)
    for crl in answer.crls:
        store = store.with_revocation_list(crl)
    store.validate(cert, at)
    if answer.escrow is not None:
        verify_escrow(answer.escrow, store)
    return store
