"""Records: saving forms (field by field refusal, ops per changed field, conflicts),
flags, blobs, search and history."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from node.errors import FormError, NotFoundError, NotPermittedError
from node.services import RecordFlag
from node.store import transaction
from node.store.models import AuditRow, OpRow, RecordRow
from tests.node.core.helpers import ADMIN, COLLECTOR, NodeUnderTest, form_for, png_bytes


def _counts(node: NodeUnderTest) -> tuple[int, int, int]:
    with transaction(node.services.context.engine) as session:
        return (
            session.execute(select(func.count()).select_from(RecordRow)).scalar_one(),
            session.execute(select(func.count()).select_from(OpRow)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditRow)).scalar_one(),
        )


def test_a_valid_form_becomes_one_create_op(node: NodeUnderTest) -> None:
    categories, values = form_for(node.services)
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert result.saved
    assert result.problems == ()
    assert len(result.op_ids) == 1
    view = node.services.get_record(result.record_id or "")
    assert view.status == "live"
    assert view.values["name"] == values["name"]
    assert [item.kind for item in view.history] == ["create"]
    assert view.history[0].author == "370102001/zhang.wei"


def test_invalid_form_data_is_refused_field_by_field_and_nothing_is_saved(
    node: NodeUnderTest,
) -> None:
    categories, values = form_for(node.services)
    before = _counts(node)
    values.update(
        birth_date="2999-01-01",  # in the future
        household_size="many",  # not a number
        sex="9x",  # not in the table
        no_such_field="x",
    )
    del values["name"]  # required
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert not result.saved
    assert result.record_id is None
    problems = {p.field: p.code for p in result.problems}
    assert problems["household_size"] == "type"
    assert problems["sex"] == "not_allowed"
    assert problems["no_such_field"] == "unknown_field"
    assert all(p.message_zh and p.message_en for p in result.problems)
    assert _counts(node) == before


def test_a_missing_required_field_and_a_future_date_are_named(node: NodeUnderTest) -> None:
    categories, values = form_for(node.services)
    values["birth_date"] = "2999-01-01"
    del values["name"]
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    problems = {(p.field, p.code) for p in result.problems}
    assert ("name", "required") in problems
    assert ("birth_date", "future_date") in problems


def test_an_edit_writes_one_set_per_changed_field(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services)
    created = services.save_record(None, categories, values, COLLECTOR[0])
    view = services.get_record(created.record_id or "")
    edit = services.save_record(
        created.record_id,
        categories,
        {"phone": "13900000000", "awards": "三等功"},
        COLLECTOR[0],
        versions=view.versions,
        record_version=view.record_version,
    )
    assert edit.saved
    assert len(edit.op_ids) == 2
    assert edit.conflicts == ()
    after = services.get_record(created.record_id or "")
    assert after.values["phone"] == "13900000000"
    changes = {
        c.field: (c.old, c.new) for c in after.history[-2].changes + after.history[-1].changes
    }
    assert changes["phone"] == (values["phone"], "13900000000")
    same = services.save_record(
        created.record_id, categories, {"phone": "13900000000"}, COLLECTOR[0]
    )
    assert same.saved
    assert same.op_ids == ()


def test_a_stale_form_makes_a_conflict_not_a_silent_overwrite(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services)
    created = services.save_record(None, categories, values, COLLECTOR[0])
    rid = created.record_id or ""
    stale = services.get_record(rid)
    first = services.save_record(
        rid,
        categories,
        {"phone": "13911111111"},
        COLLECTOR[0],
        versions=stale.versions,
        record_version=stale.record_version,
    )
    assert first.conflicts == ()
    second = services.save_record(
        rid,
        categories,
        {"phone": "13922222222"},
        COLLECTOR[0],
        versions=stale.versions,
        record_version=stale.record_version,
    )
    assert second.saved
    assert second.conflicts == ("phone",)
    view = services.get_record(rid)
    assert set(view.conflicts["phone"]) == {"13911111111", "13922222222"}


def test_a_second_record_with_the_same_id_number_is_refused(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services, seed=3)
    first = services.save_record(None, categories, values, COLLECTOR[0])
    again = services.save_record(None, categories, values, COLLECTOR[0])
    assert not again.saved
    assert again.existing_record_id == first.record_id
    assert [p.code for p in again.problems] == ["duplicate_id_number"]


def test_a_form_naming_a_blob_that_was_never_stored_is_refused(node: NodeUnderTest) -> None:
    categories, values = form_for(node.services)
    values["portrait_photo"] = "b2:" + "ab" * 32
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert [(p.field, p.code) for p in result.problems] == [("portrait_photo", "blob_missing")]


def test_site_administrators_do_not_edit_records(node: NodeUnderTest) -> None:
    categories, values = form_for(node.services)
    with pytest.raises(NotPermittedError, match="expected a collector or approver account"):
        node.services.save_record(None, categories, values, ADMIN[0])


def test_flags_home_visit_and_deceased_are_ops_unreachable_is_local(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services)
    values["collection_method"] = "现场采集"
    values["living_status"] = "健在"
    rid = services.save_record(None, categories, values, COLLECTOR[0]).record_id or ""
    result = services.set_flags(
        rid, author=COLLECTOR[0], home_visit=True, deceased=True, unreachable=True
    )
    assert result.saved
    assert len(result.op_ids) == 2
    view = services.get_record(rid)
    assert {RecordFlag.HOME_VISIT, RecordFlag.DECEASED, RecordFlag.UNREACHABLE} <= view.flags
    assert view.values["collection_method"] == "上门采集"
    services.set_flags(rid, author=COLLECTOR[0], unreachable=False, home_visit=False)
    view = services.get_record(rid)
    assert RecordFlag.UNREACHABLE not in view.flags
    assert RecordFlag.HOME_VISIT not in view.flags


def test_attach_blob_sets_a_photo_field_and_refuses_what_is_not_an_image(
    node: NodeUnderTest,
) -> None:
    services = node.services
    categories, values = form_for(services)
    rid = services.save_record(None, categories, values, COLLECTOR[0]).record_id or ""
    ref = services.attach_blob(
        rid, "portrait_photo", png_bytes(99), "image/png", author=COLLECTOR[0]
    )
    assert ref.blob_id.startswith("b2:")
    assert ref.op_id
    assert services.get_record(rid).values["portrait_photo"] == ref.blob_id
    assert services.get_blob(ref.blob_id) == ("image/png", png_bytes(99))
    scans = services.attach_blob(
        rid, "document_scans", b"%PDF-1.4 scan", "application/pdf", author=COLLECTOR[0]
    )
    assert scans.blob_id in services.get_record(rid).values["document_scans"]  # type: ignore[operator]
    with pytest.raises(FormError, match="its content is not image/jpeg"):
        services.attach_blob(rid, "portrait_photo", b"GIF89a", "image/jpeg", author=COLLECTOR[0])
    with pytest.raises(FormError, match="expected a photo, signature or scan field"):
        services.attach_blob(rid, "phone", png_bytes(1), "image/png", author=COLLECTOR[0])


def test_search_by_id_number_prefix_and_by_name(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services, seed=11)
    rid = services.save_record(None, categories, values, COLLECTOR[0]).record_id
    number, name = str(values["id_number"]), str(values["name"])
    assert [s.record_id for s in services.search(number[:10])] == [rid]
    assert [s.record_id for s in services.search(name[1:])] == [rid]
    assert services.search("no such person") == []


def test_unknown_records_and_blobs_are_not_found(node: NodeUnderTest) -> None:
    with pytest.raises(NotFoundError):
        node.services.get_record("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError):
        node.services.get_blob("b2:" + "00" * 32)
