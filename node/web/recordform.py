"""The record form: categories, generated fields, photos and the signature, and what came back.

Pure (no aiohttp): the record pages read a submitted form into a
:class:`SubmittedRecord` and turn a record or a submission into the values the
templates draw. Photos, card photos, scans and the signature are file
references (``b2:…``) kept in hidden inputs, so a form that comes back with
problems keeps the files already uploaded as well as the text typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from multidict import MultiMapping

from node.web.display import BLOB_PREFIX, NOT_PICTURES, blob_refs
from node.web.kit import Translator, read_form
from protocol.schema import CATEGORY_FIELD, FieldDef, FieldType, Problem, Schema

__all__ = [
    "UPLOAD_PREFIX",
    "CategoryOption",
    "PhotoSlot",
    "SubmittedRecord",
    "category_options",
    "known_categories",
    "photo_slots",
    "read_submission",
    "sniff_media_type",
]

#: File inputs are named ``upload__<field>``; the hidden input ``<field>`` holds what is kept.
UPLOAD_PREFIX: Final = "upload__"
VERSIONS_FIELD: Final = "_versions"
RECORD_VERSION_FIELD: Final = "_record_version"
#: Photo fields drawn as a signature pad (a scan may be uploaded instead).
SIGNATURE_FIELDS: Final = frozenset({"subject_signature"})
#: Photo fields the card reader fills; the collector does not upload them.
CARD_PHOTO_FIELDS: Final = NOT_PICTURES
_MAGIC: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryOption:
    """A subject category as a checkbox."""

    key: str
    name: str
    form: str
    checked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoSlot:
    """A photo field as the form draws it: what is kept, and how to add a file.

    Attributes:
        key: the field.
        label: its label.
        required: whether the record needs it.
        multi: whether it holds several files (scans).
        refs: the files it holds now.
        errors: its problems.
        signature: draw it on a signature pad (or upload a scan).
        camera: it may be taken with the camera (the portrait).
        from_card: filled by the card reader, not uploaded.
    """

    key: str
    label: str
    required: bool
    multi: bool
    refs: tuple[str, ...]
    errors: tuple[str, ...]
    signature: bool
    camera: bool
    from_card: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmittedRecord:
    """A record form as it was submitted.

    Attributes:
        categories: the chosen categories (known ones only).
        values: raw values of the applicable fields (text, lists; file references).
        uploads: photo field → the uploaded files' bytes, in order.
        versions: the field versions the form was rendered with, or None for a new record.
        record_version: the record version the form was rendered with.
        action: ``save`` or ``refresh`` (redraw the form for other categories).
    """

    categories: tuple[str, ...]
    values: dict[str, object]
    uploads: dict[str, list[bytes]]
    versions: dict[str, tuple[str, ...]] | None
    record_version: str | None
    action: str


def known_categories(schema: Schema, chosen: Iterable[object]) -> tuple[str, ...]:
    """The chosen category keys the schema knows, in schema order, without repeats."""
    wanted = {c for c in chosen if isinstance(c, str)}
    return tuple(c.key for c in schema.categories if c.key in wanted)


def category_options(
    schema: Schema, chosen: Iterable[str], tr: Translator
) -> tuple[CategoryOption, ...]:
    """Every category as a checkbox, the chosen ones checked."""
    picked = frozenset(chosen)
    return tuple(
        CategoryOption(key=c.key, name=tr.name(c), form=c.form, checked=c.key in picked)
        for c in schema.categories
    )


def _photo_fields(schema: Schema, categories: Sequence[str]) -> tuple[FieldDef, ...]:
    if not categories:
        return ()
    return tuple(f for f in schema.fields_for(categories) if f.type is FieldType.PHOTO)


def photo_slots(
    schema: Schema,
    categories: Sequence[str],
    values: Mapping[str, object],
    problems: Sequence[Problem],
    tr: Translator,
) -> tuple[PhotoSlot, ...]:
    """The photo fields of the form with the files they hold and their problems."""
    return tuple(
        PhotoSlot(
            key=f.key,
            label=tr.label(f),
            required=f.required,
            multi=f.multi,
            refs=blob_refs(values.get(f.key)),
            errors=tuple(tr.message(p) for p in problems if p.field == f.key),
            signature=f.key in SIGNATURE_FIELDS,
            camera=f.key not in SIGNATURE_FIELDS and f.key not in CARD_PHOTO_FIELDS and not f.multi,
            from_card=f.key in CARD_PHOTO_FIELDS,
        )
        for f in _photo_fields(schema, categories)
    )


def _versions(raw: object) -> dict[str, tuple[str, ...]] | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {
        str(k): tuple(str(i) for i in v)
        for k, v in data.items()
        if isinstance(v, list) and all(isinstance(i, str) for i in v)
    }


def encode_versions(versions: Mapping[str, Sequence[str]]) -> str:
    """The field versions as the hidden ``_versions`` input holds them."""
    return json.dumps({k: list(v) for k, v in versions.items()}, sort_keys=True)


def read_submission(schema: Schema, form: MultiMapping[object]) -> SubmittedRecord:
    """Read a submitted record form (text, kept file references, uploaded files)."""
    categories = known_categories(schema, form.getall(CATEGORY_FIELD, []))
    values = read_form(schema, categories, form) if categories else {}
    uploads: dict[str, list[bytes]] = {}
    for field in _photo_fields(schema, categories):
        kept = [
            v
            for v in form.getall(field.key, [])
            if isinstance(v, str) and v.startswith(BLOB_PREFIX)
        ]
        values[field.key] = kept if field.multi else (kept[0] if kept else None)
        files = []
        for item in form.getall(UPLOAD_PREFIX + field.key, []):
            body = getattr(item, "file", None)
            if body is not None:
                data = body.read()
                if data:
                    files.append(data)
        if files:
            uploads[field.key] = files
    action = form.get("_action")
    return SubmittedRecord(
        categories=categories,
        values=values,
        uploads=uploads,
        versions=_versions(form.get(VERSIONS_FIELD)),
        record_version=_text_or_none(form.get(RECORD_VERSION_FIELD)),
        action="refresh" if action == "refresh" else "save",
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def sniff_media_type(data: bytes) -> str:
    """The media type a file's first bytes show (``application/octet-stream`` if none)."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
