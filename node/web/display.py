"""Showing canonical values to people: labels for codes, yes/no, photos, old → new.

Pure: the pages pass the schema and the request's translator. A value is shown
with its choice's label in the page's language (``1`` → 男性 / Male), a boolean as
是/否, a list as its labels joined, a file reference as a picture. Nothing here
logs or raises on odd values: an unexpected value is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from node.web.kit import Translator
from node.web.kit.forms import section_title
from protocol.schema import CATEGORY_FIELD, FieldDef, FieldType, Schema

__all__ = [
    "BLOB_PREFIX",
    "DisplayField",
    "DisplaySection",
    "category_names",
    "display_sections",
    "field_label",
    "show_value",
]

#: Photo fields hold references to content-addressed files: ``b2:`` + 64 hex digits.
BLOB_PREFIX: Final = "b2:"
#: Photo fields whose files a browser cannot show (the card chip's own WLT photo):
#: offered as downloads, not drawn.
NOT_PICTURES: Final = frozenset({"id_card_photo"})
_SEPARATOR: Final = "、"


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplayField:
    """One filled field of a record page."""

    key: str
    label: str
    text: str
    blobs: tuple[str, ...] = ()
    pictures: bool = True
    conflicted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplaySection:
    """A titled group of filled fields."""

    key: str
    title: str
    fields: tuple[DisplayField, ...]


def field_label(schema: Schema, key: str, tr: Translator) -> str:
    """Return a field's label in the page's language (the key for an unknown field)."""
    return tr.label(schema.field(key)) if schema.has_field(key) else key


def blob_refs(value: object) -> tuple[str, ...]:
    """Return the file references in a photo field's value."""
    items = value if isinstance(value, tuple | list) else (value,)
    return tuple(v for v in items if isinstance(v, str) and v.startswith(BLOB_PREFIX))


def _one(field: FieldDef | None, value: object, tr: Translator) -> str:
    if isinstance(value, bool):
        return tr("value.yes") if value else tr("value.no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if field is not None:
        choice = field.choice(text)
        if choice is not None:
            return tr.label(choice)
    return text


def show_value(schema: Schema, key: str, value: object, tr: Translator) -> str:
    """Return a value as text for people: labels for codes, 是/否, lists joined."""
    if value is None or value in ((), []):
        return tr("value.empty")
    field = schema.field(key) if schema.has_field(key) else None
    if field is not None and field.type is FieldType.PHOTO:
        count = len(blob_refs(value))
        return tr("value.files", count=count)
    if isinstance(value, tuple | list):
        return _SEPARATOR.join(_one(field, item, tr) for item in value)
    return _one(field, value, tr)


def category_names(schema: Schema, keys: Iterable[str], tr: Translator) -> str:
    """Return the names of a person's categories, joined."""
    names = []
    for key in keys:
        try:
            names.append(tr.name(schema.category(key)))
        except Exception:
            names.append(key)
    return _SEPARATOR.join(names)


def display_sections(
    schema: Schema,
    values: Mapping[str, object],
    tr: Translator,
    *,
    conflicts: Iterable[str] = (),
) -> tuple[DisplaySection, ...]:
    """Return a record's filled fields grouped by section, in form order."""
    conflicted = frozenset(conflicts)
    grouped: dict[str, list[DisplayField]] = {}
    for field in schema.fields:
        if field.key == CATEGORY_FIELD or field.key not in values:
            continue
        value = values[field.key]
        if value is None:
            continue
        grouped.setdefault(field.section, []).append(
            DisplayField(
                key=field.key,
                label=tr.label(field),
                text=show_value(schema, field.key, value, tr),
                blobs=blob_refs(value) if field.type is FieldType.PHOTO else (),
                # Scans may be PDFs: several files are links, not pictures.
                pictures=field.key not in NOT_PICTURES and not field.multi,
                conflicted=field.key in conflicted,
            )
        )
    return tuple(
        DisplaySection(key=key, title=section_title(key, tr), fields=tuple(fields))
        for key, fields in grouped.items()
    )
