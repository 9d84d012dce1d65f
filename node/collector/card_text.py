"""The decoded text of a card, as a checked value.

:meth:`CardText.from_block` decodes the 256-byte block of any of the three card
types; :meth:`CardText.to_block` encodes it back (the simulator's cards and the
test vectors are built that way). The value refuses to exist with a field that
no card could hold, so the node never sees half-decoded text.

The ``repr`` hides everything a person could be recognised by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Literal

from node.collector._tables import ethnicity_names, sex_names
from node.collector.errors import CardDataError
from node.collector.textblock import CardType, join_block, split_block

__all__ = ["LONG_TERM", "CardText", "ValidTo", "format_yyyymmdd", "parse_yyyymmdd"]

#: The validity end of a card that does not expire.
LONG_TERM: Literal["长期"] = "长期"
ValidTo = date | Literal["长期"]

_CITIZEN_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
#: 2017 foreigner's card: nationality letters then twelve digits.
_FOREIGN_NUMBER = re.compile(r"[A-Z]{3}[0-9]{12}")
_NATIONALITY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"[0-9]{8}")
_ETHNICITY = re.compile(r"[0-9]{2}")


def parse_yyyymmdd(key: str, text: str) -> date:
    """Parse a card date; the message names the field but never shows its value.

    Raises:
        CardDataError: the text is not an existing YYYYMMDD date.
    """
    if _DATE.fullmatch(text):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    raise CardDataError(
        f"text block field {key}: expected a YYYYMMDD date, got {len(text)} characters "
        "that are not one",
        field=key,
    )


def format_yyyymmdd(value: date) -> str:
    """Format a date as the card stores it."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _bad(key: str, expected: str) -> CardDataError:
    return CardDataError(f"text block field {key}: expected {expected}", field=key)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CardText:
    """The fields of a card's text block.

    Attributes:
        card_type: which of the three layouts the card uses.
        name: 姓名; on a foreigner's card the Chinese name, or the English name when blank.
        sex_code: GB/T 2261.1 code (``1`` male, ``2`` female).
        birth_date: 出生.
        id_number: 公民身份号码; on a foreigner's card the permanent residence number.
        issuing_authority: 签发机关; on a foreigner's card the authority's code.
        valid_from: first day of validity.
        valid_to: last day of validity, or ``"长期"``.
        ethnicity_code: GB/T 3304 code (resident cards; blank on residence permits).
        address: 住址 (resident cards and residence permits).
        name_en: English name (foreigner's card).
        nationality_code: GB/T 2659 alpha-3 code (foreigner's card).
        card_version: card version (foreigner's card).
        pass_number: 通行证号码 (residence permit).
        issue_count: 签发次数 (residence permit).
    """

    card_type: CardType
    name: str
    sex_code: str
    birth_date: date
    id_number: str
    issuing_authority: str
    valid_from: date
    valid_to: ValidTo
    ethnicity_code: str | None = None
    address: str | None = None
    name_en: str | None = None
    nationality_code: str | None = None
    card_version: str | None = None
    pass_number: str | None = None
    issue_count: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise _bad("name", "a name, got a blank field")
        if self.sex_code not in sex_names():
            raise _bad("sex_code", f"one of the codes {sorted(sex_names())}")
        if self.valid_to != LONG_TERM and not isinstance(self.valid_to, date):
            raise _bad("valid_to", "a date or 长期")
        if isinstance(self.valid_to, date) and self.valid_to < self.valid_from:
            raise _bad("valid_to", "a date on or after valid_from")
        if self.card_type is CardType.FOREIGN_PERMANENT_RESIDENT:
            self._check_foreign()
        else:
            self._check_citizen()

    def _check_citizen(self) -> None:
        if not _CITIZEN_NUMBER.fullmatch(self.id_number):
            raise _bad("id_number", "17 digits and a digit or X")
        if self.ethnicity_code is not None and self.ethnicity_code not in ethnicity_names():
            raise _bad("ethnicity_code", "a GB/T 3304 code (01 to 56, 97 or 98)")
        if self.card_type is CardType.RESIDENT and self.ethnicity_code is None:
            raise _bad("ethnicity_code", "a code on a resident card, got a blank field")
        if not self.address:
            raise _bad("address", "an address, got a blank field")
        if not self.issuing_authority:
            raise _bad("issuing_authority", "an authority, got a blank field")

    def _check_foreign(self) -> None:
        if not _FOREIGN_NUMBER.fullmatch(self.id_number):
            raise _bad("card_number", "three capital letters and twelve digits")
        if self.nationality_code is None or not _NATIONALITY.fullmatch(self.nationality_code):
            raise _bad("nationality_code", "three capital letters")
        if not self.name_en:
            raise _bad("name_en", "an English name, got a blank field")

    def __repr__(self) -> str:
        return f"CardText(card_type={self.card_type.value}, <personal fields hidden>)"

    @property
    def ethnicity_name(self) -> str | None:
        """The ethnicity's name (``汉族``), or None when the card has no ethnicity."""
        if self.ethnicity_code is None:
            return None
        return ethnicity_names()[self.ethnicity_code]

    @property
    def sex_name(self) -> str:
        """The sex code's name (``男性``)."""
        return sex_names()[self.sex_code]

    @classmethod
    def from_block(cls, block: bytes) -> CardText:
        """Decode a 256-byte text block.

        Raises:
            CardDataError: the block's size, type marker, encoding or a field is not
                what a card holds.
        """
        card_type, raw = split_block(block)
        valid_to: ValidTo = (
            LONG_TERM
            if raw["valid_to"] == LONG_TERM
            else parse_yyyymmdd("valid_to", raw["valid_to"])
        )
        # The fields every layout has, in the same form.
        make = partial(
            cls,
            card_type=card_type,
            sex_code=raw["sex_code"],
            birth_date=parse_yyyymmdd("birth_date", raw["birth_date"]),
            valid_from=parse_yyyymmdd("valid_from", raw["valid_from"]),
            valid_to=valid_to,
        )
        if card_type is CardType.FOREIGN_PERMANENT_RESIDENT:
            return make(
                name=raw["name_zh"] or raw["name_en"],
                name_en=raw["name_en"],
                id_number=raw["card_number"],
                nationality_code=raw["nationality_code"],
                card_version=raw["card_version"] or None,
                issuing_authority=raw["issuing_authority_code"],
            )
        ethnicity = raw["ethnicity_code"]
        if ethnicity and not _ETHNICITY.fullmatch(ethnicity):
            raise _bad("ethnicity_code", "two digits")
        return make(
            name=raw["name"],
            id_number=raw["id_number"],
            issuing_authority=raw["issuing_authority"],
            ethnicity_code=ethnicity or None,
            address=raw["address"],
            pass_number=raw.get("pass_number") or None,
            issue_count=raw.get("issue_count") or None,
        )

    def to_block(self) -> bytes:
        """Encode the text as a card stores it (for the simulator and test vectors)."""
        valid_to = (
            self.valid_to if isinstance(self.valid_to, str) else format_yyyymmdd(self.valid_to)
        )
        fields = {
            "sex_code": self.sex_code,
            "birth_date": format_yyyymmdd(self.birth_date),
            "valid_from": format_yyyymmdd(self.valid_from),
            "valid_to": valid_to,
        }
        if self.card_type is CardType.FOREIGN_PERMANENT_RESIDENT:
            name_en = self.name_en or ""
            fields |= {
                "name_en": name_en,
                "name_zh": "" if self.name == name_en else self.name,
                "card_number": self.id_number,
                "nationality_code": self.nationality_code or "",
                "card_version": self.card_version or "",
                "issuing_authority_code": self.issuing_authority,
            }
        else:
            fields |= {
                "name": self.name,
                "ethnicity_code": self.ethnicity_code or "",
                "address": self.address or "",
                "id_number": self.id_number,
                "issuing_authority": self.issuing_authority,
            }
            if self.card_type is CardType.HMT_RESIDENCE_PERMIT:
                fields |= {
                    "pass_number": self.pass_number or "",
                    "issue_count": self.issue_count or "",
                }
        return join_block(self.card_type, fields)
