"""Bad input to every node UI route with parameters, over a real socket: each answer is a
3xx or 4xx with a message, never a 5xx or a traceback, and the node's data is unchanged.

One node (a record, a cross-check problem) serves the whole table; each probe logs in
afresh with the role the route wants and compares the node's state before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from tests.node.core.helpers import Clock, NodeUnderTest, ready_node
from tests.node.web.nodeapp import csrf_of, make_ui, ui_log_in
from tests.node.web.test_node_problems_page import FINDING, _deliver_finding
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

RECORD = "{record}"
GONE = "00000000-0000-4000-8000-000000000000"


def _odd(role: str, method: str, template: str, *fields: tuple[str, str]) -> list[Probe]:
    return [Probe(role, method, template.format(id=odd), tuple(fields)) for odd in ODD_IDS]


def _bodies(role: str, path: str, *fields: tuple[str, str]) -> list[Probe]:
    """The same form as multipart, with invalid UTF-8, without and with a wrong CSRF token."""
    kinds = (
        "multipart",
        "bad_utf8",
        "bad_utf8_header",
        "bad_utf8_multipart",
        "no_csrf",
        "wrong_csrf",
    )
    return [Probe(role, "POST", path, tuple(fields), body=kind) for kind in kinds]


C, A, ADM = "collector", "approver", "admin"
# fmt: off
PROBES: list[Probe] = [
    # log-in form and language switch
    Probe(None, "POST", "/login"),
    Probe(None, "POST", "/login", (("login", LONG), ("password", LONG))),
    Probe(None, "POST", "/login", (("login", "a"), ("login", "b"), ("password", ""))),
    *_bodies(None, "/login", ("login", "x"), ("password", "y")),
    Probe(None, "GET", "/login?next=" + LONG_URL),
    Probe(None, "GET", "/login?next=//evil.example/"),
    *_odd(None, "GET", "/lang/{id}"),
    # pages that want a login, posted without one
    Probe(None, "POST", "/records/new", (("_action", "save"),)),
    Probe(None, "POST", f"/records/{RECORD}/flags", (("flag", "deceased"), ("value", "1"))),
    Probe(None, "POST", "/admin/accounts", (("login", "x"),)),
    # search and the new-record form
    Probe(C, "GET", "/records?q=" + LONG_URL),
    Probe(C, "GET", "/records?q=%25%5F%27%22"),
    Probe(C, "GET", "/records/new?category=nonsense&category=" + LONG_URL),
    Probe(C, "GET", "/?code=" + LONG_URL),
    # a new record
    Probe(C, "POST", "/records/new"),
    Probe(C, "POST", "/records/new", (("_action", "save"),)),
    Probe(C, "POST", "/records/new", (("_action", LONG),)),
    Probe(C, "POST", "/records/new", (("_action", "save"), ("subject_category", "nonsense"))),
    Probe(C, "POST", "/records/new",
          (("_action", "save"), ("subject_category", "retired_soldier"), ("name", LONG),
           ("birth_date", "yesterday"), ("id_number", "x" * 100), ("phone", "电话"))),
    Probe(C, "POST", "/records/new",
          (("_action", "save"), ("subject_category", "retired_soldier"),
           ("_version.name", "not a version"), ("_record_version", "-1"))),
    Probe(C, "POST", "/records/new",
          (("_action", "save"), ("subject_category", "retired_soldier"),
           ("id_card_photo", "no-such-blob"), ("id_card_photo", "../x"))),
    *_bodies(C, "/records/new", ("_action", "save"), ("subject_category", "retired_soldier")),
    Probe(C, "POST", "/records/new/card", (("subject_category", "nonsense"),)),
    # a record by id
    *_odd(C, "GET", "/records/{id}"),
    *_odd(C, "GET", "/records/{id}/edit"),
    *_odd(C, "POST", "/records/{id}/edit", ("_action", "save")),
    *_odd(C, "POST", "/records/{id}/flags", ("flag", "deceased"), ("value", "1")),
    *_odd(C, "POST", "/records/{id}/confirm"),
    *_odd(C, "POST", "/records/{id}/card"),
    *_odd(C, "GET", "/blobs/{id}"),
    Probe(C, "GET", f"/records/{GONE}"),
    Probe(C, "POST", f"/records/{GONE}/flags", (("flag", "deceased"), ("value", "1"))),
    Probe(C, "POST", f"/records/{GONE}/confirm"),
    # an existing record, bad forms
    Probe(C, "POST", f"/records/{RECORD}/edit"),
    Probe(C, "POST", f"/records/{RECORD}/edit", (("_action", "save"),)),
    Probe(C, "POST", f"/records/{RECORD}/edit",
          (("_action", "save"), ("subject_category", "retired_soldier"),
           ("_record_version", "abc"), ("_version.phone", LONG), ("phone", "1"))),
    *_bodies(C, f"/records/{RECORD}/edit", ("_action", "save")),
    Probe(C, "POST", f"/records/{RECORD}/flags"),
    Probe(C, "POST", f"/records/{RECORD}/flags", (("flag", LONG), ("value", "1"))),
    Probe(C, "POST", f"/records/{RECORD}/flags", (("flag", "deceased"), ("flag", "x"))),
    *_bodies(C, f"/records/{RECORD}/flags", ("flag", "deceased"), ("value", "1")),
    Probe(C, "POST", f"/records/{RECORD}/confirm"),  # not a baseline record
    # the to-do list
    *_odd(C, "POST", "/problems/{id}/answer", ("answer", "done")),
    *_odd(C, "POST", "/problems/{id}/apply"),
    Probe(C, "POST", f"/problems/{'0' * 32}/apply"),
    Probe(C, "POST", f"/problems/{FINDING}/answer"),
    Probe(C, "POST", f"/problems/{FINDING}/answer", (("answer", LONG), ("reason", LONG))),
    Probe(C, "POST", f"/problems/{FINDING}/answer", (("answer", "x"), ("reason", "nonsense"))),
    *_bodies(C, f"/problems/{FINDING}/answer", ("answer", "x"), ("reason", "moved")),
    *_bodies(C, f"/problems/{FINDING}/apply"),
    # approval
    Probe(A, "POST", "/approval/authorise"),
    Probe(A, "POST", "/approval/authorise", (("password", ""),)),
    Probe(A, "POST", "/approval/authorise", (("password", LONG), ("record_id", "nonsense"))),
    Probe(A, "POST", "/approval/authorise", (("password", "wrong"), ("record_id", GONE))),
    *_bodies(A, "/approval/authorise", ("password", "x"), ("record_id", GONE)),
    *_odd(A, "POST", "/approval/{id}/return", ("note", "again")),
    Probe(A, "POST", f"/approval/{GONE}/return", (("note", LONG),)),
    Probe(A, "POST", f"/approval/{RECORD}/return"),  # nothing pending for it
    # accounts
    Probe(ADM, "POST", "/admin/accounts"),
    Probe(ADM, "POST", "/admin/accounts", (("login", ""), ("role", "collector"))),
    Probe(ADM, "POST", "/admin/accounts",
          (("login", LONG), ("display_name", LONG), ("role", "collector"),
           ("password", LONG), ("password_again", LONG))),
    Probe(ADM, "POST", "/admin/accounts",
          (("login", "新 用户/.."), ("display_name", "x"), ("role", "collector"),
           ("password", "p"), ("password_again", "p"))),
    Probe(ADM, "POST", "/admin/accounts",
          (("login", "zhang.wei"), ("display_name", "x"), ("role", "collector"),
           ("password", "long enough pass 1"), ("password_again", "long enough pass 1"))),
    Probe(ADM, "POST", "/admin/accounts",
          (("login", "new.one"), ("display_name", "x"), ("role", "admin"),
           ("password", "long enough pass 1"), ("password_again", "long enough pass 1"))),
    *_bodies(ADM, "/admin/accounts", ("login", "new.two"), ("role", "collector")),
    *_odd(ADM, "POST", "/admin/accounts/{id}/active", ("active", "0")),
    Probe(ADM, "POST", "/admin/accounts/nobody/active", (("active", "1"),)),
    Probe(ADM, "POST", "/admin/accounts/admin/active", (("active", "0"),)),
    *_bodies(ADM, "/admin/accounts/zhang.wei/active", ("active", "1")),
    # the wrong role
    Probe(C, "POST", "/admin/accounts", (("login", "x"),)),
    Probe(C, "POST", "/approval/authorise", (("password", "x"),)),
    Probe(A, "POST", f"/records/{RECORD}/flags", (("flag", "deceased"), ("value", "1"))),
    # sync without the token never reaches the hub
    Probe(C, "POST", "/sync", body="no_csrf"),
]
# fmt: on


def _id(probe: Probe) -> str:
    path = probe.path if len(probe.path) < 60 else probe.path[:40] + "…"
    shown = ",".join(k + ("=long" if len(v) > 100 else "") for k, v in probe.fields)
    return f"{probe.role}-{probe.method}-{path}-{probe.body}-{shown}"


@pytest.fixture(scope="module")
def sessions() -> Sessions:
    return {}


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.build()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[tuple[NodeUnderTest, str]]:
    ready = ready_node(Path(tmp_path_factory.mktemp("audit-node")), pki, Clock())
    record_id, _digest = _deliver_finding(ready)
    yield ready, record_id
    ready.services.close()


def _state(node: NodeUnderTest, record_id: str) -> Any:
    svc = node.services
    record = svc.get_record(record_id)
    return (
        [(a.login, a.role, a.active, a.display_name) for a in svc.accounts()],
        (record.values, record.categories, record.flags, len(record.history)),
        [(p.problem_id, p.state, p.answer, p.answer_reason) for p in svc.problems()],
        len(svc.pending_changes()),
        len(svc.outbox()),
    )


@pytest.mark.parametrize("probe", PROBES, ids=_id)
async def test_bad_input_is_refused_cleanly_and_changes_nothing(
    probe: Probe,
    node: tuple[NodeUnderTest, str],
    sessions: Sessions,
    aiohttp_client: AiohttpClient,
) -> None:
    ready, record_id = node
    client = await aiohttp_client(make_ui(ready, card_timeout_s=0.2))
    if probe.role is None:
        csrf = csrf_of(await (await client.get("/login")).text())
    else:
        csrf = await logged_in(client, sessions, probe.role, ui_log_in)
    before = _state(ready, record_id)
    path = probe.path.replace(RECORD, record_id)
    status, text, location = await send(client, probe, csrf, path)
    assert_refused_cleanly(probe, status, text, location)
    if not probe.may_change:
        assert _state(ready, record_id) == before
