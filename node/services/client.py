"""The HTTP client of docs/api.md, for a node (or a hub's own agent) toward its parent.

Requests that carry no bundle are signed (``protocol.requestauth``) with the caller's
key; bundle uploads authenticate themselves. Every call is retried on a dropped
connection, a timeout or a 502/503/504 (or 507: the hub's disk is full), with
exponential back-off and jitter; after the last attempt it raises
:class:`~node.errors.HubUnreachableError`. Re-sending a bundle is
safe: the hub answers a resend with the original receipt. Answers the API does not
allow raise :class:`~node.errors.HubResponseError`.

Nothing here knows about the node's store: :mod:`node.services.sync` drives it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from crypto.sign import SigningKey
from node.errors import HubResponseError, HubUnreachableError
from protocol.requestauth import sign_request

__all__ = ["DownListing", "EnrollmentPoll", "HubClient", "RetryPolicy", "UploadAnswer"]

_log = logging.getLogger("muster.node.sync")
_RETRY_STATUS: Final = frozenset({502, 503, 504, 507})
_MAX_JSON: Final = 4 * 1024 * 1024
_BUNDLE_TYPE: Final = "application/octet-stream"
_HASH: Final = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard to try.

    Attributes:
        attempts: tries per request (1: no retry).
        base_seconds: the first wait; each retry doubles it.
        max_seconds: the longest wait.
        timeout_seconds: one request's whole time limit.
    """

    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    timeout_seconds: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry ``attempt`` (1-based): doubling, capped, with jitter."""
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        return float(ceiling * (0.5 + rng.random() / 2))


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadAnswer:
    """The hub's answer to a bundle upload.

    Attributes:
        status: ``accepted``, ``duplicate`` or ``rejected``.
        receipt: the receipt statement (a JSON object), when the hub sent one.
        http_status: the HTTP status.
        error: the error body of a rejection.
    """

    status: str
    receipt: Mapping[str, Any] | None
    http_status: int
    error: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DownListing:
    """One down bundle the hub has for us (``GET /api/v1/down``)."""

    seq: int
    bundle_id: str
    kind: str
    size: int
    bundle_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentPoll:
    """An enrollment request's state at the hub (``GET /api/v1/enrollments/{id}``)."""

    status: str
    answer: Mapping[str, Any] | None = None
    reason: str = ""


class _RetryStatusError(Exception):
    """The hub answered 502, 503, 504 or 507: worth another attempt."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status

    def __str__(self) -> str:
        cause = " (the hub's disk is full)" if self.status == 507 else ""
        return f"HTTP {self.status}{cause}"


def _why(exc: Exception | None) -> str:
    """What made an attempt fail, for a person: the HTTP status, or the error's kind."""
    return str(exc) if isinstance(exc, _RetryStatusError) else type(exc).__name__


_RETRYABLE: Final = (
    _RetryStatusError,
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    TimeoutError,
)


class HubClient:
    """Talks to one parent hub as ``subject`` (a node id or a hub's site code).

    Use it as an async context manager. ``sleep`` and ``rng`` are injectable so tests do
    not wait for real back-off; ``now`` dates request signatures.
    """

    def __init__(
        self,
        base_url: str,
        *,
        subject: str,
        key: SigningKey,
        now: Callable[[], datetime],
        retry: RetryPolicy | None = None,
        max_bundle_bytes: int = 256 * 1024 * 1024,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._prefix = urlsplit(self._base).path
        self._subject = subject
        self._key = key
        self._now = now
        self._retry = retry or RetryPolicy()
        self._max_bundle = max_bundle_bytes
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HubClient:
        timeout = aiohttp.ClientTimeout(total=self._retry.timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _once(
        self,
        method: str,
        path: str,
        *,
        body: bytes,
        content_type: str | None,
        signed: bool,
        read: Callable[[aiohttp.ClientResponse], Awaitable[Any]],
    ) -> Any:
        assert self._session is not None, "use HubClient as an async context manager"
        headers = {"Content-Type": content_type} if content_type else {}
        if signed:
            # Signed afresh for each attempt: the signature carries the time.
            headers["Authorization"] = sign_request(
                self._key,
                subject=self._subject,
                method=method,
                target=self._prefix + path,
                body=body,
                at=self._now(),
            )
        async with self._session.request(
            method, self._base + path, data=body or None, headers=headers
        ) as response:
            if response.status in _RETRY_STATUS:
                raise _RetryStatusError(response.status)
            return await read(response)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        signed: bool = True,
        read: Callable[[aiohttp.ClientResponse], Awaitable[Any]],
    ) -> Any:
        where = path.split("?", maxsplit=1)[0]
        last: Exception | None = None
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return await self._once(
                    method, path, body=body, content_type=content_type, signed=signed, read=read
                )
            except _RETRYABLE as exc:
                last = exc
                _log.warning(
                    "%s %s: attempt %d of %d failed (%s)",
                    method,
                    where,
                    attempt,
                    self._retry.attempts,
                    _why(exc),
                )
                if attempt < self._retry.attempts:
                    await self._sleep(self._retry.delay(attempt, self._rng))
        raise HubUnreachableError(
            f"{method} {where}: the parent hub did not answer after "
            f"{self._retry.attempts} attempts ({_why(last)})",
            attempts=self._retry.attempts,
        ) from last

    async def upload(self, data: bytes) -> UploadAnswer:
        """``POST /api/v1/bundles``.

        Raises:
            HubUnreachableError: no answer after every attempt.
            HubResponseError: an answer the API does not allow.
        """

        async def read(response: aiohttp.ClientResponse) -> UploadAnswer:
            body = await _json(response)
            receipt = body.get("receipt")
            if receipt is not None and not isinstance(receipt, dict):
                raise HubResponseError("upload answer: receipt must be an object")
            if response.status == 200:
                status = body.get("status")
                if status not in ("accepted", "duplicate") or receipt is None:
                    raise HubResponseError(
                        "upload answer: expected status accepted or duplicate with a receipt"
                    )
                return UploadAnswer(status=status, receipt=receipt, http_status=200)
            if 400 <= response.status < 500:
                return UploadAnswer(
                    status="rejected", receipt=receipt, http_status=response.status, error=body
                )
            raise HubResponseError(f"upload answer: HTTP {response.status}")

        answer: UploadAnswer = await self._call(
            "POST", "/api/v1/bundles", body=data, content_type=_BUNDLE_TYPE, signed=False,
            read=read,
        )  # fmt: skip
        return answer

    async def list_down(self, after: int) -> list[DownListing]:
        """``GET /api/v1/down?after=N``: the down bundles after ``after``, oldest first.

        Raises:
            HubUnreachableError, HubResponseError: as for :meth:`upload`.
        """

        async def read(response: aiohttp.ClientResponse) -> list[DownListing]:
            body = await _json(response, expect=200)
            items = body.get("bundles")
            if not isinstance(items, list):
                raise HubResponseError("down listing: expected a bundles list")
            return [_listing(item) for item in items]

        listing: list[DownListing] = await self._call(
            "GET", f"/api/v1/down?after={int(after)}", read=read
        )
        return listing

    async def fetch_down(self, item: DownListing) -> bytes:
        """``GET /api/v1/down/{seq}``: the bundle's bytes, checked against the listing.

        Raises:
            HubUnreachableError: as for :meth:`upload`.
            HubResponseError: not the size or the hash the listing announced, or too large.
        """
        limit = min(self._max_bundle, item.size)

        async def read(response: aiohttp.ClientResponse) -> bytes:
            if response.status != 200:
                raise HubResponseError(f"down bundle {item.seq}: HTTP {response.status}")
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise HubResponseError(
                        f"down bundle {item.seq}: longer than the {limit} bytes announced"
                    )
                chunks.append(chunk)
            return b"".join(chunks)

        data: bytes = await self._call("GET", f"/api/v1/down/{int(item.seq)}", read=read)
        if len(data) != item.size or hashlib.blake2b(data, digest_size=32).hexdigest() != (
            item.bundle_hash
        ):
            raise HubResponseError(f"down bundle {item.seq}: size or hash differs from the listing")
        return data

    async def post_receipt(self, receipt: bytes) -> None:
        """``POST /api/v1/receipts``: our receipt for a down bundle.

        Raises:
            HubUnreachableError, HubResponseError: as for :meth:`upload`.
        """

        async def read(response: aiohttp.ClientResponse) -> None:
            if not 200 <= response.status < 300:
                body = await _json(response)
                raise HubResponseError(
                    f"receipt refused: HTTP {response.status} {str(body.get('error'))[:40]}"
                )
            await response.read()

        await self._call(
            "POST", "/api/v1/receipts", body=receipt, content_type="application/json", read=read
        )

    async def post_enrollment(self, request: bytes) -> str:
        """``POST /api/v1/enrollments``: return the request's id at the hub.

        Raises:
            HubUnreachableError, HubResponseError: as for :meth:`upload`.
        """

        async def read(response: aiohttp.ClientResponse) -> str:
            body = await _json(response, expect=202)
            ident = body.get("id")
            if not isinstance(ident, str) or not 0 < len(ident) <= 100:
                raise HubResponseError("enrollment answer: expected an id")
            return ident

        ident: str = await self._call(
            "POST", "/api/v1/enrollments", body=request, content_type="application/json",
            signed=False, read=read,
        )  # fmt: skip
        return ident

    async def enrollment(self, ident: str) -> EnrollmentPoll:
        """``GET /api/v1/enrollments/{id}``: the request's state, and the answer once approved.

        Raises:
            HubUnreachableError, HubResponseError: as for :meth:`upload`.
        """

        async def read(response: aiohttp.ClientResponse) -> EnrollmentPoll:
            body = await _json(response)
            status = body.get("status")
            if response.status == 200 and status == "approved":
                answer = body.get("answer")
                if not isinstance(answer, dict):
                    raise HubResponseError("enrollment: approved without an answer")
                return EnrollmentPoll(status="approved", answer=answer)
            if response.status == 202 and status == "pending":
                return EnrollmentPoll(status="pending")
            if response.status == 403 and status == "refused":
                reason = body.get("reason")
                return EnrollmentPoll(status="refused", reason=str(reason or "")[:500])
            raise HubResponseError(f"enrollment: HTTP {response.status}, status {status!r}")

        poll: EnrollmentPoll = await self._call(
            "GET", f"/api/v1/enrollments/{ident}", signed=False, read=read
        )
        return poll


async def _json(response: aiohttp.ClientResponse, *, expect: int | None = None) -> dict[str, Any]:
    if expect is not None and response.status != expect:
        raise HubResponseError(f"{response.url.path}: HTTP {response.status}, expected {expect}")
    raw = await response.content.read(_MAX_JSON + 1)
    if len(raw) > _MAX_JSON:
        raise HubResponseError(f"{response.url.path}: answer longer than {_MAX_JSON} bytes")
    try:
        body = json.loads(raw)
    # ValueError covers JSONDecodeError and UnicodeDecodeError, and the plain ValueError
    # of an integer over 4300 digits; RecursionError: arrays nested thousands deep.
    except (ValueError, RecursionError) as exc:
        raise HubResponseError(
            f"{response.url.path}: HTTP {response.status} answer is not JSON"
        ) from exc
    if not isinstance(body, dict):
        raise HubResponseError(f"{response.url.path}: answer is not a JSON object")
    return body


def _listing(item: object) -> DownListing:
    if not isinstance(item, dict):
        raise HubResponseError("down listing: each bundle must be an object")
    seq, size = item.get("seq"), item.get("size")
    bundle_id, kind, digest = item.get("bundle_id"), item.get("kind"), item.get("hash")
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 1
        or not isinstance(size, int)
        or size < 0
        or not isinstance(bundle_id, str)
        or not isinstance(kind, str)
        or not isinstance(digest, str)
        or len(digest) != 64
        or not set(digest) <= _HASH
    ):
        raise HubResponseError("down listing: a bundle lacks seq, bundle_id, kind, size or hash")
    return DownListing(seq=seq, bundle_id=bundle_id, kind=kind, size=size, bundle_hash=digest)
