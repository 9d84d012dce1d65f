"""The canonical fields a register column can be mapped to, and their header synonyms.

Registers from other departments name their columns in Chinese or English, with
suffixes such as ``（18位）`` or a required-marker ``*``. Each canonical field
(:class:`RegisterField`) lists the header texts it is known by; a header is
compared after :func:`header_key` folds width, case, spaces and such decorations.
Most fields are record fields of the schema (``name``, ``sex``, ...); ``deceased``
is a yes/no column that fills ``living_status``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from typing import Final

__all__ = [
    "DECEASED",
    "LIVING",
    "RegisterField",
    "SourceKind",
    "field_for_header",
    "header_key",
    "record_key",
    "synonyms",
]

#: The values of the schema's ``living_status`` enum.
LIVING: Final = "健在"
DECEASED: Final = "已故"


class RegisterField(enum.StrEnum):
    """A canonical field of an imported register row."""

    ID_NUMBER = "id_number"
    NAME = "name"
    SEX = "sex"
    BIRTH_DATE = "birth_date"
    ETHNICITY = "ethnicity"
    HUKOU_DIVISION_CODE = "hukou_division_code"
    HUKOU_ADDRESS = "hukou_address"
    LIVING_STATUS = "living_status"
    #: A yes/no "deceased" column; it fills ``living_status``.
    DECEASED = "deceased"
    DEATH_DATE = "death_date"
    PHONE = "phone"
    MINIMUM_LIVING_ALLOWANCE = "receives_minimum_living_allowance"
    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support"
    PERIODIC_BENEFIT = "receives_periodic_benefit"
    PENSION_INSURANCE = "pension_insurance"
    MEDICAL_INSURANCE = "medical_insurance"
    DISABILITY_LEVEL = "disability_level"
    #: Category hints (``残疾军人``, ``disabled_soldier``): the subject categories.
    CATEGORY = "subject_category"


class SourceKind(enum.StrEnum):
    """The department a register comes from; authority over fields is configured per kind.

    Values are at most 16 characters (the node stores them in a short column).
    """

    PUBLIC_SECURITY = "public_security"
    CIVIL_AFFAIRS = "civil_affairs"
    HR_SOCIAL = "hr_social"
    MEDICAL = "medical"
    HOUSING = "housing"
    PETITIONS = "petitions"
    MILITARY = "military"
    OTHER = "other"


#: Fields that exist only on the register side: compared through another field.
_NOT_RECORD_FIELDS: Final = frozenset({RegisterField.DECEASED, RegisterField.DEATH_DATE})


def record_key(field: RegisterField) -> str | None:
    """The record field a register field is compared with, or ``None`` (death date)."""
    if field is RegisterField.DECEASED:
        return RegisterField.LIVING_STATUS.value
    if field in _NOT_RECORD_FIELDS:
        return None
    return field.value


_SYNONYMS: Final[Mapping[RegisterField, tuple[str, ...]]] = {
    RegisterField.ID_NUMBER: (
        "公民身份号码", "身份证号", "身份证号码", "证件号码", "证件号", "身份证",
        "居民身份证号码", "身份号码", "id_number", "id number", "id no", "id card number",
        "identity number", "national id", "id",
    ),
    RegisterField.NAME: ("姓名", "名字", "人员姓名", "对象姓名", "name", "full name"),
    RegisterField.SEX: ("性别", "sex", "gender"),
    RegisterField.BIRTH_DATE: (
        "出生日期", "出生年月日", "出生年月", "生日", "birth_date", "birth date",
        "date of birth", "dob", "birthday",
    ),
    RegisterField.ETHNICITY: ("民族", "ethnicity", "ethnic group"),
    RegisterField.HUKOU_DIVISION_CODE: (
        "户籍地区划代码", "户籍所在地区划代码", "户籍区划代码", "户籍区划", "行政区划代码",
        "区划代码", "hukou_division_code", "hukou division code", "division code",
    ),
    RegisterField.HUKOU_ADDRESS: (
        "户籍地址", "户籍所在地", "户籍地", "户口所在地", "户籍详址", "住址", "hukou_address",
        "hukou address", "household address", "registered address", "address",
    ),
    RegisterField.LIVING_STATUS: (
        "生存状态", "人员状态", "健在状态", "living_status", "living status", "status",
    ),
    RegisterField.DECEASED: (
        "是否死亡", "是否已故", "是否去世", "死亡标识", "死亡标志", "deceased", "dead",
    ),
    RegisterField.DEATH_DATE: (
        "死亡日期", "死亡时间", "去世日期", "去世时间", "death_date", "death date",
        "date of death",
    ),
    RegisterField.PHONE: ("联系电话", "电话", "手机", "手机号码", "phone", "telephone", "mobile"),
    RegisterField.MINIMUM_LIVING_ALLOWANCE: (
        "是否享受最低生活保障", "是否享受低保", "是否低保", "享受低保", "低保",
        "receives_minimum_living_allowance", "minimum living allowance", "dibao",
    ),
    RegisterField.EXTREME_POVERTY_SUPPORT: (
        "是否纳入特困人员供养", "是否特困", "特困供养", "特困人员", "extreme_poverty_support",
        "extreme poverty support",
    ),
    RegisterField.PERIODIC_BENEFIT: (
        "是否享受国家定期抚恤补助", "是否享受定期抚恤补助", "定期抚恤补助", "定期抚恤",
        "receives_periodic_benefit", "periodic benefit",
    ),
    RegisterField.PENSION_INSURANCE: (
        "养老保险类型", "养老保险", "参保类型", "pension_insurance", "pension insurance",
    ),
    RegisterField.MEDICAL_INSURANCE: (
        "医疗保险类型", "医疗保险", "医保类型", "medical_insurance", "medical insurance",
    ),
    RegisterField.DISABILITY_LEVEL: (
        "伤残等级", "残疾等级", "disability_level", "disability level",
    ),
    RegisterField.CATEGORY: (
        "优抚对象类别", "对象类别", "人员类别", "类别", "subject_category", "subject category",
        "category",
    ),
}  # fmt: skip

#: Decorations dropped from a header: a bracketed note, a trailing colon, a star.
_NOTE: Final = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")
_DROP: Final = re.compile(r"[\s_\-*:：.·]+")


def header_key(header: str) -> str:
    """Fold a header for comparison: width, case, spaces, notes and markers removed.

    ``"公民身份号码（18位）*"``, ``"ID  Number"`` and ``"id_number"`` fold to
    ``"公民身份号码"``, ``"idnumber"`` and ``"idnumber"``.
    """
    text = unicodedata.normalize("NFKC", header).casefold()
    text = _NOTE.sub("", text)
    return _DROP.sub("", text)


_BY_KEY: Final[Mapping[str, RegisterField]] = {
    header_key(text): field for field, texts in _SYNONYMS.items() for text in texts
}


def synonyms(field: RegisterField) -> tuple[str, ...]:
    """The header texts ``field`` is known by, Chinese first."""
    return _SYNONYMS[field]


def field_for_header(header: str) -> RegisterField | None:
    """The canonical field a header names, or ``None`` when it is not a known synonym."""
    return _BY_KEY.get(header_key(header))
