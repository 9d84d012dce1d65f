"""The HTTP API of docs/api.md and the admin endpoints, over real sockets."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from hub.accounts import create_account
from hub.app import create_app
from hub.context import HubContext
from hub.review import reject
from protocol.requestauth import sign_request
from protocol.trust import ReceiptStatus, Role, issue_receipt
from protocol.trust.enrollment import EnrollmentAnswer, make_enrollment_request
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, held_rename, submit
from tests.pki import NOW, Party, Pki, seeded_key

Client = TestClient[web.Request, web.Application]

#: Bodies Python's json refuses, each in its own way (JSONDecodeError; a plain
#: ValueError for an integer over 4300 digits; RecursionError).
NOT_JSON = pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"login": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000],
    ids=["syntax", "integer-over-4300-digits", "nested-too-deep"],
)
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def client(hub: HubContext, aiohttp_client: MakeClient) -> Client:
    # No pipeline workers: the tests run the pipeline themselves, step by step.
    app = create_app(dataclasses.replace(hub.config, workers=0), context=hub)
    return await aiohttp_client(app)


def signed(party: Party, method: str, target: str, body: bytes = b"") -> dict[str, str]:
    header = sign_request(
        party.keys.signing, subject=party.subject, method=method, target=target, body=body, at=NOW
    )
    return {"Authorization": header}


async def test_uploading_a_bundle_answers_with_a_signed_receipt(
    client: Client, deltas: DeltaFactory, pki: Pki
) -> None:
    data, digest = deltas.bundle([deltas.create(record_id(1))])
    response = await client.post(
        "/api/v1/bundles", data=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "accepted"
    assert body["receipt"]["body"]["hash"] == digest
    again = await client.post("/api/v1/bundles", data=data)
    assert (await again.json())["status"] == "duplicate"


async def test_a_refused_upload_carries_the_error_and_a_rejected_receipt(
    client: Client, deltas: DeltaFactory, pki: Pki
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(1))], to=pki["other_district"])
    response = await client.post("/api/v1/bundles", data=data)
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "wrong_recipient"
    assert body["receipt"]["body"]["status"] == "rejected"


async def test_an_upload_larger_than_the_limit_is_413(client: Client, hub: HubContext) -> None:
    limit = hub.config.max_bundle_bytes
    response = await client.post(
        "/api/v1/bundles", data=b"x" * 10, headers={"Content-Length": str(limit + 1)}
    )
    assert response.status == 413
    assert (await response.json())["error"] == "bundle_too_large"


async def test_status_names_the_hub_and_no_one_else(client: Client) -> None:
    body = await (await client.get("/api/v1/status")).json()
    assert body["site"] == "370102"
    assert set(body) == {"site", "name", "version", "time"}


async def test_a_node_fetches_its_decisions_and_acknowledges_them(
    client: Client, hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    _, _, held_row = held_rename(hub, deltas)
    reject(hub, held_row, by="wang.fang", reason="请核对姓名")
    node = pki["node"]
    listing = await client.get(
        "/api/v1/down?after=0", headers=signed(node, "GET", "/api/v1/down?after=0")
    )
    assert listing.status == 200
    [entry] = (await listing.json())["bundles"]
    assert entry["kind"] == "decisions"
    target = f"/api/v1/down/{entry['seq']}"
    file = await client.get(target, headers=signed(node, "GET", target))
    assert file.status == 200
    assert len(await file.read()) == entry["size"]
    receipt = issue_receipt(
        key=node.keys.signing,
        bundle_id=entry["bundle_id"],
        bundle_hash=entry["hash"],
        sender="370102",
        receiver=node.subject,
        seq=entry["seq"],
        status=ReceiptStatus.ACCEPTED,
        received_at=NOW,
    )
    body = receipt.to_bytes()
    ack = await client.post(
        "/api/v1/receipts", data=body, headers=signed(node, "POST", "/api/v1/receipts", body)
    )
    assert (await ack.json()) == {"status": "delivered"}


async def test_down_bundles_need_a_signed_request(client: Client) -> None:
    response = await client.get("/api/v1/down?after=0")
    assert response.status == 401
    assert (await response.json())["error"] == "unauthenticated"


async def test_another_node_cannot_read_a_nodes_down_bundles(client: Client, pki: Pki) -> None:
    other = pki["other_node"]
    response = await client.get(
        "/api/v1/down?after=0", headers=signed(other, "GET", "/api/v1/down?after=0")
    )
    assert (await response.json()) == {"bundles": []}


async def test_enrollment_is_pending_until_an_administrator_approves_it(
    client: Client, hub: HubContext, pki: Pki
) -> None:
    keys = KeyPair(seeded_key("new node"), AgeIdentity.generate())
    request = make_enrollment_request(
        keys.signing,
        subject="370102002-01",
        role=Role.NODE,
        name="新节点",
        at=NOW,
        age=keys.age.recipient,
    )
    posted = await client.post("/api/v1/enrollments", data=request.to_bytes())
    assert posted.status == 202
    ident = (await posted.json())["id"]
    assert (await client.get(f"/api/v1/enrollments/{ident}")).status == 202
    _, csrf = await login(client, hub)
    approved = await client.post(
        f"/api/v1/admin/enrollments/{ident}/approve", headers={"X-CSRF-Token": csrf}
    )
    assert approved.status == 200, await approved.text()
    answer = await client.get(f"/api/v1/enrollments/{ident}")
    assert answer.status == 200
    parsed = EnrollmentAnswer.from_bytes(json.dumps((await answer.json())["answer"]))
    assert parsed.certificate.subject == "370102002-01"
    assert parsed.certificate.issuer == "370102"


@NOT_JSON
async def test_an_enrollment_request_that_is_no_json_is_refused_as_untrusted(
    client: Client, body: bytes
) -> None:
    response = await client.post("/api/v1/enrollments", data=body)
    assert response.status == 403  # a TrustError, as every malformed request is
    answer = await response.json()
    assert answer["error"] == "untrusted"
    assert "not valid JSON" in answer["message"]


async def test_an_enrollment_outside_the_jurisdiction_is_refused(client: Client) -> None:
    keys = KeyPair(seeded_key("far node"), AgeIdentity.generate())
    request = make_enrollment_request(
        keys.signing,
        subject="370103001-01",
        role=Role.NODE,
        name="外区",
        at=NOW,
        age=keys.age.recipient,
    )
    response = await client.post("/api/v1/enrollments", data=request.to_bytes())
    assert response.status == 403
    assert (await response.json())["error"] == "name_constraint"


async def login(client: Client, hub: HubContext, role: str = "admin") -> tuple[Any, str]:
    create_account(
        hub,
        login=f"{role}1",
        display_name="王芳",
        role=role,
        password="correct horse battery",
        by="test",
    )
    response = await client.post(
        "/api/v1/admin/login", json={"login": f"{role}1", "password": "correct horse battery"}
    )
    assert response.status == 200
    return response.cookies, (await response.json())["csrf_token"]


async def test_an_administrator_reviews_a_bundle_the_way_a_browser_does(
    client: Client, hub: HubContext, deltas: DeltaFactory
) -> None:
    _, _, held_row = held_rename(hub, deltas)
    _, csrf = await login(client, hub)
    inbox = await (await client.get("/api/v1/admin/bundles?state=staged")).json()
    assert [b["row"] for b in inbox["bundles"]] == [held_row]
    found = await (await client.get(f"/api/v1/admin/bundles/{held_row}/items")).json()
    assert found["items"][0]["field"] == "name"
    refused = await client.post(f"/api/v1/admin/bundles/{held_row}/approve", json={})
    assert refused.status == 403  # no CSRF token
    ok = await client.post(
        f"/api/v1/admin/bundles/{held_row}/approve", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status == 200
    drain(hub)
    record = await (await client.get(f"/api/v1/admin/records/{record_id(1)}")).json()
    assert record["values"]["name"] == "王小明"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/admin/bundles/3000000000",
        "/api/v1/admin/bundles/3000000000/items",
        "/api/v1/admin/bundles?after=3000000000",
    ],
)
async def test_a_row_beyond_the_id_columns_is_a_clear_400(
    client: Client, hub: HubContext, path: str
) -> None:
    await login(client, hub)
    response = await client.get(path)
    assert response.status == 400  # not the database's "integer out of range" as a 500
    assert "expected a whole number from 0 to 2147483647" in (await response.json())["message"]


@NOT_JSON
async def test_a_request_body_that_is_no_json_object_is_a_clear_400(
    client: Client, body: bytes
) -> None:
    response = await client.post(
        "/api/v1/admin/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["message"] == "request body: expected a JSON object"


async def test_a_viewer_may_read_but_not_review(
    client: Client, hub: HubContext, deltas: DeltaFactory
) -> None:
    _, csrf = await login(client, hub, role="viewer")
    response = await client.post(
        "/api/v1/admin/bundles/1/reject", json={"reason": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 403
    assert (await response.json())["error"] == "forbidden"


async def test_repeated_wrong_passwords_lock_the_account(client: Client, hub: HubContext) -> None:
    create_account(
        hub,
        login="li",
        display_name="李",
        role="reviewer",
        password="correct horse battery",
        by="test",
    )
    for _ in range(hub.config.max_failed_logins):
        bad = await client.post(
            "/api/v1/admin/login", json={"login": "li", "password": "wrong!!!!"}
        )
        assert bad.status == 401
    locked = await client.post(
        "/api/v1/admin/login", json={"login": "li", "password": "correct horse battery"}
    )
    assert locked.status == 429


async def test_admin_endpoints_need_a_login(client: Client) -> None:
    response = await client.get("/api/v1/admin/bundles")
    assert response.status == 401


async def test_a_node_gets_the_digest_of_its_own_records(
    client: Client, hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(i)) for i in range(3)])[0])
    drain(hub)
    node = pki["node"]
    target = "/api/v1/digest?scope=370102001-01"
    body = await (await client.get(target, headers=signed(node, "GET", target))).json()
    assert body["count"] == 3
    assert len(body["digest"]) == 64


async def test_a_reviewer_pages_through_the_records_a_held_bundle_creates(
    client: Client, hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    ops = [deltas.create(record_id(i)) for i in range(5)]
    ops.append(deltas.set(record_id(0), "name", "王小明", [ops[0].op_id], ops[0].op_id))
    held = submit(hub, deltas.bundle(ops)[0])
    drain(hub)
    await login(client, hub)
    first = await (await client.get(f"/api/v1/admin/bundles/{held.row_id}/records?limit=3")).json()
    assert [r["record_id"] for r in first["records"]] == [record_id(i) for i in range(3)]
    after = first["records"][-1]["entry"]
    rest = await (
        await client.get(f"/api/v1/admin/bundles/{held.row_id}/records?after={after}")
    ).json()
    assert [r["record_id"] for r in rest["records"]] == [record_id(3), record_id(4)]
    assert rest["records"][0]["values"]["name"] == dict(ops[3].create_values())["name"]
