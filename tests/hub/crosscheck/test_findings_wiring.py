"""The cross-check at a district hub, on SQLite and PostgreSQL: a register imported into the
store and matched against the records merged through the pipeline; findings kept with
stable ids, sent down to the town's node, answered, accepted, fixed and re-checked, and
their closures sent down after them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.crosscheck import FindingKind, FindingStateError, finding_id, read_problem_body
from hub.crosscheck.answers import answers_for_parent, receive_answers
from hub.crosscheck.dispatch import send_problems
from hub.crosscheck.fixloop import accept_answer, recheck_findings, reject_answer, withdraw
from hub.crosscheck.service import import_file, run_check, saved_mapping
from hub.errors import NotFoundError
from hub.review import approve
from hub.store.crosscheck_models import AnswerOriginRow, AnswerRow, DatasetRow, FindingRow
from hub.store.models import AuditRow, BundleRow, RecordRow
from protocol.entries import (
    AnswerReason,
    ClosureResolution,
    Problem,
    ProblemAnswer,
    ProblemClosure,
    encode_entry,
)
from tests.hub.crosscheck.signing import origins_at
from tests.hub.crosscheck.wiring import (
    ADMIN,
    SOURCE,
    by_subject,
    down_entries,
    findings,
    heads,
    household_mapping,
    merge_records,
    write_register,
)
from tests.hub.factory import DeltaFactory
from tests.hub.helpers import drain, submit
from tests.pki import NOW, Pki

NODE = "370102001-01"


@pytest.fixture
def checked(hub: HubContext, deltas: DeltaFactory, tmp_path: Path) -> tuple[HubContext, object]:
    merge_records(hub, deltas, 8)
    register = write_register(hub, tmp_path / "household.csv")
    dataset = import_file(hub, register.path, mapping=household_mapping(), by=ADMIN)
    run_check(hub, dataset.dataset_id, by=ADMIN)
    return hub, register


def _answer(finding: str, reason: AnswerReason = AnswerReason.REGISTER_WRONG) -> ProblemAnswer:
    note = "已迁往历城区" if reason is AnswerReason.PERSON_MOVED else ""
    return ProblemAnswer(finding_id=finding, reason=reason, note=note,
                         by="370102001/zhang.wei", at=NOW)  # fmt: skip


def test_the_planted_problems_are_found_with_stable_ids(checked: tuple[HubContext, object]) -> None:
    hub, register = checked
    planted = register.planted  # type: ignore[attr-defined]
    found = by_subject(hub)
    expected = {(rid, field, "value_mismatch") for rid, field in planted.disagreements}
    expected |= {(rid, "living_status", "deceased") for rid in planted.deceased}
    expected |= {(None, None, "missing")}
    assert set(found) == expected
    for (rid, field, kind), row in found.items():
        subject = f"record:{rid}" if rid else f"person:{planted.missing[0]}"
        assert row.finding_id == finding_id(source=SOURCE, subject=subject, field=field,
                                            kind=FindingKind(kind))  # fmt: skip
        assert (row.state, row.origin) == ("open", "370102")
        assert (row.division_code or "").startswith("370102001")
        assert read_problem_body(row.body).finding_id == row.finding_id


def test_the_import_is_dated_hashed_and_its_mapping_saved(
    checked: tuple[HubContext, object],
) -> None:
    hub, register = checked
    with hub.store.read() as session:
        [dataset] = session.scalars(sa.select(DatasetRow)).all()
        actions = session.scalars(sa.select(AuditRow.action)).all()
    assert (dataset.state, dataset.imported_by, dataset.imported_at) == ("committed", ADMIN, NOW)
    assert dataset.rows_stored == len(register.planted.rows)  # type: ignore[attr-defined]
    assert (dataset.content_hash or "").startswith("b2:")
    assert dataset.check_summary is not None
    assert dataset.check_summary["findings"] == 5
    assert saved_mapping(hub, SOURCE) == household_mapping()
    assert {"crosscheck.imported", "crosscheck.checked"} <= set(actions)


def test_open_findings_go_down_to_the_town_s_node_once(
    checked: tuple[HubContext, object], pki: Pki
) -> None:
    hub, _register = checked
    summary = send_problems(hub, by=ADMIN)
    assert (summary.sent, summary.unrouted, summary.bundles) == (5, 0, ((NODE, 1),))
    [entries] = down_entries(hub, pki)
    assert all(isinstance(e, Problem) for e in entries)
    sent = {read_problem_body(e.body).finding_id for e in entries}  # type: ignore[attr-defined]
    assert sent == set(findings(hub))
    assert {row.routed_to for row in findings(hub).values()} == {"370102001"}
    assert send_problems(hub).sent == 0  # nothing new: nothing sealed
    assert len(down_entries(hub, pki)) == 1


def test_an_answer_from_the_town_is_kept_and_accepted(checked: tuple[HubContext, object]) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    with hub.store.write() as session:
        answer = _answer(target, AnswerReason.PERSON_MOVED)
        counts = receive_answers(hub, session, [answer], sender=NODE,
                                 origins=origins_at(NODE, [answer]))  # fmt: skip
    assert (counts.applied, counts.ignored, counts.relay) == (1, 0, 0)
    row = findings(hub)[target]
    assert (row.state, row.answer_reason, row.answer_note) == ("answered", "person_moved",
                                                               "已迁往历城区")  # fmt: skip
    status = accept_answer(hub, target, by=ADMIN)
    assert (status.state.value, status.resolution.value, status.closed_by) == (  # type: ignore[union-attr]
        "closed",
        "accepted",
        ADMIN,
    )
    with pytest.raises(FindingStateError, match="AnswerAccepted is not allowed when closed"):
        accept_answer(hub, target, by=ADMIN)


def test_answers_from_elsewhere_are_ignored_and_unknown_ones_go_up(
    checked: tuple[HubContext, object],
) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    unknown = "ab" * 16
    with hub.store.write() as session:
        elsewhere = "370102002-01"
        counts = receive_answers(hub, session, [_answer(target)], sender=elsewhere,
                                 origins=origins_at(elsewhere, [_answer(target)]))  # fmt: skip
        relayed = receive_answers(hub, session, [_answer(unknown)], sender=NODE,
                                  origins=origins_at(NODE, [_answer(unknown)], 2))  # fmt: skip
    assert (counts.applied, counts.ignored) == (0, 1)
    assert relayed.relay == 1
    assert findings(hub)[target].state == "open"
    with hub.store.read() as session:
        outcomes = dict(session.execute(sa.select(AnswerRow.finding_id, AnswerRow.outcome)).all())
        [waiting] = answers_for_parent(session)
    assert outcomes == {target: "ignored", unknown: "relay"}
    assert waiting.answer.finding_id == unknown
    assert waiting.origin == origins_at(NODE, [_answer(unknown)], 2)[0]  # it goes up with it


def test_a_rejected_answer_reopens_and_goes_down_again_with_the_reason(
    checked: tuple[HubContext, object], pki: Pki
) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    with hub.store.write() as session:
        receive_answers(hub, session, [_answer(target)], sender=NODE,
                        origins=origins_at(NODE, [_answer(target)]))  # fmt: skip
    status = reject_answer(hub, target, by=ADMIN, reason="户籍登记无误，请核实")
    assert (status.state.value, status.rejection) == ("open", "户籍登记无误，请核实")
    assert send_problems(hub).sent == 1
    [problem] = down_entries(hub, pki)[-1]
    assert problem.body["details"]["rejection"] == "户籍登记无误，请核实"  # type: ignore[attr-defined]


def test_a_finding_closed_after_it_went_down_sends_its_closure_once(
    checked: tuple[HubContext, object], pki: Pki
) -> None:
    hub, _register = checked
    never_sent, withdrawn, answered, *_rest = sorted(findings(hub))
    withdraw(hub, never_sent, by=ADMIN)  # closed before it went down: nothing to close below
    assert (send_problems(hub).sent, send_problems(hub).closures) == (4, 0)
    withdraw(hub, withdrawn, by=ADMIN)
    with hub.store.write() as session:
        receive_answers(hub, session, [_answer(answered)], sender=NODE,
                        origins=origins_at(NODE, [_answer(answered)]))  # fmt: skip
    accept_answer(hub, answered, by=ADMIN)
    summary = send_problems(hub, by=ADMIN)
    assert (summary.sent, summary.closures, summary.bundles) == (0, 2, ((NODE, 1),))
    rows = findings(hub)
    closures = {e.finding_id: e for e in down_entries(hub, pki)[-1]}  # type: ignore[attr-defined]
    assert closures == {
        finding: ProblemClosure(finding_id=finding, resolution=resolution,
                                division=rows[finding].division_code,
                                record_id=rows[finding].record_id, at=NOW)
        for finding, resolution in ((withdrawn, ClosureResolution.WITHDRAWN),
                                    (answered, ClosureResolution.ACCEPTED))
    }  # fmt: skip
    assert send_problems(hub).closures == 0  # once
    with hub.store.read() as session:
        audited = session.scalars(
            sa.select(AuditRow.details).where(AuditRow.action == "crosscheck.sent")
        ).all()
    assert [json.loads(d)["closures"] for d in audited] == [0, 2]


def test_a_finding_sent_again_is_closed_again_when_it_closes_again(
    checked: tuple[HubContext, object], pki: Pki
) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    withdraw(hub, target, by=ADMIN)
    assert send_problems(hub).closures == 1
    # Reopened as the fix loop reopens a fixed finding whose disagreement came back
    # (findingstore.record_found): open again, not sent.
    with hub.store.write() as session:
        row = session.get(FindingRow, target)
        assert row is not None
        row.state, row.resolution, row.closed_at, row.sent_at = "open", None, None, None
    assert (send_problems(hub).sent, findings(hub)[target].closure_sent_at) == (1, None)
    withdraw(hub, target, by=ADMIN)
    assert send_problems(hub).closures == 1
    assert isinstance(down_entries(hub, pki)[-1][0], ProblemClosure)


def test_a_merged_fix_closes_its_finding_on_the_re_check(
    checked: tuple[HubContext, object], deltas: DeltaFactory
) -> None:
    hub, register = checked
    # The household address (the name would be an identity edit, held for review).
    rid, field = register.planted.disagreements[1]  # type: ignore[attr-defined]
    assert field == "hukou_address"
    row = by_subject(hub)[(rid, field, "value_mismatch")]
    assert recheck_findings(hub).closed == 0  # nothing changed yet
    # The collector takes the register's value: an ordinary op, merged as usual.
    fix = deltas.set(rid, field, row.body["proposed"], heads(hub, rid, field))
    submit(hub, deltas.bundle([fix])[0])
    drain(hub)
    summary = recheck_findings(hub, by=ADMIN)
    assert (summary.checked, summary.closed) == (5, 1)
    closed = findings(hub)[row.finding_id]
    assert (closed.state, closed.resolution) == ("closed", "fixed")


def test_the_next_extract_closes_what_it_no_longer_shows_and_reopens_what_returns(
    checked: tuple[HubContext, object], tmp_path: Path
) -> None:
    hub, register = checked
    planted = register.planted  # type: ignore[attr-defined]
    rid, field = planted.disagreements[0]
    target = by_subject(hub)[(rid, field, "value_mismatch")].finding_id
    honest = [r for r in planted.rows if r[0] not in {
        row.id_number for row in findings(hub).values() if row.kind == "missing"}]  # fmt: skip
    # Next month: the register agrees on the first disagreement's person (the clerk fixed it).
    fixed_rows = list(planted.rows)
    fixed_rows[0] = _agreeing(hub, rid, planted.rows[0])
    later = hub.now
    hub.now = lambda: later() + timedelta(days=30)
    second = write_register(hub, tmp_path / "next.csv", rows=fixed_rows)
    dataset = import_file(hub, second.path, mapping=household_mapping(), by=ADMIN)
    summary = run_check(hub, dataset.dataset_id, by=ADMIN)
    assert (summary.findings, summary.fixed) == (4, 1)
    assert findings(hub)[target].resolution == "fixed"
    # The month after, the old extract's disagreement is back: the finding reopens.
    hub.now = lambda: later() + timedelta(days=60)
    third = write_register(hub, tmp_path / "third.csv", rows=planted.rows)
    dataset = import_file(hub, third.path, mapping=household_mapping(), by=ADMIN)
    summary = run_check(hub, dataset.dataset_id, by=ADMIN)
    assert summary.reopened == 1
    reopened = findings(hub)[target]
    assert (reopened.state, reopened.reopened, reopened.sent_at) == ("open", 1, None)
    assert honest


def _agreeing(hub: HubContext, record: str, cells: tuple[str, ...]) -> tuple[str, ...]:
    with hub.store.read() as session:
        row = session.get(RecordRow, record)
        assert row is not None
        name, address = row.data["name"], row.data["hukou_address"]
    return (cells[0], name, *cells[2:5], address, *cells[6:])


def test_an_administrator_may_withdraw_a_finding(checked: tuple[HubContext, object]) -> None:
    hub, _register = checked
    target = next(iter(findings(hub)))
    assert withdraw(hub, target, by=ADMIN).resolution.value == "withdrawn"  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no finding"):
        withdraw(hub, "00" * 16, by=ADMIN)
    with pytest.raises(FindingStateError):
        withdraw(hub, target, by=ADMIN)
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(FindingRow)) == 5


def test_answers_in_a_town_delta_count_once_the_bundle_merges(
    checked: tuple[HubContext, object], deltas: DeltaFactory
) -> None:
    hub, register = checked
    send_problems(hub)
    rid, field = register.planted.disagreements[0]  # type: ignore[attr-defined]
    target = by_subject(hub)[(rid, field, "value_mismatch")].finding_id
    # A rename is an identity edit: its bundle waits for review, answer and all.
    rename = deltas.set(rid, "name", "王小明", heads(hub, rid, "name"))
    held = submit(hub, deltas.bundle([rename], answers=[_answer(target)])[0])
    drain(hub)
    assert findings(hub)[target].state == "open"
    approve(hub, held.row_id, by=ADMIN)
    drain(hub)
    row = findings(hub)[target]
    assert (row.state, row.answer_reason, row.answer_by) == (
        "answered", "register_wrong", "370102001/zhang.wei"
    )  # fmt: skip
    with hub.store.read() as session:
        summary = session.scalar(sa.select(BundleRow.summary).where(BundleRow.id == held.row_id))
    assert summary is not None
    assert summary["merged"]["answers"] == 1


def test_a_bundle_of_answers_alone_merges_at_once(
    checked: tuple[HubContext, object], deltas: DeltaFactory
) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    submit(hub, deltas.bundle([], answers=[_answer(target)])[0])
    drain(hub)
    assert findings(hub)[target].state == "answered"


def _malformed(deltas: DeltaFactory, target: str) -> bytes:
    bad = ["answer", {"finding": target, "reason": "lazy", "note": "", "by": "x", "at": "y"}]
    return deltas.bundle([], extra=[bad])[0]


def _unauthorised(deltas: DeltaFactory, target: str) -> bytes:
    # Carried in the node's signed bundle but outside the approver's authorisation: what a
    # stolen node key could add.
    return deltas.bundle([], extra=[encode_entry(_answer(target))])[0]


def _changed_after_signing(deltas: DeltaFactory, target: str) -> bytes:
    signed = _answer(target, AnswerReason.PERSON_MOVED)
    changed = dataclasses.replace(signed, note="迁往外省")
    return deltas.bundle([], answers=[changed], signed_answers=[signed])[0]


@pytest.mark.parametrize(
    ("make", "code", "reason"),
    [
        (_malformed, "bad_entry_content", "answer reason must be one of"),
        (_unauthorised, "not_authorised", "carries an answer to cross-check problems that"),
        (_changed_after_signing, "not_authorised", "answers differ from the ones"),
    ],
    ids=["malformed", "not-authorised", "changed-after-signing"],
)
def test_a_bad_answer_fails_its_bundle_and_changes_nothing(
    checked: tuple[HubContext, object],
    deltas: DeltaFactory,
    make: Callable[[DeltaFactory, str], bytes],
    code: str,
    reason: str,
) -> None:
    hub, _register = checked
    send_problems(hub)
    target = next(iter(findings(hub)))
    refused = submit(hub, make(deltas, target))
    drain(hub)
    with hub.store.read() as session:
        row = session.get(BundleRow, refused.row_id)
        assert row is not None
        assert (row.state, row.reason_code) == ("rejected", code)
        assert reason in (row.reason or "")
        assert session.scalar(sa.select(sa.func.count()).select_from(AnswerRow)) == 0
    assert findings(hub)[target].state == "open"


def test_an_origin_taken_in_twice_is_kept_once(checked: tuple[HubContext, object]) -> None:
    hub, _register = checked
    answer = _answer("ab" * 16)
    for _ in range(2):  # the same batch's origin again (as two hub processes might)
        with hub.store.write() as session:
            receive_answers(hub, session, [answer], sender=NODE,
                            origins=origins_at(NODE, [answer]))  # fmt: skip
    with hub.store.read() as session:
        kept = session.scalars(sa.select(AnswerRow.origin_id)).all()
        origins = session.scalars(sa.select(AnswerOriginRow.id)).all()
    assert len(kept) == 2
    assert len(origins) == 1
    assert set(kept) == set(origins)
