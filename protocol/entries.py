"""Typed bundle entries: what a node or hub puts in a payload, and how it reads it back.

The bundle layer carries entries opaquely (docs/protocol.md §3). Above it, every
entry is a two-item msgpack array ``[tag, body]``; the tag says how to read the body:

======== =============================================== =====================
tag      body                                            in bundle kinds
======== =============================================== =====================
op       the op's positional wire form (docs/merge.md)   delta, package, decisions, baseline
blob     ``{"id": "b2:<hex>", "type": <media type>,      delta, package, baseline
         "data": <bin>}``
manifest ``{"batch", "origin", "ops": [<op id bytes>…],   delta, package
         "auth": <authorisation statement or null>}``
cert     a certificate statement (JSON object)           trust, package
crl      a revocation list statement                     trust
decision ``{"bundle", "status", "reason", "by", "at",    decisions
         "records": [<record id>…]}``
receipt  a receipt statement                             receipt
problem  ``{…}`` (cross-check findings, docs/crosscheck) problems
answer   ``{"finding", "reason", "note", "by", "at"}``   delta, package
         (a collector's answer to a ``problem``)
origin   ``{"auth": <authorisation statement>,           package
         "answers": [<32-byte answer digest>…]}``
         (the authorisation that signed answers at their
         origin, and the digests of that batch's answers)
closure  ``{"finding", "resolution", "division",         problems
         "record", "at"}`` (the hub closed a ``problem``)
======== =============================================== =====================

:func:`decode_entry` checks an entry strictly and returns a typed value; anything
else is an :class:`~protocol.errors.EntryError` naming the entry's position.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import msgpack

from protocol.errors import EntryError, OpError, TrustError
from protocol.ops import Op
from protocol.trust.authorisation import Authorisation, answers_hash_of_digests
from protocol.trust.certificate import Certificate
from protocol.trust.receipt import Receipt
from protocol.trust.revocation import RevocationList
from protocol.trust.statement import SUBJECT_PATTERN, format_instant, parse_instant

__all__ = [
    "MAX_ANSWER_NOTE",
    "MAX_BLOB_BYTES",
    "NOTE_REQUIRED",
    "AnswerOrigin",
    "AnswerReason",
    "Blob",
    "ClosureResolution",
    "Decision",
    "DecisionStatus",
    "EntryTag",
    "Manifest",
    "Problem",
    "ProblemAnswer",
    "ProblemClosure",
    "blob_id_of",
    "decode_entry",
    "encode_entry",
    "entry_bytes",
]

#: A photo, a drawn signature or a scanned confirmation sheet.
MAX_BLOB_BYTES: Final = 8 * 1024 * 1024
_BLOB_ID: Final = re.compile(r"b2:[0-9a-f]{64}")
_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_MEDIA_TYPE: Final = re.compile(r"[a-z]+/[a-z0-9.+-]{1,60}")
_MAX_REASON: Final = 2000
_MAX_MANIFEST_OPS: Final = 1_000_000
_MAX_ORIGIN_ANSWERS: Final = 100_000
#: An answer's note: where the person moved, or why the register is wrong.
MAX_ANSWER_NOTE: Final = 500
_ANSWER_KEYS: Final = ("finding", "reason", "note", "by", "at")
_CLOSURE_KEYS: Final = ("finding", "resolution", "division", "record", "at")
#: A division code: 2 to 12 digits (province to village), as findings are routed by.
_DIVISION: Final = re.compile(r"[0-9]{2,12}")
_RECORD_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EntryTag(enum.StrEnum):
    OP = "op"
    BLOB = "blob"
    MANIFEST = "manifest"
    CERT = "cert"
    CRL = "crl"
    DECISION = "decision"
    RECEIPT = "receipt"
    PROBLEM = "problem"
    ANSWER = "answer"
    ORIGIN = "origin"
    CLOSURE = "closure"


def blob_id_of(data: bytes) -> str:
    """The content address of a blob: ``b2:`` + BLAKE2b-256 hex (``b2sum -l 256``)."""
    return "b2:" + hashlib.blake2b(data, digest_size=32).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Blob:
    """Binary content referenced from a record by its content address."""

    blob_id: str
    media_type: str
    data: bytes

    def __post_init__(self) -> None:
        if not _BLOB_ID.fullmatch(self.blob_id):
            raise EntryError("blob: id must be b2:<64 hex>")
        if not _MEDIA_TYPE.fullmatch(self.media_type):
            raise EntryError("blob: media type malformed")
        if len(self.data) > MAX_BLOB_BYTES:
            raise EntryError(f"blob {self.blob_id}: larger than {MAX_BLOB_BYTES} bytes")
        if blob_id_of(self.data) != self.blob_id:
            raise EntryError(f"blob {self.blob_id}: content does not match its id")

    @classmethod
    def of(cls, data: bytes, media_type: str) -> Blob:
        return cls(blob_id=blob_id_of(data), media_type=media_type, data=data)


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """The ordered op ids of an authorised batch, and the authorisation over them."""

    batch_id: str
    origin: str
    op_ids: tuple[str, ...]
    auth: Authorisation | None = None

    def __post_init__(self) -> None:
        if not _HEX32.fullmatch(self.batch_id):
            raise EntryError("manifest: batch id must be 32 hex digits")
        if len(self.op_ids) > _MAX_MANIFEST_OPS:
            raise EntryError(f"manifest: more than {_MAX_MANIFEST_OPS} ops")
        if len(set(self.op_ids)) != len(self.op_ids):
            raise EntryError(f"manifest {self.batch_id}: an op id appears twice")


class DecisionStatus(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A hub's review decision on a bundle it received, sent back down to the sender."""

    bundle_id: str
    status: DecisionStatus
    reason: str
    by: str
    decided_at: datetime
    record_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _HEX32.fullmatch(self.bundle_id):
            raise EntryError("decision: bundle id must be 32 hex digits")
        if len(self.reason) > _MAX_REASON:
            raise EntryError(f"decision: reason longer than {_MAX_REASON} characters")
        if self.status is DecisionStatus.REJECTED and not self.reason.strip():
            raise EntryError("decision: a rejection needs a reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A finding sent down for a collector to fix (fields defined by the cross-check)."""

    body: Mapping[str, Any]


class AnswerReason(enum.StrEnum):
    """Why a collector answers a cross-check problem instead of (or after) fixing the record."""

    REGISTER_WRONG = "register_wrong"
    PERSON_MOVED = "person_moved"
    PERSON_DECEASED = "person_deceased"
    RECORD_FIXED = "record_fixed"
    NOT_FOUND = "not_found"
    OTHER = "other"


#: Reasons whose answer says nothing without a note (where to; why).
NOTE_REQUIRED: Final = frozenset({AnswerReason.PERSON_MOVED, AnswerReason.OTHER})


@dataclass(frozen=True, slots=True, kw_only=True)
class ProblemAnswer:
    """A collector's answer to a cross-check problem, travelling up in a delta bundle.

    Attributes:
        finding_id: the ``id`` of the ``problem`` it answers (32 hex digits).
        reason: the answer as a code the hub can count.
        note: the details (where the person moved; why the register is wrong).
        by: who answered (a person's subject id, ``370102001/zhang.wei``).
        at: when (aware).
    """

    finding_id: str
    reason: AnswerReason
    # The note may name a place or a person: it stays out of reprs and messages.
    note: str = field(repr=False)
    by: str
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.finding_id, str) or not _HEX32.fullmatch(self.finding_id):
            raise EntryError("answer: finding must be 32 hex digits")
        if len(self.note) > MAX_ANSWER_NOTE:
            raise EntryError(f"answer {self.finding_id}: note longer than {MAX_ANSWER_NOTE}")
        if self.reason in NOTE_REQUIRED and not self.note.strip():
            raise EntryError(f"answer {self.finding_id}: {self.reason.value} needs a note")
        if not SUBJECT_PATTERN.fullmatch(self.by):
            raise EntryError(f"answer {self.finding_id}: by must be a subject id")
        if self.at.tzinfo is None:
            raise EntryError(f"answer {self.finding_id}: time must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerOrigin:
    """Where answers passed up a hub were signed: their batch's authorisation at the
    node, with the digests of every answer that batch carried.

    The authorisation's ``answers`` hash is the hash of these digests
    (:func:`protocol.trust.answers_hash_of_digests`), so a hub can pass up some of a
    batch's answers and the hub above can still check that the approver signed each
    one (its :func:`protocol.trust.answer_digest` is among them), without seeing the
    batch's other answers.
    """

    auth: Authorisation
    digests: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.digests or len(self.digests) > _MAX_ORIGIN_ANSWERS:
            raise EntryError(
                f"origin of batch {self.auth.batch_id}: expected 1 to "
                f"{_MAX_ORIGIN_ANSWERS} answer digests"
            )
        if not all(type(d) is bytes and len(d) == 32 for d in self.digests):
            raise EntryError(
                f"origin of batch {self.auth.batch_id}: answer digests must be 32 bytes each"
            )
        if self.auth.answers != answers_hash_of_digests(self.digests):
            raise EntryError(
                f"origin of batch {self.auth.batch_id}: its authorisation does not cover "
                "these answer digests"
            )


class ClosureResolution(enum.StrEnum):
    """Why the hub closed a cross-check problem (docs/crosscheck.md §7)."""

    FIXED = "fixed"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProblemClosure:
    """The hub closed a problem it had sent down: the collector's to-do item closes too.

    Attributes:
        finding_id: the ``id`` of the ``problem`` (32 hex digits).
        resolution: fixed (a re-check passed), accepted (the answer), or withdrawn.
        division: the division the problem was routed by, so that a hub on the way
            routes the closure as it routed the problem; None if it had none.
        record_id: the record the problem was about, or None (a register row's).
        at: when the hub closed it (aware).

    It carries no personal value: the node holds the problem it closes.
    """

    finding_id: str
    resolution: ClosureResolution
    division: str | None
    record_id: str | None
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.finding_id, str) or not _HEX32.fullmatch(self.finding_id):
            raise EntryError("closure: finding must be 32 hex digits")
        if not isinstance(self.resolution, ClosureResolution):
            raise EntryError("closure: resolution must be a ClosureResolution")
        if self.division is not None and not (
            isinstance(self.division, str) and _DIVISION.fullmatch(self.division)
        ):
            raise EntryError(f"closure {self.finding_id}: division must be 2 to 12 digits")
        if self.record_id is not None and not (
            isinstance(self.record_id, str) and _RECORD_ID.fullmatch(self.record_id)
        ):
            raise EntryError(f"closure {self.finding_id}: record must be a record id")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise EntryError(f"closure {self.finding_id}: time must be timezone-aware")


def entry_bytes(value: object) -> bytes:
    """The msgpack encoding of :func:`encode_entry`'s form, as a payload carries it.

    An approver's authorisation signs a batch's answers through these bytes
    (:func:`protocol.trust.answers_hash`); a reader re-encodes the answers it decoded,
    so what is signed is what the answer says, not how it was spelled on the wire.

    Raises:
        EntryError: the value is not one of the entry types.
    """
    packed: bytes = msgpack.packb(encode_entry(value), use_bin_type=True)
    return packed


def encode_entry(value: object) -> list[Any]:
    """Return the ``[tag, body]`` wire form of a typed entry.

    Raises:
        EntryError: the value is not one of the entry types.
    """
    if isinstance(value, Op):
        return [EntryTag.OP.value, value.to_entry()]
    if isinstance(value, Blob):
        body = {"id": value.blob_id, "type": value.media_type, "data": value.data}
        return [EntryTag.BLOB.value, body]
    if isinstance(value, Manifest):
        return [
            EntryTag.MANIFEST.value,
            {
                "batch": value.batch_id,
                "origin": value.origin,
                "ops": [bytes.fromhex(op_id) for op_id in value.op_ids],
                "auth": value.auth.to_dict() if value.auth else None,
            },
        ]
    if isinstance(value, Certificate):
        return [EntryTag.CERT.value, value.to_dict()]
    if isinstance(value, RevocationList):
        return [EntryTag.CRL.value, _statement_dict(value.to_bytes())]
    if isinstance(value, Receipt):
        return [EntryTag.RECEIPT.value, value.to_dict()]
    if isinstance(value, Decision):
        return [
            EntryTag.DECISION.value,
            {
                "bundle": value.bundle_id,
                "status": value.status.value,
                "reason": value.reason,
                "by": value.by,
                "at": format_instant(value.decided_at),
                "records": list(value.record_ids),
            },
        ]
    if isinstance(value, Problem):
        return [EntryTag.PROBLEM.value, dict(value.body)]
    if isinstance(value, ProblemAnswer):
        return [
            EntryTag.ANSWER.value,
            {
                "finding": value.finding_id,
                "reason": value.reason.value,
                "note": value.note,
                "by": value.by,
                "at": format_instant(value.at),
            },
        ]
    if isinstance(value, AnswerOrigin):
        return [
            EntryTag.ORIGIN.value,
            {"auth": value.auth.to_dict(), "answers": list(value.digests)},
        ]
    if isinstance(value, ProblemClosure):
        return [
            EntryTag.CLOSURE.value,
            {
                "finding": value.finding_id,
                "resolution": value.resolution.value,
                "division": value.division,
                "record": value.record_id,
                "at": format_instant(value.at),
            },
        ]
    raise EntryError(f"cannot encode a {type(value).__name__} as a bundle entry")


def _statement_dict(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(data)
    return result


def decode_entry(entry: object, index: int = 0) -> object:
    """Read one ``[tag, body]`` entry into its typed value.

    Raises:
        EntryError: the entry is malformed, of an unknown type, or its body is invalid.
    """
    if not isinstance(entry, list | tuple) or len(entry) != 2:
        raise EntryError(f"entry {index}: expected [tag, body]", entry=index)
    tag, body = entry
    try:
        kind = EntryTag(tag)
    except ValueError:
        raise EntryError(
            f"entry {index}: unknown entry type {str(tag)[:20]!r}", entry=index
        ) from None
    try:
        return _DECODERS[kind](body)
    except EntryError as exc:
        raise EntryError(f"entry {index} ({kind}): {exc.message}", entry=index) from exc
    except (OpError, TrustError) as exc:
        raise EntryError(f"entry {index} ({kind}): {exc.message}", entry=index) from exc


def _mapping(body: object, keys: Sequence[str], what: str) -> Mapping[str, Any]:
    if not isinstance(body, dict) or set(body) != set(keys):
        raise EntryError(f"{what} must be an object with keys {', '.join(keys)}")
    return body


def _text(value: object, what: str, limit: int = 200) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise EntryError(f"{what} must be text of at most {limit} characters")
    return value


def _decode_blob(body: object) -> Blob:
    m = _mapping(body, ("id", "type", "data"), "blob")
    if not isinstance(m["data"], bytes):
        raise EntryError("blob data must be binary")
    return Blob(blob_id=_text(m["id"], "blob id"), media_type=_text(m["type"], "blob type"),
                data=m["data"])  # fmt: skip


def _decode_manifest(body: object) -> Manifest:
    m = _mapping(body, ("batch", "origin", "ops", "auth"), "manifest")
    ops = m["ops"]
    if not isinstance(ops, list) or not all(isinstance(o, bytes) and len(o) == 16 for o in ops):
        raise EntryError("manifest ops must be a list of 16-byte op ids")
    auth = Authorisation.from_dict(m["auth"]) if m["auth"] is not None else None
    return Manifest(
        batch_id=_text(m["batch"], "manifest batch"),
        origin=_text(m["origin"], "manifest origin"),
        op_ids=tuple(o.hex() for o in ops),
        auth=auth,
    )


def _decode_decision(body: object) -> Decision:
    m = _mapping(body, ("bundle", "status", "reason", "by", "at", "records"), "decision")
    try:
        status = DecisionStatus(m["status"])
    except ValueError as exc:
        raise EntryError("decision status must be approved or rejected") from exc
    records = m["records"]
    if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
        raise EntryError("decision records must be a list of record ids")
    return Decision(
        bundle_id=_text(m["bundle"], "decision bundle"),
        status=status,
        reason=_text(m["reason"], "decision reason", _MAX_REASON),
        by=_text(m["by"], "decision by"),
        decided_at=parse_instant(m["at"], "decision at"),
        record_ids=tuple(records),
    )


def _decode_problem(body: object) -> Problem:
    if not isinstance(body, dict):
        raise EntryError("problem must be an object")
    return Problem(body=body)


def _decode_answer(body: object) -> ProblemAnswer:
    m = _mapping(body, _ANSWER_KEYS, "answer")
    try:
        reason = AnswerReason(m["reason"])
    except ValueError:
        raise EntryError(
            f"answer reason must be one of {', '.join(r.value for r in AnswerReason)}"
        ) from None
    return ProblemAnswer(
        finding_id=_text(m["finding"], "answer finding", 32),
        reason=reason,
        note=_text(m["note"], "answer note", MAX_ANSWER_NOTE),
        by=_text(m["by"], "answer by", 80),
        at=parse_instant(m["at"], "answer at"),
    )


def _decode_origin(body: object) -> AnswerOrigin:
    m = _mapping(body, ("auth", "answers"), "origin")
    digests = m["answers"]
    if not isinstance(digests, list):
        raise EntryError("origin answers must be a list of 32-byte digests")
    return AnswerOrigin(auth=Authorisation.from_dict(m["auth"]), digests=tuple(digests))


def _decode_closure(body: object) -> ProblemClosure:
    m = _mapping(body, _CLOSURE_KEYS, "closure")
    try:
        resolution = ClosureResolution(m["resolution"])
    except ValueError:
        raise EntryError(
            f"closure resolution must be one of {', '.join(r.value for r in ClosureResolution)}"
        ) from None
    division, record = m["division"], m["record"]
    return ProblemClosure(
        finding_id=_text(m["finding"], "closure finding", 32),
        resolution=resolution,
        division=None if division is None else _text(division, "closure division", 12),
        record_id=None if record is None else _text(record, "closure record", 36),
        at=parse_instant(m["at"], "closure at"),
    )


_DECODERS: Final = {
    EntryTag.OP: Op.from_entry,
    EntryTag.BLOB: _decode_blob,
    EntryTag.MANIFEST: _decode_manifest,
    EntryTag.CERT: Certificate.from_bytes,
    EntryTag.CRL: RevocationList.from_bytes,
    EntryTag.DECISION: _decode_decision,
    EntryTag.RECEIPT: Receipt.from_bytes,
    EntryTag.PROBLEM: _decode_problem,
    EntryTag.ANSWER: _decode_answer,
    EntryTag.ORIGIN: _decode_origin,
    EntryTag.CLOSURE: _decode_closure,
}
