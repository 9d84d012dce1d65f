"""The 256-byte text block: hand-assembled vectors for each card type, and bad blocks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import UsageError
from node.collector.card_text import CardText
from node.collector.errors import CardDataError
from node.collector.textblock import CardType, card_type_of, join_block, split_block
from tests.node.collector.vectors import (
    FOREIGN,
    FOREIGN_BLOCK,
    HMT,
    HMT_BLOCK,
    RESIDENT,
    RESIDENT_BLOCK,
    ucs2,
)

VECTORS = [(RESIDENT_BLOCK, RESIDENT), (HMT_BLOCK, HMT), (FOREIGN_BLOCK, FOREIGN)]
IDS = ["resident", "hmt_residence_permit", "foreign_permanent_resident"]


@pytest.mark.parametrize(("block", "expected"), VECTORS, ids=IDS)
def test_a_hand_assembled_block_decodes_to_the_expected_text(
    block: bytes, expected: CardText
) -> None:
    assert len(block) == 256
    assert CardText.from_block(block) == expected


@pytest.mark.parametrize(("block", "text"), VECTORS, ids=IDS)
def test_the_encoder_reproduces_the_hand_assembled_block(block: bytes, text: CardText) -> None:
    assert text.to_block() == block


def test_the_type_marker_sits_at_byte_248() -> None:
    assert HMT_BLOCK[248:250] == b"J\x00"
    assert FOREIGN_BLOCK[248:250] == b"I\x00"
    assert RESIDENT_BLOCK[248:250] == b" \x00"
    assert card_type_of(RESIDENT_BLOCK[:248] + b"\x00\x00" + RESIDENT_BLOCK[250:]) is (
        CardType.RESIDENT
    )


def test_a_foreign_card_without_a_chinese_name_is_named_in_english() -> None:
    block = FOREIGN_BLOCK[:158] + ucs2("", 15) + FOREIGN_BLOCK[188:]
    assert CardText.from_block(block).name == "SMITH, JOHN"


def test_ethnicity_and_sex_names_come_from_the_shipped_tables() -> None:
    assert (RESIDENT.ethnicity_name, RESIDENT.sex_name) == ("汉族", "女性")
    assert HMT.ethnicity_name is None


def test_repr_hides_everything_personal() -> None:
    assert repr(RESIDENT) == "CardText(card_type=resident, <personal fields hidden>)"


names = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=15
)


@given(
    name=names,
    address=names,
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    sex=st.sampled_from(["1", "2"]),
)
def test_resident_text_round_trips(name: str, address: str, born: date, sex: str) -> None:
    text = CardText(
        card_type=CardType.RESIDENT,
        name=name,
        sex_code=sex,
        birth_date=born,
        id_number="11010519491231002X",
        issuing_authority="某市公安局",
        valid_from=date(2021, 1, 1),
        valid_to=date(2041, 1, 1),
        ethnicity_code="03",
        address=address,
    )
    assert CardText.from_block(text.to_block()) == text


def with_field(block: bytes, offset: int, value: bytes) -> bytes:
    return block[:offset] + value + block[offset + len(value) :]


def test_a_block_of_the_wrong_size_is_card_data_error() -> None:
    with pytest.raises(CardDataError, match=r"^text block of 255 bytes: expected 256$"):
        CardText.from_block(RESIDENT_BLOCK[:255])


def test_an_unknown_type_marker_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 248, ucs2("Y", 1))
    with pytest.raises(CardDataError, match=r"^card type marker U\+0059 at byte 248: expected"):
        CardText.from_block(block)


def test_a_lone_surrogate_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 0, b"\x00\xd8")
    with pytest.raises(CardDataError, match=r"^text block field name: expected UCS-2 text"):
        CardText.from_block(block)


def test_an_impossible_birth_date_is_card_data_error_without_the_value() -> None:
    block = with_field(RESIDENT_BLOCK, 36, ucs2("19491331", 8))
    with pytest.raises(CardDataError) as caught:
        CardText.from_block(block)
    assert caught.value.message == (
        "text block field birth_date: expected a YYYYMMDD date, got 8 characters that are not one"
    )
    assert "1949" not in caught.value.message


def test_a_malformed_id_number_is_card_data_error_without_the_value() -> None:
    block = with_field(RESIDENT_BLOCK, 122, ucs2("1101051949123100", 18))
    with pytest.raises(CardDataError) as caught:
        CardText.from_block(block)
    assert caught.value.message == "text block field id_number: expected 17 digits and a digit or X"


def test_an_unknown_ethnicity_code_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 32, ucs2("99", 2))
    with pytest.raises(CardDataError, match=r"^text block field ethnicity_code: expected a GB/T"):
        CardText.from_block(block)


def test_a_blank_name_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 0, ucs2("", 15))
    with pytest.raises(CardDataError, match=r"^text block field name: expected a name"):
        CardText.from_block(block)


def test_a_resident_card_without_ethnicity_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 32, ucs2("", 2))
    with pytest.raises(CardDataError, match=r"^text block field ethnicity_code: expected a code"):
        CardText.from_block(block)


def test_validity_ending_before_it_starts_is_card_data_error() -> None:
    block = with_field(RESIDENT_BLOCK, 204, ucs2("20100101", 8))
    with pytest.raises(CardDataError, match=r"^text block field valid_to: expected a date on or"):
        CardText.from_block(block)


def test_a_malformed_foreign_card_number_is_card_data_error() -> None:
    block = with_field(FOREIGN_BLOCK, 122, ucs2("US1234", 15))
    with pytest.raises(CardDataError, match=r"^text block field card_number: expected three"):
        CardText.from_block(block)


def test_split_block_trims_trailing_spaces_and_nuls() -> None:
    block = with_field(RESIDENT_BLOCK, 0, "张红".encode("utf-16-le") + b"\x00\x00" * 13)
    _, fields = split_block(block)
    assert fields["name"] == "张红"


def test_joining_a_value_too_long_for_its_field_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^field name of 32 bytes: expected at most 30$"):
        join_block(CardType.RESIDENT, {"name": "张" * 16})


def test_joining_a_character_outside_the_bmp_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^field name: expected characters of the BMP only$"):
        join_block(CardType.RESIDENT, {"name": "\U00020000"})


def test_joining_an_unknown_field_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^fields \['pass_number'\] are not in the resident"):
        join_block(CardType.RESIDENT, {"pass_number": "H1"})
