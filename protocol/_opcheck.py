"""Checks and conversions shared by :class:`protocol.ops.Op` and its wire codec.

Ops arrive by the hundred thousand, so the common cases take short paths (ASCII
text, names seen before) and messages are only built when something is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Final, TypeAlias, TypeGuard

from protocol.errors import OpError

__all__ = [
    "FIELD_NAME_PATTERN",
    "MAX_AUTHOR_LENGTH",
    "MAX_BASE",
    "MAX_CREATE_FIELDS",
    "MAX_REASON_LENGTH",
    "Value",
    "canonical_value",
    "is_field_name",
    "is_op_id",
    "is_record_id",
]

#: Field names: lowercase ASCII, digits and underscores, starting with a letter.
#: Names starting with ``_`` are reserved for pseudo-fields such as ``_status``.
FIELD_NAME_PATTERN: Final = r"[a-z][a-z0-9_]{0,63}"
#: How many field versions one op may name as its base (a resolution names every head).
MAX_BASE: Final = 256
MAX_CREATE_FIELDS: Final = 1024
MAX_AUTHOR_LENGTH: Final = 64
MAX_REASON_LENGTH: Final = 2000

#: A canonical field value. Lists of text are held as tuples.
Value: TypeAlias = str | int | float | bool | tuple[str, ...] | None

_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1
_FIELD_RE: Final = re.compile(FIELD_NAME_PATTERN)
_OP_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
_UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Names already checked. A deployment has a few hundred fields; the bound keeps a
# stream of made-up names from growing the set without limit.
_KNOWN_FIELDS: set[str] = set()
# Value types that need no check on the wire path (text is checked by packing).
_PLAIN_TYPES: Final = frozenset({str, bool, type(None)})
_KNOWN_FIELDS_MAX: Final = 4096


def is_record_id(text: object) -> TypeGuard[str]:
    """Return whether ``text`` is a record id: a UUID in lowercase hyphenated form."""
    return isinstance(text, str) and _UUID_RE.fullmatch(text) is not None


def is_op_id(text: object) -> TypeGuard[str]:
    """Return whether ``text`` is an op id: 32 lowercase hex digits."""
    return isinstance(text, str) and _OP_ID_RE.fullmatch(text) is not None


def is_field_name(text: object) -> TypeGuard[str]:
    """Return whether ``text`` is a field name (see :data:`FIELD_NAME_PATTERN`)."""
    if type(text) is not str:
        return False
    if text in _KNOWN_FIELDS:
        return True
    if _FIELD_RE.fullmatch(text) is None:
        return False
    if len(_KNOWN_FIELDS) < _KNOWN_FIELDS_MAX:
        _KNOWN_FIELDS.add(text)
    return True


def canonical_value(value: object, *, where: str = "value") -> Value:
    """Return ``value`` in canonical form (lists become tuples), or refuse it.

    Canonical values are ``str``, ``int`` (64-bit), finite ``float``, ``bool``,
    ``None`` and lists of ``str``. Only these exact types are accepted (no
    subclasses), so a value encodes the same way on every node.

    Raises:
        OpError: the value is of another type, out of range or not encodable.
    """
    exact = type(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and exact is str:
        return check_text(value, where)
    if isinstance(value, int) and exact is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise OpError(f"{where}: expected an integer that fits in 64 bits")
        return value
    if isinstance(value, float) and exact is float:
        if not math.isfinite(value):
            raise OpError(f"{where}: expected a finite number, got NaN or infinity")
        return value
    if isinstance(value, tuple | list) and (exact is tuple or exact is list):
        items: list[str] = []
        for item in value:
            if not isinstance(item, str) or type(item) is not str:
                raise OpError(f"{where}: expected a list of text, found {type(item).__name__}")
            items.append(check_text(item, where))
        return tuple(items)
    raise OpError(
        f"{where}: expected text, integer, number, boolean, null or a list of text, "
        f"got {exact.__name__}"
    )


def check_text(text: str, where: str) -> str:
    """Return ``text`` if it can be encoded as UTF-8 (no lone surrogates)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise OpError(f"{where}: expected text encodable as UTF-8") from None
    return text


def create_values(value: object) -> tuple[tuple[str, Value], ...]:
    """Return a create's values as ``(field, value)`` pairs sorted by field.

    Accepts a mapping or a sequence of pairs; a field may appear only once.
    """
    if isinstance(value, Mapping):
        pairs: list[object] = list(value.items())
    elif isinstance(value, tuple | list):
        pairs = list(value)
    else:
        raise OpError(f"op create value: expected a mapping of fields, got {type(value).__name__}")
    _check_field_count(len(pairs))
    out: list[tuple[str, Value]] = []
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2:
            raise OpError("op create value: expected (field, value) pairs")
        name, item = pair
        out.append((_create_field(name), _value(item, name)))
    out.sort(key=_first)
    for (a, _), (b, _) in pairwise(out):
        if a == b:
            raise OpError(f"op create value: field {a} appears twice")
    return tuple(out)


def wire_create_values(value: object) -> tuple[tuple[str, Value], ...]:
    """Check a create's values as decoded from the wire: a map with sorted keys.

    Text is not checked for UTF-8 here: the caller packs the entry to hash it,
    and packing refuses text that cannot be encoded.
    """
    if type(value) is not dict:
        raise OpError(f"op entry create values: expected a map, got {type(value).__name__}")
    _check_field_count(len(value))
    names = list(value)
    # Set and list operations in C: a create carries forty-odd fields and a bundle
    # carries many creates.
    if not _KNOWN_FIELDS.issuperset(names):
        for name in names:
            _create_field(name)
    if names != sorted(names):
        raise OpError("op entry create values: expected keys in sorted order")
    pairs = tuple(value.items())
    kinds = list(map(type, value.values()))
    if _PLAIN_TYPES.issuperset(kinds):
        return pairs
    # Only the few values that are not text, booleans or null need a look (a census
    # record holds a list or two and some numbers among forty-odd texts).
    out = list(pairs)
    for index, kind in enumerate(kinds):
        if kind not in _PLAIN_TYPES:
            name, item = out[index]
            out[index] = (name, _wire_value(item, name))
    return tuple(out)


def set_value(name: object, value: object) -> Value:
    """Check the field name and value of a ``set``."""
    if not is_field_name(name):
        raise OpError(f"op set field: expected a name matching {FIELD_NAME_PATTERN}")
    return _value(value, name)


def normal_base(base: object, kind: str) -> tuple[str, ...]:
    """Return ``base`` as a sorted tuple of unique op ids."""
    if not isinstance(base, tuple | list):
        raise OpError(f"op {kind} base: expected a tuple of op ids")
    if len(base) > MAX_BASE:
        raise OpError(f"op {kind} base: expected at most {MAX_BASE} op ids, got {len(base)}")
    for item in base:
        if not is_op_id(item):
            raise OpError(f"op {kind} base: expected op ids (32 lowercase hex digits)")
    if type(base) is tuple and all(a < b for a, b in pairwise(base)):
        return base
    return tuple(sorted(set(base)))


def wire_base(base: object) -> tuple[str, ...]:
    """Check a base as decoded from the wire: ascending 16-byte op ids."""
    if not isinstance(base, list | tuple):
        raise OpError("op entry base: expected an array of 16-byte op ids")
    if len(base) > MAX_BASE:
        raise OpError(f"op entry base: expected at most {MAX_BASE} op ids, got {len(base)}")
    ids = tuple(id_text(b, "op entry base") for b in base)
    for a, b in pairwise(ids):
        if a >= b:
            raise OpError("op entry base: expected op ids in ascending order without repeats")
    return ids


def check_author(author: object, kind: str) -> str:
    """Return ``author`` if it is an account id: 1 to 64 printable characters, no spaces."""
    if type(author) is not str or not 0 < len(author) <= MAX_AUTHOR_LENGTH:
        raise OpError(f"op {kind} author: expected 1 to {MAX_AUTHOR_LENGTH} characters")
    if not author.isprintable() or " " in author:
        raise OpError(f"op {kind} author: expected printable characters without spaces")
    return check_text(author, f"op {kind} author")


def check_reason(reason: object, kind: str) -> str | None:
    """Return ``reason`` if it is None or 1 to 2000 characters of text."""
    if reason is None:
        return None
    if type(reason) is not str or not 0 < len(reason) <= MAX_REASON_LENGTH:
        raise OpError(f"op {kind} reason: expected 1 to {MAX_REASON_LENGTH} characters")
    return check_text(reason, f"op {kind} reason")


def uuid_bytes(text: str) -> bytes:
    """The 16 bytes of a record id."""
    return bytes.fromhex(text.replace("-", ""))


def uuid_text(raw: object, where: str) -> str:
    """The record id whose 16 bytes are ``raw``."""
    if type(raw) is not bytes or len(raw) != 16:
        raise OpError(f"{where}: expected 16 bytes")
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_text(raw: object, where: str) -> str:
    """The op id whose 16 bytes are ``raw``."""
    if type(raw) is not bytes or len(raw) != 16:
        raise OpError(f"{where}: expected 16-byte op ids")
    return raw.hex()


def _value(value: object, name: str) -> Value:
    # The short path covers nearly every value a census record holds.
    kind = type(value)
    if (kind is str and value.isascii()) or value is None or kind is bool:  # type: ignore[attr-defined]
        return value  # type: ignore[return-value]
    return canonical_value(value, where=f"op value of {name}")


def _wire_value(value: object, name: str) -> Value:
    # Text inside a list is checked by packing, as all text on the wire path is.
    if type(value) is list and all(type(item) is str for item in value):
        return tuple(value)
    return canonical_value(value, where=f"op value of {name}")


def _create_field(name: object) -> str:
    if not is_field_name(name):
        raise OpError(f"op create value: expected field names matching {FIELD_NAME_PATTERN}")
    return name


def _check_field_count(count: int) -> None:
    if count > MAX_CREATE_FIELDS:
        raise OpError(f"op create value: expected at most {MAX_CREATE_FIELDS} fields, got {count}")


def _first(pair: tuple[str, Value]) -> str:
    return pair[0]
