"""Validating a record's canonical values against the schema.

A record is checked against the person's categories (``subject_category``): the
fields that apply to any of them are allowed, the required ones must be filled,
each value must be canonical and allowed, dates must be real, not in the future
and in order, and the ID number must agree with the birth date and sex. Every
problem names the field in Chinese and English; docs/schema.md §5 lists the
codes. Nothing here repeats a person's values.

Validation runs on every op at the hub, so the per-category work (which fields
apply, their compiled checkers) is computed once per category set and cached
in the :class:`Schema`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Final

from protocol.divisions import Divisions
from protocol.errors import ValidationError
from protocol.schema import CATEGORY_FIELD, Applicable, FieldDef, Problem, Schema
from protocol.schema._checks import IdFacts, Reject
from protocol.schema._messages import make_problem

__all__ = ["Problem", "check_record", "validate_record", "validate_value"]

#: The fields the ID number is cross-checked against (skipped if a schema lacks them).
ID_NUMBER_FIELD: Final = "id_number"
BIRTH_DATE_FIELD: Final = "birth_date"
SEX_FIELD: Final = "sex"
_SEXES_IN_ID: Final = frozenset({"1", "2"})
#: An unknown key is quoted in messages only if it looks like a field key.
_SAFE_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_UNNAMED: Final = "?"


def _plan(schema: Schema, categories: object) -> tuple[Applicable, bool]:
    """Return what applies to the record's categories, and whether they were usable.

    With no usable category every field is allowed (so each value is still
    checked) but only the fields every category requires are required.
    """
    if type(categories) is list or type(categories) is tuple:
        keys = schema.category_keys
        known = [c for c in categories if type(c) is str and c in keys]
        if known:
            return schema.applicable(known), True
    return schema.applicable(c.key for c in schema.categories), False


def _unknown(key: object, schema: Schema) -> Problem:
    if isinstance(key, str) and schema.has_field(key):
        return make_problem(key, schema.field(key), "not_applicable")
    safe = key if isinstance(key, str) and _SAFE_KEY.fullmatch(key) else _UNNAMED
    return make_problem(safe, None, "unknown_field")


def _required(plan: Applicable, missing: frozenset[str], usable: bool) -> list[Problem]:
    every = plan.categories
    return [
        make_problem(f.key, f, "required")
        for f in plan.required
        if f.key in missing and (usable or f.categories >= every)
    ]


def _conditional(
    plan: Applicable, values: Mapping[str, object], typed: Mapping[str, object]
) -> list[Problem]:
    problems = []
    for field in plan.conditional:
        rule = field.required_when
        assert rule is not None  # Applicable.conditional holds only such fields
        if (
            values.get(field.key) is None
            and rule.field in typed
            and typed[rule.field] == rule.value
        ):
            trigger = plan.by_key[rule.field]
            problems.append(
                make_problem(
                    field.key, field, "required_if", **_condition_words(trigger, rule.value)
                )
            )
    return problems


def _condition_words(trigger: FieldDef, value: str | bool) -> dict[str, str]:
    if isinstance(value, bool):
        zh, en = ("是", "true") if value else ("否", "false")
    else:
        choice = trigger.choice(value)
        zh, en = (choice.label_zh, choice.label_en) if choice else (value, value)
    return {
        "other_zh": trigger.label_zh,
        "other_en": trigger.label_en,
        "value_zh": zh,
        "value_en": en,
    }


def _date_order(plan: Applicable, typed: Mapping[str, object]) -> list[Problem]:
    problems = []
    for rule in plan.date_rules:
        earlier, later = typed.get(rule.earlier), typed.get(rule.later)
        if not isinstance(earlier, date) or not isinstance(later, date):
            continue
        if later < earlier or (rule.strict and later == earlier):
            first, second = plan.by_key[rule.earlier], plan.by_key[rule.later]
            code = "date_order" if rule.strict else "date_order_or_same"
            problems.append(
                make_problem(
                    second.key, second, code, other_zh=first.label_zh, other_en=first.label_en
                )
            )
    return problems


def _id_agreement(plan: Applicable, typed: Mapping[str, object]) -> list[Problem]:
    number = typed.get(ID_NUMBER_FIELD)
    if not isinstance(number, IdFacts):
        return []
    id_field = plan.by_key[ID_NUMBER_FIELD]
    words = {"other_zh": id_field.label_zh, "other_en": id_field.label_en}
    problems = []
    born = typed.get(BIRTH_DATE_FIELD)
    if isinstance(born, date) and born != number.birth_date:
        field = plan.by_key[BIRTH_DATE_FIELD]
        problems.append(make_problem(field.key, field, "id_number_birth_mismatch", **words))
    sex = typed.get(SEX_FIELD)
    if sex in _SEXES_IN_ID and sex != number.sex_code:
        field = plan.by_key[SEX_FIELD]
        problems.append(make_problem(field.key, field, "id_number_sex_mismatch", **words))
    return problems


def validate_record(
    values: Mapping[str, object],
    schema: Schema,
    *,
    today: date,
    divisions: Divisions,
    complete: bool = True,
) -> tuple[Problem, ...]:
    """Return every problem of a record's canonical values (empty when it is valid).

    Args:
        values: field key → canonical value (``None`` or absent means not filled).
        schema: the schema the record claims to follow.
        today: the date against which "not in the future" is judged.
        divisions: the division table for ID-number address codes and division fields.
        complete: whether required fields must be filled; False checks only the values
            given and the rules between them (a baseline record, completed later).

    Returns:
        The problems, in form order of their fields (unknown keys last).
    """
    plan, usable = _plan(schema, values.get(CATEGORY_FIELD))
    checkers = plan.checkers
    problems: list[Problem] = []
    typed: dict[str, object] = {}
    blank: list[str] = []
    for key, value in values.items():
        check = checkers.get(key)
        if check is None:
            problems.append(_unknown(key, schema))
        elif value is None:
            blank.append(key)
        else:
            try:
                typed[key] = check(value, today, divisions)
            except Reject as reject:
                problems.append(make_problem(key, plan.by_key[key], reject.code, **reject.params))
    if complete:
        missing = plan.required_keys.difference(values.keys())
        if blank:
            missing |= plan.required_keys.intersection(blank)
        if missing:
            problems += _required(plan, missing, usable)
        if plan.conditional:
            problems += _conditional(plan, values, typed)
    if plan.date_rules:
        problems += _date_order(plan, typed)
    if ID_NUMBER_FIELD in typed:
        problems += _id_agreement(plan, typed)
    if len(problems) > 1:
        problems.sort(key=lambda p: schema.position(p.field))
    return tuple(problems)


def check_record(
    values: Mapping[str, object], schema: Schema, *, today: date, divisions: Divisions
) -> None:
    """Validate a record and raise if it has any problem.

    Raises:
        ValidationError: with ``problems`` listing every problem found.
    """
    problems = validate_record(values, schema, today=today, divisions=divisions)
    if problems:
        fields = sorted({p.field for p in problems})
        raise ValidationError(
            f"record: expected no problems, found {len(problems)} in {len(fields)} fields",
            problems=problems,
            fields=fields,
        )


def validate_value(
    key: str, value: object, schema: Schema, *, today: date, divisions: Divisions
) -> Problem | None:
    """Return the problem of one field's value on its own, or ``None``.

    Checks what needs no other field: the key exists, the value is canonical,
    of the right type and allowed, dates are real and not after ``today``, ID
    numbers and division codes are valid. Applicability, requirements and
    cross-field rules need the whole record (:func:`validate_record`).
    """
    if not schema.has_field(key):
        return _unknown(key, schema)
    if value is None:
        return None
    try:
        schema.checker(key)(value, today, divisions)
    except Reject as reject:
        return make_problem(key, schema.field(key), reject.code, **reject.params)
    return None
