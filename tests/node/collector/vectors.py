"""Hand-assembled text blocks of the three card types, and the text each must decode to.

The blocks are written field by field from the layout table, not with the
encoder under test, so encoder and decoder are both checked against them.
"""

from __future__ import annotations

from datetime import date

from node.collector.card_text import LONG_TERM, CardText
from node.collector.textblock import CardType


def ucs2(text: str, chars: int) -> bytes:
    """A field as a card stores it: UCS-2LE, padded with spaces to ``chars``."""
    return text.ljust(chars).encode("utf-16-le")


# The GB 11643 standard's own example number: Beijing Chaoyang, 1949-12-31, female.
RESIDENT_BLOCK = b"".join(
    (
        ucs2("张红", 15),
        ucs2("2", 1),
        ucs2("01", 2),
        ucs2("19491231", 8),
        ucs2("北京市朝阳区建国路88号", 35),
        ucs2("11010519491231002X", 18),
        ucs2("北京市公安局朝阳分局", 15),
        ucs2("20150612", 8),
        ucs2("长期", 8),
        ucs2("", 18),
    )
)
RESIDENT = CardText(
    card_type=CardType.RESIDENT,
    name="张红",
    sex_code="2",
    birth_date=date(1949, 12, 31),
    id_number="11010519491231002X",
    issuing_authority="北京市公安局朝阳分局",
    valid_from=date(2015, 6, 12),
    valid_to=LONG_TERM,
    ethnicity_code="01",
    address="北京市朝阳区建国路88号",
)

HMT_BLOCK = b"".join(
    (
        ucs2("陈志强", 15),
        ucs2("1", 1),
        ucs2("", 2),
        ucs2("19850315", 8),
        ucs2("山东省济南市历下区泉城路1号", 35),
        ucs2("810000198503150033", 18),
        ucs2("济南市公安局历下分局", 15),
        ucs2("20230101", 8),
        ucs2("20280101", 8),
        ucs2("H12345678", 9),
        ucs2("01", 2),
        ucs2("", 3),
        ucs2("J", 1),
        ucs2("", 3),
    )
)
HMT = CardText(
    card_type=CardType.HMT_RESIDENCE_PERMIT,
    name="陈志强",
    sex_code="1",
    birth_date=date(1985, 3, 15),
    id_number="810000198503150033",
    issuing_authority="济南市公安局历下分局",
    valid_from=date(2023, 1, 1),
    valid_to=date(2028, 1, 1),
    address="山东省济南市历下区泉城路1号",
    pass_number="H12345678",
    issue_count="01",
)

FOREIGN_BLOCK = b"".join(
    (
        ucs2("SMITH, JOHN", 60),
        ucs2("1", 1),
        ucs2("USA370601011234", 15),
        ucs2("USA", 3),
        ucs2("史密斯", 15),
        ucs2("20200101", 8),
        ucs2("20300101", 8),
        ucs2("19600101", 8),
        ucs2("17", 2),
        ucs2("3700", 4),
        ucs2("I", 1),
        ucs2("", 3),
    )
)
FOREIGN = CardText(
    card_type=CardType.FOREIGN_PERMANENT_RESIDENT,
    name="史密斯",
    name_en="SMITH, JOHN",
    sex_code="1",
    birth_date=date(1960, 1, 1),
    id_number="USA370601011234",
    nationality_code="USA",
    issuing_authority="3700",
    valid_from=date(2020, 1, 1),
    valid_to=date(2030, 1, 1),
    card_version="17",
)
