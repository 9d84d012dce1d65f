"""A card read: SAM id, cross-checks, record mapping, JSON, and what repr shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.collector.card import CardChecks, CardPhoto, CardRead, SamId, check_card
from node.collector.card_text import CardText
from node.collector.errors import CardDataError, FrameError
from tests.node.collector.vectors import FOREIGN, HMT, RESIDENT

SAM = SamId(parts=(5, 1, 20240101, 1234567, 987654321))


def test_sam_id_is_formatted_as_vendors_print_it() -> None:
    assert str(SAM) == "05.01-20240101-0001234567-0987654321"


def test_sam_id_bytes_are_little_endian() -> None:
    assert SAM.to_bytes()[:4] == b"\x05\x00\x01\x00"
    assert SAM.to_bytes()[4:8] == (20240101).to_bytes(4, "little")


@given(
    st.tuples(
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
    )
)
def test_sam_id_round_trips(parts: tuple[int, int, int, int, int]) -> None:
    assert SamId.from_bytes(SamId(parts=parts).to_bytes()) == SamId(parts=parts)


def test_a_sam_id_of_the_wrong_size_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match=r"^SAM id of 15 bytes: expected 16$"):
        SamId.from_bytes(bytes(15))


def test_a_consistent_resident_card_passes_every_check() -> None:
    checks = check_card(RESIDENT, today=date(2025, 6, 1))
    assert checks == CardChecks(
        id_checksum=True, birth_date_matches=True, sex_matches=True, expired=False
    )
    assert checks.passed


def test_a_wrong_check_character_fails_the_checksum_check_only() -> None:
    text = replace(RESIDENT, id_number="110105194912310021")
    checks = check_card(text, today=date(2025, 6, 1))
    assert checks.failures == ("id_checksum",)


def test_birth_digits_that_disagree_with_the_birth_field_fail() -> None:
    text = replace(RESIDENT, birth_date=date(1949, 12, 30))
    assert check_card(text, today=date(2025, 6, 1)).failures == ("birth_date_matches",)


def test_a_sex_digit_of_the_wrong_parity_fails() -> None:
    text = replace(RESIDENT, sex_code="1")
    assert check_card(text, today=date(2025, 6, 1)).failures == ("sex_matches",)


def test_a_card_past_its_last_day_is_expired_and_not_on_it() -> None:
    assert not check_card(HMT, today=date(2028, 1, 1)).expired
    checks = check_card(HMT, today=date(2028, 1, 2))
    assert checks.expired
    assert checks.failures == ("expired",)


def test_a_long_term_card_never_expires() -> None:
    assert not check_card(RESIDENT, today=date(2999, 1, 1)).expired


def test_id_checks_do_not_apply_to_a_foreign_permanent_residence_card() -> None:
    checks = check_card(FOREIGN, today=date(2025, 6, 1))
    assert (checks.id_checksum, checks.birth_date_matches, checks.sex_matches) == (
        None,
        None,
        None,
    )
    assert checks.passed


def read_of(text: CardText, *, appended: str | None = None) -> CardRead:
    return CardRead(
        text=text,
        photo=CardPhoto(wlt=bytes(1024)),
        sam_id=SAM,
        checks=check_card(text, today=date(2025, 6, 1)),
        raw_text=text.to_block(),
        appended_address=appended,
    )


def test_a_resident_card_maps_to_the_record_schemas_identity_fields() -> None:
    assert read_of(RESIDENT).to_record_fields() == {
        "name": "张红",
        "sex": "2",
        "ethnicity": "01",
        "birth_date": "1949-12-31",
        "id_number": "11010519491231002X",
        "id_card_issuer": "北京市公安局朝阳分局",
        "id_card_valid_from": "2015-06-12",
        "id_card_valid_to": "长期",
        "hukou_address": "北京市朝阳区建国路88号",
    }


def test_the_appended_address_replaces_the_printed_household_address() -> None:
    fields = read_of(RESIDENT, appended="北京市海淀区中关村大街1号").to_record_fields()
    assert fields["hukou_address"] == "北京市海淀区中关村大街1号"


def test_a_dated_validity_end_maps_to_yyyymmdd() -> None:
    assert read_of(HMT).to_record_fields()["id_card_valid_to"] == "20280101"


def test_a_foreign_card_fills_neither_id_number_nor_ethnicity() -> None:
    fields = read_of(FOREIGN).to_record_fields()
    assert "id_number" not in fields
    assert "ethnicity" not in fields
    assert fields["name"] == "史密斯"


def test_json_carries_the_photo_as_base64_unless_left_out() -> None:
    card = read_of(RESIDENT)
    assert card.to_json_dict()["photo"]["wlt_base64"].startswith("AAAA")
    without = card.to_json_dict(include_photo=False)
    assert without["photo"] == {"label": "card photo (encoded)", "format": "wlt"}
    assert without["sam_id"] == "05.01-20240101-0001234567-0987654321"
    assert without["fields"]["ethnicity_name"] == "汉族"


def test_repr_shows_the_card_type_and_the_module_but_nothing_personal() -> None:
    text = repr(read_of(RESIDENT))
    assert text == (
        "CardRead(card_type=resident, sam_id=05.01-20240101-0001234567-0987654321, "
        "<personal fields hidden>)"
    )


def test_a_photo_of_the_wrong_size_is_card_data_error() -> None:
    with pytest.raises(CardDataError, match=r"^photo of 1000 bytes: expected 1024$"):
        CardPhoto(wlt=bytes(1000))


def test_a_decoded_photo_needs_its_media_type() -> None:
    with pytest.raises(CardDataError, match=r"^decoded photo: expected an image with its media"):
        CardPhoto(wlt=bytes(1024), image=b"BM")
