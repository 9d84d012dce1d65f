"""A bundle's review page, and the decisions: approve (with resolutions) or reject.

A refused form (a choice that cannot be acted on, a value not valid for its field,
a rejection without a reason) shows the page again with the message and what was
typed, status 422; nothing is decided.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from hub.console.auth import account_of
from hub.console.display import page
from hub.console.errors import FormError
from hub.console.pages.common import (
    MAX_ROW_ID,
    Notice,
    call,
    context,
    form_dict,
    form_message,
    permission,
    see_other,
)
from hub.console.reviewing import approve_bundle, reject_bundle, review_page
from hub.errors import NotFoundError
from protocol.errors import FieldValueError

__all__ = ["add_routes"]


async def _page(
    request: web.Request,
    row: int,
    *,
    form: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    view = await call(review_page, context(request), account_of(request), row)
    return page(
        request,
        "console/bundle.html",
        {"view": view, "form": form or {}, "error": error},
        status=status,
    )


def _row(request: web.Request) -> int:
    """The bundle's row; one above the largest id there can be is no bundle (a 404)."""
    row = int(request.match_info["row"])
    if row > MAX_ROW_ID:
        raise NotFoundError(f"no bundle {row}")
    return row


@permission("read_bundles")
async def show(request: web.Request) -> web.StreamResponse:
    """``GET /bundles/{row}``: the diff, conflicts, duplicates, warnings and the decision."""
    return await _page(request, _row(request))


@permission("review")
async def approve(request: web.Request) -> web.StreamResponse:
    """``POST /bundles/{row}/approve``: approve with the resolutions chosen on the form."""
    row = _row(request)
    form = form_dict(await request.post())
    try:
        count = await call(approve_bundle, context(request), account_of(request), row, form)
    except FormError as exc:
        return await _page(
            request, row, form=form, error=form_message(request, exc), status=exc.http_status
        )
    except FieldValueError as exc:
        message = form_message(
            request,
            FormError(
                exc.message,
                key="review.error.bad_value",
                message_zh=exc.problem.message_zh,
                message_en=exc.problem.message_en,
            ),
        )
        return await _page(request, row, form=form, error=message, status=422)
    notice = Notice.APPROVED_WITH_RESOLUTIONS if count else Notice.APPROVED
    raise see_other(request, "bundle", notice, row=row)


@permission("review")
async def reject(request: web.Request) -> web.StreamResponse:
    """``POST /bundles/{row}/reject``: reject with a reason (required)."""
    row = _row(request)
    form = form_dict(await request.post())
    try:
        await call(
            reject_bundle, context(request), account_of(request), row, form.get("reason", "")
        )
    except FormError as exc:
        return await _page(
            request, row, form=form, error=form_message(request, exc), status=exc.http_status
        )
    raise see_other(request, "bundle", Notice.REJECTED, row=row)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(r"/bundles/{row:[0-9]{1,12}}", show, name="bundle")
    router.add_post(r"/bundles/{row:[0-9]{1,12}}/approve", approve, name="bundle_approve")
    router.add_post(r"/bundles/{row:[0-9]{1,12}}/reject", reject, name="bundle_reject")
