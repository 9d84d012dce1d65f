"""The value types of the schema: field definitions, categories, choices and rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from crypto.errors import UsageError
from protocol.errors import SchemaDefinitionError

__all__ = [
    "ALL",
    "Choice",
    "DateRule",
    "FieldDef",
    "FieldType",
    "MergePolicy",
    "Problem",
    "RequiredWhen",
    "SubjectCategory",
    "TextFormat",
]

#: The ``applies_to`` token for fields every category collects.
ALL: Final = "all"
_KEY: Final = re.compile(r"[a-z][a-z0-9_]*")


class FieldType(StrEnum):
    """The kind of value a field holds; the canonical encoding follows from it."""

    TEXT = "text"
    DATE = "date"
    CODE = "code"
    ENUM = "enum"
    BOOL = "bool"
    NUMBER = "number"
    PHOTO = "photo"


class MergePolicy(StrEnum):
    """How concurrent edits of a field are settled (ARCHITECTURE §4)."""

    #: Always sent to an administrator (identity fields).
    REVIEW = "review"
    #: Last writer (by hybrid logical clock) wins, recorded and reviewable.
    LWW = "lww"


class TextFormat(StrEnum):
    """A format rule a text field must follow."""

    #: A GB 11643-1999 national ID number, 18 characters.
    ID_NUMBER = "gb11643"
    #: An ID card's expiry: ``YYYYMMDD`` or ``长期`` (no expiry).
    CARD_EXPIRY = "yyyymmdd_or_long_term"


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise SchemaDefinitionError(what)


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One allowed value of an enum or code field, with its labels.

    ``exclusive`` marks a choice (``无``, "none") that a multi-select field may
    not combine with any other.
    """

    value: str
    label_zh: str
    label_en: str
    exclusive: bool = False

    def __post_init__(self) -> None:
        _require(
            bool(self.value and self.label_zh and self.label_en), "choice: empty value or label"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredWhen:
    """A conditional requirement: the field is required when ``field`` equals ``value``."""

    field: str
    value: str | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldDef:
    """One field of the collection forms, as defined by a row of collection_fields.csv.

    Attributes:
        section: the form section the field belongs to.
        key: the snake_case field key used in records and ops.
        label_zh: the Chinese label shown on forms and in problems.
        label_en: the English label.
        type: the kind of value.
        allowed: the allowed choices of an enum or code field, in table order.
        code_table: the code table (``sex.csv``) or ``admin_division`` the choices
            come from; ``None`` for plain enums and other types.
        required: whether every person the field applies to must have it.
        applies_to: the table's tokens: ``all``, form names or category keys.
        categories: the category keys the field applies to, resolved from
            ``applies_to`` and each category's sections.
        multi: whether the value is a set of choices (a sorted list).
        merge_policy: how concurrent edits are settled.
        identity: whether the field identifies the person (always reviewed).
        note: provenance and remarks from the table.
        required_when: a conditional requirement, if any.
        text_format: the format rule of a text field, if any.
        division_lengths: the code lengths an ``admin_division`` field accepts.
        minimum: the lowest allowed number, if bounded.
        maximum: the highest allowed number, if bounded.
        integer: whether a number must be whole.
    """

    section: str
    key: str
    label_zh: str
    label_en: str
    type: FieldType
    allowed: tuple[Choice, ...] = ()
    code_table: str | None = None
    required: bool = False
    applies_to: frozenset[str] = frozenset({ALL})
    categories: frozenset[str] = frozenset()
    multi: bool = False
    merge_policy: MergePolicy = MergePolicy.LWW
    identity: bool = False
    note: str = ""
    required_when: RequiredWhen | None = None
    text_format: TextFormat | None = None
    division_lengths: tuple[int, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        _require(_KEY.fullmatch(self.key) is not None, "field key: expected snake_case")
        _require(bool(self.section and self.label_zh and self.label_en), "field: empty label")
        choosing = self.type in (FieldType.ENUM, FieldType.CODE)
        _require(
            choosing == bool(self.allowed or self.division_lengths),
            f"field {self.key}: enum and code fields (only) need allowed values",
        )
        _require(
            not self.multi or choosing or self.type is FieldType.PHOTO,
            f"field {self.key}: only enum, code and photo fields can be multi-valued",
        )
        _require(
            not self.identity or self.merge_policy is MergePolicy.REVIEW,
            f"field {self.key}: identity fields always go to review",
        )
        _require(
            self.text_format is None or self.type is FieldType.TEXT,
            f"field {self.key}: a text format needs a text field",
        )

    @property
    def allowed_values(self) -> frozenset[str]:
        """The allowed values of an enum or code field, as a set."""
        return frozenset(c.value for c in self.allowed)

    def choice(self, value: str) -> Choice | None:
        """Return the choice for ``value``, or ``None``."""
        return next((c for c in self.allowed if c.value == value), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectCategory:
    """One subject category (采集对象类别), a row of subject_categories.csv.

    Attributes:
        code: the two-digit code.
        key: the snake_case key records carry in ``subject_category``.
        name_zh: the Chinese name.
        name_en: the English name.
        form: the collection form (veteran, survivor, active_family, disabled_militia).
        sections: the form sections collected for this category, in form order.
        parent_code: the code of the category this is a sub-kind of, if any.
    """

    code: str
    key: str
    name_zh: str
    name_en: str
    form: str
    sections: tuple[str, ...]
    parent_code: str | None = None

    def __post_init__(self) -> None:
        _require(_KEY.fullmatch(self.key) is not None, "category key: expected snake_case")
        _require(bool(self.code and self.name_zh and self.form), "category: empty field")
        _require(bool(self.sections), f"category {self.key}: no sections")


@dataclass(frozen=True, slots=True, kw_only=True)
class DateRule:
    """Two date fields in order: ``earlier`` < ``later`` (or ≤ when not ``strict``)."""

    earlier: str
    later: str
    strict: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with one field of a record, in Chinese and English.

    Messages name the field and the rule, never the person's values.

    Attributes:
        field: the field key (or the unknown key that was sent).
        code: a stable machine-readable problem code (docs/schema.md lists them).
        message_zh: the message for collectors, in Chinese.
        message_en: the message in English.
    """

    field: str
    code: str
    message_zh: str
    message_en: str

    def __post_init__(self) -> None:
        if not (self.field and self.code):
            raise UsageError("problem: expected a field and a code")
