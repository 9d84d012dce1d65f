"""A card read: decoded text, raw photo, the reading module's id and the cross-checks.

Every value here is pure and frozen; :class:`~node.collector.reader.Reader`
builds them from the module's replies. ``repr`` never shows personal data, so a
value that ends up in a log or a traceback gives nothing away.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from crypto.errors import UsageError
from node.collector.card_text import CardText, format_yyyymmdd
from node.collector.errors import CardDataError, FrameError
from node.collector.textblock import CardType
from protocol.idnumber import check_digit

__all__ = [
    "CARD_PHOTO_LABEL",
    "PHOTO_SIZE",
    "SAM_ID_SIZE",
    "CardChecks",
    "CardPhoto",
    "CardRead",
    "SamId",
    "check_card",
]

PHOTO_SIZE = 1024
SAM_ID_SIZE = 16
#: Two little-endian 16-bit numbers, then three 32-bit ones.
_SAM_ID_LAYOUT = struct.Struct("<HHIII")
#: How the raw photo blob is labelled next to the record.
CARD_PHOTO_LABEL = "card photo (encoded)"


@dataclass(frozen=True, slots=True, kw_only=True)
class SamId:
    """The security module's id: two 16-bit and three 32-bit numbers."""

    parts: tuple[int, int, int, int, int]

    def __post_init__(self) -> None:
        limits = (0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        if any(not 0 <= part <= limit for part, limit in zip(self.parts, limits, strict=True)):
            raise UsageError("SAM id part out of range: expected 2 × u16 and 3 × u32")

    @classmethod
    def from_bytes(cls, data: bytes) -> SamId:
        """Read the 16 bytes of ``get_sam_id``'s reply (little-endian).

        Raises:
            FrameError: the data is not 16 bytes.
        """
        if len(data) != SAM_ID_SIZE:
            raise FrameError(f"SAM id of {len(data)} bytes: expected {SAM_ID_SIZE}")
        a, b, c, d, e = _SAM_ID_LAYOUT.unpack(data)
        return cls(parts=(a, b, c, d, e))

    def to_bytes(self) -> bytes:
        """Return the 16 bytes as the module sends them."""
        return _SAM_ID_LAYOUT.pack(*self.parts)

    def __str__(self) -> str:
        return "%02d.%02d-%08d-%010d-%010d" % self.parts  # noqa: UP031 (the vendors' format)


@dataclass(frozen=True, slots=True, kw_only=True)
class CardChecks:
    """Cross-checks of a card's fields; None where a check does not apply.

    Attributes:
        id_checksum: the ID number's check character is right (GB 11643).
        birth_date_matches: ID digits 7-14 equal the birth date field.
        sex_matches: the parity of ID digit 17 agrees with the sex field.
        expired: the card's validity ended before ``today``.
    """

    id_checksum: bool | None
    birth_date_matches: bool | None
    sex_matches: bool | None
    expired: bool

    @property
    def failures(self) -> tuple[str, ...]:
        """The names of the checks that failed (``expired`` when the card is expired)."""
        failed = [
            name
            for name in ("id_checksum", "birth_date_matches", "sex_matches")
            if getattr(self, name) is False
        ]
        if self.expired:
            failed.append("expired")
        return tuple(failed)

    @property
    def passed(self) -> bool:
        """True when every applicable check passed and the card is not expired."""
        return not self.failures


def check_card(text: CardText, *, today: date) -> CardChecks:
    """Cross-check a card's ID number against its other fields and its validity."""
    expired = isinstance(text.valid_to, date) and text.valid_to < today
    if text.card_type is CardType.FOREIGN_PERMANENT_RESIDENT:
        # The permanent residence number is not a GB 11643 number.
        return CardChecks(
            id_checksum=None, birth_date_matches=None, sex_matches=None, expired=expired
        )
    number = text.id_number
    return CardChecks(
        id_checksum=check_digit(number[:17]) == number[17],
        birth_date_matches=number[6:14] == format_yyyymmdd(text.birth_date),
        sex_matches=("1" if int(number[16]) % 2 else "2") == text.sex_code,
        expired=expired,
    )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CardPhoto:
    """The card's photo: the raw 1024 WLT bytes, and an image when a decoder made one."""

    label: ClassVar[str] = CARD_PHOTO_LABEL

    wlt: bytes
    image: bytes | None = None
    media_type: str | None = None

    def __post_init__(self) -> None:
        if len(self.wlt) != PHOTO_SIZE:
            raise CardDataError(f"photo of {len(self.wlt)} bytes: expected {PHOTO_SIZE}")
        if (self.image is None) != (self.media_type is None):
            raise CardDataError("decoded photo: expected an image with its media type")

    def __repr__(self) -> str:
        decoded = "none" if self.media_type is None else self.media_type
        return f"CardPhoto(wlt=<{len(self.wlt)} bytes>, decoded={decoded})"


def _iso(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else value


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CardRead:
    """One card, read once, by one module.

    Attributes:
        text: the decoded text block.
        photo: the raw photo (and its decoded image when a decoder is configured).
        sam_id: the module that read it.
        checks: the cross-checks, made against the reader's ``today``.
        appended_address: the address written after issue, if the card holds one.
        raw_text: the 256-byte text block as read, kept for audit (personal data).
    """

    text: CardText
    photo: CardPhoto
    sam_id: SamId
    checks: CardChecks
    raw_text: bytes
    appended_address: str | None = None

    def __repr__(self) -> str:
        return (
            f"CardRead(card_type={self.card_type.value}, sam_id={self.sam_id}, "
            "<personal fields hidden>)"
        )

    @property
    def card_type(self) -> CardType:
        """Which kind of card was read."""
        return self.text.card_type

    def to_record_fields(self) -> dict[str, str]:
        """Map the card to the record schema's canonical identity fields.

        Dates are ``YYYY-MM-DD``; ``id_card_valid_to`` is ``YYYYMMDD`` or ``长期``
        as the schema's text field takes it. A resident card's household address
        is the appended address when the card holds one (it replaces the printed
        one). A foreigner's card fills neither ``id_number`` nor ``ethnicity``.
        """
        text = self.text
        fields = {
            "name": text.name,
            "sex": text.sex_code,
            "birth_date": text.birth_date.isoformat(),
            "id_card_issuer": text.issuing_authority,
            "id_card_valid_from": text.valid_from.isoformat(),
            "id_card_valid_to": (
                text.valid_to if isinstance(text.valid_to, str) else format_yyyymmdd(text.valid_to)
            ),
        }
        if text.card_type is not CardType.FOREIGN_PERMANENT_RESIDENT:
            fields["id_number"] = text.id_number
        if text.ethnicity_code is not None:
            fields["ethnicity"] = text.ethnicity_code
        if text.card_type is CardType.RESIDENT:
            fields["hukou_address"] = self.appended_address or text.address or ""
        return fields

    def to_json_dict(self, *, include_photo: bool = True) -> dict[str, Any]:
        """Return the read as JSON-able data (``muster node read-card`` prints it)."""
        text = self.text
        fields: dict[str, Any] = {
            "name": text.name,
            "sex_code": text.sex_code,
            "sex_name": text.sex_name,
            "ethnicity_code": text.ethnicity_code,
            "ethnicity_name": text.ethnicity_name,
            "birth_date": text.birth_date.isoformat(),
            "address": text.address,
            "id_number": text.id_number,
            "issuing_authority": text.issuing_authority,
            "valid_from": text.valid_from.isoformat(),
            "valid_to": _iso(text.valid_to),
            "name_en": text.name_en,
            "nationality_code": text.nationality_code,
            "card_version": text.card_version,
            "pass_number": text.pass_number,
            "issue_count": text.issue_count,
        }
        photo: dict[str, Any] = {"label": CARD_PHOTO_LABEL, "format": "wlt"}
        if include_photo:
            photo["wlt_base64"] = base64.b64encode(self.photo.wlt).decode("ascii")
            if self.photo.image is not None:
                photo["image_media_type"] = self.photo.media_type
                photo["image_base64"] = base64.b64encode(self.photo.image).decode("ascii")
        return {
            "card_type": self.card_type.value,
            "sam_id": str(self.sam_id),
            "fields": {key: value for key, value in fields.items() if value is not None},
            "appended_address": self.appended_address,
            "checks": {
                "id_checksum": self.checks.id_checksum,
                "birth_date_matches": self.checks.birth_date_matches,
                "sex_matches": self.checks.sex_matches,
                "expired": self.checks.expired,
                "passed": self.checks.passed,
            },
            "record": self.to_record_fields(),
            "photo": photo,
        }
