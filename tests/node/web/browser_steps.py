"""What a collector and an approver do in the browser, as reusable steps for the UI tests.

Forms are filled generically: the kit's form view says how each field is drawn,
and the values come from ``protocol.sample.realistic_record`` (via the node core's
``form_for``), so every form type is filled the way a person would fill it.
"""

from __future__ import annotations

import random
import struct
import time
import zlib
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from node.collector.simcards import SimCard
from node.web.kit import Catalogs, Widget, build_form
from protocol.sample import realistic_record
from protocol.schema import CATEGORY_FIELD, FieldType, Schema
from tests.node.web.nodeapp import USERS

__all__ = ["card_for", "draw_signature", "fill_fields", "log_in", "record_values"]

_TR = Catalogs.load(["node.web.kit", "node.web"]).translator("zh-CN")
#: Fields the card reader fills.
CARD_FIELDS = frozenset(
    {
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "id_number",
        "id_card_issuer",
        "id_card_valid_from",
        "id_card_valid_to",
        "hukou_address",
    }
)


def record_values(
    schema: Schema, *, category: str, seed: int, today: date
) -> tuple[tuple[str, ...], dict[str, object]]:
    """A realistic person of ``category``: categories and values, photos left out."""
    record = realistic_record(
        random.Random(seed), category=category, division_code="370102001", today=today
    )
    categories = record[CATEGORY_FIELD]
    assert isinstance(categories, tuple)
    values = {
        k: v
        for k, v in record.items()
        if k != CATEGORY_FIELD and schema.field(k).type is not FieldType.PHOTO
    }
    return categories, values


def card_for(values: Mapping[str, object], *, address: str | None = None) -> SimCard:
    """A resident ID card carrying a record's identity fields."""
    return SimCard.from_json_dict(
        {
            "card_type": "resident",
            "name": values["name"],
            "sex_code": values["sex"],
            "birth_date": values["birth_date"],
            "id_number": values["id_number"],
            "issuing_authority": values.get("id_card_issuer") or "济南市公安局历下分局",
            "valid_from": values.get("id_card_valid_from") or "2020-01-01",
            "valid_to": "长期",
            "ethnicity_code": values["ethnicity"],
            "address": address or values["hukou_address"],
        }
    )


def log_in(page: Any, base: str, who: str) -> None:
    """Log in through the form."""
    login, _name, password = USERS[who]
    page.goto(f"{base}/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fill_fields(
    page: Any,
    schema: Schema,
    categories: Iterable[str],
    values: Mapping[str, object],
    *,
    skip: Iterable[str] = (),
) -> None:
    """Fill the generated form's fields with ``values`` the way a person would."""
    form = build_form(schema, list(categories), {}, (), _TR)
    leave = frozenset(skip)
    for section in form.sections:
        for field in section.fields:
            if field.key in leave or field.key not in values or values[field.key] is None:
                continue
            value = values[field.key]
            where = f'[name="{field.key}"]'
            if field.widget is Widget.CHECKBOXES:
                items = value if isinstance(value, tuple | list) else (value,)
                for item in items:
                    page.check(f'input{where}[value="{item}"]')
            elif field.widget in (Widget.SELECT, Widget.YESNO):
                page.select_option(f"select{where}", value=_text(value))
            elif field.widget is not Widget.PHOTO:
                page.fill(f"input{where}", _text(value))


def draw_signature(page: Any) -> None:
    """Sign on the signature pad with the mouse."""
    canvas = page.locator(".signature-pad canvas")
    box = canvas.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.6)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + w * (0.1 + step * 0.03), y + h * (0.6 - 0.3 * ((step % 4) / 3)))
    page.mouse.up()
    # The drawing reaches the file input once the canvas is encoded. (Polled from here:
    # the page's CSP forbids the eval that wait_for_function needs.)
    # A hang guard, not a measure: 100 polls (some 5 s) were short on a loaded machine.
    signed = page.locator('input[name="upload__subject_signature"]')
    deadline = time.monotonic() + 60
    while signed.evaluate("input => input.files.length") != 1:
        if time.monotonic() > deadline:
            raise AssertionError("the signature never reached its file input")
        page.wait_for_timeout(50)


def portrait_png(seed: int, width: int = 150, height: int = 200) -> bytes:
    """A small PNG that looks like an ID photo (a silhouette on a plain background)."""
    tint = (seed * 37) % 60
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            head = (x - width / 2) ** 2 + (y - height * 0.38) ** 2 < (width * 0.22) ** 2
            body = y > height * 0.62 and abs(x - width / 2) < width * 0.42 - (height - y) * 0.35
            if head or body:
                row += bytes((40 + tint, 45, 60))
            else:
                row += bytes((200, 220 - tint, 240))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def photo_file(tmp_path: Path, seed: int) -> Path:
    """A portrait photo on disk, to upload."""
    path = tmp_path / f"portrait-{seed}.png"
    path.write_bytes(portrait_png(seed))
    return path
