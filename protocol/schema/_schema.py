"""The record schema: fields, categories and rules, built from CSV tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final

from crypto.errors import UsageError
from crypto.hashing import tagged_hash
from protocol.errors import SchemaDefinitionError
from protocol.merge.policy import StaticPolicy
from protocol.ops import STATUS_FIELD
from protocol.schema._build import CATEGORY_FIELD, build
from protocol.schema._checks import Checker, compile_checker
from protocol.schema._model import DateRule, FieldDef, MergePolicy, SubjectCategory
from protocol.schema._tables import normalise_table_text

__all__ = ["DEFAULT_NAME", "TAG_SCHEMA", "Applicable", "Schema"]

#: Domain-separation tag of the schema version hash (see crypto.hashing).
TAG_SCHEMA: Final = b"muster/schema/v1"
#: The human name of the packaged schema.
DEFAULT_NAME: Final = "muster"
_DATA: Final = "protocol.schema.data"
_PACKAGED: Final = (
    "collection_fields.csv",
    "subject_categories.csv",
    "enum_labels.csv",
    "date_rules.csv",
    "sex.csv",
    "ethnicity.csv",
    "political_status.csv",
    "marital_status.csv",
    "health_status.csv",
)
_HASH_HEX: Final = 16


class Applicable:
    """What the schema asks of a person with a given set of categories.

    Attributes:
        categories: the category keys this was computed for.
        fields: the applicable fields, in form order (grouped by section).
        sections: the sections those fields fall in, in form order.
        by_key: field key → field, for the applicable fields only.
        checkers: field key → compiled checker, for the applicable fields only.
        required: the fields that must be filled.
        required_keys: their keys.
        conditional: fields required only when another field has a given value.
        date_rules: the date-order rules whose two fields both apply.
    """

    __slots__ = (
        "by_key",
        "categories",
        "checkers",
        "conditional",
        "date_rules",
        "fields",
        "required",
        "required_keys",
        "sections",
    )

    def __init__(self, schema: Schema, categories: frozenset[str]) -> None:
        self.categories = categories
        self.fields = tuple(f for f in schema.fields if f.categories & categories)
        self.sections = tuple(dict.fromkeys(f.section for f in self.fields))
        self.by_key: Mapping[str, FieldDef] = MappingProxyType({f.key: f for f in self.fields})
        #: field key → compiled checker; a plain dict because it is read per value.
        self.checkers: dict[str, Checker] = {f.key: schema.checker(f.key) for f in self.fields}
        self.required = tuple(f for f in self.fields if f.required)
        self.required_keys = frozenset(f.key for f in self.required)
        self.conditional = tuple(
            f for f in self.fields if f.required_when is not None and not f.required
        )
        self.date_rules = tuple(
            r for r in schema.date_rules if r.earlier in self.by_key and r.later in self.by_key
        )


class Schema:
    """An immutable record schema; build it with :meth:`default` or :meth:`from_tables`.

    Attributes:
        name: the human name given when it was built.
        version: ``<name>-<16 hex digits>``, the name plus a BLAKE2b hash of every
            table it was built from. Records and bundles carry it.
        categories: the subject categories, in table order.
        fields: every field, in form order (grouped by section).
        date_rules: pairs of date fields that must be in order.
        tables: the file names of the tables it was built from.
        category_keys: the keys of all categories.
    """

    __slots__ = (
        "_by_key",
        "_categories_by",
        "_checkers",
        "_plans",
        "_positions",
        "categories",
        "category_keys",
        "date_rules",
        "fields",
        "name",
        "tables",
        "version",
    )

    def __init__(self, tables: Mapping[str, str], *, name: str) -> None:
        built = build(tables)
        self.name = name
        self.tables: tuple[str, ...] = built.used_tables
        self.version = f"{name}-{_hash(tables, built.used_tables)}"
        self.categories: tuple[SubjectCategory, ...] = built.categories
        section_order = {s: i for i, s in enumerate(dict.fromkeys(f.section for f in built.fields))}
        self.fields: tuple[FieldDef, ...] = tuple(
            sorted(built.fields, key=lambda f: section_order[f.section])
        )
        self.date_rules: tuple[DateRule, ...] = built.date_rules
        self._by_key = {f.key: f for f in self.fields}
        self._categories_by = {c.key: c for c in self.categories} | {
            c.code: c for c in self.categories
        }
        self._checkers = {f.key: compile_checker(f) for f in self.fields}
        self._positions = {f.key: i for i, f in enumerate(self.fields)}
        self.category_keys: frozenset[str] = frozenset(c.key for c in self.categories)
        self._plans: dict[frozenset[str], Applicable] = {}

    @classmethod
    def default(cls) -> Schema:
        """Return the schema of the packaged tables (built once, then cached)."""
        return _default_schema()

    @classmethod
    def from_tables(cls, tables: Mapping[str, str], *, name: str = DEFAULT_NAME) -> Schema:
        """Build a schema from CSV texts keyed by file name.

        Any packaged table not in ``tables`` is taken from the package, so a
        deployment overrides one table by passing just that file.

        Args:
            tables: file name (``collection_fields.csv``) → CSV text.
            name: a human name for the version id (letters, digits, ``._+-``).

        Raises:
            SchemaDefinitionError: a table is inconsistent (naming the file, line
                and column) or a given table is not used by the schema.
        """
        if not name or not all(c.isascii() and (c.isalnum() or c in "._+-") for c in name):
            raise SchemaDefinitionError("schema name: expected ASCII letters, digits or ._+-")
        merged = default_tables() | dict(tables)
        schema = cls(merged, name=name)
        unused = sorted(set(tables) - set(schema.tables))
        if unused:
            raise SchemaDefinitionError(
                f"{unused[0]}: the schema does not use this table", table=unused[0]
            )
        return schema

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and other.version == self.version

    def __hash__(self) -> int:
        return hash(self.version)

    def __repr__(self) -> str:
        return f"Schema(version={self.version!r}, fields={len(self.fields)})"

    def field(self, key: str) -> FieldDef:
        """Return the field ``key``.

        Raises:
            UsageError: no field has that key.
        """
        try:
            return self._by_key[key]
        except KeyError:
            raise UsageError("schema: no such field", key=key) from None

    def has_field(self, key: str) -> bool:
        """Return whether the schema has a field ``key``."""
        return key in self._by_key

    def category(self, key_or_code: str) -> SubjectCategory:
        """Return the category with this key (``retired_soldier``) or code (``02``).

        Raises:
            UsageError: no category has that key or code.
        """
        try:
            return self._categories_by[key_or_code]
        except KeyError:
            raise UsageError("schema: no such category", category=key_or_code) from None

    def position(self, key: str) -> int:
        """Return the form position of field ``key`` (unknown keys sort last)."""
        return self._positions.get(key, len(self._positions))

    def checker(self, key: str) -> Checker:
        """Return the compiled checker of field ``key`` (for validation and coercion)."""
        return self._checkers[key]

    def applicable(self, categories: Iterable[str]) -> Applicable:
        """Return what applies to a person with these category keys or codes (cached).

        Raises:
            UsageError: a category is unknown.
        """
        keys = frozenset(self.category(c).key for c in categories)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans.setdefault(keys, Applicable(self, keys))
        return plan

    def fields_for(self, categories: Iterable[str]) -> tuple[FieldDef, ...]:
        """Return the fields that apply to any of ``categories``, in form order.

        Raises:
            UsageError: a category is unknown.
        """
        return self.applicable(categories).fields

    def sections_for(self, categories: Iterable[str]) -> tuple[str, ...]:
        """Return the form sections that apply to any of ``categories``, in form order.

        Raises:
            UsageError: a category is unknown.
        """
        return self.applicable(categories).sections

    @property
    def identity_fields(self) -> frozenset[str]:
        """The keys of the fields that identify a person (always reviewed on conflict)."""
        return frozenset(f.key for f in self.fields if f.identity)

    def requires_review(self, field_key: str) -> bool:
        """Return whether concurrent edits of ``field_key`` go to review.

        Raises:
            UsageError: no field has that key.
        """
        return self.field(field_key).merge_policy is MergePolicy.REVIEW

    def field_policy(self) -> StaticPolicy:
        """The merge policy this schema implies: its review fields, plus ``_status``.

        Deleting a person's record or merging it into another always waits for a
        reviewer at a hub, like a change of identity.
        """
        review = frozenset(f.key for f in self.fields if f.merge_policy is MergePolicy.REVIEW)
        return StaticPolicy(review_fields=review | {STATUS_FIELD})

    @property
    def category_field(self) -> FieldDef:
        """The field that holds a person's category keys."""
        return self._by_key[CATEGORY_FIELD]


def _hash(tables: Mapping[str, str], names: Iterable[str]) -> str:
    parts: list[bytes] = []
    for name in sorted(names):
        parts += [name.encode(), normalise_table_text(tables[name]).encode()]
    return tagged_hash(TAG_SCHEMA, *parts, size=_HASH_HEX // 2).hex()


def _read(name: str) -> str:
    return resources.files(_DATA).joinpath(name).read_text(encoding="utf-8")


@cache
def _packaged() -> Mapping[str, str]:
    return MappingProxyType({name: _read(name) for name in _PACKAGED})


def default_tables() -> dict[str, str]:
    """Return the packaged tables, file name → CSV text (a fresh dict to edit)."""
    return dict(_packaged())


@cache
def _default_schema() -> Schema:
    return Schema(default_tables(), name=DEFAULT_NAME)
