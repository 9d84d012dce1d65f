"""The people the towns collect, and how a collector's browser sends them.

Pure: :func:`plan_collection` draws realistic records (``protocol.sample``: Chinese
names and addresses, valid ID numbers from real division codes) for every town,
registered in that town, covering every subject category, with no ID number twice.
:func:`form_fields` turns a record's canonical values into the text a filled-in form
sends, and :func:`photo_uploads` gives each photo field a small real PNG, since a
form uploads files and references only what it stored. :func:`card_for` is the ID card
the town's simulated reader holds for a record collected "by card".
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from protocol.sample import realistic_record
from protocol.schema import CATEGORY_FIELD, FieldType, Schema

__all__ = [
    "PlannedRecord",
    "card_for",
    "form_fields",
    "photo_uploads",
    "plan_collection",
    "png_bytes",
]

#: The card's address holds at most 35 characters; the record keeps what the card says.
_CARD_ADDRESS_CHARS: Final = 35
#: Identity fields a card read fills in (the form keeps them as read).
CARD_FIELDS: Final = (
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "id_number",
    "hukou_address",
    "id_card_issuer",
    "id_card_valid_from",
    "id_card_valid_to",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRecord:
    """One person a town will collect.

    Attributes:
        key: a label for the ledger (``collect/370102001-01#3``), never shown to the hubs.
        node: the node id of the town that collects it.
        categories: the person's subject categories.
        values: canonical values of every field but the categories (photos are fake
            references here: the form uploads real files instead).
    """

    key: str
    node: str
    categories: tuple[str, ...]
    values: Mapping[str, object]

    @property
    def id_number(self) -> str:
        return str(self.values["id_number"])

    def at(self, node: str, key: str) -> PlannedRecord:
        """The same person, collected at another town."""
        return PlannedRecord(key=key, node=node, categories=self.categories, values=self.values)


def _town_code(node_id: str) -> str:
    return node_id.split("-", 1)[0]


def _draw(rng: random.Random, *, category: str, town: str, today: date) -> dict[str, object]:
    record = realistic_record(rng, category=category, division_code=town, today=today)
    # Cards hold 35 characters of address; keep the record consistent with its card.
    value = record.get("hukou_address")
    if isinstance(value, str):
        record["hukou_address"] = value[:_CARD_ADDRESS_CHARS]
    return record


def plan_collection(
    batches: Sequence[tuple[str, str, int]],
    *,
    seed: int,
    today: date,
    schema: Schema | None = None,
) -> tuple[PlannedRecord, ...]:
    """Records for each ``(label, node, count)`` batch, every category in turn across all.

    Each person is registered in the town that collects them. ID numbers are unique (a
    draw that repeats one is drawn again), so the only duplicate is the one the scenario
    plants.
    """
    schema = schema or Schema.default()
    categories = [c.key for c in schema.categories]
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    seen: set[str] = set()
    planned: list[PlannedRecord] = []
    for label, node, count in batches:
        for index in range(count):
            category = categories[len(planned) % len(categories)]
            while True:
                record = _draw(rng, category=category, town=_town_code(node), today=today)
                number = str(record["id_number"])
                if number not in seen:
                    break
            seen.add(number)
            raw = record.pop(CATEGORY_FIELD)
            assert isinstance(raw, tuple)
            planned.append(
                PlannedRecord(
                    key=f"{label}/{node}#{index + 1}",
                    node=node,
                    categories=tuple(str(c) for c in raw),
                    values=record,
                )
            )
    return tuple(planned)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(
    schema: Schema, categories: Sequence[str], values: Mapping[str, object]
) -> list[tuple[str, str]]:
    """What the record form sends for these values (photos aside: see :func:`photo_uploads`)."""
    fields: list[tuple[str, str]] = [(CATEGORY_FIELD, c) for c in categories]
    for key, value in values.items():
        if value is None or schema.field(key).type is FieldType.PHOTO:
            continue
        if isinstance(value, tuple | list):
            fields.extend((key, _text(item)) for item in value)
        else:
            fields.append((key, _text(value)))
    return fields


def png_bytes(seed: int) -> bytes:
    """A tiny valid PNG (1×1), different for each seed below 2**24."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(bytes([0, seed & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")
    )


def photo_uploads(
    schema: Schema, values: Mapping[str, object], *, seed: int, skip: Iterable[str] = ()
) -> list[tuple[str, bytes]]:
    """``(file input, PNG)`` for every photo the record has (``upload__<field>``)."""
    skipped = frozenset(skip)
    uploads: list[tuple[str, bytes]] = []
    for key, value in values.items():
        if key in skipped or value is None or schema.field(key).type is not FieldType.PHOTO:
            continue
        count = len(value) if isinstance(value, tuple | list) else 1
        for index in range(count):
            uploads.append((f"upload__{key}", png_bytes(seed * 16 + len(uploads) + index)))
    return uploads


def card_for(record: PlannedRecord) -> dict[str, Any]:
    """The simulated reader's card of a person (``muster collector simulate --cards``)."""
    values = record.values
    birth = date.fromisoformat(str(values["birth_date"]))
    valid_from = date.fromisoformat(str(values.get("id_card_valid_from") or birth.isoformat()))
    valid_to_text = str(values.get("id_card_valid_to") or "长期")
    valid_to: str
    if valid_to_text == "长期":
        valid_to = "长期"
    else:
        valid_to = date(
            int(valid_to_text[:4]), int(valid_to_text[4:6]), int(valid_to_text[6:8])
        ).isoformat()
    if valid_to != "长期" and date.fromisoformat(valid_to) <= valid_from:
        valid_to = (valid_from + timedelta(days=3650)).isoformat()
    card: dict[str, Any] = {
        "card_type": "resident",
        "name": values["name"],
        "sex_code": values["sex"],
        "birth_date": birth.isoformat(),
        "id_number": values["id_number"],
        "issuing_authority": values.get("id_card_issuer") or "济南市公安局",
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to,
        "ethnicity_code": values.get("ethnicity") or "01",
        "address": str(values.get("hukou_address") or "")[:_CARD_ADDRESS_CHARS],
    }
    return card
