"""Jurisdiction in the admin API: an account of district 370102 never sees 370103's
bundles, findings, records, alerts, streams, enrollment requests, certificates,
accounts or audit entries, and cannot act on them (a 404, nothing changed).

A city hub (370100) on SQLite and on PostgreSQL takes bundles from a town node of
each district; clean ones merge at once, a rename of 370103's record waits for
review, a bundle of 370103 beyond a gap is parked and one reusing a sequence number
raises an alert. The city certified a node of each district and has a request of
each pending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from hub.app import create_app
from hub.context import HubContext
from hub.sites import approve_enrollment, submit_enrollment
from hub.store.models import AuditRow, CertificateRow, EnrollmentRow
from protocol.trust import Role
from protocol.trust.enrollment import make_enrollment_request
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, drain, make_city_hub, submit
from tests.pki import NOW, Pki, seeded_key

Client = TestClient[web.Request, web.Application]
PASSWORD = "correct horse battery"
ROLES = sa.text("SELECT login, role FROM accounts")


@pytest.fixture(scope="module")
def two_districts() -> Pki:
    pki = Pki.build()
    pki.add("other_approver", "370103001/zhao.lei", Role.APPROVER, issuer="other_district")
    return pki


@dataclass(frozen=True, slots=True, kw_only=True)
class City:
    hub: HubContext
    mine: str
    theirs: str
    theirs_number: str
    my_bundle: int
    their_bundle: int
    their_held: int
    their_request: str
    my_request: str
    their_serial: str
    my_serial: str
    my_enrolled: str


def _request(hub: HubContext, subject: str) -> str:
    keys = KeyPair(seeded_key(subject), AgeIdentity.generate())
    request = make_enrollment_request(
        keys.signing, subject=subject, role=Role.NODE, name="节点", at=NOW, age=keys.age.recipient
    )
    return submit_enrollment(hub, request.to_bytes()).id


@pytest.fixture
def city(tmp_path: Path, hub_db_url: str, two_districts: Pki) -> Iterator[City]:
    pki = two_districts
    accounts = (
        ("city", "admin", "370100"),
        ("district.admin", "admin", "370102"),
        ("district.auditor", "auditor", "370102"),
        ("other.admin", "admin", "370103"),
    )
    hub = make_city_hub(tmp_path / "data", hub_db_url, pki, accounts, PASSWORD)
    ours = DeltaFactory(pki)
    theirs = DeltaFactory(pki, node="other_node", approver="other_approver")
    their_create = theirs.create(record_id(2), theirs.record("370103001"))
    mine = submit(hub, ours.bundle([ours.create(record_id(1))], to=pki["city"])[0]).row_id
    their_row = submit(hub, theirs.bundle([their_create], to=pki["city"])[0]).row_id
    rename = theirs.set(record_id(2), "name", "赵六", [their_create.op_id], their_create.op_id)
    held = submit(hub, theirs.bundle([rename], to=pki["city"])[0]).row_id
    drain(hub)
    # Beyond a gap (parked), and a different bundle reusing seq 1 (refused, alerted).
    late = theirs.create(record_id(5), theirs.record("370103001"))
    submit(hub, theirs.bundle([late], to=pki["city"], seq=theirs.seq + 2, advance=False)[0])
    again = theirs.create(record_id(6), theirs.record("370103001"))
    submit(hub, theirs.bundle([again], to=pki["city"], seq=1, prev=None, advance=False)[0])
    my_enrolled = _request(hub, "370102002-01")
    my_serial = approve_enrollment(hub, my_enrolled, by="city").serial
    their_serial = approve_enrollment(hub, _request(hub, "370103002-01"), by="city").serial
    assert bundle_row(hub, held).state == "staged"
    yield City(
        hub=hub,
        mine=record_id(1),
        theirs=record_id(2),
        theirs_number=str(dict(their_create.create_values())["id_number"]),
        my_bundle=mine,
        their_bundle=their_row,
        their_held=held,
        their_request=_request(hub, "370103003-01"),
        my_request=_request(hub, "370102003-01"),
        their_serial=their_serial,
        my_serial=my_serial,
        my_enrolled=my_enrolled,
    )
    hub.store.dispose()


@pytest.fixture
async def client(city: City, aiohttp_client: Any) -> Client:
    app = create_app(dataclasses.replace(city.hub.config, workers=0), context=city.hub)
    made: Client = await aiohttp_client(app)
    return made


async def log_in(client: Client, login: str) -> str:
    response = await client.post("/api/v1/admin/login", json={"login": login, "password": PASSWORD})
    assert response.status == 200, await response.text()
    token: str = (await response.json())["csrf_token"]
    return token


def audit_count(city: City) -> int:
    with city.hub.store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(AuditRow)) or 0)


async def test_the_inbox_lists_no_bundle_of_another_district(client: Client, city: City) -> None:
    await log_in(client, "district.admin")
    listed = (await (await client.get("/api/v1/admin/bundles")).json())["bundles"]
    assert [b["row"] for b in listed] == [city.my_bundle]
    by_sender = await client.get("/api/v1/admin/bundles?sender=370103001-01")
    assert (await by_sender.json())["bundles"] == []
    await log_in(client, "city")
    everything = (await (await client.get("/api/v1/admin/bundles")).json())["bundles"]
    assert {city.my_bundle, city.their_bundle, city.their_held} <= {b["row"] for b in everything}


async def test_a_bundle_of_another_district_is_not_found(client: Client, city: City) -> None:
    await log_in(client, "district.admin")
    response = await client.get(f"/api/v1/admin/bundles/{city.their_bundle}")
    assert response.status == 404
    body = await response.json()
    # The same answer as for a row that does not exist: nothing confirms it is there.
    missing = await (await client.get("/api/v1/admin/bundles/99999")).json()
    assert (body["error"], body["message"]) == ("not_found", f"no bundle {city.their_bundle}")
    assert missing["message"] == "no bundle 99999"
    assert (await client.get(f"/api/v1/admin/bundles/{city.my_bundle}")).status == 200


async def test_the_findings_of_another_districts_bundle_are_not_found(
    client: Client, city: City
) -> None:
    await log_in(client, "district.admin")
    response = await client.get(f"/api/v1/admin/bundles/{city.their_held}/items")
    assert response.status == 404
    assert "赵六" not in await response.text()
    await log_in(client, "city")
    found = await (await client.get(f"/api/v1/admin/bundles/{city.their_held}/items")).json()
    assert [i["new"] for i in found["items"]] == ["赵六"]


async def test_the_records_another_districts_bundle_creates_are_not_found(
    client: Client, city: City
) -> None:
    await log_in(client, "district.admin")
    response = await client.get(f"/api/v1/admin/bundles/{city.their_bundle}/records")
    assert response.status == 404
    mine = await (await client.get(f"/api/v1/admin/bundles/{city.my_bundle}/records")).json()
    assert [r["record_id"] for r in mine["records"]] == [city.mine]


async def test_another_districts_bundle_can_be_neither_approved_nor_rejected(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    before = audit_count(city)
    for action, body in (("approve", {}), ("reject", {"reason": "不对"})):
        response = await client.post(
            f"/api/v1/admin/bundles/{city.their_held}/{action}",
            json=body,
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 404, action
        assert (await response.json())["error"] == "not_found"
    row = bundle_row(city.hub, city.their_held)
    assert (row.state, row.decided_by) == ("staged", None)
    assert audit_count(city) == before


async def test_records_of_another_district_are_neither_found_nor_listed(
    client: Client, city: City
) -> None:
    await log_in(client, "district.admin")
    assert (await client.get(f"/api/v1/admin/records/{city.theirs}")).status == 404
    by_number = await client.get(f"/api/v1/admin/records?id_number={city.theirs_number}")
    assert (await by_number.json())["records"] == []
    listed = (await (await client.get("/api/v1/admin/records")).json())["records"]
    assert [r["record_id"] for r in listed] == [city.mine]


async def test_alerts_and_stream_gaps_of_another_district_are_left_out(
    client: Client, city: City
) -> None:
    await log_in(client, "district.admin")
    assert (await (await client.get("/api/v1/admin/alerts")).json())["alerts"] == []
    assert (await (await client.get("/api/v1/admin/streams")).json())["gaps"] == []
    await log_in(client, "city")
    alerts = (await (await client.get("/api/v1/admin/alerts")).json())["alerts"]
    gaps = (await (await client.get("/api/v1/admin/streams")).json())["gaps"]
    assert [a["subject"] for a in alerts] == ["370103001-01"]
    assert [g["sender"] for g in gaps] == ["370103001-01"]


async def test_enrollment_requests_of_another_district_are_neither_listed_nor_decided(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    listed = (await (await client.get("/api/v1/admin/enrollments")).json())["enrollments"]
    assert {e["site"] for e in listed} == {"370102002", "370102003"}
    for action, body in (("approve", {}), ("refuse", {"reason": "不认识"})):
        response = await client.post(
            f"/api/v1/admin/enrollments/{city.their_request}/{action}",
            json=body,
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 404, action
    with city.hub.store.read() as session:
        row = session.get(EnrollmentRow, city.their_request)
        assert row is not None
        assert row.state == "pending"
    approved = await client.post(
        f"/api/v1/admin/enrollments/{city.my_request}/approve", headers={"X-CSRF-Token": csrf}
    )
    assert approved.status == 200


async def test_sites_and_certificates_of_another_district_are_neither_listed_nor_revoked(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    listed = (await (await client.get("/api/v1/admin/sites")).json())["sites"]
    assert {s["subject"] for s in listed} == {"370102", "370102002-01"}
    response = await client.post(
        f"/api/v1/admin/certificates/{city.their_serial}/revoke",
        json={"reason": "key_compromise"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 404
    with city.hub.store.read() as session:
        cert = session.get(CertificateRow, city.their_serial)
        assert cert is not None
        assert cert.revoked_at is None


async def test_accounts_of_another_district_are_neither_listed_nor_changed(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    listed = (await (await client.get("/api/v1/admin/accounts")).json())["accounts"]
    assert {a["login"] for a in listed} == {"district.admin", "district.auditor"}
    before = audit_count(city)
    response = await client.post(
        "/api/v1/admin/accounts/other.admin/role",
        json={"role": "viewer"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 404
    assert audit_count(city) == before


async def test_an_account_made_by_a_district_administrator_stays_in_the_district(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    for scope in ("370103", "370100", "junk"):
        refused = await client.post(
            "/api/v1/admin/accounts",
            json={
                "login": "sneaky",
                "display_name": "x",
                "role": "admin",
                "password": PASSWORD,
                "scope": scope,
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status == 400, scope
        assert (await refused.json())["message"] == "scope: expected a division code inside 370102"
    created = await client.post(
        "/api/v1/admin/accounts",
        json={"login": "li.na", "display_name": "李娜", "role": "viewer", "password": PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status == 201
    assert (await created.json())["scope"] == "370102"


async def test_audit_entries_of_another_district_are_left_out(client: Client, city: City) -> None:
    await log_in(client, "other.admin")
    await log_in(client, "district.auditor")
    body = await (await client.get("/api/v1/admin/audit?limit=500")).json()
    entries = body["entries"]
    rows = {e["details"].get("row") for e in entries} - {None}
    assert rows == {city.my_bundle}
    subjects = {e["subject"] for e in entries}
    assert city.their_request not in subjects
    assert city.their_serial not in subjects
    assert "other.admin" not in subjects | {e["actor"] for e in entries}
    assert {"district.auditor", city.my_enrolled} <= subjects
    assert body["total"] is None
    await log_in(client, "city")
    whole = await (await client.get("/api/v1/admin/audit?limit=500")).json()
    assert whole["total"] == audit_count(city)
    assert {city.their_request, "other.admin"} <= {e["subject"] for e in whole["entries"]}


async def test_an_audit_page_goes_on_where_the_last_one_ended(client: Client, city: City) -> None:
    await log_in(client, "city")
    first = await (await client.get("/api/v1/admin/audit?limit=3")).json()
    assert len(first["entries"]) == 3
    after = first["next_before"]
    assert after == first["entries"][-1]["seq"]
    second = await (await client.get(f"/api/v1/admin/audit?limit=3&before={after}")).json()
    assert [e["seq"] for e in second["entries"]] == [after - 1, after - 2, after - 3]


async def test_a_logout_is_audited(client: Client, city: City) -> None:
    csrf = await log_in(client, "district.admin")
    response = await client.post("/api/v1/admin/logout", headers={"X-CSRF-Token": csrf})
    assert response.status == 200
    with city.hub.store.read() as session:
        last = session.scalars(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).one()
    assert (last.action, last.actor, last.subject) == ("logout", "district.admin", "district.admin")
    assert (await client.get("/api/v1/admin/me")).status == 401


async def test_a_role_change_is_audited_and_takes_effect_at_once(
    client: Client, city: City
) -> None:
    csrf = await log_in(client, "district.admin")
    changed = await client.post(
        "/api/v1/admin/accounts/district.auditor/role",
        json={"role": "viewer"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status == 200
    assert (await changed.json())["role"] == "viewer"
    with city.hub.store.read() as session:
        last = session.scalars(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).one()
    assert (last.action, last.subject) == ("account.role", "district.auditor")
    assert last.details == '{"from":"auditor","to":"viewer"}'
    await log_in(client, "district.auditor")
    assert (await client.get("/api/v1/admin/audit")).status == 403


@pytest.mark.parametrize(
    ("login", "role", "status", "message"),
    [
        ("district.admin", "viewer", 403, "an administrator cannot change their own role"),
        ("district.auditor", "boss", 400, "role: expected one of admin, reviewer"),
        ("nobody", "viewer", 404, "no such account"),
    ],
)
async def test_a_bad_role_change_is_refused_and_changes_nothing(
    client: Client, city: City, login: str, role: str, status: int, message: str
) -> None:
    csrf = await log_in(client, "district.admin")
    before = audit_count(city)
    response = await client.post(
        f"/api/v1/admin/accounts/{login}/role", json={"role": role}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == status
    assert message in (await response.json())["message"]
    assert audit_count(city) == before
    with city.hub.store.read() as session:
        roles = {str(login): str(role) for login, role in session.execute(ROLES)}
    assert roles["district.admin"] == "admin"
    assert roles["district.auditor"] == "auditor"
