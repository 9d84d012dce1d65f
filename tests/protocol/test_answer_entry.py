"""The ``answer`` entry: a collector's answer to a cross-check problem, decoded strictly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.entries import (
    MAX_ANSWER_NOTE,
    NOTE_REQUIRED,
    AnswerReason,
    EntryTag,
    ProblemAnswer,
    decode_entry,
    encode_entry,
    entry_bytes,
)
from protocol.errors import EntryError

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
FINDING = "0f" * 16


def _answer(**changes: Any) -> ProblemAnswer:
    values: dict[str, Any] = {
        "finding_id": FINDING,
        "reason": AnswerReason.PERSON_MOVED,
        "note": "已迁往历城区",
        "by": "370102001/zhang.wei",
        "at": AT,
    }
    values.update(changes)
    return ProblemAnswer(**values)


def _wire(value: object) -> Any:
    return msgpack.unpackb(msgpack.packb(encode_entry(value)), raw=False)


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "finding": FINDING,
        "reason": "register_wrong",
        "note": "",
        "by": "370102001/zhang.wei",
        "at": "2026-12-01T09:30:00Z",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


def test_the_wire_form_is_a_tagged_map_of_five_texts() -> None:
    assert encode_entry(_answer()) == [
        "answer",
        {
            "finding": FINDING,
            "reason": "person_moved",
            "note": "已迁往历城区",
            "by": "370102001/zhang.wei",
            "at": "2026-12-01T09:30:00Z",
        },
    ]
    assert EntryTag.ANSWER.value == "answer"


@given(
    reason=st.sampled_from(list(AnswerReason)),
    note=st.text(min_size=1, max_size=MAX_ANSWER_NOTE).filter(str.strip),
    seconds=st.integers(min_value=0, max_value=10**9),
)
def test_every_answer_round_trips_through_msgpack(
    reason: AnswerReason, note: str, seconds: int
) -> None:
    answer = _answer(reason=reason, note=note, at=AT + timedelta(seconds=seconds))
    assert decode_entry(_wire(answer)) == answer
    # The hub re-encodes the answer it decoded to check the approver's hash over it.
    assert entry_bytes(decode_entry(_wire(answer))) == entry_bytes(answer)


def test_a_time_in_another_zone_is_sent_in_utc() -> None:
    local = datetime(2026, 12, 1, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    assert decode_entry(_wire(_answer(at=local))) == _answer(at=AT)


def test_the_note_stays_out_of_the_repr() -> None:
    assert "历城" not in repr(_answer())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("register_wrong", "answer must be an object with keys finding, reason, note, by, at"),
        ({**_body(), "record": None}, "answer must be an object with keys"),
        (_body(note=_DROP), "answer must be an object with keys"),
        (_body(finding="0F" * 16), "finding must be 32 hex digits"),
        (_body(finding="0f" * 15), "finding must be 32 hex digits"),
        (_body(finding=12), "answer finding must be text of at most 32 characters"),
        (_body(reason="lazy"), "answer reason must be one of register_wrong, person_moved"),
        (_body(reason=None), "answer reason must be one of"),
        (_body(reason="person_moved"), "person_moved needs a note"),
        (_body(reason="other", note="   "), "other needs a note"),
        (_body(note="x" * (MAX_ANSWER_NOTE + 1)), "answer note must be text of at most 500"),
        (_body(note=b"bytes"), "answer note must be text"),
        (_body(by="zhang.wei"), "by must be a subject id"),
        (_body(by="370102001/Zhang Wei"), "by must be a subject id"),
        (_body(by="3" * 81), "answer by must be text of at most 80"),
        (_body(at="2026-12-01 09:30:00"), r"answer at: expected YYYY-MM-DDTHH:MM:SSZ"),
        (_body(at="2026-02-30T09:30:00Z"), "answer at: not a real time"),
        (_body(at=1764581400), "answer at: expected"),
    ],
)
def test_malformed_answers_are_refused_with_their_position(body: object, message: str) -> None:
    with pytest.raises(EntryError, match=message) as caught:
        decode_entry(["answer", body], 7)
    assert caught.value.message.startswith("entry 7 (answer): ")
    assert caught.value.fields["entry"] == 7


def test_a_refused_note_is_never_quoted() -> None:
    with pytest.raises(EntryError) as caught:
        decode_entry(["answer", _body(note="王芳 " * 200)], 0)
    assert "王芳" not in caught.value.message


@pytest.mark.parametrize("reason", sorted(NOTE_REQUIRED))
def test_reasons_that_need_a_note_refuse_to_be_built_without_one(reason: AnswerReason) -> None:
    with pytest.raises(EntryError, match="needs a note"):
        _answer(reason=reason, note="")


def test_an_answer_needs_an_aware_time() -> None:
    with pytest.raises(EntryError, match="timezone-aware"):
        _answer(at=datetime(2026, 12, 1, 9, 30))
