"""The node ↔ hub HTTP API of docs/api.md (``/api/v1``), thin handlers over the services.

Handlers read a bounded body, call a service in a worker thread (the store is
synchronous), and answer JSON. Every :class:`~crypto.errors.MusterError` becomes
``{"error", "message", "details", "hint"}`` with the class's HTTP status
(:func:`error_middleware`); anything else is a bare 500 that names no internals.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Handler

from crypto.errors import InputError, MusterError
from hub.appkeys import CONTEXT
from hub.context import HubContext
from hub.downward import acknowledge
from hub.errors import NotFoundError
from hub.intake import IntakeResult, take_in
from hub.queries import records_digest
from hub.rawstore import bundle_path, store_async
from hub.rotation import submit_any
from hub.sites import enrollment_status
from hub.store.models import DownBundle
from hub.trustflow import verify_down_caller
from protocol.bundle import BundleKind
from protocol.errors import BundleTooLargeError, RequestAuthError
from protocol.requestauth import Caller, verify_request
from protocol.trust import Receipt

__all__ = ["MAX_ROW_ID", "VERSION", "error_middleware", "json_error", "routes", "whole_number"]

VERSION: Final = "0.1.0"
_log = logging.getLogger("muster.hub.api")
_MAX_SMALL_BODY: Final = 1 << 20
_DOWN_PAGE: Final = 100

routes = web.RouteTableDef()
_Row = TypeVar("_Row")


def json_error(error: MusterError, **extra: Any) -> web.Response:
    """The error body of docs/api.md with the error class's status."""
    return web.json_response({**error.to_dict(), **extra}, status=error.http_status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except MusterError as exc:
        _log.info("%s %s: %s", request.method, request.path, exc.code)
        return json_error(exc)
    except web.HTTPException:
        raise
    except Exception:
        _log.exception("internal error in %s %s", request.method, request.path)
        return web.json_response(
            {"error": "internal", "message": "the hub failed to answer; see its log"}, status=500
        )


#: The largest row id of the hub's ``integer`` id columns (32 bits on PostgreSQL).
MAX_ROW_ID: Final = 2**31 - 1


def whole_number(text: str, name: str, *, maximum: int = 2**62 - 1) -> int:
    """A non-negative whole number from a URL, at most ``maximum`` (pass
    :data:`MAX_ROW_ID` for a row id or a cursor over one: a larger one would reach the
    database and fail there).

    Raises:
        InputError: not such a number.
    """
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name}: expected a whole number") from None
    if not 0 <= value <= maximum:
        raise InputError(f"{name}: expected a whole number from 0 to {maximum}")
    return value


def ctx_of(request: web.Request) -> HubContext:
    return request.app[CONTEXT]


async def small_body(request: web.Request) -> bytes:
    """The request body, at most 1 MiB.

    Raises:
        BundleTooLargeError: the body is larger.
    """
    body = await request.content.read(_MAX_SMALL_BODY + 1)
    if len(body) > _MAX_SMALL_BODY:
        raise BundleTooLargeError(f"request body larger than {_MAX_SMALL_BODY} bytes")
    return body


async def signed_caller(request: web.Request, body: bytes = b"") -> Caller:
    """The certified subject that signed this request.

    Raises:
        RequestAuthError, TrustError: unsigned, stale, unknown or untrusted.
    """
    ctx = ctx_of(request)

    def check() -> Caller:
        with ctx.store.read() as session:
            store = ctx.trust(session)
        return verify_request(
            request.headers.get("Authorization"),
            method=request.method,
            target=request.path_qs,
            body=body,
            store=store,
            now=ctx.now(),
            max_skew=timedelta(seconds=ctx.config.request_skew_seconds),
        )

    return await asyncio.to_thread(check)


def _intake_answer(result: IntakeResult) -> web.Response:
    receipt = result.receipt.to_dict() if result.receipt else None
    if result.status == "rejected":
        assert result.error is not None
        extra = {"receipt": receipt} if receipt else {}
        return json_error(result.error, **extra)
    body: dict[str, Any] = {"status": result.status, "receipt": receipt}
    if result.parked:
        body["parked"] = True
    return web.json_response(body)


@routes.post("/api/v1/bundles")
async def post_bundle(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    limit = ctx.config.max_bundle_bytes
    if request.content_length is not None and request.content_length > limit:
        raise BundleTooLargeError(f"bundle is {request.content_length} bytes, limit {limit}")
    stored = await store_async(
        request.content.iter_chunked(1 << 16),
        directory=ctx.config.bundles_dir,
        scratch=ctx.config.scratch_dir,
        limit=limit,
    )
    result = await asyncio.to_thread(take_in, ctx, stored, source="http")
    return _intake_answer(result)


async def down_caller(request: web.Request, body: bytes = b"") -> tuple[Caller, datetime | None]:
    """The caller of a down endpoint, and when it was revoked (None: it is not).

    A revoked child still fetches what was sealed for it until then and every trust
    bundle, so it learns of the revocation (hub/trustflow.py).

    Raises:
        RequestAuthError, TrustError: unsigned, stale, unknown or untrusted.
    """
    ctx = ctx_of(request)
    return await asyncio.to_thread(
        verify_down_caller,
        ctx,
        request.headers.get("Authorization"),
        method=request.method,
        target=request.path_qs,
        body=body,
    )


def _visible(query: sa.Select[_Row], revoked_at: datetime | None) -> sa.Select[_Row]:
    if revoked_at is None:
        return query
    return query.where(
        sa.or_(DownBundle.created_at <= revoked_at, DownBundle.kind == BundleKind.TRUST.value)
    )


def _down_rows(
    ctx: HubContext, caller: str, after: int, revoked_at: datetime | None
) -> list[dict[str, Any]]:
    with ctx.store.read() as session:
        query = sa.select(DownBundle).where(DownBundle.recipient == caller, DownBundle.seq > after)
        rows = session.scalars(
            _visible(query, revoked_at).order_by(DownBundle.seq).limit(_DOWN_PAGE)
        ).all()
        return [
            {
                "seq": r.seq,
                "bundle_id": r.bundle_id,
                "kind": r.kind,
                "size": r.size,
                "hash": r.bundle_hash,
            }
            for r in rows
        ]


@routes.get("/api/v1/down")
async def list_down(request: web.Request) -> web.Response:
    caller, revoked_at = await down_caller(request)
    after = whole_number(request.query.get("after", "0"), "after")
    rows = await asyncio.to_thread(_down_rows, ctx_of(request), caller.subject, after, revoked_at)
    return web.json_response({"bundles": rows})


@routes.get("/api/v1/down/{seq}")
async def get_down(request: web.Request) -> web.StreamResponse:
    caller, revoked_at = await down_caller(request)
    ctx = ctx_of(request)
    seq = whole_number(request.match_info["seq"], "seq")

    def find() -> str | None:
        with ctx.store.read() as session:
            query = sa.select(DownBundle.bundle_hash).where(
                DownBundle.recipient == caller.subject, DownBundle.seq == seq
            )
            return session.scalar(_visible(query, revoked_at))

    digest = await asyncio.to_thread(find)
    if digest is None:
        raise NotFoundError(f"no down bundle {seq} for {caller.subject}")
    path = bundle_path(ctx.config.down_dir, digest)
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


@routes.post("/api/v1/receipts")
async def post_receipt(request: web.Request) -> web.Response:
    body = await small_body(request)
    caller, _revoked_at = await down_caller(request, body)
    ctx = ctx_of(request)
    receipt = Receipt.from_bytes(body)
    receipt.verify_signature(caller.certificate.sign_key)

    def record() -> str:
        with ctx.store.write() as session:
            return acknowledge(ctx, session, receipt, caller=caller.subject).state

    state = await asyncio.to_thread(record)
    return web.json_response({"status": state})


@routes.post("/api/v1/enrollments")
async def post_enrollment(request: web.Request) -> web.Response:
    body = await small_body(request)
    info = await asyncio.to_thread(submit_any, ctx_of(request), body)
    return web.json_response({"id": info.id, "status": info.state}, status=202)


@routes.get("/api/v1/enrollments/{id}")
async def get_enrollment(request: web.Request) -> web.Response:
    ident = request.match_info["id"]
    state, answer, reason = await asyncio.to_thread(enrollment_status, ctx_of(request), ident)
    if state == "approved" and answer is not None:
        return web.json_response({"status": state, "answer": json.loads(answer.to_bytes())})
    if state == "refused":
        return web.json_response({"status": state, "reason": reason or ""}, status=403)
    return web.json_response({"status": state}, status=202)


@routes.get("/api/v1/status")
async def status(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return web.json_response(
        {
            "site": ctx.site,
            "name": ctx.config.name,
            "version": VERSION,
            "time": ctx.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


@routes.get("/api/v1/digest")
async def digest(request: web.Request) -> web.Response:
    caller = await signed_caller(request)
    scope = request.query.get("scope", caller.subject)
    if scope != caller.subject:
        raise RequestAuthError("a node may ask only for the digest of its own records")
    result = await asyncio.to_thread(records_digest, ctx_of(request), caller.subject)
    return web.json_response(result)
