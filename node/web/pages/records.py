"""Collectors' pages: search, the record page, new and edit forms, flags, card reading, files.

A form is saved in one service call: the service coerces, validates and writes
ops, or returns the problems and writes nothing. Uploaded files are stored
first (content-addressed, so storing one twice is harmless) and referenced by
the form; a form that comes back with problems keeps them, and the text typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from node.collector.errors import CollectorError
from node.errors import FormError
from node.services.values import CardResult, FieldChange, HistoryItem, RecordView
from node.web.appkeys import CARD_TIMEOUT
from node.web.display import category_names, display_sections, field_label, show_value
from node.web.kit import Translator, build_form, render, require_role
from node.web.pages.common import form_text, login_of, schema_of, see_other, services, translator
from node.web.recordform import (
    SubmittedRecord,
    category_options,
    encode_versions,
    known_categories,
    photo_slots,
    read_submission,
    sniff_media_type,
)
from node.web.roles import COLLECTORS
from node.web.services import call
from protocol.schema import CATEGORY_FIELD, Problem, Schema

__all__ = ["add_routes"]

#: The flags a collector sets on the record page, and ``set_flags``' keyword for each.
FLAGS: Final = {"home_visit": "home_visit", "deceased": "deceased", "unreachable": "unreachable"}
#: Files the record page shows as pictures; anything else is offered as a download.
_PICTURES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
_SUFFIXES: Final = {"application/pdf": "pdf", "application/x-wlt": "wlt"}


def _file_problem(schema: Schema, key: str) -> Problem:
    field = schema.field(key)
    return Problem(
        field=key,
        code="file_rejected",
        message_zh=(
            f"{field.label_zh}：文件无法保存（只接受 JPG、PNG、WebP 或 PDF 文件，且不能过大）"
        ),
        message_en=(
            f"{field.label_en}: the file cannot be kept (JPG, PNG, WebP or PDF, "
            "within the size limit)"
        ),
    )


def _card_error_code(exc: CollectorError | FormError) -> str:
    """The catalog suffix (``card.error.<code>``) for a failed card read."""
    return "no_reader" if isinstance(exc, FormError) else exc.code


def _categories_problem(schema: Schema) -> Problem:
    field = schema.category_field
    return Problem(
        field=field.key,
        code="required",
        message_zh=f"{field.label_zh}为必填项：请至少选择一个类别",
        message_en=f"{field.label_en} is required: choose at least one",
    )


async def _store_uploads(request: web.Request, submitted: SubmittedRecord) -> list[Problem]:
    """Store the uploaded files and put their references in the form's values."""
    svc = services(request)
    problems: list[Problem] = []
    for key, files in submitted.uploads.items():
        refs: list[str] = []
        for data in files:
            try:
                ref = await call(svc.store_blob, data, sniff_media_type(data))
            except FormError:
                problems.append(_file_problem(schema_of(request), key))
                continue
            refs.append(ref.blob_id)
        if not refs:
            continue
        if schema_of(request).field(key).multi:
            kept = submitted.values.get(key)
            before = list(kept) if isinstance(kept, list) else []
            submitted.values[key] = list(dict.fromkeys([*before, *refs]))
        else:
            submitted.values[key] = refs[-1]
    return problems


def _form_page(
    request: web.Request,
    *,
    record: RecordView | None,
    categories: Sequence[str],
    values: Mapping[str, object],
    problems: Sequence[Problem] = (),
    status: int = 200,
    versions: Mapping[str, Sequence[str]] | None = None,
    record_version: str | None = None,
    existing: str | None = None,
    card: CardResult | None = None,
    card_error: str | None = None,
) -> web.Response:
    schema, tr = schema_of(request), translator(request)
    form = build_form(schema, categories, values, problems, tr) if categories else None
    category_errors = [tr.message(p) for p in problems if p.field == CATEGORY_FIELD]
    return render(
        request,
        "node/record_form.html",
        {
            "record": record,
            "record_name": _name_of(record.values) if record else "",
            "categories": category_options(schema, categories, tr),
            "category_errors": category_errors,
            "form": form,
            "slots": {s.key: s for s in photo_slots(schema, categories, values, problems, tr)},
            "versions_json": encode_versions(versions) if versions is not None else "",
            "record_version": record_version or "",
            "existing": existing,
            "card": _card_view(schema, card, tr) if card else None,
            "card_error": card_error,
            "problem_count": len(problems),
        },
        status=status,
    )


def _name_of(values: Mapping[str, object]) -> str:
    name = values.get("name")
    return name if isinstance(name, str) else ""


def _changes(
    schema: Schema, changes: Sequence[FieldChange], tr: Translator
) -> list[dict[str, str]]:
    return [
        {
            "label": field_label(schema, c.field, tr),
            "old": show_value(schema, c.field, c.old, tr),
            "new": show_value(schema, c.field, c.new, tr),
        }
        for c in changes
    ]


def _card_view(schema: Schema, card: CardResult, tr: Translator) -> dict[str, Any]:
    return {
        "existing": card.existing_record_id,
        "differences": _changes(schema, card.differences, tr),
        "checks_passed": card.checks_passed,
        "failed_checks": list(card.failed_checks),
    }


def _history(schema: Schema, items: Sequence[HistoryItem], tr: Translator) -> list[dict[str, Any]]:
    return [
        {
            "at": item.at.astimezone().strftime("%Y-%m-%d %H:%M"),
            "author": item.author,
            "site": item.site,
            "kind": item.kind,
            "state": item.state.value,
            "outcome": item.outcome,
            "changes": _changes(schema, item.changes, tr),
            "note": item.note,
            "reason": item.reason,
        }
        for item in reversed(items)
    ]


async def _record_page(
    request: web.Request,
    view: RecordView,
    *,
    card: CardResult | None = None,
    card_error: str | None = None,
    flag_problems: Sequence[str] = (),
    status: int = 200,
) -> web.Response:
    svc, tr = services(request), translator(request)
    schema = schema_of(request)
    todo = [
        p for p in await call(svc.problems, include_closed=True) if p.record_id == view.record_id
    ]
    return render(
        request,
        "node/record.html",
        {
            "view": view,
            "name": _name_of(view.values),
            "id_number": view.values.get("id_number") or "",
            "category_text": category_names(schema, view.categories, tr),
            "sections": display_sections(schema, view.values, tr, conflicts=view.conflicts),
            "flags": frozenset(f.value for f in view.flags),
            "conflicts": [
                {
                    "label": field_label(schema, key, tr),
                    "values": [show_value(schema, key, v, tr) for v in values],
                }
                for key, values in view.conflicts.items()
            ],
            "history": _history(schema, view.history, tr),
            "problems": todo,
            "card": _card_view(schema, card, tr) if card else None,
            "card_error": card_error,
            "flag_problems": list(flag_problems),
        },
        status=status,
    )


@require_role(*COLLECTORS)
async def search(request: web.Request) -> web.StreamResponse:
    """``GET /records?q=``: records by ID number (prefix) or name (part)."""
    svc, tr = services(request), translator(request)
    query = request.query.get("q", "").strip()[:64]
    hits = await call(svc.search, query)
    rows = [
        {
            "record_id": hit.record_id,
            "name": hit.name or "",
            "id_number": hit.id_number or "",
            "categories": category_names(schema_of(request), hit.categories, tr),
            "flags": sorted(f.value for f in hit.flags),
            "status": hit.status,
            "draft_ops": hit.draft_ops,
            "conflicts": len(hit.conflicts),
            "updated_at": hit.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        }
        for hit in hits
    ]
    return render(request, "node/search.html", {"query": query, "rows": rows})


@require_role(*COLLECTORS)
async def new_form(request: web.Request) -> web.StreamResponse:
    """``GET /records/new?category=…``: choose categories, then the form for them."""
    schema = schema_of(request)
    categories = known_categories(schema, request.query.getall("category", []))
    return _form_page(request, record=None, categories=categories, values={})


async def _save(request: web.Request, record: RecordView | None) -> web.StreamResponse:
    submitted = read_submission(schema_of(request), await request.post())
    problems = await _store_uploads(request, submitted)

    def again(
        found: Sequence[Problem], *, status: int = 200, existing: str | None = None
    ) -> web.Response:
        return _form_page(
            request,
            record=record,
            categories=submitted.categories,
            values=submitted.values,
            problems=found,
            status=status,
            versions=submitted.versions,
            record_version=submitted.record_version,
            existing=existing,
        )

    if submitted.action == "refresh":
        return again(problems)
    if not submitted.categories:
        problems.append(_categories_problem(schema_of(request)))
    if problems:
        return again(problems, status=422)
    result = await call(
        services(request).save_record,
        record.record_id if record else None,
        submitted.categories,
        submitted.values,
        login_of(request),
        versions=submitted.versions,
        record_version=submitted.record_version,
    )
    if not result.saved:
        return again(result.problems, status=422, existing=result.existing_record_id)
    assert result.record_id is not None
    notice = "saved_with_conflicts" if result.conflicts else "saved"
    raise see_other(request, "record", {"notice": notice}, record_id=result.record_id)


@require_role(*COLLECTORS)
async def new_submit(request: web.Request) -> web.StreamResponse:
    """``POST /records/new``: save a new record, or show the form again with its problems."""
    return await _save(request, None)


@require_role(*COLLECTORS)
async def new_card(request: web.Request) -> web.StreamResponse:
    """``POST /records/new/card``: read an ID card into the form (or open its record)."""
    svc = services(request)
    submitted = read_submission(schema_of(request), await request.post())
    problems = await _store_uploads(request, submitted)
    try:
        card = await call(svc.read_card_into, None, timeout=request.config_dict[CARD_TIMEOUT])
    except (CollectorError, FormError) as exc:
        return _form_page(
            request,
            record=None,
            categories=submitted.categories,
            values=submitted.values,
            problems=problems,
            card_error=_card_error_code(exc),
            status=exc.http_status,
        )
    if card.existing_record_id is not None:
        view = await call(svc.get_record, card.existing_record_id)
        return await _record_page(request, view, card=card)
    values: dict[str, object] = {**submitted.values, **card.fields}
    if card.photo_blob_id is not None:
        values["id_card_photo"] = card.photo_blob_id
    return _form_page(
        request,
        record=None,
        categories=submitted.categories,
        values=values,
        problems=problems,
        card=card,
    )


@require_role(*COLLECTORS)
async def record_page(request: web.Request) -> web.StreamResponse:
    """``GET /records/{record_id}``: the record, its flags, problems and history."""
    view = await call(services(request).get_record, request.match_info["record_id"])
    return await _record_page(request, view)


@require_role(*COLLECTORS)
async def edit_form(request: web.Request) -> web.StreamResponse:
    """``GET /records/{record_id}/edit``: the form with the record's values and versions."""
    view = await call(services(request).get_record, request.match_info["record_id"])
    return _form_page(
        request,
        record=view,
        categories=view.categories,
        values=view.values,
        versions=view.versions,
        record_version=view.record_version,
    )


@require_role(*COLLECTORS)
async def edit_submit(request: web.Request) -> web.StreamResponse:
    """``POST /records/{record_id}/edit``: save the changes as ops, based on the form's versions."""
    view = await call(services(request).get_record, request.match_info["record_id"])
    return await _save(request, view)


@require_role(*COLLECTORS)
async def record_card(request: web.Request) -> web.StreamResponse:
    """``POST /records/{record_id}/card``: read a card and show how it differs from the record."""
    svc = services(request)
    record_id = request.match_info["record_id"]
    try:
        card = await call(svc.read_card_into, record_id, timeout=request.config_dict[CARD_TIMEOUT])
    except (CollectorError, FormError) as exc:
        view = await call(svc.get_record, record_id)
        return await _record_page(
            request, view, card_error=_card_error_code(exc), status=exc.http_status
        )
    view = await call(svc.get_record, card.existing_record_id or record_id)
    return await _record_page(request, view, card=card)


@require_role(*COLLECTORS)
async def set_flag(request: web.Request) -> web.StreamResponse:
    """``POST /records/{record_id}/flags``: set or clear 上门采集, deceased or unreachable."""
    svc, tr = services(request), translator(request)
    record_id = request.match_info["record_id"]
    form = await request.post()
    flag = form_text(form, "flag")
    if flag not in FLAGS:
        raise FormError(f"flag: expected one of {', '.join(FLAGS)}")
    on = form_text(form, "value") == "1"
    result = await call(svc.set_flags, record_id, author=login_of(request), **{FLAGS[flag]: on})
    if not result.saved:
        view = await call(svc.get_record, record_id)
        messages = [tr.message(p) for p in result.problems]
        return await _record_page(request, view, flag_problems=messages, status=422)
    raise see_other(request, "record", {"notice": "flag_saved"}, record_id=record_id)


@require_role(*COLLECTORS)
async def confirm(request: web.Request) -> web.StreamResponse:
    """``POST /records/{record_id}/confirm``: a baseline record was checked and is right."""
    record_id = request.match_info["record_id"]
    await call(services(request).confirm_baseline, record_id, author=login_of(request))
    raise see_other(request, "record", {"notice": "confirmed"}, record_id=record_id)


@require_role(*COLLECTORS)
async def blob(request: web.Request) -> web.StreamResponse:
    """``GET /blobs/{blob_id}``: a photo or signature to show, or a scan to download."""
    media_type, data = await call(services(request).get_blob, request.match_info["blob_id"])
    if media_type in _PICTURES:
        return web.Response(
            body=data, content_type=media_type, headers={"Content-Disposition": "inline"}
        )
    # PDFs and the card chip's WLT photo are downloads: the strict CSP keeps the
    # browser's PDF viewer out of the page, and no browser can draw WLT.
    suffix = _SUFFIXES.get(media_type, "bin")
    return web.Response(
        body=data,
        content_type=media_type if media_type in _SUFFIXES else "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="file.{suffix}"'},
    )


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the record pages."""
    router.add_get("/records", search, name="records")
    router.add_get("/records/new", new_form, name="record_new")
    router.add_post("/records/new", new_submit)
    router.add_post("/records/new/card", new_card, name="record_new_card")
    router.add_get("/records/{record_id}", record_page, name="record")
    router.add_get("/records/{record_id}/edit", edit_form, name="record_edit")
    router.add_post("/records/{record_id}/edit", edit_submit)
    router.add_post("/records/{record_id}/card", record_card, name="record_card")
    router.add_post("/records/{record_id}/flags", set_flag, name="record_flags")
    router.add_post("/records/{record_id}/confirm", confirm, name="record_confirm")
    router.add_get("/blobs/{blob_id}", blob, name="blob")
