"""The to-do list: problems and rejections the hub sent down, linked to their records."""

from __future__ import annotations

from aiohttp import web

from node.web.kit import render, require_role
from node.web.pages.common import form_text, login_of, see_other, services
from node.web.roles import COLLECTORS
from node.web.services import call

__all__ = ["add_routes"]


@require_role(*COLLECTORS)
async def problems(request: web.Request) -> web.StreamResponse:
    """``GET /problems``: open items first, each with what the hub said and its record."""
    items = await call(services(request).problems, include_closed=True)
    ordered = sorted(items, key=lambda p: (p.state != "open", p.received_at), reverse=False)
    rows = [
        {
            "problem_id": p.problem_id,
            "source": p.source,
            "kind": p.kind,
            "record_id": p.record_id,
            "message_zh": p.message_zh,
            "message_en": p.message_en,
            "state": p.state,
            "answer": p.answer,
            "received_at": p.received_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        }
        for p in ordered
    ]
    return render(request, "node/problems.html", {"rows": rows})


@require_role(*COLLECTORS)
async def answer(request: web.Request) -> web.StreamResponse:
    """``POST /problems/{problem_id}/answer``: say what was done about it."""
    form = await request.post()
    await call(
        services(request).answer_problem,
        request.match_info["problem_id"],
        form_text(form, "answer", limit=2000),
        author=login_of(request),
    )
    raise see_other(request, "problems", {"notice": "answered"})


def add_routes(router: web.UrlDispatcher) -> None:
    """Add the to-do list."""
    router.add_get("/problems", problems, name="problems")
    router.add_post("/problems/{problem_id}/answer", answer, name="problem_answer")
