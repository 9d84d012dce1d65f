"""Findings a hub above made, as a district passes them down (hub/crosscheck/mirror.py), on
SQLite and PostgreSQL: listed, answered, reopened and closed as they move, never
touching the district's own findings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub.context import HubContext
from hub.crosscheck import Finding, FindingKind, SourceKind, problem_body
from hub.crosscheck.answers import receive_answers
from hub.crosscheck.authority import Authority
from hub.crosscheck.mirror import mirror_closure, mirror_problem
from hub.store.crosscheck_models import FindingRow
from protocol.entries import (
    AnswerReason,
    ClosureResolution,
    Problem,
    ProblemAnswer,
    ProblemClosure,
)
from tests.hub.crosscheck.signing import origins_at
from tests.pki import NOW

CITY = "370100"
TOWN = "370102001"
FINDING = "3c" * 16


def _problem(**changes: Any) -> Problem:
    values: dict[str, Any] = {
        "finding_id": FINDING,
        "kind": FindingKind.VALUE_MISMATCH,
        "source": "市公安户籍",
        "source_kind": SourceKind.PUBLIC_SECURITY,
        "dataset_id": "d" * 32,
        "row": 7,
        "record_id": "5b0c6f1e-3a2d-4c1b-9e8f-7a6b5c4d3e2f",
        "field": "hukou_address",
        "register_value": "山东省济南市历下区和平路18号",
        "record_value": "山东省济南市历下区旧地址1号",
        "authority": Authority.REGISTER,
        "proposed_value": "山东省济南市历下区和平路18号",
        "division_code": "370102001003",
    }
    values.update(changes)
    return Problem(body=problem_body(Finding(**values)))


def _closure(resolution: ClosureResolution = ClosureResolution.ACCEPTED) -> ProblemClosure:
    return ProblemClosure(finding_id=FINDING, resolution=resolution, division="370102001003",
                          record_id=None, at=NOW + timedelta(days=2))  # fmt: skip


def _answer(days: int = 1) -> ProblemAnswer:
    return ProblemAnswer(finding_id=FINDING, reason=AnswerReason.REGISTER_WRONG, note="",
                         by="370102001/zhang.wei", at=NOW + timedelta(days=days))  # fmt: skip


def _row(hub: HubContext) -> FindingRow:
    with hub.store.read() as session:
        row = session.get(FindingRow, FINDING)
        assert row is not None
        return row


def _mirror(hub: HubContext, problem: Problem, at: Any = NOW) -> bool:
    with hub.store.write() as session:
        return mirror_problem(session, problem, origin=CITY, routed_to=TOWN, at=at)


def test_a_problem_from_above_is_listed_open_and_routed_to_the_town(hub: HubContext) -> None:
    assert _mirror(hub, _problem())
    row = _row(hub)
    assert (row.origin, row.state, row.routed_to, row.sent_at) == (CITY, "open", TOWN, NOW)
    assert (row.kind, row.field, row.division_code) == ("value_mismatch", "hukou_address",
                                                        "370102001003")  # fmt: skip


def test_an_answer_from_the_town_marks_it_answered_and_still_goes_up(hub: HubContext) -> None:
    _mirror(hub, _problem())
    with hub.store.write() as session:
        elsewhere = receive_answers(hub, session, [_answer()], sender="370102002-01",
                                    origins=origins_at("370102002-01", [_answer()]))  # fmt: skip
    assert (elsewhere.relay, _row(hub).state) == (1, "open")  # not from where it was sent
    with hub.store.write() as session:
        counts = receive_answers(hub, session, [_answer()], sender="370102001-01",
                                 origins=origins_at("370102001-01", [_answer()]))  # fmt: skip
    assert counts.relay == 1
    row = _row(hub)
    assert (row.state, row.answer_reason) == ("answered", "register_wrong")
    assert row.origin == CITY  # still the city's: the answer goes up for the city to decide


def test_a_closure_from_above_closes_it_once_and_a_new_send_reopens_it(hub: HubContext) -> None:
    _mirror(hub, _problem())
    with hub.store.write() as session:
        assert mirror_closure(session, _closure(), origin=CITY, at=NOW + timedelta(days=2))
        assert not mirror_closure(session, _closure(), origin=CITY, at=NOW + timedelta(days=2))
    row = _row(hub)
    assert (row.state, row.resolution, row.closed_by) == ("closed", "accepted", CITY)
    rejected = _problem()
    body = {**rejected.body, "details": {"rejection": "请再次核实"}}
    assert _mirror(hub, Problem(body=body), at=NOW + timedelta(days=3))
    row = _row(hub)
    assert (row.state, row.resolution, row.rejection, row.reopened) == (
        "open", None, "请再次核实", 1
    )  # fmt: skip


def test_the_district_s_own_finding_of_the_same_id_is_left_alone(hub: HubContext) -> None:
    with hub.store.write() as session:
        own = FindingRow(finding_id=FINDING, origin=hub.site)
        session.add(own)
        own.state, own.body = "open", {}
        own.source, own.source_kind, own.kind, own.dataset_id = "区户籍", "public_security", "x", ""
        own.last_seen, own.opened_at, own.updated_at, own.reopened = "", NOW, NOW, 0
    assert not _mirror(hub, _problem())
    with hub.store.write() as session:
        assert not mirror_closure(session, _closure(), origin=CITY, at=NOW)
    row = _row(hub)
    assert (row.origin, row.source, row.state) == (hub.site, "区户籍", "open")


def test_a_closure_from_another_hub_or_for_an_unknown_finding_changes_nothing(
    hub: HubContext,
) -> None:
    with hub.store.write() as session:
        assert not mirror_closure(session, _closure(), origin=CITY, at=NOW)
    _mirror(hub, _problem())
    with hub.store.write() as session:
        assert not mirror_closure(session, _closure(), origin="370200", at=NOW)
    assert _row(hub).state == "open"


def test_a_problem_body_that_cannot_be_read_is_not_listed(hub: HubContext) -> None:
    assert not _mirror(hub, Problem(body={"v": 1, "id": FINDING}))
    with hub.store.read() as session:
        assert session.get(FindingRow, FINDING) is None
