"""A stand-in for the district hub's API (docs/api.md), for the node's sync tests.

This is a stand-in, not a mock: it is a real aiohttp server on a real port, it
verifies what the node sends with the protocol's own checks (bundle steps 1–7, the
approver's authorisation, stream order, signed requests, signed receipts) and answers
with receipts signed by the district hub's key from tests/pki.py. It exists so the sync
client can be tested on its own, including connections dropped half-way, which the real
hub cannot be asked to do; the end-to-end test against the real hub is in
tests/integration.

Fault switches (``faults``):

- ``drop_upload_midway``: read part of the next upload's body, then cut the connection;
- ``drop_after_store``: store the next upload and issue its receipt, then cut the
  connection before answering (the node must resend and get the original receipt);
- ``fail_503``: answer the next N requests with 503;
- ``fail_507``: answer the next N requests with 507 (the hub's disk is full);
- ``reject_upload``: refuse the next upload with a signed ``rejected`` receipt.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from crypto.errors import MusterError
from protocol.bundle import open_bundle
from protocol.entries import Manifest, decode_entry
from protocol.ops import Op
from protocol.requestauth import verify_request
from protocol.stream import StreamPosition, Verdict, classify
from protocol.trust import (
    Authorisation,
    CertificateTrust,
    Receipt,
    ReceiptStatus,
    TrustStore,
    issue_receipt,
    verify_authorisation,
)
from tests.pki import Party

__all__ = ["StandInHub", "make_app"]


@dataclass
class StandInHub:
    """The hub's state: held bundles and their receipts, down bundles, receipts received."""

    party: Party
    trust: TrustStore
    now: Any
    held: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    position: StreamPosition = field(default_factory=StreamPosition)
    ops: list[Op] = field(default_factory=list)
    down: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    node_receipts: list[Receipt] = field(default_factory=list)
    uploads: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def add_down(self, seq: int, bundle_id: str, kind: str, data: bytes) -> None:
        self.down.append((seq, bundle_id, kind, data))

    def receipt(
        self, header: Any, bundle_hash: str, status: ReceiptStatus, reason: str = "", code: str = ""
    ) -> dict[str, Any]:
        at: datetime = self.now()
        made = issue_receipt(
            key=self.party.keys.signing,
            bundle_id=header.bundle_id,
            bundle_hash=bundle_hash,
            sender=header.sender,
            receiver=self.party.subject,
            seq=header.seq,
            status=status,
            received_at=at,
            reason=reason,
            reason_code=code,
        )
        result: dict[str, Any] = made.to_dict()
        return result

    def take(self, data: bytes) -> tuple[int, dict[str, Any]]:
        """Verify and hold an upload the way the hub's intake does."""
        try:
            opened = open_bundle(
                io.BytesIO(data),
                trust=CertificateTrust(self.trust, self.now()),
                identities=[self.party.keys.age],
            )
        except MusterError as exc:
            return exc.http_status, exc.to_dict()
        header, digest = opened.header, opened.verified.bundle_hash
        decision = classify(
            self.position,
            seq=header.seq,
            prev=header.prev,
            bundle_hash=digest,
            held=lambda s: self.held[s][0] if s in self.held else None,
        )
        if decision.verdict is Verdict.DUPLICATE:
            return 200, {"status": "duplicate", "receipt": self.held[header.seq][1]}
        if decision.verdict is not Verdict.ACCEPT:
            return 409, {"error": "stream_order", "message": decision.reason}
        if self.fault("reject_upload"):
            receipt = self.receipt(
                header, digest, ReceiptStatus.REJECTED, "照片不清晰", "review_rejected"
            )
            return 422, {"error": "review_rejected", "message": "rejected", "receipt": receipt}
        entries = [decode_entry(e, i) for i, e in enumerate(opened.entries())]
        ops = [e for e in entries if isinstance(e, Op)]
        if header.kind.value == "delta":
            manifest = entries[0]
            assert isinstance(manifest, Manifest)
            auth = Authorisation.from_dict(header.auth or {})
            try:
                verify_authorisation(
                    auth, op_ids=[o.op_id for o in ops], store=self.trust, origin=header.sender
                )
            except MusterError as exc:
                receipt = self.receipt(
                    header, digest, ReceiptStatus.REJECTED, exc.message, exc.code
                )
                return 403, {**exc.to_dict(), "receipt": receipt}
        receipt = self.receipt(header, digest, ReceiptStatus.ACCEPTED)
        self.held[header.seq] = (digest, receipt)
        self.position = StreamPosition(last_seq=header.seq, last_hash=digest)
        self.ops.extend(ops)
        return 200, {"status": "accepted", "receipt": receipt}

    def fault(self, name: str) -> bool:
        left = self.faults.get(name, 0)
        if left:
            self.faults[name] = left - 1
        return bool(left)


def make_app(hub: StandInHub) -> web.Application:
    """The stand-in's routes: bundles, down bundles, receipts (docs/api.md)."""

    def caller(request: web.Request, body: bytes) -> None:
        verify_request(
            request.headers.get("Authorization"),
            method=request.method,
            target=request.path_qs,
            body=body,
            store=hub.trust,
            now=hub.now(),
        )

    @web.middleware
    async def faults(request: web.Request, handler: Any) -> web.StreamResponse:
        if hub.fault("fail_503"):
            return web.json_response({"error": "busy", "message": "try later"}, status=503)
        if hub.fault("fail_507"):
            body = {"error": "hub_storage", "message": "the hub could not store the bundle"}
            return web.json_response(body, status=507)
        try:
            response: web.StreamResponse = await handler(request)
        except MusterError as exc:
            return web.json_response(exc.to_dict(), status=exc.http_status)
        return response

    async def upload(request: web.Request) -> web.StreamResponse:
        hub.uploads += 1
        if hub.fault("drop_upload_midway"):
            await request.content.read(200)
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPInternalServerError
        data = await request.read()
        status, body = hub.take(data)
        if hub.fault("drop_after_store"):
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPInternalServerError
        return web.json_response(body, status=status)

    async def listing(request: web.Request) -> web.StreamResponse:
        caller(request, b"")
        after = int(request.query.get("after", "0"))
        items = [
            {
                "seq": s,
                "bundle_id": b,
                "kind": k,
                "size": len(d),
                "hash": hashlib.blake2b(d, digest_size=32).hexdigest(),
            }
            for s, b, k, d in sorted(hub.down)
            if s > after
        ]
        return web.json_response({"bundles": items[:100]})

    async def down(request: web.Request) -> web.StreamResponse:
        caller(request, b"")
        seq = int(request.match_info["seq"])
        for s, _b, _k, data in hub.down:
            if s == seq:
                return web.Response(body=data, content_type="application/octet-stream")
        raise web.HTTPNotFound

    async def receipts(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        caller(request, body)
        receipt = Receipt.from_bytes(body)
        [cert] = list(hub.trust.find(receipt.receiver, receipt.receiver_key_id))
        receipt.verify_signature(cert.sign_key)
        hub.node_receipts.append(receipt)
        return web.json_response({"status": "ok"})

    app = web.Application(middlewares=[faults])
    app.router.add_post("/api/v1/bundles", upload)
    app.router.add_get("/api/v1/down", listing)
    app.router.add_get("/api/v1/down/{seq}", down)
    app.router.add_post("/api/v1/receipts", receipts)
    return app
