"""Coercing form strings and JSON values into the canonical encoding."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import FieldValueError
from protocol.schema import FieldDef, Schema, coerce_value

from .strategies import field_values

SCHEMA = Schema.default()


def _coerce(key: str, raw: object) -> object:
    return coerce_value(SCHEMA.field(key), raw)


def _problem(key: str, raw: object) -> tuple[str, str, str]:
    with pytest.raises(FieldValueError) as caught:
        _coerce(key, raw)
    problem = caught.value.problem
    assert problem.field == key
    assert caught.value.message == problem.message_en
    return problem.code, problem.message_zh, problem.message_en


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000", [], ["", " "]])
def test_blank_input_means_not_filled(blank: object) -> None:
    assert _coerce("name", blank if not isinstance(blank, list) else "") is None
    assert _coerce("main_appeals", blank) is None


def test_text_is_trimmed_and_nfc_normalised() -> None:
    assert _coerce("name", "  张三 \n") == "张三"
    assert _coerce("former_name", "Cafe\u0301") == "Café"


def test_text_refuses_other_json_types() -> None:
    assert _problem("phone", 13800138000) == (
        "type",
        "联系电话的数据类型不正确，应为文本",
        "Phone has the wrong type: expected text",
    )


def test_id_numbers_are_upgraded_uppercased_and_checked() -> None:
    assert _coerce("id_number", "110105491231002") == "11010519491231002X"
    assert _coerce("id_number", " 11010519491231002x ") == "11010519491231002X"
    assert _problem("id_number", "110105194912310021") == (
        "id_number_check_digit",
        "公民身份号码校验码错误",
        "ID number: the check character does not match",
    )
    assert _problem("id_number", "11010519491231") == (
        "id_number_length",
        "公民身份号码应为18位",
        "ID number must have 18 characters",
    )


@pytest.mark.parametrize(
    "raw",
    [
        "1949-12-31",
        "1949/12/31",
        "1949.12.31",
        "19491231",
        "1949年12月31日",
        "１９４９-１２-３１",
        " 1949-12-31 ",
    ],
)
def test_dates_are_accepted_in_common_written_forms(raw: str) -> None:
    assert _coerce("birth_date", raw) == "1949-12-31"


def test_short_month_and_day_are_padded() -> None:
    assert _coerce("collect_date", "2025/7/1") == "2025-07-01"


def test_a_date_object_is_accepted_but_not_a_datetime() -> None:
    assert _coerce("birth_date", date(1949, 12, 31)) == "1949-12-31"
    assert _problem("birth_date", datetime(1949, 12, 31, 8, 0))[0] == "type"


@pytest.mark.parametrize("raw", ["1949-02-30", "31/12/1949", "yesterday", "0195-01-01"])
def test_impossible_or_unreadable_dates_are_refused(raw: str) -> None:
    assert _problem("birth_date", raw) == (
        "invalid_date",
        "出生日期不是有效日期（YYYY-MM-DD）",
        "Birth date is not a valid date (YYYY-MM-DD)",
    )


def test_card_expiry_takes_yyyymmdd_or_long_term() -> None:
    assert _coerce("id_card_valid_to", "2035-06-01") == "20350601"
    assert _coerce("id_card_valid_to", "长期") == "长期"
    assert _problem("id_card_valid_to", "2035-13-01")[0] == "invalid_date"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("on", True),
        ("是", True),
        ("Y", True),
        (1, True),
        ("false", False),
        ("否", False),
        ("0", False),
        (0, False),
        (False, False),
    ],
)
def test_booleans_are_read_from_form_words(raw: object, value: bool) -> None:
    assert _coerce("lonely_elder", raw) is value


def test_an_unreadable_boolean_is_refused() -> None:
    assert _problem("lonely_elder", "maybe") == (
        "type",
        "是否孤老的数据类型不正确，应为是或否",
        "Elderly person living alone has the wrong type: expected true or false",
    )
    assert _problem("lonely_elder", 2)[0] == "type"


def test_numbers_are_read_from_strings() -> None:
    assert _coerce("household_income_per_capita", "12,500") == 12500
    assert _coerce("household_income_per_capita", "1234.5") == 1234.5
    assert _coerce("household_size", "４") == 4
    assert _coerce("household_size", 3.0) == 3
    assert type(_coerce("household_size", 3.0)) is int


def test_bad_numbers_are_refused_by_rule() -> None:
    assert _problem("household_size", "many")[0] == "type"
    assert _problem("household_size", 2.5) == (
        "not_integer",
        "家庭人口数应为整数",
        "Household size must be a whole number",
    )
    assert _problem("household_size", 0) == (
        "out_of_range",
        "家庭人口数超出允许范围（1..99）",
        "Household size is out of range (1..99)",
    )
    assert _problem("household_income_per_capita", float("nan"))[0] == "not_finite"
    assert _problem("household_income_per_capita", "-5")[0] == "out_of_range"
    assert _problem("household_size", True)[0] == "type"


def test_codes_are_accepted_by_value_or_label() -> None:
    assert _coerce("sex", "1") == "1"
    assert _coerce("sex", "男性") == "1"
    assert _coerce("sex", "female") == "2"
    assert _coerce("sex", 2) == "2"
    assert _coerce("ethnicity", "０１") == "01"
    assert _coerce("ethnicity", "汉族") == "01"
    assert _coerce("education", "Bachelor's degree") == "大学本科"
    assert _coerce("medical_insurance", "公费医疗（军休）") == "公费医疗（军休）"


def test_a_value_outside_the_table_is_refused() -> None:
    assert _problem("ethnicity", "57") == (
        "not_allowed",
        "民族的取值不在允许范围内",
        "Ethnicity is not one of the allowed values",
    )


def test_multi_select_becomes_a_sorted_tuple_without_repeats() -> None:
    assert _coerce("main_appeals", ["医疗保障", "就业创业", "医疗保障"]) == ("医疗保障", "就业创业")
    assert _coerce("main_appeals", "住房保障|医疗保障") == ("住房保障", "医疗保障")
    assert _coerce("main_appeals", "住房保障") == ("住房保障",)
    assert _coerce(
        "subject_category", ["disabled_soldier", "Discharged soldier (NCO or conscript)"]
    ) == ("disabled_soldier", "retired_soldier")


def test_none_cannot_be_combined_with_other_choices() -> None:
    assert _problem("main_appeals", ["无", "医疗保障"]) == (
        "exclusive",
        "主要诉求选择“无”时不能再选其他项",
        "Main requests: None cannot be combined with other choices",
    )


def test_multi_select_refuses_non_text_items() -> None:
    assert _problem("main_appeals", [1, 2])[0] == "not_allowed"
    assert _problem("main_appeals", [["a"]])[0] == "type"
    assert _problem("main_appeals", {"a": 1})[0] == "type"


def test_photos_are_blob_references() -> None:
    ref = "b2:" + "AB" * 32
    assert _coerce("portrait_photo", ref) == ref.lower()
    assert _coerce("document_scans", [ref, ref.lower()]) == (ref.lower(),)
    assert _problem("portrait_photo", "photo.jpg") == (
        "blob_ref",
        "本人照片应为文件引用（b2:加64位十六进制）",
        "Portrait photo must be a blob reference (b2: and 64 hex digits)",
    )


def test_division_codes_are_checked_for_length() -> None:
    assert _coerce("hukou_division_code", "３７０１０２００１００１") == "370102001001"
    assert _problem("hukou_division_code", "370102") == (
        "division_length",
        "户籍所在地区划代码应为9/12位区划代码",
        "Household registration division code must be a 9/12-digit division code",
    )


# 112 fields: a few dozen values each is thousands of examples in all.
@pytest.mark.parametrize("field", SCHEMA.fields, ids=lambda f: f.key)
@settings(max_examples=30)
@given(data=st.data())
def test_canonical_values_are_fixed_points(field: FieldDef, data: st.DataObject) -> None:
    value = data.draw(field_values(field))
    assert coerce_value(field, value) == value
