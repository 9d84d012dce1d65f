"""The data-driven schema: loading, versions, overrides, fields per category."""

from __future__ import annotations

import re

import pytest

from crypto.errors import UsageError
from protocol.schema import (
    CATEGORY_FIELD,
    FieldType,
    MergePolicy,
    Schema,
    TextFormat,
    default_tables,
)

IDENTITY = {"name", "id_number", "sex", "birth_date", "ethnicity"}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.default()


def test_the_packaged_schema_loads_once(schema: Schema) -> None:
    assert Schema.default() is schema
    assert len(schema.fields) == 112
    assert len(schema.categories) == 16
    assert schema.name == "muster"


def test_the_version_is_the_name_and_a_content_hash_a_bundle_header_accepts(
    schema: Schema,
) -> None:
    assert re.fullmatch(r"muster-[0-9a-f]{16}", schema.version)
    assert re.fullmatch(r"[A-Za-z0-9._:+-]{1,80}", schema.version)


def test_the_version_follows_the_tables_content_only(schema: Schema) -> None:
    tables = default_tables()
    assert Schema.from_tables(tables).version == schema.version
    crlf = {"sex.csv": tables["sex.csv"].replace("\n", "\r\n")}
    assert Schema.from_tables(crlf).version == schema.version
    relabelled = {"sex.csv": tables["sex.csv"].replace("Not stated", "Unstated")}
    assert Schema.from_tables(relabelled).version != schema.version
    assert Schema.from_tables(tables, name="shandong-2024").version.startswith("shandong-2024-")


def test_identity_fields_always_go_to_review(schema: Schema) -> None:
    assert schema.identity_fields == IDENTITY
    for key in IDENTITY:
        assert schema.requires_review(key)
        assert schema.field(key).merge_policy is MergePolicy.REVIEW
    assert not schema.requires_review("phone")
    assert schema.field("phone").merge_policy is MergePolicy.LWW


def test_every_field_and_choice_has_an_english_label(schema: Schema) -> None:
    for field in schema.fields:
        assert field.label_en
        assert field.label_en != field.label_zh
        for choice in field.allowed:
            assert choice.label_en
            assert choice.label_en.isascii(), (field.key, choice.value)


def test_the_multi_column_replaced_the_note_text(schema: Schema) -> None:
    multi = {f.key for f in schema.fields if f.multi}
    assert multi == {
        CATEGORY_FIELD,
        "other_insurance",
        "hardship_type",
        "periodic_benefit_type",
        "preferential_treatments",
        "main_appeals",
        "document_scans",
    }
    assert all("multi-select" not in f.note for f in schema.fields)


def test_fields_carry_their_rules(schema: Schema) -> None:
    assert schema.field("id_number").text_format is TextFormat.ID_NUMBER
    assert schema.field("hukou_division_code").division_lengths == (9, 12)
    assert schema.field("household_size").integer
    assert schema.field("household_size").minimum == 1
    assert schema.field("sex").code_table == "sex.csv"
    assert schema.field("ethnicity").choice("01").label_en == "Han"  # type: ignore[union-attr]
    assert schema.field(CATEGORY_FIELD).allowed_values == schema.category_keys
    rule = schema.field("disability_level").required_when
    assert rule is not None
    assert (rule.field, rule.value) == ("is_disabled", True)
    none = schema.field("main_appeals").choice("无")
    assert none is not None
    assert none.exclusive


def test_categories_are_found_by_key_or_code(schema: Schema) -> None:
    assert schema.category("02") is schema.category("retired_soldier")
    assert schema.category("16").form == "active_family"
    with pytest.raises(UsageError, match="no such category"):
        schema.category("99")
    with pytest.raises(UsageError, match="no such field"):
        schema.field("shoe_size")


def _keys(schema: Schema, *categories: str) -> list[str]:
    return [f.key for f in schema.fields_for(categories)]


def test_a_multi_category_person_gets_the_union_in_form_order(schema: Schema) -> None:
    keys = _keys(schema, "retired_soldier", "martyr_survivor")
    assert len(keys) == len(set(keys))
    assert {"enlist_date", "deceased_name", "is_disabled"} <= set(keys)
    assert keys == [f.key for f in schema.fields if f.key in set(keys)]
    assert schema.sections_for(["retired_soldier", "martyr_survivor"]) == (
        "basic",
        "service",
        "disability",
        "survivor_relation",
        "living",
        "benefits",
        "appeals",
        "photo",
        "consent",
    )


def test_fields_follow_applies_to_and_the_categorys_sections(schema: Schema) -> None:
    soldier = set(_keys(schema, "retired_soldier"))
    assert "is_disabled" in soldier
    assert "disability_level" not in soldier  # only for disabled_soldier / disabled_militia
    assert "one_off_allowance_received" in soldier
    assert "disability_level" in _keys(schema, "disabled_soldier")
    # Categories 04/05 collect no disability section, though their form is veteran.
    assert "is_disabled" not in _keys(schema, "nonmil_retired_cadre")
    assert "orphan" in _keys(schema, "active_duty_family")
    assert "orphan" not in soldier


def test_a_sub_kind_gets_the_fields_of_the_category_it_belongs_to(schema: Schema) -> None:
    # burial_place applies to martyr_survivor; 13 is a sub-kind of 12.
    assert schema.category("wrongly_executed_child").parent_code == "12"
    assert "burial_place" in _keys(schema, "wrongly_executed_child")
    assert "rehabilitation_date" not in _keys(schema, "martyr_survivor")


def test_fields_for_accepts_codes_and_refuses_unknown_categories(schema: Schema) -> None:
    assert schema.fields_for(["02"]) == schema.fields_for(["retired_soldier"])
    with pytest.raises(UsageError, match="no such category"):
        schema.fields_for(["veteran"])


def test_a_deployment_overrides_one_table(schema: Schema) -> None:
    tables = default_tables()
    sex = tables["sex.csv"] + "3,其他性别,Other,deployment addition\n"
    custom = Schema.from_tables({"sex.csv": sex})
    assert "3" in custom.field("sex").allowed_values
    assert "3" not in schema.field("sex").allowed_values
    assert custom.version != schema.version


def test_a_deployment_adds_a_field_without_code(schema: Schema) -> None:
    fields = default_tables()["collection_fields.csv"]
    row = (
        "living,pet_count,宠物数量,Number of pets,number,integer 0..20,n,n,,all,lww,n,[inferred]\n"
    )
    custom = Schema.from_tables({"collection_fields.csv": fields + row})
    added = custom.field("pet_count")
    assert added.type is FieldType.NUMBER
    assert added.maximum == 20
    assert "pet_count" in {f.key for f in custom.fields_for(["retired_soldier"])}


def test_a_deployment_may_leave_out_the_new_columns() -> None:
    fields = default_tables()["collection_fields.csv"]
    row = "living,pet_name,宠物名,,text,,,n,,all,,,\n"
    custom = Schema.from_tables({"collection_fields.csv": fields + row})
    assert custom.field("pet_name").label_en == "pet name"
    assert custom.field("pet_name").merge_policy is MergePolicy.LWW


def test_schemas_compare_by_version(schema: Schema) -> None:
    same = Schema.from_tables({})
    assert same == schema
    assert hash(same) == hash(schema)
    assert same is not schema
    assert repr(schema) == f"Schema(version={schema.version!r}, fields=112)"


def test_the_schema_gives_the_merge_its_review_fields_and_status() -> None:
    policy = Schema.default().field_policy()
    for field in ("name", "id_number", "sex", "birth_date", "ethnicity", "_status"):
        assert policy.requires_review(field), field
    assert not policy.requires_review("phone")
