"""Inconsistent schema tables: each case names the file, the line and the column."""

from __future__ import annotations

import csv
import io

import pytest

from protocol.errors import SchemaDefinitionError
from protocol.schema import Schema, default_tables


def _edit(table: str, key_column: str, key: str, column: str, value: str) -> tuple[str, int]:
    """Return ``table`` with one cell changed, and the line that cell is on."""
    rows = list(csv.reader(io.StringIO(default_tables()[table])))
    header = rows[0]
    for index, row in enumerate(rows):
        if index and row[header.index(key_column)] == key:
            row[header.index(column)] = value
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            return out.getvalue(), index + 1
    raise AssertionError(f"{key} not in {table}")


def _refused(tables: dict[str, str], expected: str) -> SchemaDefinitionError:
    with pytest.raises(SchemaDefinitionError) as caught:
        Schema.from_tables(tables)
    assert caught.value.message == expected
    return caught.value


FIELDS = "collection_fields.csv"
CATEGORIES = "subject_categories.csv"


def _field_cell(key: str, column: str, value: str) -> tuple[dict[str, str], int]:
    text, line = _edit(FIELDS, "field_key", key, column, value)
    return {FIELDS: text}, line


def test_an_unknown_code_table_is_named() -> None:
    tables, line = _field_cell("political_status", "allowed_values", "party.csv")
    error = _refused(
        tables,
        f"{FIELDS} line {line}, column allowed_values: expected a known code table, "
        "saw 'party.csv'",
    )
    assert error.fields == {"table": FIELDS, "line": line, "column": "allowed_values"}


def test_applies_to_naming_an_unknown_category_is_refused() -> None:
    tables, line = _field_cell("enlist_date", "applies_to", "veteran|veterans")
    _refused(
        tables,
        f"{FIELDS} line {line}, column applies_to: expected all, a form or a category key, "
        "saw 'veterans'",
    )


def test_a_duplicate_field_key_is_refused() -> None:
    tables, line = _field_cell("former_name", "field_key", "name")
    _refused(tables, f"{FIELDS} line {line}, column field_key: duplicate 'name' (first on line 3)")


def test_a_duplicate_category_code_is_refused() -> None:
    text, line = _edit(CATEGORIES, "key", "retired_soldier", "code", "01")
    _refused(
        {CATEGORIES: text},
        f"{CATEGORIES} line {line}, column code: duplicate '01' (first on line 2)",
    )


def test_an_unknown_parent_category_is_refused() -> None:
    text, line = _edit(CATEGORIES, "key", "west_route_red_army", "parent_code", "77")
    _refused(
        {CATEGORIES: text},
        f"{CATEGORIES} line {line}, column parent_code: expected a category code, saw '77'",
    )


def test_a_form_name_that_is_another_categorys_key_is_refused() -> None:
    text, line = _edit(CATEGORIES, "key", "retired_officer", "form", "retired_soldier")
    _refused(
        {CATEGORIES: text},
        f"{CATEGORIES} line {line}, column form: form 'retired_soldier' is also another "
        "category's key",
    )


def test_an_unknown_type_is_refused() -> None:
    tables, line = _field_cell("phone", "type", "telephone")
    _refused(
        tables,
        f"{FIELDS} line {line}, column type: expected one of text, date, code, enum, bool, "
        "number, photo",
    )


def test_a_flag_other_than_y_or_n_is_refused() -> None:
    tables, line = _field_cell("phone", "required", "yes")
    _refused(tables, f"{FIELDS} line {line}, column required: expected y or n, saw 'yes'")


def test_a_missing_column_is_refused() -> None:
    text = default_tables()[FIELDS].replace("applies_to", "applies", 1)
    _refused(
        {FIELDS: text}, f"{FIELDS} line 1, column applies_to: expected this column in the header"
    )


def test_an_identity_field_cannot_be_last_writer_wins() -> None:
    tables, line = _field_cell("ethnicity", "merge_policy", "lww")
    _refused(
        tables,
        f"{FIELDS} line {line}, column merge_policy: identity fields always go to review, saw lww",
    )


def test_only_choice_and_photo_fields_can_be_multi() -> None:
    tables, line = _field_cell("lonely_elder", "multi", "y")
    _refused(
        tables,
        f"{FIELDS} line {line}, column multi: "
        "only enum, code and photo fields can be multi, not bool",
    )


def test_required_when_must_name_a_field_and_one_of_its_values() -> None:
    tables, line = _field_cell("informant_name", "required_when", "informant=false")
    _refused(
        tables,
        f"{FIELDS} line {line}, column required_when: expected FIELD=VALUE naming a field, "
        "saw 'informant=false'",
    )
    tables, line = _field_cell("informant_name", "required_when", "informant_is_self=maybe")
    _refused(
        tables,
        f"{FIELDS} line {line}, column required_when: 'maybe' is not a value of informant_is_self",
    )


def test_a_date_rule_must_name_date_fields() -> None:
    rules = default_tables()["date_rules.csv"] + "birth_date,<,phone,[inferred]\n"
    _refused(
        {"date_rules.csv": rules},
        "date_rules.csv line 13, column later: expected a date field, saw 'phone'",
    )


def test_a_date_rule_relation_is_lt_or_le() -> None:
    rules = default_tables()["date_rules.csv"] + "birth_date,>,collect_date,[inferred]\n"
    _refused(
        {"date_rules.csv": rules},
        "date_rules.csv line 13, column relation: expected < or <=, saw '>'",
    )


def test_a_section_no_category_collects_is_refused() -> None:
    tables, line = _field_cell("phone", "section", "contact")
    _refused(
        tables, f"{FIELDS} line {line}, column section: no category collects section 'contact'"
    )


def test_an_enum_with_a_repeated_value_is_refused() -> None:
    tables, line = _field_cell("hukou_type", "allowed_values", "农业户口|农业户口")
    _refused(
        tables,
        f"{FIELDS} line {line}, column allowed_values: expected distinct, non-empty values "
        "separated by |",
    )


def test_a_malformed_number_range_is_refused() -> None:
    tables, line = _field_cell("household_size", "allowed_values", "1 to 99")
    _refused(
        tables,
        f"{FIELDS} line {line}, column allowed_values: "
        "expected '[integer ]MIN..MAX', saw '1 to 99'",
    )
    tables, line = _field_cell("household_size", "allowed_values", "9..1")
    _refused(
        tables, f"{FIELDS} line {line}, column allowed_values: expected MIN <= MAX, saw '9..1'"
    )


def test_an_unknown_text_format_is_refused() -> None:
    tables, line = _field_cell("phone", "allowed_values", "format:e164")
    _refused(
        tables,
        f"{FIELDS} line {line}, column allowed_values: expected one of format:gb11643, "
        "format:yyyymmdd_or_long_term, saw 'format:e164'",
    )


def test_an_enum_label_for_an_unknown_field_is_refused() -> None:
    labels = default_tables()["enum_labels.csv"] + "shoe_size,42,,Forty-two,n\n"
    lines = labels.count("\n")
    _refused(
        {"enum_labels.csv": labels},
        f"enum_labels.csv line {lines}, column field_key: "
        "expected an enum field key, saw 'shoe_size'",
    )


def test_the_category_field_must_exist() -> None:
    tables, _ = _field_cell("subject_category", "multi", "n")
    _refused(
        tables,
        f"{FIELDS}: expected a multi-valued code field subject_category drawing on {CATEGORIES}",
    )


def test_a_table_the_schema_does_not_use_is_refused() -> None:
    _refused(
        {"ranks.csv": "code,name_zh\n1,列兵\n"}, "ranks.csv: the schema does not use this table"
    )


def test_a_row_longer_than_the_header_is_refused() -> None:
    text = default_tables()["sex.csv"] + "3,x,y,z,extra\n"
    _refused({"sex.csv": text}, "sex.csv line 6, column -: row has more cells than the header")


def test_a_schema_name_must_fit_a_version_id() -> None:
    with pytest.raises(SchemaDefinitionError, match="schema name: expected ASCII"):
        Schema.from_tables({}, name="山东")
