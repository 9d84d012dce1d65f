"""The inbox: bundles by sender and state, stream gaps, alerts; closing an alert."""

from __future__ import annotations

from aiohttp import web

from hub.console.auth import account_of
from hub.console.display import page
from hub.console.inbox import INBOX_STATES, close_alert, inbox_view
from hub.console.pages.common import (
    MAX_ROW_ID,
    Notice,
    call,
    context,
    int_query,
    permission,
    see_other,
)
from hub.errors import NotFoundError

__all__ = ["add_routes"]


@permission("read_bundles")
async def inbox(request: web.Request) -> web.StreamResponse:
    """``GET /``: counts by state, a page of bundles (newest first), gaps and open alerts."""
    state = request.query.get("state") or None
    if state is not None and state not in INBOX_STATES:
        state = None
    sender = (request.query.get("sender") or "")[:40] or None
    view = await call(
        inbox_view,
        context(request),
        account_of(request),
        state=state,
        sender=sender,
        before=int_query(request, "before", MAX_ROW_ID),
    )
    return page(request, "console/inbox.html", {"view": view, "state": state, "sender": sender})


@permission("review")
async def close(request: web.Request) -> web.StreamResponse:
    """``POST /alerts/{alert}/close``: mark an alert dealt with."""
    alert = int(request.match_info["alert"])
    if alert > MAX_ROW_ID:
        raise NotFoundError(f"no alert {alert}")
    await call(close_alert, context(request), account_of(request), alert)
    raise see_other(request, "inbox", Notice.ALERT_CLOSED)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", inbox, name="inbox")
    router.add_post(r"/alerts/{alert:[0-9]{1,12}}/close", close, name="alert_close")
