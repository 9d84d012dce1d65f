"""Staging finds changes, parallel updates, conflicts, duplicates and warnings; review
decides; decisions go down to the node as a signed, encrypted bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.errors import AlreadyDecidedError
from hub.rawstore import bundle_path
from hub.review import Resolution, approve, reject
from hub.store.models import DownBundle, RecordRow, StageItem
from protocol.bundle import BundleKind, open_bundle
from protocol.entries import Decision, DecisionStatus, decode_entry, encode_entry
from protocol.errors import FieldValueError
from protocol.ops import Op, OpKind
from protocol.trust import ReceiptStatus, issue_receipt
from tests.hub.conftest import make_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, count, drain, held_duplicate, held_rename, submit
from tests.pki import NOW, Pki, seal


def merged_record(hub: HubContext, rid: str) -> RecordRow:
    with hub.store.read() as session:
        row = session.get(RecordRow, rid)
        assert row is not None
        return row


def items(hub: HubContext, row_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    with hub.store.read() as session:
        return [
            (i.kind, i.field, i.data)
            for i in session.scalars(
                sa.select(StageItem).where(StageItem.bundle == row_id).order_by(StageItem.id)
            )
        ]


def down_entries(hub: HubContext, pki: Pki) -> list[object]:
    """Open the newest down bundle as the node would, and decode its entries."""
    with hub.store.read() as session:
        row = session.scalar(sa.select(DownBundle).order_by(DownBundle.id.desc()).limit(1))
        assert row is not None
        digest = row.bundle_hash
    with bundle_path(hub.config.down_dir, digest).open("rb") as source:
        opened = open_bundle(source, trust=pki.trust(), identities=[pki["node"].keys.age])
        return [decode_entry(e, i) for i, e in enumerate(opened.entries())]


def test_a_fast_forward_edit_of_an_ordinary_field_merges_with_its_old_and_new_values(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    edit = deltas.set(record_id(1), "phone", "13800000001", [create.op_id], create.op_id)
    result = submit(hub, deltas.bundle([edit])[0])
    drain(hub)
    assert bundle_row(hub, result.row_id).state == "merged"
    old = dict(create.create_values()).get("phone")
    assert items(hub, result.row_id) == [
        ("change", "phone", {"old": old, "new": "13800000001", "needs_review": False})
    ]
    assert merged_record(hub, record_id(1)).data["phone"] == "13800000001"


def test_an_identity_edit_waits_for_review_even_at_a_district_hub(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    edit = deltas.set(record_id(1), "name", "王小明", [create.op_id], create.op_id)
    result = submit(hub, deltas.bundle([edit])[0])
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "staged"
    assert row.summary is not None
    assert row.summary["identity_edits"] == 1
    assert row.summary["clean"] is False
    # Staging rolled the merge back: the record still has its old name.
    assert merged_record(hub, record_id(1)).data["name"] == dict(create.create_values())["name"]


def test_a_duplicate_id_number_from_another_town_is_found_and_held(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    held = held_duplicate(hub, deltas)
    row = bundle_row(hub, held)
    assert row.state == "staged"
    found = items(hub, held)
    assert ("duplicate", "id_number", {"others": [record_id(1)]}) in found
    assert count(hub, RecordRow) == 1


def test_concurrent_edits_of_one_field_are_a_conflict_listed_with_both_heads(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    one = deltas.set(record_id(1), "phone", "13800000001", [create.op_id], create.op_id)
    other = deltas.set(record_id(1), "phone", "13800000002", [create.op_id], create.op_id)
    submit(hub, deltas.bundle([one])[0])
    result = submit(hub, deltas.bundle([other])[0])
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "staged"
    conflicts = [i for i in items(hub, result.row_id) if i[0] == "conflict"]
    assert len(conflicts) == 1
    assert sorted(conflicts[0][2]["heads"]) == sorted([one.op_id, other.op_id])


def test_a_create_that_fails_validation_is_a_warning_and_waits_for_review(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    values = {**deltas.record(), "birth_date": "2099-01-01"}
    result = submit(hub, deltas.bundle([deltas.create(record_id(1), values)])[0])
    drain(hub)
    assert bundle_row(hub, result.row_id).state == "staged"
    warnings = [i for i in items(hub, result.row_id) if i[0] == "warning"]
    assert warnings
    assert {p["field"] for p in warnings[0][2]["problems"]} >= {"birth_date"}


def test_a_city_hub_holds_even_a_clean_bundle_for_review(
    tmp_path: Path, hub_db_url: str, pki: Pki
) -> None:
    city = make_hub(tmp_path / "city", hub_db_url, pki, site="370100", party="city")
    factory = DeltaFactory(pki)
    # The district's node reports to the city hub here only to test the policy.
    result = submit(city, factory.bundle([factory.create(record_id(1))], to=pki["city"])[0])
    drain(city)
    row = bundle_row(city, result.row_id)
    assert row.state == "staged"
    assert row.summary is not None
    assert row.summary["clean"] is True
    city.store.dispose()


def test_ops_that_differ_from_the_signed_manifest_fail_and_the_node_is_told(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    ops = [deltas.create(record_id(i)) for i in range(3)]
    signed = [ops[0].op_id, ops[2].op_id, ops[1].op_id]
    result = submit(hub, deltas.bundle(ops, manifest_ops=signed)[0])
    assert result.status == "accepted"
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "rejected"
    assert row.reason_code == "not_authorised"
    assert "not op 2 of the manifest" in (row.reason or "")
    assert count(hub, RecordRow) == 0
    decision = down_entries(hub, pki)[0]
    assert isinstance(decision, Decision)
    assert decision.status is DecisionStatus.REJECTED


def test_an_approved_bundle_merges_and_a_rejected_one_never_does(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    rename = deltas.set(record_id(1), "name", "王小明", [create.op_id], create.op_id)
    approved = submit(hub, deltas.bundle([rename])[0])
    retitle = deltas.set(record_id(1), "name", "王大明", [rename.op_id], rename.op_id)
    rejected = submit(hub, deltas.bundle([retitle])[0])
    drain(hub)
    approve(hub, approved.row_id, by="wang.fang")
    reject(hub, rejected.row_id, by="wang.fang", reason="姓名与户籍不符")
    drain(hub)
    assert bundle_row(hub, approved.row_id).state == "merged"
    assert bundle_row(hub, rejected.row_id).state == "rejected"
    assert merged_record(hub, record_id(1)).data["name"] == "王小明"
    decision = down_entries(hub, pki)[0]
    assert isinstance(decision, Decision)
    assert decision.reason == "姓名与户籍不符"
    with pytest.raises(AlreadyDecidedError):
        approve(hub, rejected.row_id, by="wang.fang")


def test_a_resolution_closes_a_conflict_and_goes_down_with_the_decision(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    create = deltas.create(record_id(1))
    submit(hub, deltas.bundle([create])[0])
    one = deltas.set(record_id(1), "phone", "13800000001", [create.op_id], create.op_id)
    other = deltas.set(record_id(1), "phone", "13800000002", [create.op_id], create.op_id)
    submit(hub, deltas.bundle([one])[0])
    held = submit(hub, deltas.bundle([other])[0])
    drain(hub)
    fix = Resolution(
        kind="set", record_id=record_id(1), field="phone", value="13800000003", reason="电话已核实"
    )
    approve(hub, held.row_id, by="wang.fang", resolutions=[fix])
    drain(hub)
    row = merged_record(hub, record_id(1))
    assert row.data["phone"] == "13800000003"
    assert "phone" not in {
        k for k, v in row.versions["f"].items() if isinstance(v, list) and len(v[0]) > 1
    }
    entries = down_entries(hub, pki)
    assert isinstance(entries[0], Decision)
    assert entries[0].status is DecisionStatus.APPROVED
    resolution = entries[1]
    assert isinstance(resolution, Op)
    assert resolution.kind is OpKind.SET
    assert set(resolution.base) == {one.op_id, other.op_id}
    assert resolution.site == "370102"
    assert resolution.author == "wang.fang"


def test_a_duplicate_is_resolved_by_merging_into_the_survivor(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    held = held_duplicate(hub, deltas)
    merge = Resolution(
        kind="merge",
        record_id=record_id(2),
        survivor=record_id(1),
        fields=(("phone", "13900000000"),),
        reason="同一人",
    )
    approve(hub, held, by="wang.fang", resolutions=[merge])
    drain(hub)
    assert merged_record(hub, record_id(2)).status == f"merged:{record_id(1)}"
    assert merged_record(hub, record_id(1)).data["phone"] == "13900000000"


def test_a_resolution_with_an_invalid_value_is_refused_and_nothing_is_decided(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    _, _, held_row = held_rename(hub, deltas)
    bad = Resolution(kind="set", record_id=record_id(1), field="birth_date", value="someday")
    with pytest.raises(FieldValueError, match="field birth_date fails"):
        approve(hub, held_row, by="wang.fang", resolutions=[bad])
    assert bundle_row(hub, held_row).state == "staged"


def test_a_receipt_bundle_on_usb_acknowledges_a_down_bundle(
    hub: HubContext, deltas: DeltaFactory, pki: Pki
) -> None:
    _, _, held_row = held_rename(hub, deltas)
    reject(hub, held_row, by="wang.fang", reason="请核对")
    with hub.store.read() as session:
        down = session.scalar(sa.select(DownBundle))
        assert down is not None
    node = pki["node"]
    receipt = issue_receipt(
        key=node.keys.signing,
        bundle_id=down.bundle_id,
        bundle_hash=down.bundle_hash,
        sender="370102",
        receiver=node.subject,
        seq=down.seq,
        status=ReceiptStatus.ACCEPTED,
        received_at=NOW,
    )
    data, _ = seal(
        [encode_entry(receipt)],
        sender=node,
        to=pki["district"],
        kind=BundleKind.RECEIPT,
        seq=deltas.seq + 1,
        prev=deltas.prev,
        bundle_id="ab" * 16,
    )
    result = submit(hub, data, source="file")
    assert result.status == "accepted"
    drain(hub)
    assert bundle_row(hub, result.row_id).state == "merged"
    with hub.store.read() as session:
        acknowledged = session.get(DownBundle, down.id)
        assert acknowledged is not None
        assert acknowledged.state == "delivered"
