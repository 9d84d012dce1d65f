"""The review page's model and the reading of a reviewer's choices (pure, no store)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.console.errors import FormError
from hub.console.resolutions import read_resolutions
from hub.console.reviewmodel import build_review, fold_values
from hub.console.reviewvalues import Item, ReviewData, StoredRecord
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.schema import Schema
from tests.hub.factory import record_id

SCHEMA = Schema.default()
NODE = "370102001-01"
FIRST, NEWCOMER, FAR = record_id(1), record_id(2), record_id(3)


def op(kind: OpKind, rid: str, *, wall: int, field: str | None = None, value: Any = None) -> Op:
    return Op(
        kind=kind,
        record_id=rid,
        field=field,
        value=value,
        hlc=Timestamp(wall_ms=wall, counter=0, node=NODE),
        author="collector-1",
        site=NODE,
    )


STORED_PHONE = op(OpKind.SET, FIRST, wall=1_700_000_000_000, field="phone", value="13800000001")
BUNDLE_PHONE = op(OpKind.SET, FIRST, wall=1_700_000_100_000, field="phone", value="13800000002")
CREATE = op(
    OpKind.CREATE,
    NEWCOMER,
    wall=1_700_000_100_001,
    value={"name": "刘刚", "id_number": "370102199305224498", "phone": "18513137353"},
)
CONFLICT = Item(
    id=10,
    kind="conflict",
    record_id=FIRST,
    op_id=BUNDLE_PHONE.op_id,
    field="phone",
    data={
        "old": "13800000001",
        "new": "13800000002",
        "values": ["13800000002", "13800000001"],
        "heads": [BUNDLE_PHONE.op_id, STORED_PHONE.op_id],
        "needs_review": False,
    },
)
DUPLICATE = Item(
    id=11,
    kind="duplicate",
    record_id=NEWCOMER,
    op_id=CREATE.op_id,
    field="id_number",
    data={"others": [FIRST, FAR]},
)
STORED = {
    FIRST: StoredRecord(
        record_id=FIRST,
        site="370102001",
        status="live",
        values={"name": "徐鹏", "id_number": "370102199305224498", "phone": "13800000001"},
        heads=((STORED_PHONE.hlc.encode(), STORED_PHONE.op_id),),
    ),
    FAR: StoredRecord(
        record_id=FAR,
        site="370103001",
        status="live",
        values={"name": "远处", "id_number": "370102199305224498"},
        visible=False,
    ),
}


def review() -> ReviewData:
    return build_review(
        [CONFLICT, DUPLICATE],
        [BUNDLE_PHONE, CREATE],
        STORED,
        authors={STORED_PHONE.op_id: "collector-2"},
    )


def test_a_conflict_lists_each_competing_value_with_who_and_when() -> None:
    (conflict,) = review().conflicts
    assert [(c.value, c.author, c.in_bundle) for c in conflict.competitors] == [
        ("13800000002", "collector-1", True),
        ("13800000001", "collector-2", False),
    ]
    assert [c.node for c in conflict.competitors] == [NODE, NODE]
    assert [c.at.timestamp() if c.at else None for c in conflict.competitors] == [
        1_700_000_100.0,
        1_700_000_000.0,
    ]
    assert conflict.name == "徐鹏"


def test_a_duplicate_shows_the_fields_side_by_side_and_hides_records_out_of_scope() -> None:
    (duplicate,) = review().duplicates
    near, far = duplicate.candidates
    assert near.visible
    assert {f.field: (f.new, f.other) for f in near.differing} == {
        "name": ("刘刚", "徐鹏"),
        "phone": ("18513137353", "13800000001"),
    }
    assert [f.field for f in near.same] == ["id_number"]
    assert not far.visible
    assert far.fields == ()


def test_new_records_come_from_the_bundle_and_are_counted() -> None:
    data = review()
    assert [r.record_id for r in data.new_records] == [NEWCOMER]
    assert data.new_total == 1
    later = op(OpKind.SET, NEWCOMER, wall=1_700_000_100_002, field="phone", value="1")
    assert fold_values([CREATE, later])["phone"] == "1"


def test_an_empty_form_is_a_plain_approval() -> None:
    assert read_resolutions(review(), {}, schema=SCHEMA) == ()


def test_keeping_a_competing_value_sets_it() -> None:
    (resolution,) = read_resolutions(
        review(), {"conflict-10": "1", "resolution_reason": "电话已核实"}, schema=SCHEMA
    )
    assert (resolution.kind, resolution.record_id, resolution.field, resolution.value) == (
        "set",
        FIRST,
        "phone",
        "13800000001",
    )
    assert resolution.reason == "电话已核实"


def test_a_typed_value_is_made_canonical() -> None:
    (resolution,) = read_resolutions(
        review(), {"conflict-10": "other", "conflict-10-other": " 13900000000 "}, schema=SCHEMA
    )
    assert resolution.value == "13900000000"


def test_merging_keeps_the_chosen_survivor_and_the_values_picked_for_it() -> None:
    form = {
        "dup-11": FIRST,
        f"dup-11-{FIRST}-survivor": "other",
        f"dup-11-{FIRST}-phone": "new",
    }
    (merge,) = read_resolutions(review(), form, schema=SCHEMA)
    assert (merge.kind, merge.record_id, merge.survivor) == ("merge", NEWCOMER, FIRST)
    assert merge.fields == (("phone", "18513137353"),)


def test_a_merge_pick_that_contradicts_a_conflict_choice_is_refused() -> None:
    form = {
        "conflict-10": "0",
        "dup-11": FIRST,
        f"dup-11-{FIRST}-survivor": "other",
        f"dup-11-{FIRST}-phone": "new",
    }
    with pytest.raises(FormError) as caught:
        read_resolutions(review(), form, schema=SCHEMA)
    assert caught.value.fields["key"] == "review.error.disagree"
    assert caught.value.message == (
        "duplicates: the value picked for field phone differs from the conflict's choice "
        "for the same record"
    )


def test_the_new_record_can_survive_a_merge() -> None:
    form = {"dup-11": FIRST, f"dup-11-{FIRST}-survivor": "new"}
    (merge,) = read_resolutions(review(), form, schema=SCHEMA)
    assert (merge.record_id, merge.survivor, merge.fields) == (FIRST, NEWCOMER, ())


@pytest.mark.parametrize(
    ("form", "key", "message"),
    [
        (
            {"conflict-10": "other", "conflict-10-other": ""},
            "review.error.other_empty",
            "conflict 10: expected a value for field phone, got none",
        ),
        (
            {"conflict-10": "7"},
            "review.error.unknown_choice",
            "conflict 10: expected a competing value, got '7'",
        ),
        (
            {"conflict-10": "²"},
            "review.error.unknown_choice",
            "conflict 10: expected a competing value, got '²'",
        ),
        (
            {"dup-11": FAR},
            "review.error.unknown_choice",
            "duplicate 11: expected one of the records shown to merge with",
        ),
        (
            {"dup-11": FIRST, f"dup-11-{FIRST}-survivor": "both"},
            "review.error.unknown_choice",
            "duplicate 11: expected new or other, got 'both'",
        ),
        (
            {"resolution_reason": "长" * 2001},
            "review.error.reason_long",
            "resolution reason: expected at most 2000 characters, got 2001",
        ),
    ],
    ids=[
        "typed-empty",
        "no-such-head",
        "not-ascii-digit",
        "out-of-scope",
        "bad-survivor",
        "long-reason",
    ],
)
def test_a_choice_that_cannot_be_acted_on_is_a_form_error(
    form: dict[str, str], key: str, message: str
) -> None:
    with pytest.raises(FormError) as caught:
        read_resolutions(review(), form, schema=SCHEMA)
    assert caught.value.message == message
    assert caught.value.fields["key"] == key
    assert caught.value.http_status == 422


def test_a_typed_value_the_field_refuses_names_the_rule() -> None:
    data = build_review(
        [
            Item(
                id=12,
                kind="conflict",
                record_id=FIRST,
                op_id=None,
                field="birth_date",
                data={"values": ["1990-01-01", "1991-01-01"], "heads": ["a" * 32, "b" * 32]},
            )
        ],
        [],
        STORED,
    )
    with pytest.raises(FormError) as caught:
        read_resolutions(
            data, {"conflict-12": "other", "conflict-12-other": "someday"}, schema=SCHEMA
        )
    assert caught.value.fields["key"] == "review.error.bad_value"
    assert caught.value.message.startswith("conflict 12: the typed value of field birth_date fails")


FORM_KEYS = st.sampled_from(
    [
        "conflict-10",
        "conflict-10-other",
        "dup-11",
        f"dup-11-{FIRST}-survivor",
        f"dup-11-{FIRST}-phone",
        f"dup-11-{FIRST}-name",
        "resolution_reason",
    ]
)
FORM_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "other", "new", "both", FIRST, FAR, NEWCOMER]),
    st.text(max_size=30),
)


@given(form=st.dictionaries(FORM_KEYS, FORM_VALUES, max_size=7))
def test_any_form_gives_offered_values_or_a_form_error(form: dict[str, str]) -> None:
    data = review()
    try:
        resolutions = read_resolutions(data, form, schema=SCHEMA)
    except FormError:
        return
    offered = {c.value for c in data.conflicts[0].competitors}
    for resolution in resolutions:
        if resolution.kind == "set":
            typed = form.get("conflict-10") == "other"
            assert typed or resolution.value in offered
        else:
            assert {resolution.record_id, resolution.survivor} == {NEWCOMER, FIRST}
            for field, value in resolution.fields:
                assert value in (
                    CREATE.value and dict(CREATE.create_values()).get(field),
                    STORED[FIRST].values.get(field),
                )
