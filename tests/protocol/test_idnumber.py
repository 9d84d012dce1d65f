"""GB 11643-1999 national ID numbers: check character, upgrade, parsing, generation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import UsageError
from protocol.divisions import Divisions
from protocol.errors import InvalidIdNumberError
from protocol.idnumber import (
    IdNumber,
    check_digit,
    make_id_number,
    parse_id_number,
    upgrade_15_to_18,
    verify_structure,
)

from .strategies import county_codes

# The examples printed in GB 11643-1999 itself (a woman born 1949-12-31 in
# 北京市朝阳区; a man born 1880-01-01 in 广东省潮阳县, a code abolished since).
STANDARD_FEMALE = "11010519491231002X"
STANDARD_MALE = "440524188001010014"


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
        ("37010219730406463", "0"),
    ],
)
def test_check_digit_matches_published_numbers(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


def test_check_digit_refuses_anything_but_17_digits() -> None:
    with pytest.raises(InvalidIdNumberError, match="expected 17 digits") as caught:
        check_digit("1101051949123100")
    assert caught.value.fields["rule"] == "characters"
    with pytest.raises(InvalidIdNumberError, match="expected 17 digits"):
        check_digit("1101051949123100A")


def test_upgrade_inserts_the_century_and_appends_the_check_character() -> None:
    assert upgrade_15_to_18("110105491231002") == STANDARD_FEMALE
    # Every 15-digit number belongs to someone born in the 1900s.
    assert upgrade_15_to_18("440524800101001")[6:14] == "19800101"


def test_upgrade_refuses_a_number_that_is_not_15_digits() -> None:
    with pytest.raises(InvalidIdNumberError, match="expected 15 digits to upgrade"):
        upgrade_15_to_18("11010549123100X")


def test_the_standards_examples_parse_with_their_birth_date_sex_and_division() -> None:
    woman = parse_id_number(STANDARD_FEMALE)
    assert (woman.birth_date, woman.sex_code, woman.division_code) == (
        date(1949, 12, 31),
        "2",
        "110105",
    )
    man = parse_id_number(STANDARD_MALE)
    assert (man.birth_date, man.sex_code, man.division_code) == (date(1880, 1, 1), "1", "440524")


def test_parse_trims_uppercases_folds_full_width_and_upgrades() -> None:
    assert parse_id_number("  11010519491231002x\n").value == STANDARD_FEMALE
    assert parse_id_number("１１０１０５１９４９１２３１００２Ｘ").value == STANDARD_FEMALE
    assert parse_id_number("110105491231002").value == STANDARD_FEMALE


def test_a_historical_division_code_is_accepted_when_checking_divisions() -> None:
    # 440524 (潮阳县) was abolished in 2003; numbers issued under it stay valid.
    assert not Divisions.default().is_current("440524")
    assert parse_id_number(STANDARD_MALE, divisions=Divisions.default()).value == STANDARD_MALE


def _rule_of(text: str, **context: object) -> tuple[str, str]:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_id_number(text, **context)  # type: ignore[arg-type]
    return caught.value.fields["rule"], caught.value.message


def test_empty_input_is_refused() -> None:
    assert _rule_of("   ") == ("empty", "ID number: expected 18 characters, saw none")


def test_wrong_length_is_refused() -> None:
    assert _rule_of("1101051949123100") == ("length", "ID number: expected 18 characters, saw 16")


def test_letters_inside_the_number_are_refused() -> None:
    assert _rule_of("1101051949123100AX") == (
        "characters",
        "ID number: expected 17 digits followed by a digit or X",
    )


def test_an_impossible_birth_date_is_refused() -> None:
    first17 = "11010519490231002"  # 31 February
    assert _rule_of(first17 + check_digit(first17)) == (
        "birth_date",
        "ID number: digits 7-14 are not a real birth date",
    )


def test_a_wrong_check_character_is_refused() -> None:
    assert _rule_of("110105194912310021") == (
        "check_digit",
        "ID number: check character does not match digits 1-17 (MOD 11-2)",
    )


def test_a_birth_date_after_today_is_refused() -> None:
    assert _rule_of(STANDARD_FEMALE, today=date(1949, 12, 30)) == (
        "future_birth_date",
        "ID number: birth date in digits 7-14 is after today",
    )
    assert parse_id_number(STANDARD_FEMALE, today=date(1949, 12, 31)).value == STANDARD_FEMALE


def test_an_unknown_division_code_is_refused_when_checking_divisions() -> None:
    number = make_id_number("990101", date(1980, 5, 1), 7, "1")
    assert parse_id_number(number).division_code == "990101"
    assert _rule_of(number, divisions=Divisions.default()) == (
        "division",
        "ID number: digits 1-6 are not a division code of any revision",
    )


def test_messages_never_repeat_the_number() -> None:
    bad = "110105194912310021"
    for text in (bad, bad[:15], bad + "1", "X" + bad[1:]):
        _, message = _rule_of(text)
        assert bad[:6] not in message
        assert bad[-4:] not in message


def test_verify_structure_returns_the_birth_date_without_folding_case() -> None:
    assert verify_structure(STANDARD_FEMALE) == date(1949, 12, 31)
    with pytest.raises(InvalidIdNumberError, match="digit or X"):
        verify_structure(STANDARD_FEMALE.lower())


def test_an_id_number_cannot_be_built_invalid() -> None:
    with pytest.raises(InvalidIdNumberError, match="check character"):
        IdNumber(value="110105194912310021")
    with pytest.raises(InvalidIdNumberError, match="digit or X"):
        IdNumber(value="11010519491231002x")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("37010", date(1980, 1, 1), 1, "1"), "division code: expected 6 digits"),
        (("370102", date(1980, 1, 1), 100, "1"), "sequence: expected 0..99, saw 100"),
        (("370102", date(1980, 1, 1), 1, "0"), "sex code: expected 1 or 2"),
        (("370102", date(1799, 12, 31), 1, "2"), "birth date: expected year 1800 or later"),
    ],
)
def test_make_id_number_refuses_arguments_out_of_range(
    args: tuple[str, date, int, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        make_id_number(*args)


births = st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31))


@given(county_codes(), births, st.integers(0, 99), st.sampled_from("12"))
def test_made_numbers_parse_and_keep_birth_date_sex_and_division(
    division: str, born: date, sequence: int, sex: str
) -> None:
    number = parse_id_number(
        make_id_number(division, born, sequence, sex), divisions=Divisions.default()
    )
    assert (number.birth_date, number.sex_code, number.division_code) == (born, sex, division)


@given(births, st.integers(0, 99), st.sampled_from("12"), st.data())
def test_any_single_character_change_breaks_the_number(
    born: date, sequence: int, sex: str, data: st.DataObject
) -> None:
    number = make_id_number("370102", born, sequence, sex)
    position = data.draw(st.integers(0, 17), label="position")
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != number[position]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdNumberError) as caught:
        IdNumber(value=changed)
    assert caught.value.fields["rule"] in ("check_digit", "birth_date")


@given(st.text(max_size=40))
def test_parsing_any_text_gives_a_number_or_our_error(text: str) -> None:
    try:
        number = parse_id_number(text)
    except InvalidIdNumberError:
        return
    assert len(number.value) == 18
