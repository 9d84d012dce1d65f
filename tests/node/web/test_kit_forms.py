"""Forms generated from the schema: widgets, required marks, problems beside fields, values kept."""

from __future__ import annotations

from datetime import date

import pytest
from multidict import MultiDict

from node.web.kit import Catalogs, Widget, build_form, read_form
from protocol.divisions import Divisions
from protocol.schema import Schema
from protocol.validation import validate_record

SCHEMA = Schema.default()
ZH = Catalogs.load(["node.web.kit"]).translator("zh-CN")
EN = Catalogs.load(["node.web.kit"]).translator("en")
FORMS = {
    "veteran": "retired_soldier",
    "survivor": "martyr_survivor",
    "active_family": "active_duty_family",
    "disabled_militia": "disabled_militia",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_type_has_its_sections_in_order(form: str) -> None:
    category = FORMS[form]
    view = build_form(SCHEMA, [category], {}, (), ZH)
    assert [s.key for s in view.sections] == list(SCHEMA.sections_for([category]))
    assert {s.key for s in view.sections} == set(SCHEMA.category(category).sections)
    keys = {f.key for s in view.sections for f in s.fields}
    assert keys == {f.key for f in SCHEMA.fields_for([category])} - {"subject_category"}
    assert view.sections[0].title == "基本信息"


def test_several_categories_make_one_form_with_each_ones_fields() -> None:
    view = build_form(SCHEMA, ["retired_soldier", "disabled_soldier"], {}, (), ZH)
    assert view.field("disability_level") is not None
    assert view.field("one_off_allowance_received") is not None
    assert view.field("deceased_name") is None


def test_widgets_follow_the_field_types() -> None:
    view = build_form(SCHEMA, ["retired_soldier"], {}, (), ZH)
    widgets = {
        key: view.field(key).widget  # type: ignore[union-attr]
        for key in (
            "name",
            "birth_date",
            "sex",
            "main_appeals",
            "is_disabled",
            "household_size",
            "hukou_division_code",
            "portrait_photo",
        )
    }
    assert widgets == {
        "name": Widget.TEXT,
        "birth_date": Widget.DATE,
        "sex": Widget.SELECT,
        "main_appeals": Widget.CHECKBOXES,
        "is_disabled": Widget.YESNO,
        "household_size": Widget.NUMBER,
        "hukou_division_code": Widget.DIVISION,
        "portrait_photo": Widget.PHOTO,
    }


def test_required_marks_labels_bounds_and_choices() -> None:
    view = build_form(SCHEMA, ["retired_soldier"], {}, (), ZH)
    name = view.field("name")
    assert name is not None
    assert name.required
    assert name.identity
    assert name.label == "姓名"
    former = view.field("former_name")
    assert former is not None
    assert not former.required
    size = view.field("household_size")
    assert size is not None
    assert (size.minimum, size.maximum, size.step) == ("1", "99", "1")
    division = view.field("hukou_division_code")
    assert division is not None
    assert division.pattern == r"\d{9}|\d{12}"
    sex = view.field("sex")
    assert sex is not None
    assert [o.label for o in sex.options] == [
        "未知的性别",
        "男性",
        "女性",
        "未说明的性别",
    ]
    appeals = view.field("main_appeals")
    assert appeals is not None
    assert [o.value for o in appeals.options if o.exclusive] == ["无"]


def test_english_labels_come_from_the_schema() -> None:
    view = build_form(SCHEMA, ["retired_soldier"], {}, (), EN)
    assert view.field("name").label == "Name"  # type: ignore[union-attr]
    assert view.sections[0].title == "Basic information"


def test_values_are_shown_canonical_or_as_typed() -> None:
    values = {
        "name": "张三",
        "birth_date": "1960-05-04",
        "sex": "1",
        "main_appeals": ("医疗保障", "就业创业"),
        "is_disabled": False,
        "household_size": 3,
        "household_income_per_capita": 12000.0,
        "phone": "not a number but typed",
    }
    view = build_form(SCHEMA, ["retired_soldier"], values, (), ZH)
    assert view.field("name").value == "张三"  # type: ignore[union-attr]
    assert view.field("birth_date").value == "1960-05-04"  # type: ignore[union-attr]
    assert [o.value for o in view.field("sex").options if o.selected] == ["1"]  # type: ignore[union-attr]
    chosen = [o.value for o in view.field("main_appeals").options if o.selected]  # type: ignore[union-attr]
    assert chosen == ["就业创业", "医疗保障"]
    assert [o.value for o in view.field("is_disabled").options if o.selected] == ["false"]  # type: ignore[union-attr]
    assert view.field("household_size").value == "3"  # type: ignore[union-attr]
    assert view.field("household_income_per_capita").value == "12000"  # type: ignore[union-attr]
    assert view.field("phone").value == "not a number but typed"  # type: ignore[union-attr]


def test_problems_appear_beside_their_fields_in_the_pages_language() -> None:
    values = {"subject_category": ["retired_soldier"], "birth_date": "2999-01-01"}
    problems = validate_record(
        values, SCHEMA, today=date(2026, 3, 1), divisions=Divisions.default()
    )
    view = build_form(SCHEMA, ["retired_soldier"], values, problems, ZH)
    assert view.field("birth_date").errors == ("出生日期晚于今天",)  # type: ignore[union-attr]
    assert view.field("name").errors == ("姓名为必填项",)  # type: ignore[union-attr]
    assert view.field("former_name").errors == ()  # type: ignore[union-attr]
    assert view.problem_count == len(problems)
    english = build_form(SCHEMA, ["retired_soldier"], values, problems, EN)
    assert english.field("name").errors == ("Name is required",)  # type: ignore[union-attr]


def test_problems_of_fields_not_on_the_form_go_to_the_top() -> None:
    values = {"subject_category": ["retired_soldier"], "deceased_name": "x"}
    problems = validate_record(
        values, SCHEMA, today=date(2026, 3, 1), divisions=Divisions.default()
    )
    view = build_form(SCHEMA, ["retired_soldier"], values, problems, ZH)
    assert "烈士（牺牲、病故军人）姓名不适用于该对象的类别" in view.errors


def test_read_form_takes_texts_and_lists_for_the_fields_that_apply() -> None:
    form = MultiDict(
        [
            ("name", " 张三 "),
            ("main_appeals", "医疗保障"),
            ("main_appeals", "就业创业"),
            ("deceased_name", "not for this category"),
            ("portrait_photo", "b2:" + "0" * 64),
            ("csrf_token", "x"),
        ]
    )
    values = read_form(SCHEMA, ["retired_soldier"], form)
    assert values["name"] == " 张三 "
    assert values["main_appeals"] == ["医疗保障", "就业创业"]
    assert values["other_insurance"] == []
    assert values["former_name"] is None
    assert "deceased_name" not in values
    assert "portrait_photo" not in values
    assert "subject_category" not in values
    assert "csrf_token" not in values
