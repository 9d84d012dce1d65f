"""One bad request and what a correct answer to it looks like: never a 5xx, never a
traceback, a redirect somewhere or a page with words a person can act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import FormData
from aiohttp.test_utils import TestClient

__all__ = [
    "LONG",
    "LONG_URL",
    "ODD_IDS",
    "Probe",
    "Sessions",
    "assert_refused_cleanly",
    "logged_in",
    "send",
]

Client = TestClient[Any, Any]
LONG: Final = "长" * 10_000
#: Two fit in a request line (aiohttp takes 8190 bytes; a longer one is refused before the app).
LONG_URL: Final = "长" * 400
#: Path parameters no id has: a slash (encoded), dots, unicode, 10,000 characters.
ODD_IDS: Final = ("..%2F..%2Fetc", "a.b", "记录", "%00", "x" * 7000)
_TRACES: Final = ("Traceback", 'File "', "Exception", "sqlalchemy", "aiohttp.web")


@dataclass(frozen=True, slots=True)
class Probe:
    """A request: ``body`` is ``form`` (urlencoded), ``multipart``, ``bad_utf8`` (its
    values not UTF-8; ``_header``: the token in the header, ``_multipart``: as text parts),
    ``no_csrf`` (the form without its token) or ``wrong_csrf``.

    A multipart body is a form too (a browser sends one for ``enctype="multipart/form-data"``):
    a valid one may do what the form does; the probe checks it is read, not refused with a 5xx.
    """

    role: str | None
    method: str
    path: str
    fields: tuple[tuple[str, str], ...] = ()
    body: str = "form"
    #: statuses allowed besides the defaults (3xx and 4xx)
    ok: frozenset[int] = field(default_factory=frozenset)

    @property
    def may_change(self) -> bool:
        return self.body == "multipart"


#: role → the session's cookies and CSRF token, kept for a module's tests (one log-in each).
Sessions = dict[str, tuple[dict[str, str], str]]


async def logged_in(
    client: Client,
    sessions: Sessions,
    role: str,
    log_in: Callable[[Client, str], Awaitable[str]],
    path: str = "/",
) -> str:
    """Log the client in as ``role`` (the first time) or give it that role's session."""
    if role not in sessions:
        csrf = await log_in(client, role)
        sessions[role] = ({m.key: m.value for m in client.session.cookie_jar}, csrf)
    cookies, csrf = sessions[role]
    client.session.cookie_jar.update_cookies(cookies, response_url=client.make_url(path))
    return csrf


async def send(client: Client, probe: Probe, csrf: str, path: str) -> tuple[int, str, str]:
    """Send the probe; return status, body text and the redirect's location."""
    kwargs: dict[str, Any] = {"allow_redirects": False}
    token = [("csrf_token", csrf)]
    if probe.method == "POST":
        if probe.body == "form":
            kwargs["data"] = [*token, *probe.fields]
        elif probe.body == "no_csrf":
            kwargs["data"] = list(probe.fields)
        elif probe.body == "wrong_csrf":
            kwargs["data"] = [("csrf_token", "0" * len(csrf or "x")), *probe.fields]
        elif probe.body == "multipart":
            data = FormData()
            for key, value in (*token, *probe.fields):
                data.add_field(key, value)
            data.add_field("junk", b"\xff\xfe\x00", filename="x.bin")
            kwargs["data"] = data
        elif probe.body == "bad_utf8":
            raw = b"csrf_token=" + csrf.encode() + b"&"
            raw += b"&".join(k.encode() + b"=\xff\xfe\xc3" for k, _ in probe.fields or [("x", "")])
            kwargs["data"] = raw
            kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        elif probe.body == "bad_utf8_header":  # the token in the header, as scripts send it
            raw = b"&".join(k.encode() + b"=\xff\xfe\xc3" for k, _ in probe.fields or [("x", "")])
            kwargs["data"] = raw
            kwargs["headers"] = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRF-Token": csrf,
            }
        elif probe.body == "bad_utf8_multipart":
            parts = [(b"csrf_token", csrf.encode())]
            parts += [(k.encode(), b"\xff\xfe\xc3") for k, _ in probe.fields or [("x", "")]]
            kwargs["data"] = (
                b"".join(
                    b'--b0und\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % p
                    for p in parts
                )
                + b"--b0und--\r\n"
            )
            kwargs["headers"] = {"Content-Type": "multipart/form-data; boundary=b0und"}
        else:  # pragma: no cover - a mistake in the table
            raise AssertionError(probe.body)
    response = await client.request(probe.method, path, **kwargs)
    return (
        response.status,
        await response.text(errors="replace"),
        response.headers.get("Location", ""),
    )


def assert_refused_cleanly(probe: Probe, status: int, text: str, location: str) -> None:
    """No 5xx or traceback; a redirect goes somewhere, an error page says something."""
    assert status < 500 or status in probe.ok, f"{status}: {text[:800]}"
    for trace in _TRACES:
        assert trace not in text, f"{trace!r} in the answer: {text[:800]}"
    if 300 <= status < 400:
        assert location, "a redirect without a Location"
    elif status >= 400:
        # The page (or the form shown again) says what went wrong.
        assert "<main" in text or "<h1" in text, text[:800]
        assert any(
            mark in text
            for mark in ('class="message"', 'class="explain"', "error", "problem", "alert")
        ), text[:800]
