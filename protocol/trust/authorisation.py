"""Batch manifests and the authorisation that an approver (or a hub administrator) signs.

A *manifest* is the ordered list of the op ids in a batch. Its hash is signed in an
*authorisation* statement by a person holding an ``approver`` certificate (for a
node's delta batch) or an ``admin`` certificate (for a hub's package). The hash,
not the ops, is signed: one signature per batch, not per op (ARCHITECTURE §11).

A batch that also carries answers to cross-check problems has their hash signed in
the same statement (``answers``, :func:`answers_hash`); a statement without it
authorises no answer. It is left out of the body when there are none, so statements
made before it existed verify unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from crypto.hashing import TAG_ANSWER, TAG_ANSWERS, TAG_AUTHORISATION, TAG_MANIFEST, tagged_hash
from crypto.sign import SigningKey
from protocol.divisions import contains
from protocol.errors import AuthorisationError, TrustError
from protocol.trust.certificate import Role, site_of
from protocol.trust.statement import (
    SUBJECT_PATTERN,
    decode_statement,
    encode_statement,
    format_instant,
    int_field,
    parse_instant,
    sign_body,
    text_field,
    verify_body,
)
from protocol.trust.store import TrustStore

__all__ = [
    "AUTHORISATION_TYPE",
    "Authorisation",
    "answers_hash",
    "authorise",
    "manifest_hash",
    "verify_answers",
    "verify_authorisation",
]

AUTHORISATION_TYPE: Final = "muster-authorisation"
_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9A-F]{16}")


def manifest_hash(op_ids: Sequence[str]) -> str:
    """The hash an approver signs: BLAKE2b-256 over the op ids in batch order.

    Raises:
        AuthorisationError: an op id is not 32 hex digits.
    """
    parts: list[bytes] = []
    for op_id in op_ids:
        if not isinstance(op_id, str) or not _HEX32.fullmatch(op_id):
            raise AuthorisationError("manifest: op ids must be 32 lowercase hex digits")
        parts.append(bytes.fromhex(op_id))
    return tagged_hash(TAG_MANIFEST, *parts).hex()


def answer_digest(encoded: bytes) -> bytes:
    """One answer's digest: BLAKE2b-256 of its entry's encoding
    (``protocol.entries.entry_bytes``)."""
    return tagged_hash(TAG_ANSWER, encoded)


def answers_hash(encoded: Sequence[bytes]) -> str:
    """The hash an approver signs over a batch's answers (their ``entry_bytes``, in
    batch order): the hash of the list of their digests (:func:`answer_digest`)."""
    return answers_hash_of_digests([answer_digest(item) for item in encoded])


def answers_hash_of_digests(digests: Sequence[bytes]) -> str:
    """:func:`answers_hash` from the answers' digests alone.

    A hub passing one answer of a batch up proves the approver signed it with the
    batch's digests and the statement, without the batch's other answers.
    """
    return tagged_hash(TAG_ANSWERS, *digests).hex()


@dataclass(frozen=True, slots=True, kw_only=True)
class Authorisation:
    """Attributes:
    batch_id: the batch (32 hex digits).
    origin: the node or hub whose batch this is.
    manifest: :func:`manifest_hash` of the batch's op ids.
    count: number of ops.
    by: the person's subject id (``370102001/li.na``).
    key_id: their signing key's id.
    signed_at: when they authorised it.
    answers: :func:`answers_hash` of the answers the batch carries, or None (none).
    """

    batch_id: str
    origin: str
    manifest: str
    count: int
    by: str
    key_id: bytes
    signed_at: datetime
    signature: bytes = b""
    answers: str | None = None

    def __post_init__(self) -> None:
        what = "authorisation"
        if not _HEX32.fullmatch(self.batch_id) or not _HEX64.fullmatch(self.manifest):
            raise AuthorisationError(f"{what}: batch id or manifest hash malformed")
        if not SUBJECT_PATTERN.fullmatch(self.origin) or not SUBJECT_PATTERN.fullmatch(self.by):
            raise AuthorisationError(f"{what}: origin or signer id malformed")
        if self.answers is not None and not _HEX64.fullmatch(self.answers):
            raise AuthorisationError(f"{what}: answers hash malformed")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "batch": self.batch_id,
            "origin": self.origin,
            "manifest": self.manifest,
            "count": self.count,
            "by": self.by,
            "key": self.key_id[::-1].hex().upper(),
            "at": format_instant(self.signed_at),
        }
        if self.answers is not None:
            body["answers"] = self.answers
        return body

    def to_dict(self) -> dict[str, Any]:
        """The statement as a JSON object (for bundle headers and payload entries)."""
        result: dict[str, Any] = json.loads(
            encode_statement(AUTHORISATION_TYPE, self.body(), self.signature)
        )
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | bytes | str) -> Authorisation:
        """Parse an authorisation statement.

        Raises:
            AuthorisationError: malformed.
        """
        what = "authorisation"
        try:
            body, signature = decode_statement(data, AUTHORISATION_TYPE)
            return cls(
                batch_id=text_field(body, "batch", what, _HEX32),
                origin=text_field(body, "origin", what, SUBJECT_PATTERN),
                manifest=text_field(body, "manifest", what, _HEX64),
                count=int_field(body, "count", what),
                by=text_field(body, "by", what, SUBJECT_PATTERN),
                key_id=bytes.fromhex(text_field(body, "key", what, _KEY_ID))[::-1],
                signed_at=parse_instant(body.get("at"), f"{what}.at"),
                signature=signature,
                answers=text_field(body, "answers", what, _HEX64) if "answers" in body else None,
            )
        except AuthorisationError:
            raise
        except TrustError as exc:
            raise AuthorisationError(exc.message) from exc


def authorise(
    *,
    key: SigningKey,
    by: str,
    batch_id: str,
    origin: str,
    op_ids: Sequence[str],
    signed_at: datetime,
    answers: Sequence[bytes] = (),
) -> Authorisation:
    """Sign a batch's manifest, and the answers it carries (their ``entry_bytes``), as
    person ``by``."""
    unsigned = Authorisation(
        batch_id=batch_id,
        origin=origin,
        manifest=manifest_hash(op_ids),
        count=len(op_ids),
        by=by,
        key_id=key.public_key.key_id,
        signed_at=signed_at,
        answers=answers_hash(answers) if answers else None,
    )
    return dataclasses.replace(
        unsigned, signature=sign_body(TAG_AUTHORISATION, unsigned.body(), key)
    )


def verify_authorisation(
    auth: Authorisation,
    *,
    op_ids: Sequence[str] | None,
    store: TrustStore,
    origin: str,
    role: Role = Role.APPROVER,
) -> None:
    """Check that ``auth`` is a valid authorisation of ``op_ids`` from ``origin``.

    The signer must hold a ``role`` certificate for the key, valid (and unrevoked)
    at the signing time, for a site whose jurisdiction contains the origin's site.
    Pass ``op_ids=None`` to check the statement alone (before the ops are decoded).

    Raises:
        AuthorisationError: the statement does not cover these ops or this origin.
        TrustError: the signer's certificate chain is not acceptable.
    """
    if auth.origin != origin:
        raise AuthorisationError(
            f"batch {auth.batch_id} is authorised for {auth.origin}, not for {origin}"
        )
    if op_ids is not None:
        if len(op_ids) != auth.count:
            raise AuthorisationError(
                f"batch {auth.batch_id}: {len(op_ids)} ops, authorisation covers {auth.count}"
            )
        if manifest_hash(op_ids) != auth.manifest:
            raise AuthorisationError(
                f"batch {auth.batch_id}: ops differ from the manifest the approver signed"
            )
    certs = [c for c in store.find(auth.by, auth.key_id) if c.role is role]
    if not certs:
        raise AuthorisationError(
            f"batch {auth.batch_id}: {auth.by} holds no {role} certificate for this key"
        )
    failure: TrustError | None = None
    for cert in certs:
        if not contains(cert.site, site_of(origin)):
            failure = AuthorisationError(
                f"batch {auth.batch_id}: {auth.by} may not authorise batches of {origin}"
            )
            continue
        try:
            store.validate(cert, auth.signed_at)
            verify_body(
                TAG_AUTHORISATION, auth.body(), auth.signature, cert.sign_key,
                f"authorisation of batch {auth.batch_id}",
            )  # fmt: skip
        except TrustError as exc:
            failure = exc
            continue
        return
    assert failure is not None
    raise failure


def verify_answers(auth: Authorisation, encoded: Sequence[bytes]) -> None:
    """Check that ``auth`` covers exactly the answers a batch carries.

    ``encoded`` holds each answer entry's ``entry_bytes``, in batch order. The
    statement itself is checked by :func:`verify_authorisation`.

    Raises:
        AuthorisationError: the batch carries answers the signer did not authorise, or
            other answers than the ones they did.
    """
    if not encoded:
        if auth.answers is not None:
            raise AuthorisationError(
                f"batch {auth.batch_id}: the authorisation covers answers the batch does not carry"
            )
        return
    if auth.answers is None:
        carried = "an answer" if len(encoded) == 1 else f"{len(encoded)} answers"
        raise AuthorisationError(
            f"batch {auth.batch_id}: carries {carried} to cross-check problems that "
            f"{auth.by} did not authorise"
        )
    if answers_hash(encoded) != auth.answers:
        raise AuthorisationError(
            f"batch {auth.batch_id}: its answers differ from the ones {auth.by} authorised"
        )
