"""Jurisdiction: an account scoped to district 370102 never sees anything of 370103.

A city hub (370100) takes bundles from a town node of each district (the test PKI's
nodes report to it directly here, to keep the tree small); clean bundles merge at
once. Its accounts: a city administrator and a reviewer and an administrator scoped
to the district 370102.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from hub.console import CONSOLE_PREFIX
from hub.context import HubContext
from protocol.trust import Role
from tests.hub.console.conftest import Client
from tests.hub.console.console import PASSWORD, console_app, log_in
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, drain, make_city_hub, submit
from tests.pki import Pki

P = CONSOLE_PREFIX


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
    theirs_name: str
    their_bundle: int
    duplicate_bundle: int


@pytest.fixture
def city(tmp_path: Path, two_districts: Pki) -> Iterator[City]:
    pki = two_districts
    accounts = (
        ("city", "admin", "370100"),
        ("district", "reviewer", "370102"),
        ("district.admin", "admin", "370102"),
        ("other", "viewer", "370103"),
    )
    hub = make_city_hub(
        tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}", pki, accounts, PASSWORD
    )
    ours = DeltaFactory(pki)
    theirs = DeltaFactory(pki, node="other_node", approver="other_approver")
    their_values = theirs.record("370103001")
    submit(hub, ours.bundle([ours.create(record_id(1))], to=pki["city"])[0])
    their_row = submit(
        hub, theirs.bundle([theirs.create(record_id(2), their_values)], to=pki["city"])[0]
    ).row_id
    copy = {
        **ours.record("370102001"),
        "id_number": their_values["id_number"],
        "birth_date": their_values["birth_date"],
        "sex": their_values["sex"],
    }
    duplicate = submit(hub, ours.bundle([ours.create(record_id(3), copy)], to=pki["city"])[0])
    drain(hub)
    assert bundle_row(hub, their_row).state == "merged"
    assert bundle_row(hub, duplicate.row_id).state == "staged"
    yield City(
        hub=hub,
        mine=record_id(1),
        theirs=record_id(2),
        theirs_number=str(their_values["id_number"]),
        theirs_name=str(their_values["name"]),
        their_bundle=their_row,
        duplicate_bundle=duplicate.row_id,
    )
    hub.store.dispose()


async def client_for(aiohttp_client: AiohttpClient, city: City, login: str) -> tuple[Client, str]:
    client = await aiohttp_client(console_app(city.hub))
    return client, await log_in(client, login)


async def test_a_district_account_finds_no_record_of_another_district(
    aiohttp_client: AiohttpClient, city: City
) -> None:
    district, _ = await client_for(aiohttp_client, city, "district")
    by_number = await (await district.get(f"{P}records?id_number={city.theirs_number}")).text()
    assert city.theirs not in by_number
    assert "没有找到记录" in by_number
    by_name = await (await district.get(f"{P}records?name={city.theirs_name}")).text()
    assert city.theirs not in by_name
    assert (await district.get(f"{P}records/{city.theirs}")).status == 404
    assert (await district.get(f"{P}records/{city.mine}")).status == 200
    whole, _ = await client_for(aiohttp_client, city, "city")
    found = await (await whole.get(f"{P}records?id_number={city.theirs_number}")).text()
    assert city.theirs in found


async def test_a_district_account_does_not_see_another_districts_bundles(
    aiohttp_client: AiohttpClient, city: City
) -> None:
    district, csrf = await client_for(aiohttp_client, city, "district")
    inbox = await (await district.get(P)).text()
    assert "370103001-01" not in inbox
    assert f'data-row="{city.duplicate_bundle}"' in inbox
    assert (await district.get(f"{P}bundles/{city.their_bundle}")).status == 404
    other, _ = await client_for(aiohttp_client, city, "other")
    assert (await other.get(f"{P}bundles/{city.duplicate_bundle}")).status == 404
    refused = await district.post(
        f"{P}bundles/{city.their_bundle}/reject", data={"csrf_token": csrf, "reason": "x"}
    )
    assert refused.status == 404
    assert bundle_row(city.hub, city.their_bundle).state == "merged"


async def test_a_duplicate_held_in_another_district_is_named_but_not_shown(
    aiohttp_client: AiohttpClient, city: City
) -> None:
    district, csrf = await client_for(aiohttp_client, city, "district")
    page = await (await district.get(f"{P}bundles/{city.duplicate_bundle}")).text()
    assert "本辖区以外" in page
    assert city.theirs_name not in page
    assert f'value="{city.theirs}"' not in page
    marker = 'name="dup-'
    start = page.index(marker) + len(marker)
    item = page[start : page.index('"', start)]
    refused = await district.post(
        f"{P}bundles/{city.duplicate_bundle}/approve",
        data={"csrf_token": csrf, f"dup-{item}": city.theirs},
    )
    assert refused.status == 422
    assert bundle_row(city.hub, city.duplicate_bundle).state == "staged"
    whole, _ = await client_for(aiohttp_client, city, "city")
    full = await (await whole.get(f"{P}bundles/{city.duplicate_bundle}")).text()
    assert city.theirs_name in full


async def test_a_district_administrator_manages_only_its_own_accounts_and_sites(
    aiohttp_client: AiohttpClient, city: City
) -> None:
    admin, csrf = await client_for(aiohttp_client, city, "district.admin")
    accounts = await (await admin.get(f"{P}accounts")).text()
    assert 'data-login="district"' in accounts
    assert 'data-login="other"' not in accounts
    assert 'data-login="city"' not in accounts
    created = await admin.post(
        f"{P}accounts",
        data={
            "csrf_token": csrf,
            "login": "spy",
            "display_name": "Spy",
            "role": "viewer",
            "scope": "370103",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert created.status == 422
    assert "管辖范围必须是 370102 以内的区划代码" in await created.text()
    disabled = await admin.post(f"{P}accounts/other/disable", data={"csrf_token": csrf})
    assert disabled.status == 404
    sites = await (await admin.get(f"{P}sites")).text()
    assert "370103（" not in sites
    assert "370102（" in sites


async def test_a_district_account_reads_only_its_districts_audit_entries(
    aiohttp_client: AiohttpClient, city: City
) -> None:
    ours = bundle_row(city.hub, city.duplicate_bundle).bundle_id
    theirs = bundle_row(city.hub, city.their_bundle).bundle_id
    assert ours is not None
    assert theirs is not None
    district, _ = await client_for(aiohttp_client, city, "district.admin")
    page = await (await district.get(f"{P}audit")).text()
    assert ours in page
    assert theirs not in page
    whole, _ = await client_for(aiohttp_client, city, "city")
    everything = await (await whole.get(f"{P}audit")).text()
    assert theirs in everything
