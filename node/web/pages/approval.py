"""Approvers' pages: pending changes with their diff, send back, authorise, the outbox.

Authorising needs the approver's own password: it unlocks their personal key,
which signs the batch. A wrong password authorises nothing; the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from node.errors import AuthenticationError
from node.services.values import PendingRecord
from node.web.display import NOT_PICTURES, blob_refs, category_names, field_label, show_value
from node.web.kit import render, require_role
from node.web.pages.common import form_text, login_of, schema_of, see_other, services, translator
from node.web.roles import ADMINS, APPROVERS
from node.web.services import call
from protocol.schema import FieldType, Schema

__all__ = ["add_routes"]

_MAX_PASSWORD = 1024


def _pictures(schema: Schema, key: str, value: object) -> tuple[str, ...]:
    """The pictures to show for a photo field's new value (not the card chip's, not scans)."""
    if key in NOT_PICTURES or not schema.has_field(key):
        return ()
    field = schema.field(key)
    return blob_refs(value) if field.type is FieldType.PHOTO and not field.multi else ()


async def _pending_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    svc, tr = services(request), translator(request)
    schema = schema_of(request)
    pending: Sequence[PendingRecord] = await call(svc.pending_changes)
    records = [
        {
            "record_id": p.record_id,
            "name": p.name or "",
            "id_number": p.id_number or "",
            "categories": category_names(schema, p.categories, tr),
            "is_new": p.is_new,
            "op_count": len(p.op_ids),
            "authors": ", ".join(p.authors),
            "conflicts": [field_label(schema, f, tr) for f in p.conflicts],
            "changes": [
                {
                    "label": field_label(schema, c.field, tr),
                    "old": show_value(schema, c.field, c.old, tr),
                    "new": show_value(schema, c.field, c.new, tr),
                    "was_empty": c.old is None,
                    "pictures": _pictures(schema, c.field, c.new),
                }
                for c in p.changes
            ],
        }
        for p in pending
    ]
    answers = [
        {
            "message": p.message_zh if tr.chinese else p.message_en,
            "reason": p.answer_reason,
            "note": p.answer or "",
        }
        for p in await call(svc.problems)
        if p.answer_reason and not p.answer_sent and p.state == "answered"
    ]
    return render(
        request,
        "node/approval.html",
        {
            "records": records,
            "answers": answers,
            "error": error,
            "op_total": sum(r["op_count"] for r in records),
        },
        status=status,
    )


@require_role(*APPROVERS)
async def pending(request: web.Request) -> web.StreamResponse:
    """``GET /approval``: the changes waiting for authorisation, grouped by record."""
    return await _pending_page(request)


@require_role(*APPROVERS)
async def send_back(request: web.Request) -> web.StreamResponse:
    """``POST /approval/{record_id}/return``: send a record's changes back with a note."""
    form = await request.post()
    await call(
        services(request).return_to_collector,
        request.match_info["record_id"],
        form_text(form, "note", limit=2000),
        login_of(request),
    )
    raise see_other(request, "approval", {"notice": "returned"})


@require_role(*APPROVERS)
async def authorise(request: web.Request) -> web.StreamResponse:
    """``POST /approval/authorise``: sign the chosen records' changes with the approver's key."""
    form = await request.post()
    password = form.get("password")
    chosen = [r for r in form.getall("record_id", []) if isinstance(r, str)]
    if not isinstance(password, str) or not password:
        return await _pending_page(request, error="approval.password_missing", status=422)
    # With no record chosen, the cross-check answers waiting are authorised alone.
    answers = [p for p in await call(services(request).problems) if p.answer_reason]
    if not chosen and not any(p.state == "answered" and not p.answer_sent for p in answers):
        return await _pending_page(request, error="approval.nothing_chosen", status=422)
    try:
        await call(services(request).authorise, login_of(request), password[:_MAX_PASSWORD], chosen)
    except AuthenticationError:
        return await _pending_page(request, error="approval.wrong_password", status=401)
    raise see_other(request, "outbox", {"notice": "authorised"})


@require_role(*APPROVERS, *ADMINS)
async def outbox(request: web.Request) -> web.StreamResponse:
    """``GET /outbox``: the sealed bundles toward the parent hub and where each is."""
    items = await call(services(request).outbox)
    rows = [
        {
            "seq": item.seq,
            "bundle_id": item.bundle_id,
            "kind": item.kind,
            "recipient": item.recipient,
            "hash": item.bundle_hash,
            "size": item.size,
            "op_count": item.op_count,
            "state": item.state.value,
            "created_at": item.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            "error": item.error,
        }
        for item in items
    ]
    return render(request, "node/outbox.html", {"rows": rows})


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the approval pages and the outbox."""
    router.add_get("/approval", pending, name="approval")
    router.add_post("/approval/authorise", authorise, name="approval_authorise")
    router.add_post("/approval/{record_id}/return", send_back, name="approval_return")
    router.add_get("/outbox", outbox, name="outbox")
