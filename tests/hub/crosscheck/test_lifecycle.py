"""The fix loop: every state × every event, and re-checks against the record as it now is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crosscheck import (
    Answer,
    AnswerAccepted,
    Answered,
    AnswerReason,
    AnswerRejected,
    Finding,
    FindingKind,
    FindingScope,
    FindingState,
    FindingStateError,
    FindingStatus,
    ProblemBodyError,
    Rechecked,
    RegisterRow,
    Resolution,
    SourceKind,
    Withdrawn,
    advance,
    compare_row,
    recheck,
    row_finding,
)
from hub.crosscheck.lifecycle import Event

T0 = datetime(2026, 6, 1, tzinfo=UTC)
FID = "f" * 32


def _answer(at: datetime, reason: AnswerReason = AnswerReason.REGISTER_WRONG) -> Answer:
    return Answer(finding_id=FID, reason=reason, note="户籍登记有误", by="collector01", at=at)


def _event(kind: str, at: datetime, flag: bool) -> Event:
    if kind == "answer":
        return Answered(answer=_answer(at))
    if kind == "recheck":
        return Rechecked(holds=flag, at=at)
    if kind == "accept":
        return AnswerAccepted(by="admin01", at=at)
    if kind == "reject":
        return AnswerRejected(by="admin01", at=at, reason="请核实")
    return Withdrawn(by="admin01", at=at)


EVENTS = ("answer", "recheck", "accept", "reject", "withdraw")
#: (state, resolution) × event → state after, or None when refused.
TABLE: dict[tuple[str, str | None, str, bool], tuple[str, str | None] | None] = {}
for _flag in (True, False):
    TABLE |= {
        ("open", None, "answer", _flag): ("answered", None),
        ("open", None, "accept", _flag): None,
        ("open", None, "reject", _flag): None,
        ("open", None, "withdraw", _flag): ("closed", "withdrawn"),
        ("answered", None, "answer", _flag): ("answered", None),
        ("answered", None, "accept", _flag): ("closed", "accepted"),
        ("answered", None, "reject", _flag): ("open", None),
        ("answered", None, "withdraw", _flag): ("closed", "withdrawn"),
    }
    for _resolution in ("fixed", "accepted", "withdrawn"):
        for _kind in ("answer", "accept", "reject", "withdraw"):
            TABLE[("closed", _resolution, _kind, _flag)] = None
TABLE |= {
    ("open", None, "recheck", True): ("open", None),
    ("open", None, "recheck", False): ("closed", "fixed"),
    ("answered", None, "recheck", True): ("answered", None),
    ("answered", None, "recheck", False): ("closed", "fixed"),
    ("closed", "fixed", "recheck", True): ("open", None),  # the disagreement came back
    ("closed", "fixed", "recheck", False): ("closed", "fixed"),
    ("closed", "accepted", "recheck", True): ("closed", "accepted"),  # settled by an admin
    ("closed", "accepted", "recheck", False): ("closed", "accepted"),
    ("closed", "withdrawn", "recheck", True): ("closed", "withdrawn"),
    ("closed", "withdrawn", "recheck", False): ("closed", "withdrawn"),
}


def _status_in(state: str, resolution: str | None) -> FindingStatus:
    status = FindingStatus.opened(FID, T0)
    steps = {
        ("open", None): [],
        ("answered", None): [("answer", False)],
        ("closed", "fixed"): [("recheck", False)],
        ("closed", "accepted"): [("answer", False), ("accept", False)],
        ("closed", "withdrawn"): [("withdraw", False)],
    }[(state, resolution)]
    for kind, flag in steps:
        status = advance(status, _event(kind, T0, flag))
    return status


@pytest.mark.parametrize(("state", "resolution", "kind", "flag"), sorted(TABLE, key=str))
def test_every_state_and_event(state: str, resolution: str | None, kind: str, flag: bool) -> None:
    status = _status_in(state, resolution)
    expected = TABLE[(state, resolution, kind, flag)]
    event = _event(kind, T0 + timedelta(hours=1), flag)
    if expected is None:
        with pytest.raises(FindingStateError) as caught:
            advance(status, event)
        assert caught.value.message == (
            f"finding {FID}: {type(event).__name__} is not allowed when {state}"
            + (f" ({resolution})" if resolution else "")
        )
        return
    after = advance(status, event)
    assert (after.state.value, after.resolution.value if after.resolution else None) == expected


@given(st.lists(st.tuples(st.sampled_from(EVENTS), st.booleans(), st.integers(0, 3)), max_size=30))
def test_any_sequence_of_events_keeps_the_invariants(steps: list[tuple[str, bool, int]]) -> None:
    status = FindingStatus.opened(FID, T0)
    at = T0
    for kind, flag, hours in steps:
        at += timedelta(hours=hours)
        before = status
        key = (status.state.value, status.resolution.value if status.resolution else None,
               kind, flag)  # fmt: skip
        try:
            status = advance(status, _event(kind, at, flag))
        except FindingStateError:
            assert TABLE[key] is None
            assert status == before  # a refused event changes nothing
            continue
        expected = TABLE[key]
        assert expected is not None
        assert (status.state.value, status.resolution.value if status.resolution else None) == (
            expected
        )
        # The invariants FindingStatus checks hold, and time never goes back.
        assert status.updated_at >= before.updated_at
        assert (status.state is FindingState.CLOSED) == (status.closed_at is not None)
        if before.resolution in (Resolution.ACCEPTED, Resolution.WITHDRAWN):
            assert status.state is FindingState.CLOSED  # an administrator's close is final


def test_an_event_before_the_last_change_is_refused() -> None:
    status = advance(FindingStatus.opened(FID, T0), Rechecked(holds=True, at=T0 + timedelta(1)))
    with pytest.raises(FindingStateError, match="is before its last change"):
        advance(status, Withdrawn(by="admin01", at=T0))


def test_an_answer_in_the_same_second_as_the_last_change_is_taken() -> None:
    # Answers carry whole seconds; the finding's times have microseconds.
    opened = FindingStatus.opened(FID, T0 + timedelta(milliseconds=430))
    status = advance(opened, Answered(answer=_answer(T0)))
    assert (status.state, status.updated_at) == (FindingState.ANSWERED, opened.updated_at)
    with pytest.raises(FindingStateError, match="is before its last change"):
        advance(opened, Answered(answer=_answer(T0 - timedelta(seconds=1))))


def test_an_answer_to_another_finding_is_refused() -> None:
    other = Answer(finding_id="0" * 32, reason=AnswerReason.RECORD_FIXED, note="", by="c",
                   at=T0)  # fmt: skip
    with pytest.raises(FindingStateError):
        advance(FindingStatus.opened(FID, T0), Answered(answer=other))


def test_reopening_counts() -> None:
    status = FindingStatus.opened(FID, T0)
    status = advance(status, Rechecked(holds=False, at=T0))
    status = advance(status, Rechecked(holds=True, at=T0))
    assert (status.state, status.reopened) == (FindingState.OPEN, 1)


def test_answers_round_trip_and_bad_ones_are_refused() -> None:
    answer = _answer(T0, AnswerReason.PERSON_MOVED)
    assert Answer.from_dict(answer.to_dict()) == answer
    body: dict[str, Any] = answer.to_dict() | {"reason": "bored"}
    with pytest.raises(ProblemBodyError, match="answer: 'bored' is not a valid AnswerReason"):
        Answer.from_dict(body)
    with pytest.raises(ProblemBodyError, match="answer: expected an object with keys"):
        Answer.from_dict({"finding": FID})
    with pytest.raises(ProblemBodyError, match="person_moved: needs a note"):
        Answer.from_dict(answer.to_dict() | {"note": " "})


# --- re-check ---------------------------------------------------------------------------

SCOPE = FindingScope(source="户籍", source_kind=SourceKind.PUBLIC_SECURITY, dataset_id="a" * 32)
NUMBER = "370102195603120138"


def _row(**values: Any) -> RegisterRow:
    return RegisterRow(row=2, id_number=NUMBER, values=tuple(sorted(values.items())))


def _mismatch(row: RegisterRow, record: dict[str, Any], key: str) -> Finding:
    (finding,) = compare_row(row, "r-1", record.get, scope=SCOPE, keys=(key,),
                             division_code="370102001")  # fmt: skip
    return finding


def test_recheck_closes_a_fixed_value_and_keeps_an_unfixed_one() -> None:
    row = _row(name="王芳", living_status="已故")
    finding = _mismatch(row, {"name": "王方"}, "name")
    assert recheck(finding, rows=[row], record={"name": "王方"})
    assert not recheck(finding, rows=[row], record={"name": "王 芳"})
    deceased = _mismatch(row, {"living_status": "健在"}, "living_status")
    assert deceased.kind is FindingKind.DECEASED
    assert recheck(deceased, rows=[row], record={"living_status": "健在"})
    assert not recheck(deceased, rows=[row], record={"living_status": "已故"})
    # The person left the register (or the register was corrected): the finding is gone.
    assert not recheck(finding, rows=[], record={"name": "王方"})


def test_recheck_of_missing_invalid_and_duplicate() -> None:
    row = _row(name="王芳", subject_category=("disabled_soldier",))
    missing = row_finding(SCOPE, row, FindingKind.MISSING)
    assert recheck(missing, rows=[row], record=None)
    assert not recheck(missing, rows=[row], record={"id_number": NUMBER})
    bad = RegisterRow(row=3, id_number=None, bad_id_number="370102195603120139",
                      values=(("name", "王芳"),))  # fmt: skip
    invalid = row_finding(SCOPE, bad, FindingKind.INVALID_ID_NUMBER)
    assert recheck(invalid, rows=[bad], record=None)
    corrected = RegisterRow(row=3, id_number=NUMBER, values=(("name", "王芳"),))
    assert not recheck(invalid, rows=[corrected], record=None)
    duplicate = row_finding(SCOPE, row, FindingKind.DUPLICATE_ID_NUMBER)
    assert recheck(duplicate, rows=[row, row], record=None)
    assert not recheck(duplicate, rows=[row], record=None)
