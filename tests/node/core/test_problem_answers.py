"""Cross-check problems at the node: the to-do list, answers with a reason, the proposed
value taken into the record, answers leaving with the next authorised batch, and the
hub's closures closing the items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hub.crosscheck import Finding, FindingKind, SourceKind, problem_body
from hub.crosscheck.authority import Authority
from node.errors import ConflictError, FormError, NotFoundError, NothingToDoError
from node.reports import ItemState
from node.services.inbox import accept_down
from node.services.reportsource import NodeReportSource
from node.store import transaction
from node.store.models import AuditRow, OpRow, OpState, OutboxRow, ProblemRow
from protocol.bundle import BundleKind
from protocol.entries import (
    AnswerReason,
    ClosureResolution,
    Manifest,
    Problem,
    ProblemAnswer,
    ProblemClosure,
    entry_bytes,
)
from protocol.ops import Op
from protocol.trust import Authorisation, answers_hash, verify_answers
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NodeUnderTest,
    down_bundle,
    form_for,
    hub_opens,
)

FINDING = "5a" * 16
OTHER = "6b" * 16
NEW_ADDRESS = "山东省济南市历下区解放路8号"


def _saved_record(node: NodeUnderTest) -> str:
    categories, values = form_for(node.services, seed=3)
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert result.saved
    assert result.record_id is not None
    return result.record_id


def _finding(record_id: str | None, finding: str = FINDING, **changes: object) -> Problem:
    values: dict[str, object] = {
        "finding_id": finding,
        "kind": FindingKind.VALUE_MISMATCH,
        "source": "历下区户籍",
        "source_kind": SourceKind.PUBLIC_SECURITY,
        "dataset_id": "d" * 32,
        "row": 7,
        "record_id": record_id,
        "field": "hukou_address",
        "register_value": NEW_ADDRESS,
        "record_value": "山东省济南市历下区旧地址1号",
        "authority": Authority.REGISTER,
        "proposed_value": NEW_ADDRESS,
        "division_code": "370102001",
    }
    values.update(changes)
    return Problem(body=problem_body(Finding(**values)))  # type: ignore[arg-type]


def _deliver(
    node: NodeUnderTest, *problems: Problem | ProblemClosure, seq: int = 1, prev: str | None = None
) -> str:
    data, digest = down_bundle(node, list(problems), kind=BundleKind.PROBLEMS, seq=seq, prev=prev)
    assert accept_down(node.services.context, data, source="http").outcome == "applied"
    return digest


def _row(node: NodeUnderTest, problem_id: str = FINDING) -> ProblemRow:
    with transaction(node.services.context.engine) as session:
        row = session.get(ProblemRow, problem_id)
        assert row is not None
        return row


def _sealed(node: NodeUnderTest) -> list[object]:
    """The entries of the newest bundle in the outbox, opened as the hub would."""
    with transaction(node.services.context.engine) as session:
        newest = session.execute(select(OutboxRow).order_by(OutboxRow.seq.desc())).scalar()
        assert newest is not None
        raw = newest.data
    _header, entries = hub_opens(node, raw)
    return entries


def test_a_finding_becomes_a_to_do_item_with_the_register_s_values(node: NodeUnderTest) -> None:
    record = _saved_record(node)
    _deliver(node, _finding(record))
    [item] = node.services.problems()
    assert (item.problem_id, item.record_id, item.state, item.field) == (
        FINDING, record, "open", "hukou_address"
    )  # fmt: skip
    assert item.message_zh == "“历下区户籍”登记的户籍地址与采集信息不一致"
    assert item.details["proposed"] == NEW_ADDRESS


def test_a_finding_s_answer_needs_a_reason_and_a_move_needs_where_to(node: NodeUnderTest) -> None:
    _deliver(node, _finding(None))
    with pytest.raises(FormError, match="choose a reason"):
        node.services.answer_problem(FINDING, "没问题", author=COLLECTOR[0])
    with pytest.raises(FormError, match="choose a reason"):
        node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="lazy")
    with pytest.raises(FormError, match="person_moved: say where to"):
        node.services.answer_problem(FINDING, "  ", author=COLLECTOR[0], reason="person_moved")
    with pytest.raises(FormError, match="at most 500"):
        node.services.answer_problem(FINDING, "长" * 501, author=COLLECTOR[0],
                                     reason="other")  # fmt: skip
    assert _row(node).state == "open"
    item = node.services.answer_problem(FINDING, "已迁往历城区", author=COLLECTOR[0],
                                        reason="person_moved")  # fmt: skip
    assert (item.state, item.answer_reason, item.answer, item.answer_sent) == (
        "answered", "person_moved", "已迁往历城区", False
    )  # fmt: skip


def test_an_unknown_problem_cannot_be_answered(node: NodeUnderTest) -> None:
    with pytest.raises(NotFoundError, match="no such problem"):
        node.services.answer_problem(FINDING, "x", author=COLLECTOR[0], reason="other")


def test_answers_alone_leave_with_an_authorised_batch_of_no_ops(node: NodeUnderTest) -> None:
    _deliver(node, _finding(None), _finding(None, OTHER, row=8))
    # Only the answered one goes: the other waits for its own answer.
    node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")
    result = node.services.authorise(APPROVER[0], APPROVER[2])
    assert (result.op_count, len(result.batches)) == (0, 1)
    manifest, answer = _sealed(node)
    assert isinstance(manifest, Manifest)
    assert manifest.op_ids == ()
    assert answer == ProblemAnswer(finding_id=FINDING, reason=AnswerReason.REGISTER_WRONG,
                                   note="", by="370102001/zhang.wei",
                                   at=node.clock())  # fmt: skip
    assert _row(node).answer_batch == result.batches[0].batch_id
    assert node.services.problems()[0].answer_sent
    with pytest.raises(NothingToDoError):  # sent once: not again
        node.services.authorise(APPROVER[0], APPROVER[2])


def test_answers_ride_with_the_ops_of_the_next_batch(node: NodeUnderTest) -> None:
    record = _saved_record(node)
    _deliver(node, _finding(record))
    node.services.answer_problem(FINDING, "户籍地址以派出所为准", author=COLLECTOR[0],
                                 reason="register_wrong")  # fmt: skip
    node.services.authorise(APPROVER[0], APPROVER[2])
    entries = _sealed(node)
    assert isinstance(entries[0], Manifest)
    ops = [e for e in entries if isinstance(e, Op)]
    answers = [e for e in entries if isinstance(e, ProblemAnswer)]
    assert len(ops) == len(entries[0].op_ids) > 0
    assert [a.finding_id for a in answers] == [FINDING]


def test_the_approver_signs_the_answers_with_the_batch(node: NodeUnderTest) -> None:
    _deliver(node, _finding(None))
    node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")
    node.services.authorise(APPROVER[0], APPROVER[2])
    with transaction(node.services.context.engine) as session:
        newest = session.execute(select(OutboxRow).order_by(OutboxRow.seq.desc())).scalar()
        assert newest is not None
        raw = newest.data
    header, entries = hub_opens(node, raw)
    assert header.auth is not None
    auth = Authorisation.from_dict(header.auth)
    answers = [entry_bytes(e) for e in entries if isinstance(e, ProblemAnswer)]
    assert auth.answers == answers_hash(answers)
    verify_answers(auth, answers)  # what a hub checks before it takes them


def test_the_proposed_value_goes_into_the_record_as_an_ordinary_edit(node: NodeUnderTest) -> None:
    record = _saved_record(node)
    _deliver(node, _finding(record))
    result = node.services.apply_proposed(FINDING, author=COLLECTOR[0])
    assert result.saved
    assert node.services.get_record(record).values["hukou_address"] == NEW_ADDRESS
    row = _row(node)
    assert (row.state, row.answer_reason) == ("answered", "record_fixed")
    with transaction(node.services.context.engine) as session:
        drafts = (
            session.execute(
                select(OpRow).where(OpRow.record_id == record, OpRow.state == OpState.DRAFT.value)
            )
            .scalars()
            .all()
        )
    assert len(drafts) == 2  # the create and the fix, both waiting for the approver


def test_a_proposal_for_no_record_cannot_be_applied(node: NodeUnderTest) -> None:
    missing = _finding(None, kind=FindingKind.MISSING, field=None, record_value=None,
                       register_value=None, authority=Authority.NONE,
                       proposed_value=None)  # fmt: skip
    _deliver(node, missing)
    with pytest.raises(ConflictError, match="proposes no value for a record"):
        node.services.apply_proposed(FINDING, author=COLLECTOR[0])
    assert _row(node).state == "open"


def test_a_finding_sent_again_reopens_with_the_hub_s_reason(node: NodeUnderTest) -> None:
    first = _deliver(node, _finding(None))
    node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")
    node.services.authorise(APPROVER[0], APPROVER[2])
    again = _finding(None)
    body = {**again.body, "details": {"rejection": "户籍登记无误，请核实"}}
    _deliver(node, Problem(body=body), seq=2, prev=first)
    item = node.services.problems()[0]
    assert (item.state, item.answer, item.answer_reason, item.answer_sent) == (
        "open", None, None, False
    )  # fmt: skip
    assert item.details["details"] == {"rejection": "户籍登记无误，请核实"}


def test_a_closed_item_cannot_be_answered(node: NodeUnderTest) -> None:
    _deliver(node, _finding(None))
    with transaction(node.services.context.engine) as session:
        row = session.get(ProblemRow, FINDING)
        assert row is not None
        row.state = "closed"
    with pytest.raises(ConflictError, match="is closed"):
        node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")


CLOSED_AT = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _closure(
    finding: str = FINDING, resolution: ClosureResolution = ClosureResolution.ACCEPTED
) -> ProblemClosure:
    return ProblemClosure(finding_id=finding, resolution=resolution, division="370102001",
                          record_id=None, at=CLOSED_AT)  # fmt: skip


def _closed_audits(node: NodeUnderTest) -> list[str]:
    with transaction(node.services.context.engine) as session:
        rows = session.execute(select(AuditRow).where(AuditRow.action == "problem.closed"))
        return [row.subject for row in rows.scalars()]


def test_the_hub_s_closure_closes_the_item_with_why_and_when(node: NodeUnderTest) -> None:
    first = _deliver(node, _finding(None))
    node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")
    node.services.authorise(APPROVER[0], APPROVER[2])
    _deliver(node, _closure(), seq=2, prev=first)
    assert node.services.problems() == []  # off the to-do list
    [item] = node.services.problems(include_closed=True)
    assert (item.state, item.resolution, item.closed_at) == ("closed", "accepted", CLOSED_AT)
    assert (item.answer_reason, item.answer_sent) == ("register_wrong", True)  # kept
    assert _closed_audits(node) == [FINDING]


def test_a_closure_delivered_again_or_for_an_unknown_item_changes_nothing(
    node: NodeUnderTest,
) -> None:
    first = _deliver(node, _finding(None))
    second = _deliver(node, _closure(), _closure(OTHER), seq=2, prev=first)
    _deliver(node, _closure(), seq=3, prev=second)
    with transaction(node.services.context.engine) as session:
        assert session.get(ProblemRow, OTHER) is None
    assert _closed_audits(node) == [FINDING]  # once
    assert _row(node).state == "closed"


def test_an_answer_not_sent_when_the_hub_closes_the_finding_stays_home(
    node: NodeUnderTest,
) -> None:
    first = _deliver(node, _finding(None))
    node.services.answer_problem(FINDING, "", author=COLLECTOR[0], reason="register_wrong")
    _deliver(node, _closure(resolution=ClosureResolution.FIXED), seq=2, prev=first)
    with pytest.raises(NothingToDoError):  # nothing left to authorise: the hub closed it
        node.services.authorise(APPROVER[0], APPROVER[2])
    assert _row(node).answer_batch is None


def test_a_finding_sent_again_after_its_closure_reopens_as_new(node: NodeUnderTest) -> None:
    first = _deliver(node, _finding(None))
    second = _deliver(node, _closure(resolution=ClosureResolution.FIXED), seq=2, prev=first)
    _deliver(node, _finding(None), seq=3, prev=second)  # the disagreement came back
    [item] = node.services.problems()
    assert (item.state, item.resolution, item.closed_at) == ("open", None, None)


def test_the_node_s_report_dates_a_closed_finding_by_its_closure(node: NodeUnderTest) -> None:
    first = _deliver(node, _finding(None))
    _deliver(node, _closure(resolution=ClosureResolution.WITHDRAWN), seq=2, prev=first)
    with transaction(node.services.context.engine) as session:
        [item] = NodeReportSource(node.services.context, session).quality_items()
    assert (item.state, item.closed_on) == (ItemState.RESOLVED, CLOSED_AT.date())
