"""The ``closure`` entry: the hub closed a cross-check problem, decoded strictly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.entries import (
    ClosureResolution,
    EntryTag,
    ProblemClosure,
    decode_entry,
    encode_entry,
)
from protocol.errors import EntryError

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
FINDING = "0f" * 16
RECORD = "5b0c6f1e-3a2d-4c1b-9e8f-7a6b5c4d3e2f"


def _closure(**changes: Any) -> ProblemClosure:
    values: dict[str, Any] = {
        "finding_id": FINDING,
        "resolution": ClosureResolution.FIXED,
        "division": "370102001",
        "record_id": RECORD,
        "at": AT,
    }
    values.update(changes)
    return ProblemClosure(**values)


def _wire(value: object) -> Any:
    return msgpack.unpackb(msgpack.packb(encode_entry(value)), raw=False)


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "finding": FINDING,
        "resolution": "accepted",
        "division": "370102001",
        "record": None,
        "at": "2026-12-01T09:30:00Z",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


def test_the_wire_form_is_a_tagged_map_without_personal_values() -> None:
    assert encode_entry(_closure()) == [
        "closure",
        {
            "finding": FINDING,
            "resolution": "fixed",
            "division": "370102001",
            "record": RECORD,
            "at": "2026-12-01T09:30:00Z",
        },
    ]
    assert EntryTag.CLOSURE.value == "closure"


@given(
    resolution=st.sampled_from(list(ClosureResolution)),
    division=st.none() | st.from_regex(r"[0-9]{2,12}", fullmatch=True),
    with_record=st.booleans(),
    seconds=st.integers(min_value=0, max_value=10**9),
)
def test_every_closure_round_trips_through_msgpack(
    resolution: ClosureResolution, division: str | None, with_record: bool, seconds: int
) -> None:
    closure = _closure(
        resolution=resolution,
        division=division,
        record_id=RECORD if with_record else None,
        at=datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds),
    )
    assert decode_entry(_wire(closure)) == closure


def test_a_closure_in_another_time_zone_is_written_in_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=8)))
    assert _wire(_closure(at=local))[1]["at"] == "2026-12-01T09:30:00Z"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"finding": "0F" * 16}, "finding must be 32 hex digits"),
        ({"finding": "0f" * 15}, "finding must be 32 hex digits"),
        ({"resolution": "forgotten"}, "resolution must be one of fixed, accepted, withdrawn"),
        ({"division": "37010A"}, "division must be 2 to 12 digits"),
        ({"division": "3701020010010"}, "closure division must be text of at most 12"),
        ({"division": 370102}, "closure division must be text"),
        ({"record": "not-a-record-id"}, "record must be a record id"),
        ({"record": b"\x00" * 16}, "closure record must be text"),
        ({"at": "2026-12-01 09:30:00"}, "closure at: expected YYYY-MM-DDTHH:MM:SSZ"),
        ({"at": _DROP}, "closure must be an object with keys"),
        ({"note": "extra"}, "closure must be an object with keys"),
    ],
)
def test_a_malformed_closure_is_an_entry_error_naming_what_is_wrong(
    change: dict[str, object], words: str
) -> None:
    with pytest.raises(EntryError) as caught:
        decode_entry(["closure", _body(**change)], 4)
    assert words in caught.value.message
    assert caught.value.message.startswith("entry 4 (closure):")


def test_a_closure_body_that_is_not_a_map_is_refused() -> None:
    with pytest.raises(EntryError, match="closure must be an object"):
        decode_entry(["closure", [FINDING, "fixed"]])


def test_a_closure_needs_an_aware_time() -> None:
    with pytest.raises(EntryError, match="time must be timezone-aware"):
        _closure(at=datetime(2026, 12, 1, 9, 30))
