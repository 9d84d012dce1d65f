"""Packages on a USB stick: exported, imported at the parent out of order (parked, then
promoted), receipts carried back; a package both exported and uploaded is taken once;
a rejected package is taken out of the stream and packed again."""

from __future__ import annotations

from pathlib import Path

from hub.intake import IntakeResult
from hub.store.models import UpBundle
from hub.upward.building import build_packages
from hub.upward.outbox import record_receipt
from hub.upward.transfer import export_up, import_receipt, write_receipts
from protocol.trust import ReceiptStatus, issue_receipt
from tests.hub.federation.uptree import UpTree
from tests.hub.helpers import bundle_row, drain, submit
from tests.pki import NOW


def _export(tree: UpTree, tmp_path: Path, name: str) -> list[Path]:
    stick = tmp_path / f"stick-{name}"
    stick.mkdir()
    report = export_up(tree[name], stick)
    return [Path(f) for f in report.files]


def test_packages_imported_in_reverse_order_are_parked_then_promoted(
    tree: UpTree, tmp_path: Path
) -> None:
    tree.configure("district", package_max_ops=2)
    tree.collect("town", 5)
    assert [p.ops for p in build_packages(tree["district"])] == [2, 2, 1]
    files = _export(tree, tmp_path, "district")
    assert [f.name.split("-")[1] for f in files] == ["000001", "000002", "000003"]
    assert {r.state for r in tree.up_bundles("district")} == {"sent"}

    city = tree["city"]
    results: list[IntakeResult] = [submit(city, f.read_bytes(), "file") for f in reversed(files)]
    assert [(r.status, r.parked) for r in results] == [
        ("accepted", True),
        ("accepted", True),
        ("accepted", False),
    ]
    drain(city)
    assert {bundle_row(city, r.row_id).state for r in results} == {"merged"}
    assert tree.records("city") == tree.records("district")

    back = tmp_path / "receipts"
    back.mkdir()
    written = write_receipts(city, [r.row_id for r in results], back)
    assert len(written) == 3
    for path in written:
        assert import_receipt(tree["district"], path.read_bytes()).status is ReceiptStatus.ACCEPTED
    assert {r.state for r in tree.up_bundles("district")} == {"acknowledged"}


def test_a_package_exported_and_uploaded_is_taken_once(tree: UpTree, tmp_path: Path) -> None:
    tree.collect("town", 2)
    tree.package("district")
    [file] = _export(tree, tmp_path, "district")
    first = submit(tree["city"], file.read_bytes(), "file")
    [second] = tree.deliver("district")  # the same bytes, by "HTTP"
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert second.receipt is not None
    with tree["district"].store.write() as session:  # the first receipt again: no change
        assert first.receipt is not None
        record_receipt(tree["district"], session, first.receipt.to_dict())
    [row] = tree.up_bundles("district")
    assert row.state == "acknowledged"
    assert len(tree.records("city")) == 2


def test_a_rejected_package_leaves_the_stream_and_its_ops_are_packed_again(
    tree: UpTree,
) -> None:
    tree.configure("district", package_max_ops=2)
    tree.collect("town", 3)
    first, second = build_packages(tree["district"])
    city_key = tree.pki["city"].keys.signing
    with tree["district"].store.write() as session:
        row = session.get(UpBundle, first.bundle_id)
        assert row is not None
        assert row.bundle_hash is not None
        refusal = issue_receipt(
            key=city_key, bundle_id=row.bundle_id, bundle_hash=row.bundle_hash,
            sender="370102", receiver="370100", seq=1, status=ReceiptStatus.REJECTED,
            received_at=NOW, reason="refused for the test", reason_code="bad_chain",
        )  # fmt: skip
        record_receipt(tree["district"], session, refusal.to_dict())
    states = {r.bundle_id: (r.state, r.error) for r in tree.up_bundles("district")}
    assert states[first.bundle_id] == ("rejected", "refused for the test")
    assert states[second.bundle_id][0] == "rejected"  # withdrawn: it had not left
    again = build_packages(tree["district"])
    assert [(p.seq, p.ops) for p in again] == [(1, 2), (2, 1)]
    results = tree.deliver("district")
    assert [r.status for r in results] == ["accepted", "accepted"]
    assert tree.records("city") == tree.records("district")


def test_a_rejection_after_later_packages_left_is_kept_for_an_administrator(
    tree: UpTree, tmp_path: Path
) -> None:
    tree.configure("district", package_max_ops=1)
    tree.collect("town", 2)
    first, _second = build_packages(tree["district"])
    _export(tree, tmp_path, "district")  # both left
    with tree["district"].store.write() as session:
        row = session.get(UpBundle, first.bundle_id)
        assert row is not None
        assert row.bundle_hash is not None
        refusal = issue_receipt(
            key=tree.pki["city"].keys.signing, bundle_id=row.bundle_id,
            bundle_hash=row.bundle_hash, sender="370102", receiver="370100", seq=1,
            status=ReceiptStatus.REJECTED, received_at=NOW, reason="no", reason_code="x",
        )  # fmt: skip
        record_receipt(tree["district"], session, refusal.to_dict())
    rows = tree.up_bundles("district")
    assert [(r.seq, r.state) for r in rows] == [(1, "rejected"), (2, "sent")]
    assert "later packages already sent" in (rows[0].error or "")
    assert build_packages(tree["district"]) == []  # nothing packed twice
