"""A record state as one storage row, and back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from crypto.errors import UsageError
from protocol.merge import DEFAULT_POLICY, RecordState, apply_ops
from protocol.ops import STATUS_FIELD
from tests.protocol.op_strategies import R1, A, B, Site, canonical, create, deliver, histories, set_


@given(histories())
def test_rows_round_trip_through_json(history: tuple[list[Site], list[Any]]) -> None:
    _, ops = history
    for record_id, state in deliver(ops).items():
        values, versions = json.loads(json.dumps(state.to_row()))
        back = RecordState.from_row(record_id, values, versions)
        assert back == state
        assert canonical({record_id: back}) == canonical({record_id: state})
        assert back.open_conflicts() == state.open_conflicts()


def test_a_new_record_stores_its_create_once() -> None:
    c = create(name="x", phone="1", address="road 1")
    state = apply_ops({}, [c], DEFAULT_POLICY).states[R1]
    values, versions = state.to_row()
    assert values == {"address": "road 1", "name": "x", "phone": "1", STATUS_FIELD: "live"}
    assert versions == {
        "o": [[c.hlc.encode(), c.op_id]],
        "f": {"address": 0, "name": 0, "phone": 0, STATUS_FIELD: 0},
        "v": [c.hlc.encode(), c.op_id],
    }


def test_a_conflicted_field_stores_heads_losing_values_and_covered() -> None:
    c = create(name="x", phone="1")
    a, b = set_(c, "awards", ["medal"], A, 10, base=()), set_(c, "awards", ["star"], B, 20, base=())
    state = apply_ops({}, [c, a, b], DEFAULT_POLICY).states[R1]
    values, versions = state.to_row()
    assert values["awards"] == ["star"]
    positions, others, covered = versions["f"]["awards"]
    assert [versions["o"][p][1] for p in positions] == [b.op_id, a.op_id]
    assert (others, covered) == ([["medal"]], [])
    restored = RecordState.from_row(R1, values, versions)
    assert restored.value("awards") == ("star",)  # lists come back as tuples
    assert restored == state


def test_rows_of_equal_states_are_equal_whatever_the_order_of_arrival() -> None:
    c = create(name="x", phone="1")
    a, b = set_(c, "phone", "2", A, 10), set_(c, "address", "road", B, 20, base=())
    one = deliver([c, a, b])[R1].to_row()
    other = deliver([b, a, c])[R1].to_row()
    assert json.dumps(one) == json.dumps(other)


def good_row() -> tuple[dict[str, Any], dict[str, Any]]:
    c = create(name="x", phone="1")
    a, b = set_(c, "phone", "2", A, 10), set_(c, "phone", "3", B, 20)
    return deliver([c, a, b])[R1].to_row()


def damaged(change: str) -> tuple[Any, Any]:
    values, versions = good_row()
    if change == "values not a mapping":
        return [], versions
    if change == "no o":
        del versions["o"]
    elif change == "o item not a pair":
        versions["o"][0] = ["only one"]
    elif change == "v not a pair":
        versions["v"] = "x"
    elif change == "extra value":
        values["extra"] = 1
    elif change == "index out of range":
        versions["f"]["name"] = 99
    elif change == "index not an int":
        versions["f"]["name"] = "0"
    elif change == "no heads":
        versions["f"]["phone"][0] = []
    elif change == "values per head":
        versions["f"]["phone"][1] = []
    elif change == "covered not ids":
        versions["f"]["phone"][2] = [1]
    elif change == "spec wrong shape":
        versions["f"]["phone"] = [[0], []]
    return values, versions


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("values not a mapping", "record row: expected two mappings, values and versions"),
        ("no o", "record row versions: expected 'o' \\(a list\\) and 'f' \\(a mapping\\)"),
        ("o item not a pair", "record row versions o: expected \\[hlc, op id\\] pairs"),
        ("v not a pair", "record row versions v: expected \\[hlc, op id\\] pairs"),
        ("extra value", "record row: expected the same fields in values and versions"),
        ("index out of range", "record row: head index outside 0..2"),
        ("index not an int", "record row field name: expected a head index or a register"),
        ("no heads", "record row field phone: expected a list of heads"),
        ("values per head", "record row field phone: expected a value per losing head"),
        ("covered not ids", "record row field phone: expected covered op ids"),
        ("spec wrong shape", "record row field phone: expected a head index or a register"),
    ],
)
def test_a_damaged_row_is_a_usage_error(change: str, message: str) -> None:
    values, versions = damaged(change)
    with pytest.raises(UsageError, match=message):
        RecordState.from_row(R1, values, versions)
