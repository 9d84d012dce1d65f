"""What the people at a collection point do in the node's UI, one function per act.

Collectors enter records (typed, or read from the ID card first), open a record's edit
form and change what they must; approvers authorise records with their password; anyone
presses "立即同步". Every act goes through the node's pages and forms (``hub.demo.http``)
and checks what the page answered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import parse_qs, urlsplit

from hub.demo.errors import DemoCheckError
from hub.demo.html import HtmlForm, parse_forms, text_of, text_of_class
from hub.demo.http import Answer, NodeUi, Upload
from hub.demo.records import CARD_FIELDS, PlannedRecord, form_fields, photo_uploads
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = [
    "authorise",
    "edit_form",
    "enter_by_card",
    "enter_record",
    "notice_of",
    "page_error",
    "save_edit",
    "sync",
    "todo_list",
]

#: The card chip's photo: filled by the reader, never uploaded.
_CARD_PHOTO: Final = "id_card_photo"


def page_error(page: str) -> str:
    """The message an error page (or a form that came back) shows, if any."""
    return text_of_class(page, "message") or text_of_class(page, "error") or ""


def notice_of(answer: Answer) -> tuple[str, str]:
    """The ``notice`` (and ``code``) a redirect carries (``/?notice=synced``)."""
    query = parse_qs(urlsplit(answer.location).query)
    return query.get("notice", [""])[0], query.get("code", [""])[0]


def _record_id(answer: Answer, what: str) -> str:
    path = urlsplit(answer.location).path
    if not answer.redirected or not path.startswith("/records/"):
        raise DemoCheckError(
            f"{what}: expected the record page, got HTTP {answer.status} "
            f"{page_error(answer.text)}".rstrip()
        )
    return path.removeprefix("/records/")


def _uploads(schema: Schema, values: Mapping[str, object], seed: int) -> list[Upload]:
    return [
        Upload(field=name, filename="photo.png", data=data, media_type="image/png")
        for name, data in photo_uploads(schema, values, seed=seed, skip=(_CARD_PHOTO,))
    ]


def _typed(record: PlannedRecord) -> dict[str, object]:
    return {k: v for k, v in record.values.items() if k != _CARD_PHOTO}


async def enter_record(ui: NodeUi, schema: Schema, record: PlannedRecord, *, seed: int) -> str:
    """Type a new record into the form and save it; return its record id.

    Raises:
        DemoCheckError: the form came back (with problems) instead of the record page.
    """
    values = _typed(record)
    answer = await ui.submit(
        "/records/new",
        form_fields(schema, record.categories, values),
        uploads=_uploads(schema, values, seed),
    )
    return _record_id(answer, f"new record {record.key} at {ui.base_url}")


def _record_form(page: str) -> HtmlForm:
    for form in parse_forms(page):
        if form.action == "/records/new" or re.fullmatch(r"/records/[^/]+/edit", form.action):
            return form
    raise DemoCheckError("the record form is not on the page")


async def enter_by_card(ui: NodeUi, schema: Schema, record: PlannedRecord, *, seed: int) -> str:
    """Read the person's ID card into a new form, type the rest, save; return the record id.

    Raises:
        DemoCheckError: the reader gave another person, or saving failed.
    """
    categories = [(CATEGORY_FIELD, c) for c in record.categories]
    answer = await ui.submit("/records/new/card", categories)
    if answer.status != 200:
        raise DemoCheckError(f"card read at {ui.base_url}: HTTP {answer.status}")
    form = _record_form(answer.text)
    if form.get("id_number") != record.id_number:
        raise DemoCheckError(f"card read at {ui.base_url}: the form holds another ID number")
    read = {k: form.getall(k) for k in (*CARD_FIELDS, _CARD_PHOTO) if form.get(k)}
    typed = {k: v for k, v in _typed(record).items() if k not in read}
    fields = form_fields(schema, record.categories, typed)
    fields += [(k, v) for k, values in read.items() for v in values]
    saved = await ui.submit("/records/new", fields, uploads=_uploads(schema, typed, seed))
    return _record_id(saved, f"card record {record.key} at {ui.base_url}")


async def edit_form(ui: NodeUi, record_id: str) -> HtmlForm:
    """Open a record's edit form (it carries the field versions it was drawn with)."""
    return _record_form(await ui.page(f"/records/{record_id}/edit"))


async def save_edit(ui: NodeUi, record_id: str, form: HtmlForm, changes: Mapping[str, str]) -> str:
    """Submit an edit form with ``changes``; return the page's notice (``saved``,
    ``saved_with_conflicts``).

    Raises:
        DemoCheckError: the form came back instead of the record page.
    """
    answer = await ui.submit(f"/records/{record_id}/edit", form.with_values(changes))
    _record_id(answer, f"edit of a record at {ui.base_url}")
    return notice_of(answer)[0]


async def authorise(ui: NodeUi, password: str, record_ids: Sequence[str]) -> None:
    """The approver signs the chosen records' changes with their password.

    Raises:
        DemoCheckError: the approval page refused (a wrong password, nothing to sign).
    """
    fields = [("record_id", r) for r in record_ids] + [("password", password)]
    answer = await ui.submit("/approval/authorise", fields)
    if notice_of(answer)[0] != "authorised":
        raise DemoCheckError(
            f"authorisation of {len(record_ids)} records at {ui.base_url}: HTTP {answer.status}"
            f" {page_error(answer.text)}".rstrip()
        )


async def sync(ui: NodeUi) -> tuple[str, str]:
    """Press "立即同步"; return the notice and error code the status page shows."""
    return notice_of(await ui.submit("/sync", []))


async def todo_list(ui: NodeUi) -> str:
    """The text of the to-do list (problems and rejections the hub sent down)."""
    page = await ui.page("/problems")
    return text_of(page, "problems-table") or ""
