"""Review above the districts: a duplicate between two cities found at the province and
resolved there, the resolution reaching both cities and their districts; packages that
an administrator authorises by hand; resolutions made at a city passed up with their
own authorised manifest."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crypto.errors import StateError
from hub.fromparent import accept_from_parent
from hub.rawstore import bundle_path
from hub.review import Resolution, approve
from hub.store.models import BundleRow, DownBundle, ManifestRow
from hub.trust import install_certificates
from hub.upward.adminkey import AdminSigner
from hub.upward.building import authorise_drafts, build_packages
from hub.upward.provenance import manifest_of
from protocol.errors import TrustError
from protocol.ops import MERGED_PREFIX, STATUS_LIVE
from protocol.trust import Role, issue_certificate
from tests.hub.factory import record_id
from tests.hub.federation.uptree import UpTree
from tests.hub.helpers import drain, submit
from tests.pki import VALID_FROM, VALID_UNTIL, seeded_key, serial_for

CITY_ADMIN = "370100/qian.li"


def _same_person_in_two_cities(tree: UpTree) -> tuple[str, str, object]:
    """Town (city 370100) and town2 (city 370200) each collect the same person."""
    town, town2 = tree.deltas("town"), tree.deltas("town2")
    first = town.record("370102001")
    second = {
        **town2.record("370202001"),
        **{k: first[k] for k in ("id_number", "birth_date", "sex", "name")},
    }
    ours, theirs = record_id(1, salt="dup-a"), record_id(2, salt="dup-b")
    submit(tree["district"], town.bundle([town.create(ours, first)])[0])
    submit(
        tree["district2"], town2.bundle([town2.create(theirs, second)], to=tree.pki["district2"])[0]
    )
    drain(tree["district"])
    drain(tree["district2"])
    return ours, theirs, second["phone"]


def _apply_down(tree: UpTree, parent: str, child: str) -> int:
    """Hand the parent's queued down bundles for ``child`` to it (as a sync does)."""
    source, target = tree[parent], tree[child]
    with source.store.read() as session:
        rows = session.scalars(
            sa.select(DownBundle)
            .where(DownBundle.recipient == target.site)
            .order_by(DownBundle.seq)
        ).all()
    for row in rows:
        data = bundle_path(source.config.down_dir, row.bundle_hash).read_bytes()
        accept_from_parent(target, data, source="file")
    return len(rows)


def test_a_duplicate_across_cities_is_resolved_at_the_province_and_reaches_both(
    tree: UpTree,
) -> None:
    ours, theirs, their_phone = _same_person_in_two_cities(tree)
    tree.up("district", "district2", "city")
    tree.package("city2")
    [held] = tree.deliver("city2")
    province = tree["province"]
    with province.store.read() as session:
        row = session.get(BundleRow, held.row_id)
        assert row is not None
        assert (row.state, row.summary["duplicates"]) == ("staged", 1)  # type: ignore[index]
    approve(
        province,
        held.row_id,
        by="370000/zhao.min",
        resolutions=[
            Resolution(
                kind="merge", record_id=theirs, survivor=ours, reason="同一人",
                fields=(("phone", their_phone),),
            )
        ],
    )  # fmt: skip
    drain(province)
    records = tree.records("province")
    assert records[theirs]["status"] == MERGED_PREFIX + ours
    assert records[ours]["status"] == STATUS_LIVE
    with province.store.read() as session:
        down = {(d.recipient, d.kind) for d in session.scalars(sa.select(DownBundle)).all()}
    assert down == {("370100", "decisions"), ("370200", "decisions")}

    for city, district in (("city", "district"), ("city2", "district2")):
        assert _apply_down(tree, "province", city) == 1
        _apply_down(tree, city, district)
    assert tree.records("city2")[theirs]["status"] == MERGED_PREFIX + ours
    assert tree.records("district2")[theirs]["status"] == MERGED_PREFIX + ours
    assert tree.records("city")[ours]["status"] == STATUS_LIVE
    assert tree.records("city")[ours]["data"]["phone"] == their_phone
    assert tree.records("district")[ours]["data"]["phone"] == their_phone


def _city_admin(tree: UpTree) -> AdminSigner:
    """An administrator of the city with a personal key the city certified."""
    key = seeded_key("qian.li 370100")
    cert = issue_certificate(
        issuer_key=tree.pki["city"].keys.signing, issuer="370100",
        serial=serial_for("qian.li 370100"), subject=CITY_ADMIN, role=Role.ADMIN,
        sign_key=key.public_key, age=None, not_before=VALID_FROM, not_after=VALID_UNTIL,
    )  # fmt: skip
    with tree["city"].store.write() as session:
        install_certificates(session, [cert], source="issued")
    return AdminSigner(key=key, subject=CITY_ADMIN)


def test_packages_wait_for_an_administrator_when_the_policy_says_so(tree: UpTree) -> None:
    tree.configure("city", package_authorisation="admin")
    tree.collect("town", 3)
    tree.up("district")
    [draft] = build_packages(tree["city"])
    assert (draft.state, draft.seq, draft.ops) == ("draft", None, 3)
    assert tree.deliver("city") == []  # nothing leaves before it is authorised

    stranger = AdminSigner(key=seeded_key("someone"), subject="370100/nobody")
    with pytest.raises(TrustError, match="370100/nobody holds no admin certificate for this key"):
        authorise_drafts(tree["city"], stranger)
    assert [r.state for r in tree.up_bundles("city")] == ["draft"]

    [sealed] = authorise_drafts(tree["city"], _city_admin(tree))
    assert (sealed.state, sealed.seq) == ("pending", 1)
    [result] = tree.deliver("city")
    assert result.status == "accepted"
    assert sorted(tree.records("province")) == sorted(tree.records("district"))


def test_auto_authorisation_needs_the_hub_s_own_key(tree: UpTree) -> None:
    tree["district"].admin_key = None
    tree.collect("town", 1)
    with pytest.raises(StateError, match="has no administrator key of its own"):
        build_packages(tree["district"])
    assert tree.up_bundles("district") == []


def test_a_city_s_resolution_goes_up_with_an_authorised_manifest(tree: UpTree) -> None:
    tree.configure("city", auto_approve_levels=())
    record = record_id(1, salt="town")
    tree.collect("town", 1)
    tree.up("district")
    with tree["city"].store.read() as session:
        [package] = session.scalars(sa.select(BundleRow).where(BundleRow.kind == "package"))
    assert package.state == "staged"  # the city reviews everything from below
    approve(
        tree["city"],
        package.id,
        by="370100/qian.li",
        resolutions=[Resolution(kind="set", record_id=record, field="phone", value="13800000000",
                                reason="核实电话")],
    )  # fmt: skip
    drain(tree["city"])
    tree.up("city")
    province = tree.records("province")
    assert province[record]["data"]["phone"] == "13800000000"
    with tree["province"].store.read() as session:
        kept = [manifest_of(m) for m in session.scalars(sa.select(ManifestRow))]
    made_at_the_city = [m for m in kept if m.origin == "370100" and m.auth and len(m.op_ids) == 1]
    assert len(made_at_the_city) == 1  # the resolution's own manifest, by the city's key
    assert made_at_the_city[0].auth is not None
    assert made_at_the_city[0].auth.by == "370100/auto"
    with tree["city"].store.read() as session:
        decisions = session.scalars(
            sa.select(DownBundle).where(DownBundle.recipient == "370102")
        ).all()
    assert len(decisions) == 1  # the district hears of the resolution
