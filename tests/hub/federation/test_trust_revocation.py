"""Revocation at each level takes effect at every level above and below within one sync
cycle, over real HTTP: the province revokes a city, a city a district, a district a node.
A bundle signed by the revoked key after the revocation is refused wherever it goes."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.fromparent import accept_from_parent
from hub.intake import take_in
from hub.rawstore import store_file
from hub.sites import revoke
from hub.store.models import BundleRow, RecordRow, StreamRow, UpBundle
from node.services.state import DOWN, position
from node.services.trust import load_trust
from node.store import transaction
from node.store.models import OutboxRow
from protocol.bundle import BundleKind
from protocol.entries import Problem, encode_entry
from protocol.errors import CertificateRevokedError, TrustError, UntrustedSignerError
from protocol.trust import Certificate, RevocationReason, TrustStore
from tests.hub.federation.downtree import Tree, build_tree, close_tree, collect
from tests.pki import Party, seal

NODES = ("370102001-11", "370102001-12", "370103001-11")


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path, nodes=NODES)
    try:
        yield built
    finally:
        await close_tree(built)


def _holding(tree: Tree, cert: Certificate) -> set[str]:
    """The parties that hold the revocation of ``cert`` (its chain fails now)."""
    stores: dict[str, TrustStore] = {}
    for name, ctx in tree.hubs.items():
        with ctx.store.read() as session:
            stores[name] = ctx.trust(session)
    for node_id, services in tree.nodes.items():
        context = services.context
        with transaction(context.engine) as session:
            stores[node_id] = load_trust(session, context.anchor)
    now = tree.clock()
    return {name for name, store in stores.items() if _revokes(store, cert, now)}


def _revokes(store: TrustStore, cert: Certificate, now: datetime) -> bool:
    try:
        store.validate(cert, now)
    except CertificateRevokedError:
        return True
    except TrustError:  # a party that never knew the certificate: nothing to enforce there
        return False
    return False


def _province_records(tree: Tree) -> int:
    with tree.hubs["province"].store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) or 0)


def _last_outbox(tree: Tree, node_id: str) -> bytes:
    services = tree.nodes[node_id]
    with transaction(services.context.engine) as session:
        row = session.scalars(sa.select(OutboxRow).order_by(OutboxRow.seq.desc())).first()
        assert row is not None
        return bytes(row.data)


async def test_a_district_revokes_a_node_and_every_level_enforces_it(tree: Tree) -> None:
    collect(tree, "370102001-12", seed=1)
    await tree.cycle()
    assert _province_records(tree) == 1  # the node's record climbed the whole tree
    tree.clock.advance(hours=1)
    cert = tree.node_certs["370102001-12"]
    await asyncio.to_thread(
        revoke,
        tree.hubs["district"],
        cert.serial,
        reason=RevocationReason.CESSATION,
        by="370102/wang.fang",
    )
    tree.clock.advance(minutes=5)
    collect(tree, "370102001-12", seed=2)  # sealed under the revoked key
    late = _last_outbox(tree, "370102001-12")

    await tree.cycle()

    # Above (city, province), below (the district's other node), and the node itself:
    # its upload is refused, but it still fetches the trust bundle that says why.
    assert _holding(tree, cert) == {"district", "city", "province", "370102001-11", "370102001-12"}
    assert tree.errors == {}
    with tree.hubs["district"].store.read() as session:
        refused = session.execute(
            sa.select(BundleRow.reason_code, BundleRow.reason)
            .where(BundleRow.sender == "370102001-12")
            .order_by(BundleRow.id)
        ).all()
    assert [code for code, _reason in refused] == [None, "untrusted_signer"]
    assert "was revoked by 370102" in (refused[1].reason or "")
    assert _province_records(tree) == 1  # the record made before the revocation stays
    city = tree.hubs["city"]  # the same bundle carried to the city by hand: refused there too
    stored = store_file(
        io.BytesIO(late),
        directory=city.config.bundles_dir,
        scratch=city.config.scratch_dir,
        limit=city.config.max_bundle_bytes,
    )
    result = await asyncio.to_thread(take_in, city, stored, source="file")
    assert result.status == "rejected"
    assert isinstance(result.error, UntrustedSignerError)
    assert "was revoked by 370102" in result.error.message


async def test_a_city_revokes_a_district_and_every_level_enforces_it(tree: Tree) -> None:
    district = tree.pki["district"].cert
    assert district is not None
    tree.clock.advance(hours=1)
    await asyncio.to_thread(
        revoke,
        tree.hubs["city"],
        district.serial,
        reason=RevocationReason.KEY_COMPROMISE,
        by="370100/qian.li",
    )
    collect(tree, "370102001-11", seed=3)  # the district merges it and packages it up

    await tree.cycle()

    # Above (city, province), the district itself and everything below it (it fetches
    # the news though its upload is refused, and passes it on), and the city's other
    # branch.
    assert _holding(tree, district) == set(tree.hubs) | set(tree.nodes)
    with tree.hubs["district"].store.read() as session:
        packages = session.scalars(sa.select(UpBundle.state)).all()
    assert "rejected" in packages  # the city refused the revoked district's package
    assert _province_records(tree) == 0
    # Below: whatever the revoked district's key signs now, its nodes refuse (a thief
    # holding the key, say, with a forged baseline on a USB stick).
    node = tree.nodes["370102001-11"]
    report = await asyncio.to_thread(node.import_files, [_next_down(tree, "370102001-11")])
    [item] = report.items
    assert item.outcome == "rejected"
    assert "was revoked by 370100" in item.message
    assert node.problems() == []


def _next_down(tree: Tree, node_id: str) -> Path:
    """A problems bundle signed by the district's key, next in the node's down stream."""
    services = tree.nodes[node_id]
    with transaction(services.context.engine) as session:
        stream = position(session, "370102", DOWN)
    data, _ = seal(
        [encode_entry(Problem(body={"id": "forged"}))],
        sender=tree.pki["district"],
        to=Party(node_id, services.context.keys),
        kind=BundleKind.PROBLEMS,
        seq=stream.last_seq + 1,
        prev=stream.last_hash,
        created=tree.clock(),
    )
    path = tree.root / f"{node_id}-next.bundle"
    path.write_bytes(data)
    return path


async def test_the_province_revokes_a_city_and_every_level_enforces_it(tree: Tree) -> None:
    city = tree.pki["city"].cert
    assert city is not None
    tree.clock.advance(hours=1)
    await asyncio.to_thread(
        revoke,
        tree.hubs["province"],
        city.serial,
        reason=RevocationReason.CESSATION,
        by="370000/zhao.min",
    )
    collect(tree, "370103001-11", seed=4)

    await tree.cycle()

    assert _holding(tree, city) == set(tree.hubs) | set(tree.nodes)
    with tree.hubs["province"].store.read() as session:
        refused = session.scalars(
            sa.select(BundleRow.reason).where(BundleRow.sender == "370100")
        ).all()
    assert any("was revoked by 370000" in (r or "") for r in refused)  # the city's package
    assert _province_records(tree) == 0
    # Below: a district refuses whatever the revoked city's key signs now.
    other = tree.hubs["other_district"]
    with other.store.read() as session:
        stream = session.get(StreamRow, ("370100", "370103"))
    assert stream is not None
    data, _ = seal(
        [encode_entry(Problem(body={"id": "late", "division": "370103001"}))],
        sender=tree.pki["city"],
        to=tree.pki["other_district"],
        kind=BundleKind.PROBLEMS,
        seq=stream.last_seq + 1,
        prev=stream.last_hash,
        created=tree.clock(),
    )
    with pytest.raises(UntrustedSignerError, match="was revoked by 370000"):
        await asyncio.to_thread(accept_from_parent, other, data, source="file")
