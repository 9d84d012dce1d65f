"""Problem codes and their messages, in Chinese and English.

A message names the field (by its labels) and the rule; it never contains the
person's values. ``{zh}`` and ``{en}`` stand for the field's labels; other
placeholders are filled from schema facts (other labels, bounds, lengths).
"""

from __future__ import annotations

from typing import Final

from protocol.schema._model import FieldDef, Problem

__all__ = ["MESSAGES", "make_problem"]

#: Every problem code with its Chinese and English message templates.
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "unknown_field": ("{zh}不是本表的字段", "{en} is not a field of the schema"),
    "not_applicable": (
        "{zh}不适用于该对象的类别",
        "{en} does not apply to the person's categories",
    ),
    "required": ("{zh}为必填项", "{en} is required"),
    "required_if": (
        "{other_zh}为“{value_zh}”时{zh}为必填项",
        "{en} is required when {other_en} is {value_en}",
    ),
    "type": ("{zh}的数据类型不正确，应为{type_zh}", "{en} has the wrong type: expected {type_en}"),
    "not_canonical": (
        "{zh}的格式不规范（首尾空白、未规范化、未排序或为空）",
        "{en} is not in canonical form (untrimmed, not NFC, unsorted or empty)",
    ),
    "not_allowed": ("{zh}的取值不在允许范围内", "{en} is not one of the allowed values"),
    "exclusive": (
        "{zh}选择“{value_zh}”时不能再选其他项",
        "{en}: {value_en} cannot be combined with other choices",
    ),
    "invalid_date": ("{zh}不是有效日期（{pattern}）", "{en} is not a valid date ({pattern})"),
    "future_date": ("{zh}晚于今天", "{en} is after today"),
    "date_order": ("{zh}应晚于{other_zh}", "{en} must be after {other_en}"),
    "date_order_or_same": ("{zh}不应早于{other_zh}", "{en} must not be before {other_en}"),
    "not_finite": ("{zh}不是有效数字", "{en} is not a finite number"),
    "not_integer": ("{zh}应为整数", "{en} must be a whole number"),
    "out_of_range": ("{zh}超出允许范围（{bounds}）", "{en} is out of range ({bounds})"),
    "blob_ref": (
        "{zh}应为文件引用（b2:加64位十六进制）",
        "{en} must be a blob reference (b2: and 64 hex digits)",
    ),
    "division_length": (
        "{zh}应为{lengths}位区划代码",
        "{en} must be a {lengths}-digit division code",
    ),
    "division_code": ("{zh}不是有效的区划代码", "{en} is not a valid division code"),
    "id_number_empty": ("{zh}为空", "{en} is empty"),
    "id_number_length": ("{zh}应为18位", "{en} must have 18 characters"),
    "id_number_characters": (
        "{zh}应为17位数字加1位数字或X",
        "{en} must be 17 digits and a digit or X",
    ),
    "id_number_birth_date": (
        "{zh}第7-14位不是有效的出生日期",
        "{en}: digits 7-14 are not a real birth date",
    ),
    "id_number_check_digit": ("{zh}校验码错误", "{en}: the check character does not match"),
    "id_number_future_birth_date": (
        "{zh}中的出生日期晚于今天",
        "{en}: the birth date in digits 7-14 is after today",
    ),
    "id_number_division": (
        "{zh}的地址码（前6位）不是已知的区划代码",
        "{en}: digits 1-6 are not a known division code",
    ),
    "id_number_birth_mismatch": ("{zh}与{other_zh}不一致", "{en} disagrees with the {other_en}"),
    "id_number_sex_mismatch": ("{zh}与{other_zh}不一致", "{en} disagrees with the {other_en}"),
}

_TYPE_NAMES: Final = {
    "text": ("文本", "text"),
    "date": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "code": ("代码", "a code"),
    "enum": ("选项", "a choice"),
    "bool": ("是或否", "true or false"),
    "number": ("数字", "a number"),
    "photo": ("文件引用", "a blob reference"),
    "list": ("选项列表", "a list of choices"),
}


def type_names(name: str) -> dict[str, str]:
    """Return the ``type_zh``/``type_en`` parameters for a type name."""
    zh, en = _TYPE_NAMES[name]
    return {"type_zh": zh, "type_en": en}


def make_problem(key: str, field: FieldDef | None, code: str, **params: str) -> Problem:
    """Return the problem ``code`` for ``field`` (``None`` for an unknown key)."""
    zh, en = MESSAGES[code]
    if field is None:
        # An unknown field is named by its key, quoted as sent (not capitalised).
        return Problem(
            field=key,
            code=code,
            message_zh=zh.format(zh=key, **params),
            message_en=en.format(en=key, **params),
        )
    english = en.format(en=field.label_en, **params)
    return Problem(
        field=key,
        code=code,
        message_zh=zh.format(zh=field.label_zh, **params),
        message_en=english[:1].upper() + english[1:],
    )
