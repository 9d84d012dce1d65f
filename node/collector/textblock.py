"""Layout of the 256-byte text block: split it into field strings and join them back.

The block is UCS-2 little-endian. Where each field sits comes from the shipped
``idcard_text_fields.csv``; the card type is the letter at byte 248 (``I``
foreigner's permanent residence card, ``J`` Hong Kong/Macao/Taiwan residence
permit, a space or NUL on a resident card). This module works on strings only;
:mod:`node.collector.card_text` gives them types.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from crypto.errors import UsageError
from node.collector._tables import text_field_rows
from node.collector.errors import CardDataError

__all__ = [
    "PAD",
    "TEXT_BLOCK_SIZE",
    "TYPE_MARKER_OFFSET",
    "CardType",
    "card_type_of",
    "join_block",
    "layout",
    "split_block",
]

TEXT_BLOCK_SIZE = 256
TYPE_MARKER_OFFSET = 248
#: Unused positions hold spaces.
PAD = " "
_ENCODING = "utf-16-le"
#: Fields that the resident layout shares with the residence permit (bytes 0 to 219).
_SHARED_END = 220


class CardType(enum.StrEnum):
    """The kind of card, as the type letter at byte 248 tells it."""

    RESIDENT = "resident"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"


_MARKERS: Mapping[str, CardType] = MappingProxyType(
    {
        " ": CardType.RESIDENT,
        "\0": CardType.RESIDENT,
        "J": CardType.HMT_RESIDENCE_PERMIT,
        "I": CardType.FOREIGN_PERMANENT_RESIDENT,
    }
)
_MARKER_OF = MappingProxyType(
    {CardType.HMT_RESIDENCE_PERMIT: "J", CardType.FOREIGN_PERMANENT_RESIDENT: "I"}
)


@cache
def layout(card_type: CardType) -> Mapping[str, tuple[int, int]]:
    """Return field key → (offset, length in bytes) for ``card_type``.

    The marker and reserved areas are left out: they are not card data.
    """
    rows = text_field_rows()
    own = [row for row in rows if row.card_type == card_type.value]
    if card_type is CardType.HMT_RESIDENCE_PERMIT:
        shared = [r for r in rows if r.card_type == "resident" and r.offset < _SHARED_END]
        own = shared + own
    return MappingProxyType(
        {
            row.field_key: (row.offset, row.length_bytes)
            for row in own
            if row.field_key not in ("card_type", "reserved")
        }
    )


def card_type_of(block: bytes) -> CardType:
    """Return the card type the block's marker names.

    Raises:
        CardDataError: the block is not 256 bytes, or the marker is not a known type.
    """
    if len(block) != TEXT_BLOCK_SIZE:
        raise CardDataError(
            f"text block of {len(block)} bytes: expected {TEXT_BLOCK_SIZE}", length=len(block)
        )
    marker = block[TYPE_MARKER_OFFSET : TYPE_MARKER_OFFSET + 2].decode(_ENCODING, errors="replace")
    card_type = _MARKERS.get(marker)
    if card_type is None:
        raise CardDataError(
            f"card type marker U+{ord(marker):04X} at byte {TYPE_MARKER_OFFSET}: "
            "expected a space (resident card), 'I' or 'J'"
        )
    return card_type


def split_block(block: bytes) -> tuple[CardType, Mapping[str, str]]:
    """Split a text block into its card type and trimmed field strings.

    Raises:
        CardDataError: wrong size, unknown type marker, or a field that is not UCS-2.
    """
    card_type = card_type_of(block)
    fields: dict[str, str] = {}
    for key, (offset, size) in layout(card_type).items():
        try:
            text = block[offset : offset + size].decode(_ENCODING)
        except UnicodeDecodeError as exc:
            raise CardDataError(
                f"text block field {key}: expected UCS-2 text, got an invalid code unit",
                field=key,
            ) from exc
        fields[key] = text.rstrip(" \0")
    return card_type, MappingProxyType(fields)


def join_block(card_type: CardType, fields: Mapping[str, str]) -> bytes:
    """Build a text block from field strings (the simulator's and the tests' encoder).

    Raises:
        UsageError: an unknown field, a value that does not fit its field, or a
            character outside the Basic Multilingual Plane (a card cannot hold it).
    """
    places = layout(card_type)
    unknown = sorted(set(fields) - set(places))
    if unknown:
        raise UsageError(f"fields {unknown} are not in the {card_type.value} layout")
    block = bytearray((PAD * (TEXT_BLOCK_SIZE // 2)).encode(_ENCODING))
    marker = _MARKER_OF.get(card_type)
    if marker is not None:
        block[TYPE_MARKER_OFFSET : TYPE_MARKER_OFFSET + 2] = marker.encode(_ENCODING)
    for key, value in fields.items():
        offset, size = places[key]
        if any(ord(char) > 0xFFFF for char in value):
            raise UsageError(f"field {key}: expected characters of the BMP only")
        data = value.encode(_ENCODING)
        if len(data) > size:
            raise UsageError(f"field {key} of {len(data)} bytes: expected at most {size}")
        block[offset : offset + len(data)] = data
    return bytes(block)
