"""Packages up the tree, in process: what a hub packages, what its parent checks and
merges, and what each level ends up holding."""

from __future__ import annotations

import io

import sqlalchemy as sa

from hub.store.models import BundleRow, CertificateRow, ManifestRow
from hub.upward.provenance import manifest_of
from protocol.bundle import BundleKind, open_bundle
from protocol.entries import Manifest, decode_entry
from protocol.ops import Op
from protocol.trust import Certificate, CertificateTrust, RevocationList
from tests.hub.federation.uptree import UpTree
from tests.pki import NOW


def _entries(tree: UpTree, name: str, bundle: bytes) -> list[object]:
    parent = tree[name]
    with parent.store.read() as session:
        trust = CertificateTrust(parent.trust(session), NOW)
    opened = open_bundle(io.BytesIO(bundle), trust=trust, identities=[parent.keys.age])
    assert opened.header.kind is BundleKind.PACKAGE
    return [decode_entry(raw, i) for i, raw in enumerate(opened.entries())]


def test_a_district_packages_what_it_merged_with_its_provenance(tree: UpTree) -> None:
    ids = tree.collect("town", 5)
    [package] = tree.package("district")
    assert (package.state, package.seq, package.ops) == ("pending", 1, 5)
    [row] = tree.up_bundles("district")
    data = (tree["district"].config.data_dir / "up" / f"{row.bundle_hash}.bundle").read_bytes()
    entries = _entries(tree, "city", data)
    kinds = [type(e).__name__ for e in entries]
    # certificates first, then manifests (the node's batch, then the package's own), ops
    assert kinds == ["Certificate"] * kinds.count("Certificate") + ["Manifest"] * 2 + ["Op"] * 5
    certs = {e.subject for e in entries if isinstance(e, Certificate)}
    assert {"370102001-01", "370102001/li.na", "370102/auto"} <= certs
    origin, own = (e for e in entries if isinstance(e, Manifest))
    assert origin.origin == "370102001-01"
    assert origin.auth is not None
    assert own.origin == "370102"
    assert own.auth is not None
    assert own.auth.by == "370102/auto"
    assert [e.record_id for e in entries if isinstance(e, Op)] == ids
    assert all(not isinstance(e, RevocationList) for e in entries)


def test_nothing_new_makes_no_package(tree: UpTree) -> None:
    tree.collect("town", 2)
    assert len(tree.package("district")) == 1
    assert tree.package("district") == []


def test_the_city_checks_merges_and_keeps_the_provenance_of_every_op(tree: UpTree) -> None:
    tree.collect("town", 4)
    tree.package("district")
    [result] = tree.deliver("district")
    assert result.status == "accepted"
    assert tree.records("city") == tree.records("district")
    [row] = tree.up_bundles("district")
    assert row.state == "acknowledged"
    city = tree["city"]
    with city.store.read() as session:
        bundle = session.get(BundleRow, result.row_id)
        assert bundle is not None
        assert (bundle.kind, bundle.state, bundle.approver) == ("package", "merged", "370102/auto")
        kept = [manifest_of(m) for m in session.scalars(sa.select(ManifestRow))]
        learned = set(
            session.scalars(
                sa.select(CertificateRow.subject).where(CertificateRow.source == "package")
            )
        )
    assert {m.origin for m in kept} == {"370102001-01", "370102"}
    assert {"370102001-01", "370102001/li.na", "370102/auto"} <= learned


def test_records_reach_the_province_through_every_level(tree: UpTree) -> None:
    ours = tree.collect("town", 3) + tree.collect("town2", 4)
    tree.up("district", "district2", "city", "city2")
    province = tree.records("province")
    assert sorted(province) == sorted(ours)
    for name in ("district", "district2"):
        for record_id, record in tree.records(name).items():
            assert province[record_id] == record
    with tree["province"].store.read() as session:
        kept = [manifest_of(m) for m in session.scalars(sa.select(ManifestRow))]
    # each op traces to its node's batch, its district's package and its city's package
    origins = {m.origin for m in kept}
    assert origins == {"370102001-01", "370202001-01", "370102", "370202", "370100", "370200"}


def test_more_ops_than_a_package_holds_go_in_several_chained_packages(tree: UpTree) -> None:
    tree.configure("district", package_max_ops=3)
    tree.collect("town", 7, per_bundle=2)
    packages = tree.package("district")
    assert [p.ops for p in packages] == [3, 3, 1]
    rows = tree.up_bundles("district")
    assert [r.seq for r in rows] == [1, 2, 3]
    assert [r.prev for r in rows[1:]] == [r.bundle_hash for r in rows[:-1]]
    results = tree.deliver("district")
    assert [r.status for r in results] == ["accepted"] * 3
    assert tree.records("city") == tree.records("district")


def test_the_province_on_postgresql_holds_what_the_towns_collected(
    tree: UpTree, pg_url: str
) -> None:
    tree["province"].store.dispose()
    # Small merge steps: provenance is checked chunk by chunk, as for 100k-op packages.
    tree.add_hub("province", url=pg_url, auto_approve_levels=("city",), merge_chunk_ops=2)
    ours = tree.collect("town", 5, per_bundle=2) + tree.collect("town2", 3)
    tree.up("district", "district2", "city", "city2")
    province = tree.records("province")
    assert sorted(province) == sorted(ours)
    for name in ("district", "district2"):
        for record_id, record in tree.records(name).items():
            assert province[record_id] == record
    with tree["province"].store.read() as session:
        states = set(session.scalars(sa.select(BundleRow.state)))
    assert states == {"merged"}
