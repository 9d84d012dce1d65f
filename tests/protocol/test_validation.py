"""Record validation: valid records per form, and one named test per problem kind."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given

from crypto.errors import UsageError
from protocol.divisions import Divisions
from protocol.errors import ValidationError
from protocol.idnumber import check_digit, make_id_number
from protocol.sample import realistic_record
from protocol.schema import MESSAGES, Schema
from protocol.validation import Problem, check_record, validate_record, validate_value

from .strategies import TODAY, valid_records

SCHEMA = Schema.default()
DIVISIONS = Divisions.default()

Record = dict[str, object]


def _problems(values: Record) -> tuple[Problem, ...]:
    return validate_record(values, SCHEMA, today=TODAY, divisions=DIVISIONS)


def _record(category: str, *, seed: int = 1, **changes: object) -> Record:
    values = realistic_record(
        random.Random(seed), category=category, division_code="370102", today=TODAY
    )
    for key, value in changes.items():
        if value is _ABSENT:
            values.pop(key, None)
        else:
            values[key] = value
    return values


_ABSENT = object()


def _only(values: Record) -> tuple[str, str, str, str]:
    """Return the single problem of ``values`` as (field, code, zh, en)."""
    problems = _problems(values)
    assert len(problems) == 1, problems
    p = problems[0]
    return p.field, p.code, p.message_zh, p.message_en


# --- valid records ---------------------------------------------------------------


@pytest.mark.parametrize(
    "category",
    ["retired_soldier", "martyr_survivor", "active_duty_family", "disabled_militia"],
    ids=["veteran", "survivor", "active_family", "disabled_militia"],
)
@pytest.mark.parametrize("seed", range(5))
def test_a_complete_record_of_each_form_is_valid(category: str, seed: int) -> None:
    values = _record(category, seed=seed)
    assert SCHEMA.category(category).form in {
        "veteran",
        "survivor",
        "active_family",
        "disabled_militia",
    }
    assert _problems(values) == ()
    check_record(values, SCHEMA, today=TODAY, divisions=DIVISIONS)


def test_a_record_with_only_the_required_fields_is_valid() -> None:
    values = _record("retired_soldier")
    applicable = SCHEMA.applicable(["retired_soldier"])
    minimal = {k: v for k, v in values.items() if k in applicable.required_keys}
    assert _problems(minimal) == ()


def test_a_person_of_several_categories_is_valid_with_the_union_of_fields() -> None:
    values = _record("disabled_soldier")
    assert values["subject_category"] == ("disabled_soldier", "retired_soldier")
    assert "disability_level" in values
    assert _problems(values) == ()


def test_sample_records_depend_only_on_the_seed() -> None:
    def draw(seed: int) -> Record:
        return realistic_record(
            random.Random(seed), category="retired_soldier", division_code="370100", today=TODAY
        )

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    assert str(draw(7)["hukou_division_code"]).startswith("3701")


def test_sample_records_need_a_division_with_a_listed_county() -> None:
    with pytest.raises(UsageError, match="inside a listed county"):
        realistic_record(
            random.Random(1), category="retired_soldier", division_code="990101", today=TODAY
        )


@given(valid_records())
def test_generated_records_of_every_category_are_valid(values: Record) -> None:
    assert _problems(values) == ()


def test_lists_from_the_wire_are_as_good_as_tuples() -> None:
    values = _record("retired_soldier")
    values["subject_category"] = list(values["subject_category"])  # type: ignore[call-overload]
    values["main_appeals"] = ["医疗保障", "就业创业"]
    assert _problems(values) == ()


# --- fields that do not belong -----------------------------------------------------


def test_an_unknown_field_is_a_problem() -> None:
    assert _only(_record("retired_soldier", shoe_size="42")) == (
        "shoe_size",
        "unknown_field",
        "shoe_size不是本表的字段",
        "shoe_size is not a field of the schema",
    )


def test_an_unknown_key_that_is_not_a_field_name_is_not_quoted() -> None:
    values = _record("retired_soldier")
    values["张三 110105"] = "x"
    field, code, zh, en = _only(values)
    assert (field, code) == ("?", "unknown_field")
    assert "张三" not in zh + en


def test_a_field_of_another_category_does_not_apply() -> None:
    assert _only(_record("retired_soldier", deceased_name="李四")) == (
        "deceased_name",
        "not_applicable",
        "烈士（牺牲、病故军人）姓名不适用于该对象的类别",
        "Name of the deceased does not apply to the person's categories",
    )


# --- required fields ---------------------------------------------------------------------


def test_a_missing_required_field_is_a_problem() -> None:
    assert _only(_record("retired_soldier", enlist_date=_ABSENT)) == (
        "enlist_date",
        "required",
        "入伍时间为必填项",
        "Enlistment date is required",
    )


def test_a_required_field_set_to_none_is_missing() -> None:
    assert _only(_record("martyr_survivor", death_date=None))[:2] == ("death_date", "required")


def test_disability_level_is_required_when_disabled() -> None:
    values = _record("disabled_soldier", disability_level=_ABSENT)
    assert values["is_disabled"] is True
    assert _only(values) == (
        "disability_level",
        "required_if",
        "是否评定残疾等级为“是”时伤残等级为必填项",
        "Disability level is required when Disability level assessed is true",
    )


def test_the_agents_name_is_required_when_someone_else_reports() -> None:
    values = _record("retired_soldier", informant_is_self=False, informant_name=_ABSENT)
    assert _only(values)[:2] == ("informant_name", "required_if")
    values["informant_is_self"] = True
    assert _problems(values) == ()


def test_without_a_category_only_common_fields_are_required() -> None:
    values = _record("retired_soldier", subject_category=_ABSENT, enlist_date=_ABSENT)
    assert _only(values)[:2] == ("subject_category", "required")


def test_an_unknown_category_is_not_allowed_and_the_rest_is_still_checked() -> None:
    values = _record("retired_soldier", subject_category=("retired_soldier", "veteran"))
    assert _only(values)[:2] == ("subject_category", "not_allowed")
    values = _record("retired_soldier", subject_category=("astronaut",), phone=" 1 ")
    assert [(p.field, p.code) for p in _problems(values)] == [
        ("subject_category", "not_allowed"),
        ("phone", "not_canonical"),
    ]


# --- values ------------------------------------------------------------------------------


def test_a_value_of_the_wrong_type_is_a_problem() -> None:
    assert _only(_record("retired_soldier", lonely_elder="yes")) == (
        "lonely_elder",
        "type",
        "是否孤老的数据类型不正确，应为是或否",
        "Elderly person living alone has the wrong type: expected true or false",
    )
    assert _only(_record("retired_soldier", name=["张三"]))[:2] == ("name", "type")
    assert _only(_record("retired_soldier", birth_date=19491231))[:2] == ("birth_date", "type")


def test_non_canonical_text_is_a_problem() -> None:
    for text in (" 张三", "张三 ", "", "Cafe\u0301"):
        assert _only(_record("retired_soldier", former_name=text)) == (
            "former_name",
            "not_canonical",
            "曾用名的格式不规范（首尾空白、未规范化、未排序或为空）",
            "Former name is not in canonical form (untrimmed, not NFC, unsorted or empty)",
        )


def test_an_unsorted_or_empty_multi_select_is_not_canonical() -> None:
    assert _only(_record("retired_soldier", main_appeals=("就业创业", "医疗保障")))[:2] == (
        "main_appeals",
        "not_canonical",
    )
    assert _only(_record("retired_soldier", main_appeals=()))[:2] == (
        "main_appeals",
        "not_canonical",
    )
    assert _only(_record("retired_soldier", main_appeals=("无", "无")))[:2] == (
        "main_appeals",
        "not_canonical",
    )


def test_a_value_outside_the_code_table_or_enum_is_a_problem() -> None:
    assert _only(_record("retired_soldier", political_status="14")) == (
        "political_status",
        "not_allowed",
        "政治面貌的取值不在允许范围内",
        "Political status is not one of the allowed values",
    )
    assert _only(_record("retired_soldier", service_identity="将军"))[:2] == (
        "service_identity",
        "not_allowed",
    )


def test_none_with_other_choices_is_a_problem() -> None:
    assert _only(_record("retired_soldier", hardship_type=("因病", "无"))) == (
        "hardship_type",
        "exclusive",
        "生活困难类型选择“无”时不能再选其他项",
        "Kind of hardship: None cannot be combined with other choices",
    )


def test_an_impossible_date_is_a_problem() -> None:
    for text in ("2019-02-29", "20190228", "2019-2-28", "0201-05-01"):
        assert _only(_record("retired_soldier", collect_date=text)) == (
            "collect_date",
            "invalid_date",
            "采集日期不是有效日期（YYYY-MM-DD）",
            "Collection date is not a valid date (YYYY-MM-DD)",
        )


def test_a_date_after_today_is_a_problem() -> None:
    assert _only(_record("retired_soldier", collect_date="2025-07-01")) == (
        "collect_date",
        "future_date",
        "采集日期晚于今天",
        "Collection date is after today",
    )


def test_numbers_must_be_finite_whole_when_asked_and_in_range() -> None:
    assert _only(_record("retired_soldier", household_income_per_capita=float("inf")))[:2] == (
        "household_income_per_capita",
        "not_finite",
    )
    assert _only(_record("retired_soldier", household_size=3.0))[:2] == (
        "household_size",
        "not_integer",
    )
    assert _only(_record("retired_soldier", household_size=100)) == (
        "household_size",
        "out_of_range",
        "家庭人口数超出允许范围（1..99）",
        "Household size is out of range (1..99)",
    )
    assert _only(_record("retired_soldier", household_size=True))[:2] == ("household_size", "type")


def test_a_photo_must_be_a_blob_reference() -> None:
    assert _only(_record("retired_soldier", portrait_photo="b2:" + "A" * 64))[:2] == (
        "portrait_photo",
        "blob_ref",
    )


def test_card_expiry_is_yyyymmdd_or_long_term() -> None:
    assert _only(_record("retired_soldier", id_card_valid_to="2035-06-01"))[:2] == (
        "id_card_valid_to",
        "invalid_date",
    )


# --- division codes ------------------------------------------------------------------------


def test_a_division_code_of_the_wrong_length_is_a_problem() -> None:
    assert _only(_record("retired_soldier", hukou_division_code="370102")) == (
        "hukou_division_code",
        "division_length",
        "户籍所在地区划代码应为9/12位区划代码",
        "Household registration division code must be a 9/12-digit division code",
    )


def test_an_unknown_or_malformed_division_code_is_a_problem() -> None:
    for code in ("990102001001", "370102700001", "370102001400"):
        assert _only(_record("retired_soldier", hukou_division_code=code)) == (
            "hukou_division_code",
            "division_code",
            "户籍所在地区划代码不是有效的区划代码",
            "Household registration division code is not a valid division code",
        )


def test_a_division_code_from_before_a_merger_is_still_valid() -> None:
    assert _problems(_record("retired_soldier", residence_division_code="371202")) == ()


# --- dates in order ---------------------------------------------------------------------


def test_enlistment_must_follow_birth() -> None:
    values = _record("retired_soldier")
    values["enlist_date"] = values["birth_date"]
    assert _only(values) == (
        "enlist_date",
        "date_order",
        "入伍时间应晚于出生日期",
        "Enlistment date must be after Birth date",
    )


def test_discharge_must_follow_enlistment() -> None:
    values = _record("retired_soldier")
    values["discharge_date"] = values["enlist_date"]
    assert _only(values)[:2] == ("discharge_date", "date_order")


def test_injury_must_follow_birth() -> None:
    values = _record("disabled_militia")
    values["injury_date"] = "1900-01-01"
    problems = {(p.field, p.code) for p in _problems(values)}
    assert ("injury_date", "date_order") in problems


def test_death_must_follow_the_deceaseds_birth_and_approval_the_death() -> None:
    values = _record("martyr_survivor", deceased_birth_date="1920-05-01")
    values["death_date"] = values["deceased_birth_date"]
    assert ("death_date", "date_order") in {(p.field, p.code) for p in _problems(values)}
    values = _record("martyr_survivor")
    values["approval_date"] = values["death_date"]
    assert _problems(values) == ()  # approved the same day is fine
    values["approval_date"] = "1900-01-01"
    assert ("approval_date", "date_order_or_same") in {(p.field, p.code) for p in _problems(values)}


def test_dates_in_order_are_checked_only_when_both_are_filled() -> None:
    values = _record("retired_soldier", enlist_date=_ABSENT)
    assert _only(values)[:2] == ("enlist_date", "required")


# --- the ID number ------------------------------------------------------------------------


def _id_case(number: str) -> tuple[str, str, str, str]:
    return _only(_record("retired_soldier", id_number=number))


@pytest.mark.parametrize(
    ("number", "code", "zh", "en"),
    [
        (
            "110105491231002",
            "id_number_length",
            "公民身份号码应为18位",
            "ID number must have 18 characters",
        ),
        (
            "11010519491231002x",
            "id_number_characters",
            "公民身份号码应为17位数字加1位数字或X",
            "ID number must be 17 digits and a digit or X",
        ),
        (
            "110105194912310021",
            "id_number_check_digit",
            "公民身份号码校验码错误",
            "ID number: the check character does not match",
        ),
    ],
    ids=["legacy-15-digits", "lowercase-x", "check-digit"],
)
def test_a_malformed_id_number_is_a_problem(number: str, code: str, zh: str, en: str) -> None:
    assert _id_case(number) == ("id_number", code, zh, en)


def test_an_id_number_with_an_impossible_birth_date_is_a_problem() -> None:
    first17 = "37010219730230463"
    assert _id_case(first17 + check_digit(first17))[:2] == ("id_number", "id_number_birth_date")


def test_an_id_number_born_after_today_is_a_problem() -> None:
    number = make_id_number("370102", date(2025, 7, 1), 1, "1")
    problems = {(p.field, p.code) for p in _problems(_record("retired_soldier", id_number=number))}
    assert ("id_number", "id_number_future_birth_date") in problems


def test_an_id_number_with_an_unknown_address_code_is_a_problem() -> None:
    values = _record("retired_soldier")
    born = date.fromisoformat(values["birth_date"])  # type: ignore[arg-type]
    values["id_number"] = make_id_number("990102", born, 3, "1")
    assert _only(values) == (
        "id_number",
        "id_number_division",
        "公民身份号码的地址码（前6位）不是已知的区划代码",
        "ID number: digits 1-6 are not a known division code",
    )


def test_the_birth_date_must_agree_with_the_id_number() -> None:
    values = _record("retired_soldier")
    values["birth_date"] = "1960-01-02"
    values["id_number"] = make_id_number("370102", date(1960, 1, 1), 3, "1")
    assert _only(values) == (
        "birth_date",
        "id_number_birth_mismatch",
        "出生日期与公民身份号码不一致",
        "Birth date disagrees with the ID number",
    )


def test_the_sex_must_agree_with_the_id_number() -> None:
    values = _record("retired_soldier", sex="2")
    assert _only(values) == (
        "sex",
        "id_number_sex_mismatch",
        "性别与公民身份号码不一致",
        "Sex disagrees with the ID number",
    )


def test_a_sex_not_stated_does_not_contradict_the_id_number() -> None:
    assert _problems(_record("retired_soldier", sex="9")) == ()


def test_the_servicemans_id_number_is_checked_but_not_against_the_persons_birth() -> None:
    values = _record("active_duty_family")
    values["soldier_id_number"] = make_id_number("370102", date(1999, 3, 4), 5, "2")
    assert _problems(values) == ()
    values["soldier_id_number"] = "370102199903040000"
    assert _only(values)[:2] == ("soldier_id_number", "id_number_check_digit")


# --- across problems ------------------------------------------------------------------------


def test_problems_come_in_form_order() -> None:
    values = _record(
        "retired_soldier", collection_method="飞鸽", phone=" 1", name=_ABSENT, shoe_size=1
    )
    assert [p.field for p in _problems(values)] == [
        "name",
        "phone",
        "collection_method",
        "shoe_size",
    ]


def test_every_problem_code_has_both_messages() -> None:
    for code, (zh, en) in MESSAGES.items():
        assert zh
        assert en.isascii(), code


def _poison(values: Record, key: str, marker: str) -> None:
    field = SCHEMA.field(key)
    values[key] = marker if field.type.value != "text" else f" {marker}"


@pytest.mark.parametrize("key", [f.key for f in SCHEMA.fields_for(["retired_soldier"])])
def test_messages_never_contain_the_persons_values(key: str) -> None:
    marker = "泄露110105"
    values = _record("retired_soldier")
    _poison(values, key, marker)
    problems = _problems(values)
    assert problems
    for problem in problems:
        assert marker not in problem.message_zh + problem.message_en
        for other, value in values.items():
            # Free text and ID numbers are personal; enum values are the schema's words.
            if SCHEMA.field(other).type.value == "text" and isinstance(value, str):
                assert value.strip() not in problem.message_zh + problem.message_en


def test_check_record_raises_with_every_problem() -> None:
    values = _record("retired_soldier", sex="2", phone=None)
    with pytest.raises(ValidationError) as caught:
        check_record(values, SCHEMA, today=TODAY, divisions=DIVISIONS)
    error = caught.value
    assert error.message == "record: expected no problems, found 2 in 2 fields"
    assert [(p.field, p.code) for p in error.problems] == [
        ("sex", "id_number_sex_mismatch"),
        ("phone", "required"),
    ]
    body = error.to_dict()
    assert body["error"] == "invalid_record"
    assert body["problems"][0]["message_en"] == "Sex disagrees with the ID number"


def test_one_value_can_be_checked_on_its_own() -> None:
    def check(key: str, value: object) -> tuple[str, str] | None:
        problem = validate_value(key, value, SCHEMA, today=TODAY, divisions=DIVISIONS)
        return None if problem is None else (problem.field, problem.code)

    assert check("birth_date", "1949-12-31") is None
    assert check("birth_date", None) is None
    assert check("birth_date", "2099-01-01") == ("birth_date", "future_date")
    assert check("hukou_division_code", "990102001") == ("hukou_division_code", "division_code")
    assert check("shoe_size", 42) == ("shoe_size", "unknown_field")
