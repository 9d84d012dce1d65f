"""Bad input to every hub console route with parameters, through the hub's real app over a
real socket: each answer is a 3xx or 4xx with a message, never a 5xx or a traceback,
and nothing is changed (no account, bundle or audit entry differs afterwards).

The table runs on SQLite; the probes with large numbers in the path or the query run
on PostgreSQL too, whose ``integer`` columns are narrower than SQLite's.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from pytest_aiohttp import AiohttpClient

from hub.context import HubContext
from hub.store.models import Account, AuditRow, BundleRow
from hub.store.report_models import NarrativeRow
from tests.hub.console.conftest import AsRole
from tests.hub.console.console import (
    PREFIX,
    console_app,
    csrf_of,
    log_in,
    make_accounts,
    make_console_hub,
)
from tests.pki import Pki
from tests.web_audit.probe import (
    LONG,
    LONG_URL,
    ODD_IDS,
    Probe,
    Sessions,
    assert_refused_cleanly,
    logged_in,
    send,
)

HEX = "ab" * 16
UUID0 = "00000000-0000-4000-8000-000000000000"
BIG = "999999999999"  # the longest row the routes take (12 digits)
HUGE = "99999999999999999"  # the longest number a query takes (17 digits)


def _bodies(role: str, path: str, *fields: tuple[str, str]) -> list[Probe]:
    kinds = (
        "multipart",
        "bad_utf8",
        "bad_utf8_header",
        "bad_utf8_multipart",
        "no_csrf",
        "wrong_csrf",
    )
    return [Probe(role, "POST", path, tuple(fields), body=kind) for kind in kinds]


def _odd(role: str, method: str, template: str, *fields: tuple[str, str]) -> list[Probe]:
    return [Probe(role, method, template.format(id=odd), tuple(fields)) for odd in ODD_IDS]


ADM, REV, VIEW, TOWN = "admin", "reviewer", "viewer", "town"
# fmt: off
#: Probes with numbers too large for a 32-bit column: run on both databases.
NUMBERS: list[Probe] = [
    Probe(REV, "GET", f"?before={HUGE}"),
    Probe(REV, "GET", f"?before=-1&state={LONG_URL}&sender={LONG_URL}"),
    Probe(REV, "POST", f"alerts/{BIG}/close"),
    Probe(REV, "POST", "alerts/0/close"),
    Probe(REV, "GET", f"bundles/{BIG}"),
    Probe(REV, "GET", "bundles/0"),
    Probe(REV, "POST", f"bundles/{BIG}/approve"),
    Probe(REV, "POST", f"bundles/{BIG}/reject", (("reason", "no"),)),
    Probe(ADM, "GET", f"audit?before={HUGE}&kind={LONG_URL}"),
    Probe(ADM, "GET", "audit?before=abc"),
    Probe(ADM, "GET", f"dashboard?days={HUGE}&region={LONG_URL}"),
    Probe(ADM, "GET", "dashboard?days=-5&region=..%2F"),
    Probe(ADM, "GET", f"crosscheck/findings?page={HUGE}"),
    Probe(ADM, "GET", "crosscheck/findings?page=0&state=x&made=x&kind=" + LONG_URL),
    Probe(ADM, "POST", f"crosscheck/proposals/{HEX}/{BIG}/{UUID0}/confirm"),
    Probe(ADM, "POST", f"crosscheck/proposals/{HEX}/{BIG}/{UUID0}/refuse"),
]
PROBES: list[Probe] = [
    *NUMBERS,
    # log in, and forms posted without a login
    Probe(None, "POST", "login"),
    Probe(None, "POST", "login", (("login", LONG), ("password", LONG))),
    Probe(None, "POST", "login", (("login", "a"), ("login", "admin"), ("password", ""))),
    *_bodies(None, "login", ("login", "x"), ("password", "y")),
    Probe(None, "GET", "login?next=" + LONG_URL),
    *_odd(None, "GET", "lang/{id}"),
    Probe(None, "POST", "accounts", (("login", "new"),)),
    Probe(None, "POST", f"bundles/{BIG}/approve"),
    Probe(None, "POST", "crosscheck/upload"),
    # bundles
    Probe(REV, "POST", f"bundles/{BIG}/reject"),
    Probe(REV, "POST", f"bundles/{BIG}/reject", (("reason", LONG),)),
    *_bodies(REV, f"bundles/{BIG}/approve"),
    Probe(VIEW, "POST", f"bundles/{BIG}/approve"),
    # records
    Probe(REV, "GET", f"records?id_number={LONG_URL}&name={LONG_URL}"),
    Probe(REV, "GET", "records?id_number=%25&name=_%27"),
    Probe(REV, "GET", f"records/{UUID0}"),
    Probe(REV, "GET", "records/" + "-" * 36),
    *_odd(REV, "GET", "records/{id}"),
    # sites
    Probe(ADM, "POST", f"enrollments/{HEX}/approve"),
    Probe(ADM, "POST", f"enrollments/{HEX}/refuse"),
    Probe(ADM, "POST", f"enrollments/{HEX}/refuse", (("reason", LONG),)),
    Probe(ADM, "POST", f"certificates/{'f' * 64}/revoke"),
    Probe(ADM, "POST", f"certificates/{'f' * 64}/revoke", (("reason", LONG),)),
    Probe(ADM, "POST", "certificates/1/revoke", (("reason", "lost"), ("reason", "again"))),
    *_bodies(ADM, f"certificates/{'f' * 64}/revoke", ("reason", "lost")),
    *_odd(ADM, "POST", "enrollments/{id}/approve"),
    # accounts
    Probe(ADM, "POST", "accounts"),
    Probe(ADM, "POST", "accounts", (("login", ""), ("role", "viewer"))),
    Probe(ADM, "POST", "accounts",
          (("login", LONG), ("display_name", LONG), ("role", LONG), ("scope", LONG),
           ("password", LONG), ("password_confirm", LONG))),
    Probe(ADM, "POST", "accounts",
          (("login", "新/../x"), ("display_name", "x"), ("role", "viewer"),
           ("password", "long enough 1"), ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts",
          (("login", "viewer"), ("display_name", "x"), ("role", "viewer"),
           ("password", "long enough 1"), ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts",
          (("login", "newbie"), ("display_name", "x"), ("role", "god"),
           ("password", "long enough 1"), ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts",
          (("login", "newbie"), ("display_name", "x"), ("role", "viewer"), ("scope", "99x"),
           ("password", "long enough 1"), ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts",
          (("login", "newbie"), ("display_name", "x"), ("role", "viewer"),
           ("scope", "440300"), ("password", "long enough 1"),
           ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts",
          (("login", "newbie"), ("display_name", "x"), ("role", "viewer"),
           ("password", "long enough 1"), ("password_confirm", "other"))),
    *_bodies(ADM, "accounts", ("login", "newbie"), ("role", "viewer")),
    Probe(ADM, "POST", "accounts/nobody/disable"),
    Probe(ADM, "POST", "accounts/nobody/enable"),
    Probe(ADM, "POST", "accounts/admin/disable"),
    Probe(ADM, "POST", "accounts/nobody/password",
          (("password", "long enough 1"), ("password_confirm", "long enough 1"))),
    Probe(ADM, "POST", "accounts/viewer/password"),
    Probe(ADM, "POST", "accounts/viewer/password", (("password", "short"),)),
    Probe(ADM, "POST", "accounts/viewer/password",
          (("password", LONG), ("password_confirm", LONG))),
    Probe(ADM, "POST", "accounts/nobody/role", (("role", "viewer"),)),
    Probe(ADM, "POST", "accounts/viewer/role"),
    Probe(ADM, "POST", "accounts/viewer/role", (("role", LONG),)),
    Probe(ADM, "POST", "accounts/admin/role", (("role", "viewer"),)),
    *_bodies(ADM, "accounts/viewer/role", ("role", "viewer")),
    *_odd(ADM, "POST", "accounts/{id}/disable"),
    Probe(REV, "POST", "accounts/viewer/disable"),
    # audit
    Probe(ADM, "POST", "audit/verify", body="no_csrf"),
    # dashboard settings and reports
    Probe(ADM, "POST", "dashboard/expected"),
    Probe(ADM, "POST", "dashboard/expected", (("region", "370102001"), ("count", "-1"))),
    Probe(ADM, "POST", "dashboard/expected", (("region", "370102001"), ("count", "abc"))),
    Probe(ADM, "POST", "dashboard/expected", (("region", "370102001"), ("count", HUGE * 3))),
    Probe(ADM, "POST", "dashboard/expected", (("region", "370102001"), ("count", "1e9"))),
    Probe(ADM, "POST", "dashboard/expected", (("region", "370102001"), ("count", "１２"))),
    Probe(ADM, "POST", "dashboard/expected", (("region", LONG), ("count", "5"))),
    Probe(ADM, "POST", "dashboard/expected", (("region", "440300001"), ("count", "5"))),
    Probe(ADM, "POST", "dashboard/expected",
          (("region", "370102001"), ("count", "5"), ("category", "nonsense"))),
    Probe(ADM, "POST", "dashboard/expected",
          (("region", "370102001"), ("count", "5"), ("region_name", LONG))),
    *_bodies(ADM, "dashboard/expected", ("region", "x"), ("count", "5")),
    Probe(ADM, "POST", "dashboard/phases"),
    Probe(ADM, "POST", "dashboard/phases", (("kind", LONG),)),
    Probe(ADM, "POST", "dashboard/phases", (("kind", "collection"), ("starts", "2026-02-30"))),
    Probe(ADM, "POST", "dashboard/phases", (("kind", "collection"), ("starts", "２０２６-01-01"))),
    Probe(ADM, "POST", "dashboard/phases",
          (("kind", "collection"), ("starts", "2026-05-01"),
           ("deadline", "2026-01-01"))),
    Probe(TOWN, "POST", "dashboard/phases", (("kind", "collection"),)),
    Probe(ADM, "GET", "dashboard/report?period=" + LONG_URL),
    Probe(ADM, "GET", "dashboard/report?period=2026-13"),
    Probe(ADM, "POST", "dashboard/report"),
    Probe(ADM, "POST", "dashboard/report", (("action", LONG),)),
    Probe(ADM, "POST", "dashboard/report", (("action", "html"), ("period", "tomorrow"))),
    Probe(ADM, "POST", "dashboard/report", (("action", "save"), ("period", "2026-13"))),
    Probe(ADM, "POST", "dashboard/report", (("action", "save"), ("period", "2026-01"),
                                             ("narrative", LONG * 10))),
    Probe(VIEW, "POST", "dashboard/report", (("action", "save"), ("period", "2026-01"))),
    *_bodies(ADM, "dashboard/report", ("action", "save"), ("period", "x")),
    Probe(VIEW, "POST", "dashboard/export", (("field", "name"),)),
    Probe(ADM, "POST", "dashboard/export", (("field", "nonsense"), ("scope", LONG))),
    Probe(ADM, "POST", "dashboard/export", (("scope", "440300"),)),
    Probe(ADM, "POST", "dashboard/export", (("scope", "..%2F"),)),
    # cross-check
    *[Probe(ADM, "POST", f"crosscheck/findings/{HEX}/{a}") for a in ("accept", "withdraw")],
    Probe(ADM, "POST", f"crosscheck/findings/{HEX}/reject"),
    Probe(ADM, "POST", f"crosscheck/findings/{HEX}/reject", (("reason", LONG),)),
    *_bodies(ADM, f"crosscheck/findings/{HEX}/reject", ("reason", "x")),
    Probe(VIEW, "POST", f"crosscheck/findings/{HEX}/accept"),
    Probe(ADM, "GET", f"crosscheck/upload?error={LONG_URL}&kind=x"),
    Probe(ADM, "POST", "crosscheck/upload"),
    Probe(ADM, "POST", "crosscheck/upload", (("source", ""), ("kind", "nonsense"))),
    Probe(ADM, "POST", "crosscheck/upload",
          (("source", LONG), ("kind", LONG), ("as_of", "yesterday"))),
    *_bodies(ADM, "crosscheck/upload", ("source", "x"), ("kind", "public_security")),
    Probe(ADM, "GET", f"crosscheck/upload/{HEX}"),
    Probe(ADM, "GET", f"crosscheck/upload/{HEX}?source={LONG_URL}&as_of=x"),
    Probe(ADM, "POST", f"crosscheck/upload/{HEX}"),
    Probe(ADM, "POST", f"crosscheck/upload/{HEX}", (("column-0", "name"), ("column-0", "x"))),
    Probe(ADM, "GET", f"crosscheck/imports/{HEX}"),
    Probe(ADM, "POST", f"crosscheck/imports/{HEX}/check"),
    Probe(ADM, "POST", "crosscheck/send", body="wrong_csrf"),
    Probe(ADM, "POST", "crosscheck/recheck", body="no_csrf"),
]
# fmt: on


def _id(probe: Probe) -> str:
    path = probe.path if len(probe.path) < 60 else probe.path[:40] + "…"
    shown = ",".join(k + ("=long" if len(v) > 100 else "") for k, v in probe.fields)
    return f"{probe.role}-{probe.method}-{path}-{probe.body}-{shown}"


def _state(hub: HubContext) -> Any:
    with hub.store.read() as session:
        return (
            list(session.execute(sa.select(AuditRow.seq, AuditRow.action))),
            list(
                session.execute(
                    sa.select(
                        Account.login,
                        Account.role,
                        Account.disabled,
                        Account.scope,
                        Account.password_hash,
                    )
                )
            ),
            list(session.execute(sa.select(BundleRow.id, BundleRow.state))),
        )


async def _probe(probe: Probe, client: Any, csrf: str, hub: HubContext) -> None:
    before = _state(hub)
    status, text, location = await send(client, probe, csrf, f"{PREFIX}{probe.path}")
    assert_refused_cleanly(probe, status, text, location)
    if not probe.may_change:
        after = _state(hub)
        # A failed login and a refused export are audited; nothing else may be written.
        assert after[1:] == before[1:]
        added = [action for _seq, action in after[0][len(before[0]) :]]
        assert after[0][: len(before[0])] == before[0]
        assert all(a in {"login.failed", "records.export_refused"} for a in added), added


def _shared_hub(root: Path, url: str, pki: Pki, accounts_db: Path | None) -> HubContext:
    if accounts_db is not None:
        shutil.copyfile(accounts_db, root / "hub.db")
    hub = make_console_hub(root / "data", url, pki)
    if accounts_db is None:
        make_accounts(hub)
    return hub


@pytest.fixture(scope="module")
def sqlite_hub(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, accounts_db: Path
) -> Iterator[HubContext]:
    """A district hub on SQLite with an account of every role, shared by the table."""
    root = tmp_path_factory.mktemp("audit-console")
    hub = _shared_hub(root, f"sqlite:///{root / 'hub.db'}", pki, accounts_db)
    yield hub
    hub.store.dispose()


@pytest.fixture(scope="module")
def pg_hub(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, pg_server: Any
) -> Iterator[HubContext]:
    """The same on PostgreSQL, for the probes with large numbers."""
    name = f"muster_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    hub = _shared_hub(tmp_path_factory.mktemp("audit-pg"), pg_server.url(name), pki, None)
    yield hub
    hub.store.dispose()
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def sqlite_sessions() -> Sessions:
    return {}


@pytest.fixture(scope="module")
def pg_sessions() -> Sessions:
    return {}


async def _start(
    probe: Probe, hub: HubContext, sessions: Sessions, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(console_app(hub))
    if probe.role is None:
        csrf = csrf_of(await (await client.get(f"{PREFIX}login")).text())
    else:
        csrf = await logged_in(client, sessions, probe.role, log_in, PREFIX)
    await _probe(probe, client, csrf, hub)


@pytest.mark.parametrize("probe", PROBES, ids=_id)
async def test_bad_input_is_refused_cleanly_and_changes_nothing(
    probe: Probe,
    sqlite_hub: HubContext,
    sqlite_sessions: Sessions,
    aiohttp_client: AiohttpClient,
) -> None:
    await _start(probe, sqlite_hub, sqlite_sessions, aiohttp_client)


@pytest.mark.parametrize("probe", NUMBERS, ids=_id)
async def test_large_numbers_are_refused_cleanly_on_postgresql(
    probe: Probe, pg_hub: HubContext, pg_sessions: Sessions, aiohttp_client: AiohttpClient
) -> None:
    await _start(probe, pg_hub, pg_sessions, aiohttp_client)


async def test_a_narrative_longer_than_a_form_field_is_kept_whole_or_refused_whole(
    console_hub: HubContext, as_role: AsRole
) -> None:
    """The narrative may be 20,000 characters: it is not cut at the console's field limit."""
    client, csrf = await as_role(ADM)
    narrative = "本月采集进展顺利。" * 600  # 5,400 characters
    answer = await client.post(
        f"{PREFIX}dashboard/report",
        allow_redirects=False,
        data={"csrf_token": csrf, "action": "save", "period": "2026-01", "narrative": narrative},
    )
    assert answer.status == 303, await answer.text()
    with console_hub.store.read() as session:
        kept = session.scalars(sa.select(NarrativeRow.text)).all()
    assert kept == [narrative]
    answer = await client.post(
        f"{PREFIX}dashboard/report",
        allow_redirects=False,
        data={
            "csrf_token": csrf,
            "action": "save",
            "period": "2026-01",
            "narrative": "长" * 20_001,
        },
    )
    assert answer.status == 422
    assert "20000" in await answer.text()
    with console_hub.store.read() as session:
        assert session.scalars(sa.select(NarrativeRow.text)).all() == [narrative]
