"""The canonical encoding of field values, shared by records, ops and bundles.

Two values are the same value exactly when their canonical encodings are equal,
which is what merge and the state digest rely on. docs/schema.md gives the full
table; this module holds the pieces that are not tied to one field definition.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Final

__all__ = [
    "BLOB_REF_PREFIX",
    "EARLIEST_DATE",
    "format_date",
    "is_blob_ref",
    "is_canonical_text",
    "normalise_text",
    "parse_date",
]

#: Prefix of a photo value: the BLAKE2b-256 content address of the blob.
BLOB_REF_PREFIX: Final = "b2:"
_BLOB_REF = re.compile(r"b2:[0-9a-f]{64}")

#: No date before this is plausible in a census of living people and their
#: families; it catches typed years such as 0195 without rejecting martyrs born
#: in the nineteenth century.
EARLIEST_DATE: Final = date(1800, 1, 1)

_DATE_LENGTH: Final = 10


def is_blob_ref(value: str) -> bool:
    """Return whether ``value`` is a blob reference ``b2:`` + 64 lowercase hex digits."""
    return _BLOB_REF.fullmatch(value) is not None


def normalise_text(value: str) -> str:
    """Return ``value`` NFC-normalised with surrounding whitespace removed."""
    return unicodedata.normalize("NFC", value).strip()


def is_canonical_text(value: str) -> bool:
    """Return whether ``value`` is non-empty, stripped and NFC-normalised."""
    return (
        bool(value)
        and value == value.strip()
        and (value.isascii() or unicodedata.is_normalized("NFC", value))
    )


def parse_date(value: str) -> date | None:
    """Return the date written as exactly ``YYYY-MM-DD``, or ``None``.

    ``date.fromisoformat`` alone also accepts ``YYYYMMDD`` and week dates, which
    would give one date several encodings, so the shape is checked first.
    """
    if len(value) != _DATE_LENGTH or value[4] != "-" or value[7] != "-":
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed >= EARLIEST_DATE else None


def format_date(value: date) -> str:
    """Return the canonical ``YYYY-MM-DD`` form of ``value``."""
    return value.isoformat()
