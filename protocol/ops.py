"""Ops: the only way a record changes.

An :class:`Op` is one change to one record: ``create`` (all its first values),
``set`` (one field), ``delete`` or ``merge_into`` (a survivor record). Record-level
ops act on the pseudo-field ``_status`` (``"live"``, ``"deleted"``,
``"merged:<survivor>"``), so they are versioned and merged like any field.

An op's id is derived from its canonical bytes (:attr:`Op.canonical_bytes`), never
stored beside it and never taken from the wire. The wire form (:meth:`Op.to_entry`,
:meth:`Op.from_entry`) is a positional array; ``docs/merge.md`` §2 gives it byte by
byte. Values are treated opaquely: this module checks only that they are canonical
(JSON-like, hashable, encodable the same way everywhere); the schema checks meaning.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import msgpack

from crypto.hashing import TAG_OP, tagged_hash
from protocol import _opcheck as check
from protocol._opcheck import (
    FIELD_NAME_PATTERN,
    MAX_AUTHOR_LENGTH,
    MAX_BASE,
    MAX_CREATE_FIELDS,
    MAX_REASON_LENGTH,
    Value,
    canonical_value,
    is_field_name,
    is_op_id,
    is_record_id,
)
from protocol.errors import OpError
from protocol.hlc import Timestamp

__all__ = [
    "ENTRY_LENGTH",
    "FIELD_NAME_PATTERN",
    "MAX_AUTHOR_LENGTH",
    "MAX_BASE",
    "MAX_CREATE_FIELDS",
    "MAX_REASON_LENGTH",
    "MERGED_PREFIX",
    "STATUS_DELETED",
    "STATUS_FIELD",
    "STATUS_LIVE",
    "Op",
    "OpKind",
    "Value",
    "canonical_value",
    "is_field_name",
    "is_op_id",
    "is_record_id",
]

#: The record-level pseudo-field that create, delete and merge_into write.
STATUS_FIELD: Final = "_status"
STATUS_LIVE: Final = "live"
STATUS_DELETED: Final = "deleted"
#: ``_status`` of a record merged into a survivor: this prefix, then the survivor's id.
MERGED_PREFIX: Final = "merged:"
#: Items in the wire array (docs/merge.md §2).
ENTRY_LENGTH: Final = 11


class OpKind(enum.Enum):
    """What an op does. The wire carries :attr:`code`, not the name."""

    CREATE = "create"
    SET = "set"
    DELETE = "delete"
    MERGE_INTO = "merge_into"

    @property
    def code(self) -> int:
        """The small integer that stands for this kind on the wire."""
        return _CODE_OF[self]


_KINDS: Final = (OpKind.CREATE, OpKind.SET, OpKind.DELETE, OpKind.MERGE_INTO)
_CODE_OF: Final = {kind: code for code, kind in enumerate(_KINDS)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Op:
    """One change to one record.

    Attributes:
        kind: what the op does.
        record_id: the record's UUID (lowercase hyphenated text).
        field: the field a ``set`` writes; None for every other kind.
        value: ``set``: the canonical value; ``create``: the first values as a tuple
            of ``(field, value)`` pairs sorted by field (a mapping is accepted and
            converted); ``merge_into``: the survivor's record id; ``delete``: None.
        base: the op ids of the field versions the author edited (sorted, unique):
            empty for a create, one for an ordinary edit, every head for a resolution.
            For delete and merge_into they are versions of ``_status``.
        record_base: the record version the author had (see docs/merge.md), or None.
        hlc: when the op was made; its node is the op's site.
        author: the account that made the op.
        site: the node that made the op.
        reason: why (for resolutions, deletes and merges), or None.

    Two ops are equal when their ids are equal.

    Raises:
        OpError: any attribute is malformed or does not fit the kind.
    """

    kind: OpKind
    record_id: str
    field: str | None = None
    value: object = None
    base: tuple[str, ...] = ()
    record_base: str | None = None
    hlc: Timestamp
    author: str
    site: str
    reason: str | None = None
    # Derived once, on first use (from_entry fills _bytes from the checked entry).
    _bytes: bytes | None = dataclasses.field(default=None, init=False, repr=False)
    _id: str | None = dataclasses.field(default=None, init=False, repr=False)
    _key: tuple[str, str] | None = dataclasses.field(default=None, init=False, repr=False)
    _map: Mapping[str, Value] | None = dataclasses.field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        kind = self.kind
        if not isinstance(kind, OpKind):
            raise OpError(f"op kind: expected one of {_kind_names()}")
        name = kind.value
        if not is_record_id(self.record_id):
            raise OpError(f"op {name} record_id: expected a UUID in lowercase hyphenated form")
        if not isinstance(self.hlc, Timestamp):
            raise OpError(f"op {name} hlc: expected a Timestamp")
        if self.site != self.hlc.node:
            raise OpError(f"op {name} site: expected the node of its timestamp, {self.hlc.node}")
        check.check_author(self.author, name)
        check.check_reason(self.reason, name)
        if self.record_base is not None and not is_op_id(self.record_base):
            raise OpError(f"op {name} record_base: expected an op id (32 lowercase hex digits)")
        base = check.normal_base(self.base, name)
        if base is not self.base:
            object.__setattr__(self, "base", base)
        value = _kind_value(
            kind,
            record_id=self.record_id,
            fname=self.field,
            value=self.value,
            base=base,
            record_base=self.record_base,
        )
        if value is not self.value:
            object.__setattr__(self, "value", value)

    @property
    def op_id(self) -> str:
        """The op's id: 32 lowercase hex digits of its tagged canonical hash."""
        op_id = self._id
        if op_id is None:
            op_id = tagged_hash(TAG_OP, self.canonical_bytes, size=16).hex()
            object.__setattr__(self, "_id", op_id)
        return op_id

    @property
    def canonical_bytes(self) -> bytes:
        """The msgpack encoding of :meth:`to_entry`, the input of :attr:`op_id`."""
        raw = self._bytes
        if raw is None:
            raw = msgpack.packb(self.to_entry(), use_bin_type=True)
            object.__setattr__(self, "_bytes", raw)
        return raw

    @property
    def sort_key(self) -> tuple[str, str]:
        """``(encoded hlc, op id)``: the total order merge uses to pick a winner."""
        key = self._key
        if key is None:
            key = (self.hlc.encode(), self.op_id)
            object.__setattr__(self, "_key", key)
        return key

    @property
    def status(self) -> str | None:
        """The ``_status`` value a record-level op writes; None for ``set``."""
        kind = self.kind
        if kind is OpKind.CREATE:
            return STATUS_LIVE
        if kind is OpKind.DELETE:
            return STATUS_DELETED
        if kind is OpKind.MERGE_INTO:
            return MERGED_PREFIX + str(self.value)
        return None

    @property
    def target(self) -> str:
        """The field a single-field op writes: its field, or ``_status``."""
        return self.field if self.field is not None else STATUS_FIELD

    def create_values(self) -> tuple[tuple[str, Value], ...]:
        """The ``(field, value)`` pairs of a create, sorted by field; empty otherwise."""
        if self.kind is OpKind.CREATE:
            return self.value  # type: ignore[return-value]  # normalised in __post_init__
        return ()

    def create_map(self) -> Mapping[str, Value]:
        """The values of a create as a read-only mapping, built once; empty otherwise.

        Staging looks a create's values up several times (the ID number, validation);
        one mapping per op saves building a dict of sixty-odd fields for each.
        """
        values = self._map
        if values is None:
            values = MappingProxyType(dict(self.create_values()))
            object.__setattr__(self, "_map", values)
        return values

    def writes(self) -> tuple[tuple[str, Value], ...]:
        """Every ``(field, value)`` the op writes, ``_status`` included.

        A create writes its values and ``_status = "live"``; a set writes its
        field; delete and merge_into write ``_status``.
        """
        if self.kind is OpKind.SET:
            value: Value = self.value  # type: ignore[assignment]  # checked in __post_init__
            return ((self.target, value),)
        if self.kind is OpKind.CREATE:
            return (*self.create_values(), (STATUS_FIELD, STATUS_LIVE))
        return ((STATUS_FIELD, self.status),)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Op):
            return NotImplemented
        return self.op_id == other.op_id

    def __hash__(self) -> int:
        return hash(self.op_id)

    def to_entry(self) -> list[Any]:
        """Return the compact positional wire form (docs/merge.md §2), msgpack-able."""
        kind = self.kind
        value: Any = self.value
        if kind is OpKind.CREATE:
            value = dict(value)
        elif kind is OpKind.MERGE_INTO:
            value = check.uuid_bytes(value)
        hlc = self.hlc
        return [
            _CODE_OF[kind],
            check.uuid_bytes(self.record_id),
            self.field,
            value,
            [bytes.fromhex(b) for b in self.base],
            None if self.record_base is None else bytes.fromhex(self.record_base),
            hlc.wall_ms,
            hlc.counter,
            self.site,
            self.author,
            self.reason,
        ]

    @classmethod
    def from_entry(cls, entry: object) -> Op:
        """Decode and check the wire form made by :meth:`to_entry`.

        Only the canonical form is accepted (base ids ascending, create fields in
        sorted order, byte strings of the exact length, exact types), so an entry
        that decodes re-encodes to the same bytes; those bytes give the op id.

        Raises:
            OpError: the entry is malformed in any way.
        """
        if not isinstance(entry, list | tuple):
            raise OpError(f"op entry: expected an array, got {type(entry).__name__}")
        if len(entry) != ENTRY_LENGTH:
            raise OpError(f"op entry: expected an array of {ENTRY_LENGTH} items, got {len(entry)}")
        code, rid, fname, value, base, rbase, wall, counter, site, author, reason = entry
        if type(code) is not int or not 0 <= code < len(_KINDS):
            raise OpError(f"op entry kind: expected an integer in 0..{len(_KINDS) - 1}")
        kind = _KINDS[code]
        name = kind.value
        record_id = check.uuid_text(rid, "op entry record_id")
        base_ids = check.wire_base(base)
        record_base = None if rbase is None else check.id_text(rbase, "op entry record_base")
        if kind is OpKind.CREATE:
            _check_create(fname, base_ids, record_base)
            value = check.wire_create_values(value)
        else:
            if kind is OpKind.MERGE_INTO:
                value = check.uuid_text(value, "op entry merge_into survivor")
            value = _kind_value(
                kind,
                record_id=record_id,
                fname=fname,
                value=value,
                base=base_ids,
                record_base=record_base,
            )
        if type(site) is not str:
            raise OpError("op entry site: expected a node id like 370102001-01")
        hlc = Timestamp(wall_ms=wall, counter=counter, node=site)
        author = check.check_author(author, name)
        reason = check.check_reason(reason, name)
        # Every item was checked to be in canonical form and of the exact type
        # to_entry() produces, so packing what arrived gives the canonical bytes.
        try:
            raw = msgpack.packb(entry, use_bin_type=True)
        except UnicodeEncodeError:
            raise OpError("op entry: expected text encodable as UTF-8") from None
        op = object.__new__(cls)
        for setter, item in zip(
            _SETTERS,
            (kind, record_id, fname, value, base_ids, record_base, hlc, author, site, reason, raw),
            strict=True,
        ):
            setter(op, item)
        _SET_ID(op, None)
        _SET_KEY(op, None)
        _SET_MAP(op, None)
        return op


# Slot setters for from_entry, which checks an entry once and then fills the slots
# directly rather than through __init__ and a second round of checks.
_SETTERS: Final = tuple(
    Op.__dict__[name].__set__
    for name in (
        "kind",
        "record_id",
        "field",
        "value",
        "base",
        "record_base",
        "hlc",
        "author",
        "site",
        "reason",
        "_bytes",
    )
)
_SET_ID: Final = Op.__dict__["_id"].__set__
_SET_KEY: Final = Op.__dict__["_key"].__set__
_SET_MAP: Final = Op.__dict__["_map"].__set__


def _kind_value(
    kind: OpKind,
    *,
    record_id: str,
    fname: object,
    value: object,
    base: tuple[str, ...],
    record_base: str | None,
) -> object:
    """Check that field, value and base fit the kind; return the canonical value."""
    if kind is OpKind.SET:
        return check.set_value(fname, value)
    if kind is OpKind.CREATE:
        _check_create(fname, base, record_base)
        return check.create_values(value)
    if fname is not None:
        raise OpError(f"op {kind.value} field: expected none, the op is record-level")
    if kind is OpKind.MERGE_INTO:
        if not is_record_id(value):
            raise OpError("op merge_into value: expected the survivor's record id")
        if value == record_id:
            raise OpError("op merge_into value: expected another record, got the record itself")
        return value
    if value is not None:
        raise OpError(f"op delete value: expected none, got {type(value).__name__}")
    return value


def _check_create(fname: object, base: tuple[str, ...], record_base: str | None) -> None:
    if fname is not None:
        raise OpError("op create field: expected none, the op is record-level")
    if base or record_base is not None:
        raise OpError("op create base: expected none, a create is based on nothing")


def _kind_names() -> str:
    return ", ".join(kind.value for kind in _KINDS)
