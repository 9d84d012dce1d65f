"""Building the schema's values from its CSV tables, checking they agree.

The tables (docs/schema.md describes each column):

* ``collection_fields.csv``: one row per field;
* ``subject_categories.csv``: the categories, their forms and sections;
* ``enum_labels.csv``: English labels (and the exclusive flag) of enum values;
* ``date_rules.csv``: pairs of date fields that must be in order;
* the code tables the fields name (``sex.csv``, ``ethnicity.csv``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from protocol.errors import SchemaDefinitionError
from protocol.schema._model import (
    ALL,
    Choice,
    DateRule,
    FieldDef,
    FieldType,
    MergePolicy,
    RequiredWhen,
    SubjectCategory,
    TextFormat,
)
from protocol.schema._tables import Row, read_table, unique

__all__ = [
    "CATEGORIES_TABLE",
    "CATEGORY_FIELD",
    "DATE_RULES_TABLE",
    "ENUM_LABELS_TABLE",
    "FIELDS_TABLE",
    "Built",
    "build",
]

FIELDS_TABLE: Final = "collection_fields.csv"
CATEGORIES_TABLE: Final = "subject_categories.csv"
ENUM_LABELS_TABLE: Final = "enum_labels.csv"
DATE_RULES_TABLE: Final = "date_rules.csv"
#: The field holding a person's category keys; it decides which fields apply.
CATEGORY_FIELD: Final = "subject_category"
ADMIN_DIVISION: Final = "admin_division"

_DIVISION_RULE: Final = re.compile(r"admin_division(?::((?:6|9|12)(?:\|(?:6|9|12))*))?")
_NUMBER_RULE: Final = re.compile(r"(integer\s+)?(-?[0-9.]*)\.\.(-?[0-9.]*)")
_FORMAT_PREFIX: Final = "format:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """What the tables define, checked for consistency."""

    categories: tuple[SubjectCategory, ...]
    fields: tuple[FieldDef, ...]
    date_rules: tuple[DateRule, ...]
    #: The tables the schema was built from (the version hashes exactly these).
    used_tables: tuple[str, ...]


def _table(tables: Mapping[str, str], name: str, row: Row | None = None) -> str:
    if name in tables:
        return tables[name]
    if row is None:
        raise SchemaDefinitionError(f"{name}: expected this table, it is missing", table=name)
    raise row.fail("allowed_values", f"expected a known code table, saw {name!r}")


def _categories(text: str) -> tuple[SubjectCategory, ...]:
    rows = read_table(
        CATEGORIES_TABLE, text, required=("code", "key", "name_zh", "form", "sections")
    )
    unique(rows, "code")
    unique(rows, "key")
    codes = {row.get("code") for row in rows}
    built = []
    for row in rows:
        parent = row.get("parent_code") or None
        if parent is not None and parent not in codes:
            raise row.fail("parent_code", f"expected a category code, saw {parent!r}")
        built.append(
            SubjectCategory(
                code=row.nonempty("code"),
                key=row.nonempty("key"),
                name_zh=row.nonempty("name_zh"),
                name_en=row.get("name_en") or row.get("name_zh"),
                form=row.nonempty("form"),
                sections=tuple(s.strip() for s in row.nonempty("sections").split("|")),
                parent_code=parent,
            )
        )
    # A form may share its name with a category key only if both mean the same
    # people (disabled_militia), or applies_to would be ambiguous.
    by_key = {c.key: c for c in built}
    for row, category in zip(rows, built, strict=True):
        same = by_key.get(category.form)
        if same is not None and same is not category:
            raise row.fail("form", f"form {category.form!r} is also another category's key")
    return tuple(built)


def _code_choices(name: str, text: str) -> tuple[Choice, ...]:
    rows = read_table(name, text, required=("code", "name_zh"))
    # A table with a ``key`` column (the categories) is referred to by key.
    column = "key" if rows and "key" in rows[0].cells else "code"
    unique(rows, column)
    return tuple(
        Choice(
            value=row.nonempty(column),
            label_zh=row.nonempty("name_zh"),
            label_en=row.get("name_en") or row.get("name_zh"),
        )
        for row in rows
    )


#: (field key or "", value) → the label row; "" rows apply to every field.
_Labels = dict[tuple[str, str], Row]


def _enum_labels(text: str) -> _Labels:
    rows = read_table(ENUM_LABELS_TABLE, text, required=("field_key", "value", "label_en"))
    labels: _Labels = {}
    for row in rows:
        key = (row.get("field_key"), row.nonempty("value"))
        if key in labels:
            raise row.fail("value", f"duplicate label for {key[1]!r}")
        row.nonempty("label_en")
        row.flag("exclusive")
        labels[key] = row
    return labels


def _enum_choices(row: Row, field_key: str, labels: _Labels) -> tuple[Choice, ...]:
    values = [v.strip() for v in row.nonempty("allowed_values").split("|")]
    if "" in values or len(set(values)) != len(values):
        raise row.fail("allowed_values", "expected distinct, non-empty values separated by |")
    choices = []
    for value in values:
        label = labels.get((field_key, value)) or labels.get(("", value))
        choices.append(
            Choice(
                value=value,
                label_zh=(label and label.get("label_zh")) or value,
                label_en=label.get("label_en") if label else value,
                exclusive=label.flag("exclusive") if label else False,
            )
        )
    return tuple(choices)


def _check_label_fields(labels: _Labels, by_key: Mapping[str, FieldDef]) -> None:
    for (field_key, value), row in labels.items():
        field = by_key.get(field_key) if field_key else None
        if field_key and (field is None or field.type is not FieldType.ENUM):
            raise row.fail("field_key", f"expected an enum field key, saw {field_key!r}")
        if field is not None and value not in field.allowed_values:
            raise row.fail("value", f"{value!r} is not an allowed value of {field_key}")


def _number_bounds(row: Row) -> dict[str, object]:
    rule = row.get("allowed_values")
    if not rule:
        return {}
    match = _NUMBER_RULE.fullmatch(rule)
    try:
        low, high = (float(b) if b else None for b in match.groups()[1:]) if match else (0, 0)
    except ValueError:
        match = None
    if match is None or any(b is not None and not math.isfinite(b) for b in (low, high)):
        raise row.fail("allowed_values", f"expected '[integer ]MIN..MAX', saw {rule!r}")
    if low is not None and high is not None and low > high:
        raise row.fail("allowed_values", f"expected MIN <= MAX, saw {rule!r}")
    return {"minimum": low, "maximum": high, "integer": match.group(1) is not None}


def _allowed(
    row: Row, kind: FieldType, tables: Mapping[str, str], labels: _Labels, used: list[str]
) -> dict[str, object]:
    """Return the FieldDef arguments that the ``allowed_values`` cell defines."""
    rule = row.get("allowed_values")
    if kind is FieldType.ENUM:
        return {"allowed": _enum_choices(row, row.get("field_key"), labels)}
    if kind is FieldType.CODE:
        division = _DIVISION_RULE.fullmatch(rule)
        if division is not None:
            lengths = division.group(1) or "6|9|12"
            return {
                "code_table": ADMIN_DIVISION,
                "division_lengths": tuple(sorted({int(n) for n in lengths.split("|")})),
            }
        if not rule.endswith(".csv"):
            raise row.fail("allowed_values", f"expected a code table file name, saw {rule!r}")
        used.append(rule)
        return {"code_table": rule, "allowed": _code_choices(rule, _table(tables, rule, row))}
    if kind is FieldType.TEXT and rule:
        try:
            return {"text_format": TextFormat(rule.removeprefix(_FORMAT_PREFIX))}
        except ValueError:
            formats = ", ".join(_FORMAT_PREFIX + f for f in TextFormat)
            raise row.fail("allowed_values", f"expected one of {formats}, saw {rule!r}") from None
    if kind is FieldType.NUMBER:
        return _number_bounds(row)
    if rule:
        raise row.fail("allowed_values", f"expected an empty cell for a {kind} field")
    return {}


def _field(row: Row, tables: Mapping[str, str], labels: _Labels, used: list[str]) -> FieldDef:
    key = row.nonempty("field_key")
    try:
        kind = FieldType(row.nonempty("type"))
    except ValueError:
        raise row.fail("type", f"expected one of {', '.join(FieldType)}") from None
    identity = row.flag("identity")
    policy_cell = row.get("merge_policy")
    try:
        policy = MergePolicy(policy_cell) if policy_cell else None
    except ValueError:
        raise row.fail("merge_policy", "expected review or lww") from None
    if policy is MergePolicy.LWW and identity:
        raise row.fail("merge_policy", "identity fields always go to review, saw lww")
    multi = row.flag("multi")
    if multi and kind not in (FieldType.ENUM, FieldType.CODE, FieldType.PHOTO):
        raise row.fail("multi", f"only enum, code and photo fields can be multi, not {kind}")
    return FieldDef(
        section=row.nonempty("section"),
        key=key,
        label_zh=row.nonempty("label_zh"),
        label_en=row.get("label_en") or key.replace("_", " "),
        type=kind,
        required=row.flag("required"),
        applies_to=frozenset(t.strip() for t in row.nonempty("applies_to").split("|")),
        multi=multi,
        merge_policy=policy or (MergePolicy.REVIEW if identity else MergePolicy.LWW),
        identity=identity,
        note=row.get("note"),
        **_allowed(row, kind, tables, labels, used),  # type: ignore[arg-type]
    )


def _descends(
    category: SubjectCategory, token: str, by_code: Mapping[str, SubjectCategory]
) -> bool:
    """Return whether ``token`` names ``category``, its form, or a category it is a sub-kind of."""
    current: SubjectCategory | None = category
    if token in (ALL, category.form):
        return True
    while current is not None:
        if current.key == token:
            return True
        current = by_code.get(current.parent_code) if current.parent_code else None
    return False


def _resolve(row: Row, field: FieldDef, categories: tuple[SubjectCategory, ...]) -> FieldDef:
    tokens = {ALL} | {c.form for c in categories} | {c.key for c in categories}
    for token in sorted(field.applies_to):
        if token not in tokens:
            raise row.fail("applies_to", f"expected all, a form or a category key, saw {token!r}")
    if not any(field.section in c.sections for c in categories):
        raise row.fail("section", f"no category collects section {field.section!r}")
    by_code = {c.code: c for c in categories}
    applies = frozenset(
        c.key
        for c in categories
        if field.section in c.sections
        and any(_descends(c, token, by_code) for token in field.applies_to)
    )
    if not applies:
        raise row.fail("applies_to", f"no category it names collects section {field.section!r}")
    return replace(field, categories=applies)


def _condition(row: Row, by_key: Mapping[str, FieldDef]) -> RequiredWhen | None:
    cell = row.get("required_when")
    if not cell:
        return None
    trigger_key, sep, raw = (part.strip() for part in cell.partition("="))
    trigger = by_key.get(trigger_key)
    if not sep or trigger is None:
        raise row.fail("required_when", f"expected FIELD=VALUE naming a field, saw {cell!r}")
    if trigger.type is FieldType.BOOL and raw in ("true", "false"):
        return RequiredWhen(field=trigger_key, value=raw == "true")
    if not trigger.multi and raw in trigger.allowed_values:
        return RequiredWhen(field=trigger_key, value=raw)
    raise row.fail("required_when", f"{raw!r} is not a value of {trigger_key}")


def _date_rules(text: str, by_key: Mapping[str, FieldDef]) -> tuple[DateRule, ...]:
    rules = []
    for row in read_table(DATE_RULES_TABLE, text, required=("earlier", "relation", "later")):
        for column in ("earlier", "later"):
            target = by_key.get(row.get(column))
            if target is None or target.type is not FieldType.DATE:
                raise row.fail(column, f"expected a date field, saw {row.get(column)!r}")
        relation = row.get("relation")
        if relation not in ("<", "<="):
            raise row.fail("relation", f"expected < or <=, saw {relation!r}")
        rules.append(
            DateRule(earlier=row.get("earlier"), later=row.get("later"), strict=relation == "<")
        )
    return tuple(rules)


def build(tables: Mapping[str, str]) -> Built:
    """Build and cross-check the schema values from complete ``tables``.

    Raises:
        SchemaDefinitionError: a table is missing or inconsistent, naming the
            file, line and column.
    """
    categories = _categories(_table(tables, CATEGORIES_TABLE))
    labels = _enum_labels(_table(tables, ENUM_LABELS_TABLE))
    rows = read_table(
        FIELDS_TABLE,
        _table(tables, FIELDS_TABLE),
        required=("section", "field_key", "label_zh", "type", "required", "applies_to"),
    )
    unique(rows, "field_key")
    used = [CATEGORIES_TABLE, ENUM_LABELS_TABLE, FIELDS_TABLE, DATE_RULES_TABLE]
    fields = [_resolve(row, _field(row, tables, labels, used), categories) for row in rows]
    by_key = {f.key: f for f in fields}
    fields = [
        replace(f, required_when=_condition(row, by_key))
        for row, f in zip(rows, fields, strict=True)
    ]
    by_key = {f.key: f for f in fields}
    _check_category_field(by_key)
    _check_label_fields(labels, by_key)
    return Built(
        categories=categories,
        fields=tuple(fields),
        date_rules=_date_rules(_table(tables, DATE_RULES_TABLE), by_key),
        used_tables=tuple(sorted(set(used))),
    )


def _check_category_field(by_key: Mapping[str, FieldDef]) -> None:
    field = by_key.get(CATEGORY_FIELD)
    if field is None or field.code_table != CATEGORIES_TABLE or not field.multi:
        raise SchemaDefinitionError(
            f"{FIELDS_TABLE}: expected a multi-valued code field {CATEGORY_FIELD} "
            f"drawing on {CATEGORIES_TABLE}",
            table=FIELDS_TABLE,
            column="field_key",
        )
