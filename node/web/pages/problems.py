"""The to-do list: problems and rejections the hub sent down, linked to their records.

A cross-check finding shows what the register says, what the record says and the
value the register proposes; the collector either takes the proposed value into the
record (an ordinary edit) or answers with a reason and a note. Both go up with the
next batch an approver authorises.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from crypto.errors import MusterError
from node.errors import ConflictError, FormError
from node.services.values import ProblemItem
from node.web.display import field_label, show_value
from node.web.kit import Translator, render, require_role
from node.web.pages.common import form_text, login_of, schema_of, see_other, services, translator
from node.web.roles import COLLECTORS
from node.web.services import call
from protocol.entries import MAX_ANSWER_NOTE, NOTE_REQUIRED, AnswerReason
from protocol.schema import Schema

__all__ = ["add_routes"]

#: The reasons a collector may give, in the order the form offers them.
REASONS: Final = tuple(r.value for r in AnswerReason)
_NEEDS_NOTE: Final = frozenset(r.value for r in NOTE_REQUIRED)


def _finding(item: ProblemItem, schema: Schema, tr: Translator) -> dict[str, Any] | None:
    """What the page shows of a cross-check finding (None for anything else)."""
    body = item.details
    if item.source != "problem" or body.get("v") != 1:
        return None
    field = item.field

    def shown(key: str) -> str | None:
        value = body.get(key)
        if value is None or field is None:
            return None
        return show_value(schema, field, value, tr)

    person = body.get("person")
    return {
        "source": str(body.get("source", "")),
        "field": field_label(schema, field, tr) if field else None,
        "register": shown("register_value"),
        "record": shown("record_value"),
        "proposed": shown("proposed"),
        "can_apply": body.get("proposed") is not None and item.record_id is not None,
        "person": person if isinstance(person, dict) else {},
        "rejection": (body.get("details") or {}).get("rejection"),
    }


def _rows(items: list[ProblemItem], schema: Schema, tr: Translator) -> list[dict[str, Any]]:
    ordered = sorted(items, key=lambda p: (p.state != "open", p.received_at))
    return [
        {
            "problem_id": p.problem_id,
            "source": p.source,
            "kind": p.kind,
            "record_id": p.record_id,
            "message_zh": p.message_zh,
            "message_en": p.message_en,
            "state": p.state,
            "answer": p.answer,
            "answer_reason": p.answer_reason,
            "answer_sent": p.answer_sent,
            "resolution": p.resolution,
            "closed_at": p.closed_at.astimezone().strftime("%Y-%m-%d") if p.closed_at else None,
            "finding": _finding(p, schema, tr),
            "received_at": p.received_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        }
        for p in ordered
    ]


async def _page(
    request: web.Request, *, error: str | None = None, target: str = "", status: int = 200
) -> web.StreamResponse:
    items = await call(services(request).problems, include_closed=True)
    rows = _rows(items, schema_of(request), translator(request))
    context = {"rows": rows, "reasons": REASONS, "needs_note": _NEEDS_NOTE,
               "max_note": MAX_ANSWER_NOTE, "error": error, "target": target}  # fmt: skip
    response = render(request, "node/problems.html", context)
    response.set_status(status)
    return response


@require_role(*COLLECTORS)
async def problems(request: web.Request) -> web.StreamResponse:
    """``GET /problems``: open items first, each with what the hub said and its record."""
    return await _page(request)


def _message(request: web.Request, error: MusterError) -> str:
    tr = translator(request)
    key = f"problems.error.{error.code}"
    return tr(key) if tr.has(key) else error.message


@require_role(*COLLECTORS)
async def answer(request: web.Request) -> web.StreamResponse:
    """``POST /problems/{problem_id}/answer``: say what was done about it (and why)."""
    form = await request.post()
    problem_id = request.match_info["problem_id"]
    reason = form_text(form, "reason", limit=40) or None
    try:
        await call(
            services(request).answer_problem,
            problem_id,
            form_text(form, "answer", limit=2000),
            author=login_of(request),
            reason=reason,
        )
    except (FormError, ConflictError) as exc:
        return await _page(request, error=_message(request, exc), target=problem_id, status=422)
    raise see_other(request, "problems", {"notice": "answered"})


@require_role(*COLLECTORS)
async def apply(request: web.Request) -> web.StreamResponse:
    """``POST /problems/{problem_id}/apply``: take the register's proposed value into the record."""
    await request.post()
    problem_id = request.match_info["problem_id"]
    try:
        await call(services(request).apply_proposed, problem_id, author=login_of(request))
    except (FormError, ConflictError) as exc:
        return await _page(request, error=_message(request, exc), target=problem_id, status=422)
    raise see_other(request, "problems", {"notice": "fixed"})


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the to-do list."""
    router.add_get("/problems", problems, name="problems")
    router.add_post("/problems/{problem_id}/answer", answer, name="problem_answer")
    router.add_post("/problems/{problem_id}/apply", apply, name="problem_apply")
