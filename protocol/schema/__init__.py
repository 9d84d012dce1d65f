"""The data-driven record schema: fields, categories, code tables and value rules.

The schema is defined by CSV tables shipped in ``protocol/schema/data`` and
overridable per deployment (:meth:`Schema.from_tables`); docs/schema.md
describes the tables, the canonical value encoding and the problem codes.
"""

from __future__ import annotations

from protocol.schema._build import CATEGORY_FIELD
from protocol.schema._coerce import coerce_value
from protocol.schema._messages import MESSAGES
from protocol.schema._model import (
    ALL,
    Choice,
    DateRule,
    FieldDef,
    FieldType,
    MergePolicy,
    Problem,
    RequiredWhen,
    SubjectCategory,
    TextFormat,
)
from protocol.schema._schema import (
    DEFAULT_NAME,
    TAG_SCHEMA,
    Applicable,
    Schema,
    default_tables,
)

__all__ = [
    "ALL",
    "CATEGORY_FIELD",
    "DEFAULT_NAME",
    "MESSAGES",
    "TAG_SCHEMA",
    "Applicable",
    "Choice",
    "DateRule",
    "FieldDef",
    "FieldType",
    "MergePolicy",
    "Problem",
    "RequiredWhen",
    "Schema",
    "SubjectCategory",
    "TextFormat",
    "coerce_value",
    "default_tables",
]
