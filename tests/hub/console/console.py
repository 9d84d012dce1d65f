"""The hub console under test: a district hub (370102) on a migrated store, the hub's
own app with the console mounted, accounts of every role, and bundles with a
conflict and a duplicate made by the test PKI's town node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.accounts import create_account
from hub.app import create_app
from hub.context import HubContext
from hub.store.models import AuditRow
from tests.hub.conftest import make_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import Pki

__all__ = [
    "PASSWORD",
    "PREFIX",
    "Scenario",
    "audit_actions",
    "console_app",
    "csrf_of",
    "log_in",
    "make_accounts",
    "make_console_hub",
    "make_scenario",
]

PREFIX: Final = "/console/"
PASSWORD: Final = "correct horse 2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: login → (role, scope); scope None is the hub's own (370102).
ACCOUNTS: Final[dict[str, tuple[str, str | None]]] = {
    "admin": ("admin", None),
    "reviewer": ("reviewer", None),
    "viewer": ("viewer", None),
    "auditor": ("auditor", None),
    "town": ("reviewer", "370102001"),
}


def make_console_hub(data: Path, url: str, pki: Pki) -> HubContext:
    """A district hub whose pipeline the test drives itself (no worker tasks)."""
    return make_hub(data, url, pki, workers=0)


def make_accounts(hub: HubContext, logins: Iterable[str] = tuple(ACCOUNTS)) -> None:
    for login in logins:
        role, scope = ACCOUNTS[login]
        create_account(
            hub,
            login=login,
            display_name=f"{login.title()} 测试",
            role=role,
            password=PASSWORD,
            by="test",
            scope=scope,
        )


def console_app(hub: HubContext) -> web.Application:
    """The hub's app as ``muster hub run`` serves it (the console is mounted by it)."""
    return create_app(hub.config, context=hub)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


async def log_in(client: TestClient[Any, Any], login: str, password: str = PASSWORD) -> str:
    """Log in through the form like a browser; return the session's CSRF token."""
    page = await client.get(f"{PREFIX}login")
    answer = await client.post(
        f"{PREFIX}login",
        data={"login": login, "password": password, "csrf_token": csrf_of(await page.text())},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()
    home = await client.get(PREFIX)
    assert home.status == 200, await home.text()
    return csrf_of(await home.text())


def audit_actions(hub: HubContext) -> list[str]:
    with hub.store.read() as session:
        return list(session.scalars(sa.select(AuditRow.action).order_by(AuditRow.seq)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Bundles in the hub, each at the state its name says.

    Attributes:
        conflicted: staged: a phone edit concurrent with one merged before, and a new
            record whose ID number an existing record holds.
        renamed: staged: an identity edit (to reject).
        first: the record both conflicts and duplicates are about.
        newcomer: the new record that duplicates ``first``.
        phones: the two competing phone numbers, the merged one first.
    """

    conflicted: int
    renamed: int
    first: str
    newcomer: str
    phones: tuple[str, str]
    first_values: Mapping[str, Any]
    newcomer_values: Mapping[str, Any]


def make_scenario(hub: HubContext, deltas: DeltaFactory) -> Scenario:
    """Send the town node's bundles and run the pipeline until they wait for review."""
    first_values = deltas.record("370102001")
    create = deltas.create(record_id(1), first_values)
    submit(hub, deltas.bundle([create])[0])
    one = deltas.set(record_id(1), "phone", "13800000001", [create.op_id], create.op_id)
    other = deltas.set(record_id(1), "phone", "13800000002", [create.op_id], create.op_id)
    submit(hub, deltas.bundle([one])[0])
    newcomer_values = {
        **deltas.record("370102001"),
        "id_number": first_values["id_number"],
        "birth_date": first_values["birth_date"],
        "sex": first_values["sex"],
    }
    conflicted = submit(
        hub, deltas.bundle([other, deltas.create(record_id(2), newcomer_values)])[0]
    )
    rename = deltas.set(record_id(1), "name", "王小明", [create.op_id], create.op_id)
    renamed = submit(hub, deltas.bundle([rename])[0])
    drain(hub)
    return Scenario(
        conflicted=conflicted.row_id,
        renamed=renamed.row_id,
        first=record_id(1),
        newcomer=record_id(2),
        phones=("13800000001", "13800000002"),
        first_values=first_values,
        newcomer_values=newcomer_values,
    )
