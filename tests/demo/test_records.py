"""The people the demo's towns collect: realistic, valid, every category, no ID number twice;
what a filled-in form sends reads back to the same values; a card holds the same person."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from hub.demo.records import card_for, form_fields, photo_uploads, plan_collection, png_bytes
from node.collector.simcards import SimCard
from node.web.kit import read_form
from protocol.divisions import Divisions
from protocol.schema import CATEGORY_FIELD, FieldType, Schema, coerce_value
from protocol.validation import validate_record

TODAY = date(2026, 11, 29)
SCHEMA = Schema.default()
TOWNS = ("370102001-01", "370102002-01", "370103001-01", "370202002-01")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), per_town=st.integers(1, 6))
def test_a_plan_is_valid_unique_and_registered_where_it_is_collected(
    seed: int, per_town: int
) -> None:
    plan = plan_collection([("collect", t, per_town) for t in TOWNS], seed=seed, today=TODAY)
    assert len(plan) == per_town * len(TOWNS)
    assert len({p.id_number for p in plan}) == len(plan)
    assert len({p.key for p in plan}) == len(plan)
    for record in plan:
        values = {**record.values, CATEGORY_FIELD: record.categories}
        assert validate_record(values, SCHEMA, today=TODAY, divisions=Divisions.default()) == ()
        assert str(record.values["hukou_address"]) != ""
        assert record.key.startswith(f"collect/{record.node}#")


def test_sixteen_records_cover_every_category() -> None:
    plan = plan_collection([("collect", t, 4) for t in TOWNS], seed=1, today=TODAY)
    held = {c for p in plan for c in p.categories}
    assert held == {c.key for c in SCHEMA.categories}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_what_the_form_sends_reads_back_to_the_same_canonical_values(seed: int) -> None:
    [record] = plan_collection([("collect", TOWNS[0], 1)], seed=seed, today=TODAY)
    sent = MultiDict(form_fields(SCHEMA, record.categories, record.values))
    assert tuple(sent.getall(CATEGORY_FIELD)) == record.categories
    raw = read_form(SCHEMA, record.categories, sent)
    for key, value in record.values.items():
        field = SCHEMA.field(key)
        if field.type is FieldType.PHOTO:
            continue
        assert coerce_value(field, raw[key]) == value, key


def test_every_photo_of_a_record_becomes_a_real_png_upload() -> None:
    [record] = plan_collection([("collect", TOWNS[0], 1)], seed=3, today=TODAY)
    uploads = photo_uploads(SCHEMA, record.values, seed=9)
    photos = [k for k, v in record.values.items() if SCHEMA.field(k).type is FieldType.PHOTO]
    assert {name.removeprefix("upload__") for name, _ in uploads} == set(photos)
    assert all(data.startswith(b"\x89PNG\r\n\x1a\n") for _, data in uploads)
    assert len({data for _, data in uploads}) == len(uploads)
    assert png_bytes(1) != png_bytes(2)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_the_simulated_card_holds_the_same_person(seed: int) -> None:
    [record] = plan_collection([("collect", TOWNS[0], 1)], seed=seed, today=TODAY)
    text = SimCard.from_json_dict(card_for(record)).text
    values = record.values
    assert (text.name, text.sex_code, text.id_number) == (
        values["name"],
        values["sex"],
        values["id_number"],
    )
    assert (text.birth_date.isoformat(), text.address) == (
        values["birth_date"],
        values["hukou_address"],
    )
