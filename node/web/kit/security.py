"""Security headers on every response, and the CSRF check on every unsafe request.

Headers (set in ``on_response_prepare``, so error pages and files get them too):

- ``Content-Security-Policy``: scripts, styles, fonts and fetches from this
  site only, no inline script or style, no plug-ins, no framing, forms post
  only here; images may also be ``data:`` and ``blob:`` (camera previews).
- ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, ``Cross-Origin-Opener-Policy: same-origin``,
  ``Permissions-Policy`` (camera for this site only; no microphone, location, payment).
- ``Cache-Control: no-store`` on everything but static files, because almost
  every page shows personal data; static files are revalidated (``no-cache``).
- ``Strict-Transport-Security`` when the app is configured for TLS.

CSRF: every ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` must carry the
request's CSRF token (:data:`~node.web.kit.appkeys.CSRF_TOKEN`: the session's,
or for a visitor not logged in the one in their CSRF cookie) in the form field
``csrf_token`` or the ``X-CSRF-Token`` header. Otherwise the request is
refused with :class:`~node.web.kit.errors.CsrfError` (a 403 page) before its
handler runs, so nothing changes. A form whose bytes are not UTF-8 is refused the
same way, with :class:`~node.web.kit.errors.WebInputError` (a 400 page).
"""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from node.web.kit.appkeys import CONFIG, CSRF_TOKEN
from node.web.kit.errors import CsrfError, WebInputError

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "csrf_middleware",
    "is_static",
    "set_security_headers",
]

CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_URLENCODED: Final = "application/x-www-form-urlencoded"
_FORM_TYPES: Final = frozenset({_URLENCODED, "multipart/form-data"})

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
}


def is_static(request: web.Request) -> bool:
    """Whether the request is for a static file (no session, cacheable)."""
    route = request.match_info.route
    return isinstance(route.resource, web.StaticResource)


async def set_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: add the security headers to ``response``."""
    response.headers.update(_HEADERS)
    response.headers["Cache-Control"] = "no-cache" if is_static(request) else "no-store"
    if request.config_dict[CONFIG].tls:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


async def _read_form(request: web.Request) -> None:
    """Parse the form once here, so a body that is not UTF-8 is refused before any handler.

    Raises:
        WebInputError: the form's bytes are not UTF-8 text.
    """
    try:
        await request.post()
    except UnicodeDecodeError:
        raise WebInputError("form: expected UTF-8 text, got bytes that are not") from None


async def _presented_token(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if request.content_type == _URLENCODED or (
        header is None and request.content_type in _FORM_TYPES
    ):
        await _read_form(request)
    if header is not None:
        return header
    if request.content_type in _FORM_TYPES:
        value = (await request.post()).get(CSRF_FIELD)
        if isinstance(value, str):
            return value
    return None


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse an unsafe request that does not carry the request's CSRF token.

    Raises:
        CsrfError: the token is missing or is not this session's.
    """
    if request.method in UNSAFE_METHODS:
        expected = request.get(CSRF_TOKEN)
        presented = await _presented_token(request)
        if presented is None:
            raise CsrfError("form: expected a CSRF token, got none", method=request.method)
        if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
            raise CsrfError("form: expected this session's CSRF token, got another")
    return await handler(request)
