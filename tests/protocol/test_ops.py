"""Ops: construction, the op id, and the strict positional wire form."""

from __future__ import annotations

import uuid
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import OpError
from protocol.hlc import Timestamp
from protocol.ops import (
    ENTRY_LENGTH,
    MAX_AUTHOR_LENGTH,
    MAX_BASE,
    MAX_REASON_LENGTH,
    STATUS_FIELD,
    Op,
    OpKind,
    canonical_value,
)
from tests.protocol.op_strategies import ops

NODE = "370102001-01"
RID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SURVIVOR = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
BASE = "00112233445566778899aabbccddeeff"
HLC = Timestamp(wall_ms=0x0193A1B2C3D4, counter=1, node=NODE)


def make(kind: OpKind = OpKind.SET, /, **overrides: Any) -> Op:
    fields: dict[str, Any] = {
        "kind": kind,
        "record_id": RID,
        "hlc": HLC,
        "author": "collector-7",
        "site": NODE,
    }
    if kind is OpKind.SET:
        fields.update(field="phone", value="13800000000", base=(BASE,), record_base=BASE)
    elif kind is OpKind.CREATE:
        fields.update(value={"name": "x", "sex": "1"})
    elif kind is OpKind.MERGE_INTO:
        fields.update(value=SURVIVOR, base=(BASE,))
    fields.update(overrides)
    return Op(**fields)


# --- the id and the canonical bytes ----------------------------------------------------


def test_canonical_bytes_of_a_set_are_pinned() -> None:
    # docs/merge.md §2 walks through these bytes; change both or neither.
    op = make()
    assert op.canonical_bytes.hex() == (
        "9b"  # array of 11
        "01"  # kind: set
        "c4100f8fad5bd9cb469fa16570867728950e"  # record id, bin 16
        "a570686f6e65"  # field "phone"
        "ab3133383030303030303030"  # value "13800000000"
        "91c41000112233445566778899aabbccddeeff"  # base: [one op id]
        "c41000112233445566778899aabbccddeeff"  # record_base
        "cf00000193a1b2c3d4"  # wall_ms, uint 64
        "01"  # counter
        "ac3337303130323030312d3031"  # site "370102001-01"
        "ab636f6c6c6563746f722d37"  # author "collector-7"
        "c0"  # reason: nil
    )
    assert op.op_id == "f1762d833d5f51a441e7082b38b9f111"


def test_op_id_is_32_lowercase_hex_and_stable() -> None:
    assert make().op_id == make().op_id
    assert len(make().op_id) == 32
    assert make().op_id == make().op_id.lower()


def test_every_attribute_changes_the_id() -> None:
    base = make()
    variants = [
        make(record_id=SURVIVOR),
        make(field="address"),
        make(value="13900000000"),
        make(base=()),
        make(record_base=None),
        make(hlc=Timestamp(wall_ms=HLC.wall_ms, counter=2, node=NODE)),
        make(author="collector-8"),
        make(reason="corrected"),
    ]
    assert len({op.op_id for op in [base, *variants]}) == len(variants) + 1


def test_values_equal_in_python_but_typed_differently_give_different_ops() -> None:
    # 1 == 1.0 == True in Python, but they are different values on the wire.
    assert len({make(value=1), make(value=1.0), make(value=True)}) == 3


def test_ops_are_equal_when_their_ids_are() -> None:
    assert make() == make()
    assert hash(make()) == hash(make())
    assert make() != make(value="other")
    assert make() != "not an op"


# --- construction -------------------------------------------------------------------------


def test_create_values_are_sorted_pairs_whatever_the_input_order() -> None:
    a = make(OpKind.CREATE, value={"sex": "1", "name": "x"})
    b = make(OpKind.CREATE, value=(("name", "x"), ("sex", "1")))
    assert a.value == (("name", "x"), ("sex", "1"))
    assert a == b


def test_base_is_sorted_and_deduplicated() -> None:
    other = "ff" * 16
    assert make(base=[other, BASE, other]).base == (BASE, other)


def test_lists_become_tuples() -> None:
    assert make(value=["a", "b"]).value == ("a", "b")
    assert make(OpKind.CREATE, value={"awards": ["a"]}).value == (("awards", ("a",)),)


def test_writes_name_every_field_an_op_writes() -> None:
    assert make().writes() == (("phone", "13800000000"),)
    assert make(OpKind.CREATE).writes() == (("name", "x"), ("sex", "1"), (STATUS_FIELD, "live"))
    assert make(OpKind.DELETE).writes() == ((STATUS_FIELD, "deleted"),)
    assert make(OpKind.MERGE_INTO).writes() == ((STATUS_FIELD, f"merged:{SURVIVOR}"),)


@pytest.mark.parametrize(
    ("kind", "overrides", "message"),
    [
        (OpKind.SET, {"kind": "set"}, "op kind: expected one of create, set, delete, merge_into"),
        (OpKind.SET, {"record_id": RID.upper()}, "op set record_id: expected a UUID in lowercase"),
        (OpKind.SET, {"record_id": RID.replace("-", "")}, "op set record_id: expected a UUID"),
        (OpKind.SET, {"hlc": HLC.encode()}, "op set hlc: expected a Timestamp"),
        (OpKind.SET, {"site": "370102002-01"}, "op set site: expected the node of its timestamp"),
        (OpKind.SET, {"author": ""}, "op set author: expected 1 to 64 characters"),
        (OpKind.SET, {"author": "a" * (MAX_AUTHOR_LENGTH + 1)}, "op set author: expected 1 to 64"),
        (OpKind.SET, {"author": "two words"}, "op set author: expected printable characters"),
        (OpKind.SET, {"author": "tab\t"}, "op set author: expected printable characters"),
        (OpKind.SET, {"reason": ""}, "op set reason: expected 1 to 2000 characters"),
        (OpKind.SET, {"reason": "r" * (MAX_REASON_LENGTH + 1)}, "op set reason: expected 1 to"),
        (OpKind.SET, {"reason": "\ud800"}, "op set reason: expected text encodable as UTF-8"),
        (OpKind.SET, {"record_base": "xyz"}, "op set record_base: expected an op id"),
        (OpKind.SET, {"base": BASE}, "op set base: expected a tuple of op ids"),
        (OpKind.SET, {"base": (BASE.upper(),)}, "op set base: expected op ids"),
        (OpKind.SET, {"base": (f"{n:032x}" for n in range(3))}, "op set base: expected a tuple"),
        (
            OpKind.SET,
            {"base": tuple(f"{n:032x}" for n in range(MAX_BASE + 1))},
            "op set base: expected at most 256 op ids, got 257",
        ),
        (OpKind.SET, {"field": None}, "op set field: expected a name matching"),
        (OpKind.SET, {"field": STATUS_FIELD}, "op set field: expected a name matching"),
        (OpKind.SET, {"field": "Name"}, "op set field: expected a name matching"),
        (OpKind.SET, {"value": {"a": 1}}, "op value of phone: expected text, integer, .* got dict"),
        (OpKind.SET, {"value": float("nan")}, "op value of phone: expected a finite number"),
        (OpKind.SET, {"value": float("inf")}, "op value of phone: expected a finite number"),
        (OpKind.SET, {"value": 2**64}, "op value of phone: expected an integer that fits in 64"),
        (OpKind.SET, {"value": -(2**63) - 1}, "op value of phone: expected an integer that fits"),
        (OpKind.SET, {"value": ["a", 1]}, "op value of phone: expected a list of text, found int"),
        (OpKind.SET, {"value": b"bytes"}, "op value of phone: expected text, .* got bytes"),
        (OpKind.SET, {"value": "\udfff"}, "op value of phone: expected text encodable as UTF-8"),
        (OpKind.CREATE, {"field": "name"}, "op create field: expected none"),
        (OpKind.CREATE, {"base": (BASE,)}, "op create base: expected none"),
        (OpKind.CREATE, {"record_base": BASE}, "op create base: expected none"),
        (OpKind.CREATE, {"value": "x"}, "op create value: expected a mapping of fields, got str"),
        (OpKind.CREATE, {"value": {STATUS_FIELD: "live"}}, "op create value: expected field names"),
        (OpKind.CREATE, {"value": (("a", 1), ("a", 2))}, "op create value: field a appears twice"),
        (OpKind.CREATE, {"value": (("a", 1, 2),)}, "op create value: expected \\(field, value\\)"),
        (OpKind.CREATE, {"value": {"a": {"b": 1}}}, "op value of a: expected text, .* got dict"),
        (OpKind.DELETE, {"value": "x"}, "op delete value: expected none, got str"),
        (
            OpKind.DELETE,
            {"field": "name"},
            "op delete field: expected none, the op is record-level",
        ),
        (OpKind.MERGE_INTO, {"value": None}, "op merge_into value: expected the survivor's record"),
        (
            OpKind.MERGE_INTO,
            {"value": RID},
            "op merge_into value: expected another record, got the",
        ),
    ],
)
def test_malformed_ops_are_refused(kind: OpKind, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(OpError, match=message):
        make(kind, **overrides)


def test_canonical_value_refuses_subclasses() -> None:
    class Text(str):
        pass

    with pytest.raises(OpError, match=r"value: expected text, .* got Text"):
        canonical_value(Text("x"))


# --- the wire form ------------------------------------------------------------------------


@given(ops())
def test_entry_round_trip(op: Op) -> None:
    entry = msgpack.unpackb(msgpack.packb(op.to_entry()))
    decoded = Op.from_entry(entry)
    assert decoded == op
    assert decoded.canonical_bytes == op.canonical_bytes
    assert decoded.to_entry() == op.to_entry()


@given(ops())
def test_the_create_map_holds_exactly_the_create_values_and_cannot_be_changed(op: Op) -> None:
    decoded = Op.from_entry(msgpack.unpackb(msgpack.packb(op.to_entry())))
    for each in (op, decoded):
        assert dict(each.create_map()) == dict(each.create_values())
        assert each.create_map() is each.create_map()  # built once
        with pytest.raises(TypeError):
            each.create_map()["name"] = "changed"  # type: ignore[index]
    if op.kind is not OpKind.CREATE:
        assert op.create_map() == {}


@given(ops())
def test_canonical_bytes_are_the_packed_entry(op: Op) -> None:
    assert op.canonical_bytes == msgpack.packb(op.to_entry())


def test_entry_is_positional() -> None:
    entry = make(reason="ok").to_entry()
    assert len(entry) == ENTRY_LENGTH
    assert entry[0] == OpKind.SET.code == 1
    assert entry[1] == bytes.fromhex(RID.replace("-", ""))
    assert entry[2:4] == ["phone", "13800000000"]
    assert entry[4] == [bytes.fromhex(BASE)]
    assert entry[6:] == [HLC.wall_ms, 1, NODE, "collector-7", "ok"]


def good_entry(kind: OpKind = OpKind.SET) -> list[Any]:
    return make(kind).to_entry()


def with_item(position: int, item: object, kind: OpKind = OpKind.SET) -> list[Any]:
    entry = good_entry(kind)
    entry[position] = item
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": 1}, "op entry: expected an array, got dict"),
        (b"\x9b", "op entry: expected an array, got bytes"),
        (good_entry()[:10], "op entry: expected an array of 11 items, got 10"),
        ([*good_entry(), None], "op entry: expected an array of 11 items, got 12"),
        (with_item(0, 4), "op entry kind: expected an integer in 0..3"),
        (with_item(0, True), "op entry kind: expected an integer in 0..3"),
        (with_item(0, "set"), "op entry kind: expected an integer"),
        (with_item(1, RID), "op entry record_id: expected 16 bytes"),
        (with_item(1, b"\x00" * 15), "op entry record_id: expected 16 bytes"),
        (with_item(2, 7), "op set field: expected a name matching"),
        (with_item(3, {"a": 1}), "op value of phone: expected text, integer"),
        (with_item(4, b"\x00" * 16), "op entry base: expected an array of 16-byte op ids"),
        (with_item(4, [BASE]), "op entry base: expected 16-byte op ids"),
        (with_item(4, [b"\x02" * 16, b"\x01" * 16]), "op entry base: expected op ids in ascending"),
        (with_item(4, [b"\x01" * 16, b"\x01" * 16]), "op entry base: expected op ids in ascending"),
        (with_item(4, [b"\x01" * 16] * 300), "op entry base: expected at most 256 op ids, got 300"),
        (with_item(5, BASE), "op entry record_base: expected 16-byte op ids"),
        (with_item(6, -1), "timestamp wall_ms: expected an integer in 0..281474976710655, got -1"),
        (with_item(6, 1.5), "timestamp wall_ms: expected an integer .* type float"),
        (with_item(7, 65536), "timestamp counter: expected an integer in 0..65535, got 65536"),
        (with_item(8, None), "op entry site: expected a node id like 370102001-01"),
        (with_item(8, "somewhere"), "timestamp node: expected a node id like 370102001-01"),
        (with_item(9, None), "op set author: expected 1 to 64 characters"),
        (with_item(10, 5), "op set reason: expected 1 to 2000 characters"),
        (with_item(3, [b"x"], OpKind.CREATE), "op entry create values: expected a map, got list"),
        (with_item(3, {"sex": "1", "name": "x"}, OpKind.CREATE), "expected keys in sorted order"),
        (with_item(3, {1: "x"}, OpKind.CREATE), "op create value: expected field names matching"),
        (with_item(3, {"_status": "x"}, OpKind.CREATE), "op create value: expected field names"),
        (with_item(3, {"a": float("nan")}, OpKind.CREATE), "op value of a: expected a finite"),
        (with_item(4, [b"\x01" * 16], OpKind.CREATE), "op create base: expected none"),
        (with_item(2, "name", OpKind.CREATE), "op create field: expected none"),
        (with_item(3, SURVIVOR, OpKind.MERGE_INTO), "op entry merge_into survivor: expected 16"),
        (
            with_item(3, bytes.fromhex(RID.replace("-", "")), OpKind.MERGE_INTO),
            "op merge_into value: expected another record, got the record itself",
        ),
        (with_item(3, "x", OpKind.DELETE), "op delete value: expected none, got str"),
    ],
)
def test_malformed_entries_are_refused(entry: object, message: str) -> None:
    with pytest.raises(OpError, match=message):
        Op.from_entry(entry)


#: Anything msgpack can carry, nested a little.
wire_items = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(ops(), st.integers(0, ENTRY_LENGTH - 1), wire_items)
def test_a_damaged_entry_is_refused_or_reencodes_to_the_same_bytes(
    op: Op, position: int, item: object
) -> None:
    entry = op.to_entry()
    entry[position] = item
    try:
        decoded = Op.from_entry(entry)
    except OpError:
        return
    # Whatever is accepted is canonical: packing what arrived is packing the op.
    assert decoded.canonical_bytes == msgpack.packb(decoded.to_entry())


@given(wire_items)
def test_arbitrary_input_is_refused_with_op_error_only(item: object) -> None:
    with pytest.raises(OpError):
        Op.from_entry(item)


#: Text as msgpack could hand it over, lone surrogates (not encodable) included.
_any_text = st.text(st.characters(categories=["Cs", "Lo", "Ll"]), max_size=4)
#: Create values as msgpack hands them over: lists for arrays.
wire_values = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    wire_items | st.lists(_any_text, max_size=3) | _any_text,
    max_size=6,
)


@given(wire_values)
def test_the_wire_path_takes_exactly_the_create_values_the_constructor_takes(
    values: dict[str, object],
) -> None:
    """The short paths of the wire decoder (text left to packing, only other values
    looked at) refuse and accept the same values as building the op does."""
    hlc = Timestamp(wall_ms=1, counter=0, node="370102001-01")
    common: dict[str, Any] = {"record_id": str(uuid.UUID(int=1, version=4)), "hlc": hlc}
    entry = Op(kind=OpKind.CREATE, value={}, author="a", site=hlc.node, **common).to_entry()
    entry[3] = dict(sorted(values.items()))
    try:
        built: Op | None = Op(kind=OpKind.CREATE, value=values, author="a", site=hlc.node, **common)
    except OpError:
        built = None
    try:
        decoded: Op | None = Op.from_entry(entry)
    except OpError:
        decoded = None
    assert (decoded is None) == (built is None)
    if decoded is not None and built is not None:
        assert decoded.create_values() == built.create_values()
        assert decoded.op_id == built.op_id
