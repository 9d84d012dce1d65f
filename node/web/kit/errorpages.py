"""One middleware turns every failure into a page (or JSON under ``/api/``), never a traceback.

- A :class:`~crypto.errors.MusterError` answers with its class's HTTP status,
  its one-line message and its operator hint (``diagnostics()``); JSON
  answers are ``error.to_dict()``, the body docs/api.md describes.
- An HTTP error raised by aiohttp or a handler (404, 405, 413 …) gets the same
  page with the status's own words.
- Anything else is a bug: the answer is a 500 page with an incident id, and
  the traceback goes to the log under that id, never to the browser.

Logs name the error code, the method and the path, never the query string
(a search for a name is personal data) nor the message's fields' values
beyond what the error class put there.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from crypto.errors import MusterError
from node.web.kit.auth import translator_for, wants_json
from node.web.kit.templating import render

__all__ = ["error_middleware"]

_log = logging.getLogger("muster.web")


def _page(
    request: web.Request, status: int, context: dict[str, Any], json_body: dict[str, Any]
) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response(json_body, status=status)
    try:
        translator_for(request)
        return render(request, "kit/error.html", {"status": status, **context}, status=status)
    except Exception:
        # The error page itself failed (a broken template): answer in plain text,
        # still without a traceback.
        _log.exception("error page failed for status %d", status)
        return web.Response(status=status, text=f"{status} {context.get('message', '')}")


def _muster_error(request: web.Request, exc: MusterError) -> web.StreamResponse:
    _log.info("refused %s %s: %s (%d)", request.method, request.path, exc.code, exc.http_status)
    response = _page(
        request,
        exc.http_status,
        {"code": exc.code, "message": exc.message, "hint": exc.diagnostics(), "incident": None},
        exc.to_dict(),
    )
    retry = getattr(exc, "retry_after", None)
    if isinstance(retry, int):
        response.headers["Retry-After"] = str(retry)
    return response


def _http_error(request: web.Request, exc: web.HTTPException) -> web.StreamResponse:
    code = f"http_{exc.status}"
    response = _page(
        request,
        exc.status,
        {"code": code, "message": exc.reason, "hint": "", "incident": None},
        {"error": code, "message": exc.reason},
    )
    if exc.status == 405 and "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


def _bug(request: web.Request) -> web.StreamResponse:
    incident = secrets.token_hex(6)
    _log.exception("incident %s: %s %s failed", incident, request.method, request.path)
    return _page(
        request,
        500,
        {"code": "internal", "message": "", "hint": "", "incident": incident},
        {"error": "internal", "message": "internal error", "details": {"incident": incident}},
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error with a page or JSON in the request's language."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except MusterError as exc:
        return _muster_error(request, exc)
    except asyncio.CancelledError:
        raise
    except Exception:
        return _bug(request)
