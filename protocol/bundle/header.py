"""The bundle header: one line of compact JSON in minisign's trusted comment.

The header is small on purpose (stock minisign reads a few kilobytes); everything
else travels in the encrypted payload. docs/protocol.md §2 lists every field.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from protocol.errors import HeaderSyntaxError

__all__ = ["FORMAT_VERSION", "BundleHeader", "BundleKind", "format_time", "parse_time"]

#: The bundle format version this code writes and reads.
FORMAT_VERSION: Final = 1

_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_HEX128: Final = re.compile(r"[0-9a-f]{128}")
#: A site code (6 or 9 digits, or 12 for villages) with an optional machine suffix.
_PARTY: Final = re.compile(r"\d{2,12}(-\d{2})?", re.ASCII)
_SCHEMA: Final = re.compile(r"[A-Za-z0-9._:+-]{1,80}")
_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", re.ASCII)
_KEYS: Final = frozenset(
    {"muster", "id", "kind", "from", "to", "seq", "prev", "created", "count", "payload",
     "schema", "auth"}
)  # fmt: skip


class BundleKind(enum.StrEnum):
    """What a bundle carries (ARCHITECTURE §5)."""

    DELTA = "delta"
    PACKAGE = "package"
    BASELINE = "baseline"
    PROBLEMS = "problems"
    DECISIONS = "decisions"
    TRUST = "trust"
    RECEIPT = "receipt"


def format_time(moment: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with a ``Z`` (second precision)."""
    if moment.tzinfo is None:
        raise HeaderSyntaxError("header time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse the header's RFC 3339 UTC time.

    Raises:
        HeaderSyntaxError: not of the form ``YYYY-MM-DDTHH:MM:SSZ``.
    """
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise HeaderSyntaxError("header.created: expected YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HeaderSyntaxError("header.created: not a real date and time") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleHeader:
    """The signed header of a bundle. Invalid headers cannot be constructed.

    Attributes:
        bundle_id: 32 lowercase hex digits, chosen by the sender.
        kind: what the payload carries.
        sender: the sending node or hub id (``370102001-01``, ``370100``).
        recipient: the destination site id.
        seq: position in the (sender, recipient) stream, from 1.
        prev: BLAKE2b-256 (hex) of the previous bundle file in the stream; None for seq 1.
        created: when the sender sealed it (UTC, second precision).
        count: number of entries in the payload.
        payload_b2: BLAKE2b-512 (hex) of the decrypted payload, as ``b2sum`` prints it.
        payload_size: size in bytes of the decrypted payload.
        schema: the record schema version the entries follow, when they carry records.
        auth: the approver's (or administrator's) authorisation, for upward data.
    """

    bundle_id: str
    kind: BundleKind
    sender: str
    recipient: str
    seq: int
    prev: str | None
    created: datetime
    count: int
    payload_b2: str
    payload_size: int
    schema: str | None = None
    auth: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        _require(bool(_HEX32.fullmatch(self.bundle_id)), "id", "32 lowercase hex digits")
        _require(isinstance(self.kind, BundleKind), "kind", "a known bundle kind")
        _require(bool(_PARTY.fullmatch(self.sender)), "from", "a site or node id")
        _require(bool(_PARTY.fullmatch(self.recipient)), "to", "a site id")
        _require(_is_int(self.seq) and 1 <= self.seq < 2**63, "seq", "an integer >= 1")
        if self.seq == 1:
            _require(self.prev is None, "prev", "null for the first bundle of a stream")
        else:
            _require(
                isinstance(self.prev, str) and bool(_HEX64.fullmatch(self.prev)),
                "prev",
                "64 lowercase hex digits",
            )
        _require(
            isinstance(self.created, datetime) and self.created.tzinfo is not None,
            "created",
            "an aware datetime",
        )
        _require(_is_int(self.count) and 0 <= self.count < 2**63, "count", "an integer >= 0")
        _require(bool(_HEX128.fullmatch(self.payload_b2)), "payload.b2", "128 lowercase hex")
        _require(
            _is_int(self.payload_size) and 0 <= self.payload_size < 2**63,
            "payload.size",
            "an integer >= 0",
        )
        if self.schema is not None:
            _require(
                isinstance(self.schema, str) and bool(_SCHEMA.fullmatch(self.schema)),
                "schema",
                "a schema version id",
            )
        if self.auth is not None:
            _require(isinstance(self.auth, Mapping), "auth", "an object")

    def to_json(self) -> str:
        """The header as one line of compact JSON (keys in a fixed order)."""
        body: dict[str, Any] = {
            "muster": FORMAT_VERSION,
            "id": self.bundle_id,
            "kind": self.kind.value,
            "from": self.sender,
            "to": self.recipient,
            "seq": self.seq,
            "prev": self.prev,
            "created": format_time(self.created),
            "count": self.count,
            "payload": {"b2": self.payload_b2, "size": self.payload_size},
            "schema": self.schema,
            "auth": dict(self.auth) if self.auth is not None else None,
        }
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """The header as a JSON-able mapping (what ``muster bundle inspect`` prints)."""
        result: dict[str, Any] = json.loads(self.to_json())
        return result

    @classmethod
    def from_json(cls, text: str) -> BundleHeader:
        """Parse and check a header line.

        Raises:
            HeaderSyntaxError: not JSON, unknown or missing keys, wrong types or values.
        """
        try:
            body = json.loads(text)
        # ValueError, not only JSONDecodeError: Python refuses an integer of more than
        # 4300 digits with a plain ValueError (a header may be up to 8192 bytes).
        except (ValueError, RecursionError) as exc:
            raise HeaderSyntaxError("header is not valid JSON") from exc
        if not isinstance(body, dict):
            raise HeaderSyntaxError("header must be a JSON object")
        unknown = set(body) - _KEYS
        if unknown:
            raise HeaderSyntaxError(f"header has unknown keys: {', '.join(sorted(unknown))}")
        missing = _KEYS - set(body)
        if missing:
            raise HeaderSyntaxError(f"header lacks keys: {', '.join(sorted(missing))}")
        # JSON's true equals 1 in Python: the version must be the integer itself.
        if not _is_int(body["muster"]) or body["muster"] != FORMAT_VERSION:
            raise HeaderSyntaxError(
                f"bundle format version {body['muster']!r} not supported, expected {FORMAT_VERSION}"
            )
        payload = body["payload"]
        if not isinstance(payload, dict) or set(payload) != {"b2", "size"}:
            raise HeaderSyntaxError("header.payload must be {b2, size}")
        try:
            kind = BundleKind(body["kind"])
        except ValueError as exc:
            raise HeaderSyntaxError(f"header.kind {body['kind']!r} is not a bundle kind") from exc
        for key in ("id", "from", "to", "payload_b2"):
            value = payload["b2"] if key == "payload_b2" else body[key]
            if not isinstance(value, str):
                raise HeaderSyntaxError(f"header.{key} must be a string")
        return cls(
            bundle_id=body["id"],
            kind=kind,
            sender=body["from"],
            recipient=body["to"],
            seq=body["seq"],
            prev=body["prev"],
            created=parse_time(body["created"]),
            count=body["count"],
            payload_b2=payload["b2"],
            payload_size=payload["size"],
            schema=body["schema"],
            auth=body["auth"],
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise HeaderSyntaxError(f"header.{key}: expected {expected}", key=key)
