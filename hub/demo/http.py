"""The demo's people at work over HTTP: administrators on a hub's admin JSON API, and
collectors and approvers in a node's web UI.

- :class:`HubAdmin` logs in to ``/api/v1/admin/login`` and sends the CSRF token of
  its session with every POST, exactly as the console's browser code does.
- :class:`NodeUi` is a browser on the node's pages: it logs in through the login form,
  reads pages, and submits forms with the session's CSRF token (``hub.demo.html``
  reads what a page's forms would send).

Each person gets a client of their own (cookies are per person). A refusal becomes a
:class:`DemoCheckError` with the server's error code and message, which never hold
personal data.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import aiohttp

from hub.demo.errors import DemoCheckError, DemoProcessError
from hub.demo.html import parse_forms

__all__ = ["Answer", "HubAdmin", "NodeUi", "Upload", "get_json", "post_json", "wait_until_up"]

_TIMEOUT: Final = aiohttp.ClientTimeout(total=120)


def _session() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies of 127.0.0.1 (aiohttp ignores cookies of IP hosts otherwise).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=_TIMEOUT)


def _refusal(what: str, status: int, text: str) -> DemoCheckError:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return DemoCheckError(
            f"{what}: HTTP {status} {body.get('error')}: {body.get('message')}",
            status=status,
            error=body.get("error"),
        )
    return DemoCheckError(f"{what}: HTTP {status}", status=status)


async def get_json(url: str) -> Any:
    """GET a public JSON resource (the hub's status, an enrollment's state)."""
    async with _session() as session, session.get(url) as response:
        text = await response.text()
        if response.status >= 300 and response.status != 202:
            raise _refusal(f"GET {url}", response.status, text)
        return json.loads(text)


async def post_json(url: str, body: bytes) -> Any:
    """POST a JSON document (an enrollment request) to a public endpoint."""
    headers = {"Content-Type": "application/json"}
    async with _session() as session, session.post(url, data=body, headers=headers) as response:
        text = await response.text()
        if response.status >= 300:
            raise _refusal(f"POST {url}", response.status, text)
        return json.loads(text)


async def wait_until_up(
    url: str, *, timeout: float, alive: Any = None, name: str = "", log: object = None
) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took.

    ``alive`` is a callable saying whether the process still runs (a dead one fails at once).

    Raises:
        DemoProcessError: the process ended, or ``timeout`` passed.
    """
    started = time.monotonic()
    async with _session() as session:
        while True:
            if alive is not None and not alive():
                raise DemoProcessError(f"{name} exited while starting", log=log)
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() - started > timeout:
                raise DemoProcessError(f"{name} did not answer within {timeout:.0f} s", log=log)
            await asyncio.sleep(0.2)


class _Person:
    """One person's HTTP client: their own cookies, closed when they leave (also when
    logging in fails or is cancelled, so no session is left open)."""

    def __init__(self, base_url: str, login: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.login, self._password = login, password
        self._session: aiohttp.ClientSession | None = None
        self._csrf = ""

    async def __aenter__(self) -> Self:
        self._session = _session()
        try:
            await self._log_in()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _log_in(self) -> None:
        raise NotImplementedError

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HubAdmin(_Person):
    """A hub administrator's session on the admin JSON API (an async context manager)."""

    async def _log_in(self) -> None:
        answer = await self._request(
            "POST", "/api/v1/admin/login", {"login": self.login, "password": self._password}
        )
        self._csrf = str(answer["csrf_token"])

    async def _request(self, method: str, path: str, body: object = None) -> Any:
        assert self._session is not None
        headers = {"X-CSRF-Token": self._csrf} if method == "POST" and self._csrf else {}
        async with self._session.request(
            method, self.base_url + path, json=body, headers=headers
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise _refusal(f"{method} {path} at {self.base_url}", response.status, text)
            return json.loads(text) if text else None

    async def get(self, path: str, **query: object) -> Any:
        """GET an admin resource (``query`` becomes the query string)."""
        if query:
            path += "?" + "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        return await self._request("GET", path)

    async def post(self, path: str, body: Mapping[str, object] | None = None) -> Any:
        """POST an admin action, with the session's CSRF token."""
        return await self._request("POST", path, dict(body or {}))


@dataclass(frozen=True, slots=True)
class Upload:
    """A file a form sends (``upload__photo``…)."""

    field: str
    filename: str
    data: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What a form submission got back: the status, where it redirects, and the page."""

    status: int
    location: str
    text: str

    @property
    def redirected(self) -> bool:
        return self.status in (302, 303) and bool(self.location)


class NodeUi(_Person):
    """One person in a browser on a node's UI (an async context manager: logs in)."""

    async def _log_in(self) -> None:
        page = await self.page("/login")
        form = next(f for f in parse_forms(page) if f.get("password") is not None)
        fields = form.with_values({"login": self.login, "password": self._password})
        answer = await self.submit("/login", fields, with_csrf=False)
        if not answer.redirected:
            raise DemoCheckError(f"login of {self.login} at {self.base_url}: refused")
        home = await self.page("/")
        tokens = [f.get("csrf_token") for f in parse_forms(home)]
        self._csrf = next((t for t in tokens if t), "")

    async def page(self, path: str) -> str:
        """GET a page (following redirects).

        Raises:
            DemoCheckError: it did not answer 200.
        """
        assert self._session is not None
        async with self._session.get(self.base_url + path) as response:
            text = await response.text()
            if response.status != 200:
                raise _refusal(f"GET {path} at {self.base_url}", response.status, text)
            return text

    async def submit(
        self,
        path: str,
        fields: Sequence[tuple[str, str]],
        *,
        uploads: Sequence[Upload] = (),
        with_csrf: bool = True,
    ) -> Answer:
        """POST a form (multipart when it carries files); redirects are not followed."""
        assert self._session is not None
        data = aiohttp.FormData(default_to_multipart=bool(uploads))
        sent = [(k, v) for k, v in fields if not (with_csrf and k == "csrf_token")]
        for name, value in sent:
            data.add_field(name, value)
        if with_csrf:
            data.add_field("csrf_token", self._csrf)
        for upload in uploads:
            data.add_field(
                upload.field, upload.data, filename=upload.filename, content_type=upload.media_type
            )
        async with self._session.post(
            self.base_url + path, data=data, allow_redirects=False
        ) as response:
            return Answer(
                status=response.status,
                location=response.headers.get("Location", ""),
                text=await response.text(),
            )
