"""Key rotation: a node and a hub roll their keys; the parent certifies the new ones on the
old key's word; bundles in flight under the old key (a USB leg) are still accepted
within its validity, and refused once it is superseded."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.keys import KeyPair
from crypto.keystore import KDF_INTERACTIVE, seal_keystore
from hub.context import HubContext
from hub.intake import take_in
from hub.rawstore import store_file
from hub.rotation import begin_hub_rotation, finish_hub_rotation, submit_rotation
from hub.routing import route_down
from hub.sites import enrollment_status, revoke
from hub.store.models import BundleRow, RecordRow, StreamRow
from node.errors import ConflictError
from node.fsutil import write_atomic
from node.keyfiles import KeyDir
from node.services.client import HubClient, RetryPolicy
from protocol.bundle import BundleKind
from protocol.entries import Problem
from protocol.errors import NameConstraintError, TrustError, UntrustedSignerError
from protocol.trust import RevocationReason, Role
from protocol.trust.enrollment import make_enrollment_request
from protocol.trust.rotation import RotationRequest, make_rotation_request, verify_rotation
from tests.hub.conftest import make_hub
from tests.hub.federation.downtree import PASSPHRASE, Tree, build_tree, close_tree, collect
from tests.pki import NOW, Party, Pki, seal

NODE = "370102001-11"


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path, nodes=[NODE])
    try:
        yield built
    finally:
        await close_tree(built)


def _records(ctx: HubContext) -> int:
    with ctx.store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) or 0)


def _take(ctx: HubContext, data: bytes) -> tuple[str, Exception | None]:
    config = ctx.config
    stored = store_file(
        io.BytesIO(data),
        directory=config.bundles_dir,
        scratch=config.scratch_dir,
        limit=config.max_bundle_bytes,
    )
    result = take_in(ctx, stored, source="file")
    return result.status, result.error


async def test_a_node_rotates_its_keys_and_its_bundle_in_flight_is_still_accepted(
    tree: Tree,
) -> None:
    district = tree.hubs["district"]
    services = tree.nodes[NODE]
    old_keys, old_cert = services.context.keys, tree.node_certs[NODE]
    collect(tree, NODE, seed=1)  # sealed under the old key, and carried by USB
    usb = tree.root / "usb"
    usb.mkdir()
    [in_flight] = [Path(p) for p in (await asyncio.to_thread(services.export_to, usb)).files]
    with district.store.write() as session:  # sealed to the node's old age key
        route_down(
            district,
            session,
            division_code="370102001",
            kind=BundleKind.PROBLEMS,
            entries=[Problem(body={"id": "p-old", "division": "370102001"})],
        )
    tree.clock.advance(minutes=10)

    state = await asyncio.to_thread(services.rotate_keys_online, PASSPHRASE)

    assert state == "approved"
    services = tree.reopen_node(NODE)
    new_key = services.context.keys.signing.public_key
    assert new_key != old_keys.signing.public_key
    assert services.enrollment().serial != old_cert.serial
    # The USB stick reaches the district after the rotation: the old key still holds.
    assert await asyncio.to_thread(_take, district, in_flight.read_bytes()) == ("accepted", None)
    report = await tree.sync_node(NODE)  # the copy in the outbox is a duplicate now
    assert (report.rejected, report.error) == (0, None)
    assert [p.problem_id for p in services.problems()] == ["p-old"]  # the retired age key
    collect(tree, NODE, seed=2)  # signed with the new key
    report = await tree.sync_node(NODE)
    assert (report.uploaded, report.acknowledged) == (1, 1)
    assert _records(district) == 2

    tree.clock.advance(minutes=10)
    await asyncio.to_thread(
        revoke, district, old_cert.serial, reason=RevocationReason.SUPERSEDED, by="370102/wang.fang"
    )
    tree.clock.advance(minutes=1)
    with district.store.read() as session:
        stream = session.get(StreamRow, (NODE, "370102"))
    assert stream is not None
    late, _ = seal(
        [],
        sender=Party(NODE, old_keys),
        to=tree.pki["district"],
        kind=BundleKind.RECEIPT,
        seq=stream.last_seq + 1,
        prev=stream.last_hash,
        created=tree.clock(),
        bundle_id=secrets.token_hex(16),
    )
    status, error = await asyncio.to_thread(_take, district, late)
    assert status == "rejected"
    assert isinstance(error, UntrustedSignerError)
    assert "superseded" in error.message
    # What the old key sealed before the revocation stays merged.
    with district.store.read() as session:
        states = session.scalars(sa.select(BundleRow.state).where(BundleRow.sender == NODE)).all()
    assert states.count("merged") == 2


async def test_finishing_a_rotation_that_was_never_begun_is_refused(tree: Tree) -> None:
    with pytest.raises(ConflictError, match="no key rotation is waiting"):
        tree.nodes[NODE].finish_key_rotation(PASSPHRASE, b"{}")


async def test_a_hub_rotates_its_keys_and_its_children_follow(tree: Tree) -> None:
    district = tree.hubs["district"]
    _write_keystore(district, tree.pki)
    collect(tree, NODE, seed=3)  # sealed to the district's old age key, sent after the rotation
    request = await asyncio.to_thread(
        begin_hub_rotation, district, PASSPHRASE, cost=KDF_INTERACTIVE
    )
    async with HubClient(
        tree.url("city"),
        subject="370102",
        key=district.keys.signing,
        now=tree.clock,
        retry=RetryPolicy(attempts=1),
    ) as client:
        ident = await client.post_enrollment(request)
        poll = await client.enrollment(ident)
    assert poll.status == "approved"  # the old key vouched: no administrator needed
    assert poll.answer is not None
    new_cert = await asyncio.to_thread(
        finish_hub_rotation, district, PASSPHRASE, json.dumps(poll.answer).encode()
    )
    keys, retired = KeyDir(district.config.keys_dir).unlock_all(PASSPHRASE)
    assert keys.signing.public_key == new_cert.sign_key
    assert [r.recipient.text for r in retired] == [tree.pki["district"].keys.age.recipient.text]
    await tree.restart_hub(
        "district", dataclasses.replace(district, keys=keys, retired_ages=retired, _trust=None)
    )

    await tree.cycle()  # the trust bundle (old key) first, then everything on the new key

    assert tree.errors == {}
    assert _records(tree.hubs["district"]) == 1  # opened with the retired age key
    assert _records(tree.hubs["province"]) == 1  # packaged under the new key, all the way up
    with tree.hubs["district"].store.write() as session:  # sealed with the new key
        route_down(
            tree.hubs["district"],
            session,
            division_code="370102001",
            kind=BundleKind.PROBLEMS,
            entries=[Problem(body={"id": "p-new", "division": "370102001"})],
        )
    report = await tree.sync_node(NODE)
    assert (report.applied, report.error) == (1, None)
    assert [p.problem_id for p in tree.nodes[NODE].problems()] == ["p-new"]


def _write_keystore(ctx: HubContext, pki: Pki) -> None:
    """The test hubs' keys come from the PKI; give the district the keystore a real hub has."""
    keys_dir = KeyDir(ctx.config.keys_dir)
    keys_dir.path.mkdir(parents=True, exist_ok=True)
    sealed = seal_keystore(
        pki["district"].keys.to_secrets(), PASSPHRASE, rng=secrets.token_bytes, cost=KDF_INTERACTIVE
    )
    write_atomic(keys_dir.keystore, sealed, mode=0o600)


def _rotation(pki: Pki, party: str, *, old_key: str | None = None) -> RotationRequest:
    current = pki[party]
    assert current.cert is not None
    fresh = KeyPair.generate(secrets.token_bytes)
    request = make_enrollment_request(
        fresh.signing,
        subject=current.subject,
        role=Role.NODE,
        name="x",
        at=NOW,
        age=fresh.age.recipient,
    )
    signer = pki[old_key or party].keys.signing
    return make_rotation_request(request, old_key=signer, old_serial=current.cert.serial)


def test_a_rotation_request_round_trips_and_verifies() -> None:
    pki = Pki.build()
    rotation = _rotation(pki, "node")
    again = RotationRequest.from_bytes(rotation.to_bytes())
    assert again == rotation
    assert verify_rotation(again, pki.store(), NOW).serial == rotation.old_serial


def test_a_rotation_signed_by_another_key_is_refused() -> None:
    pki = Pki.build()
    forged = _rotation(pki, "node", old_key="other_node")
    with pytest.raises(TrustError, match="old key differs"):
        verify_rotation(forged, pki.store(), NOW)


def test_a_rotation_for_another_subject_is_refused() -> None:
    pki = Pki.build()
    rotation = _rotation(pki, "node")
    other = pki["other_node"].cert
    assert other is not None
    moved = dataclasses.replace(rotation, old_serial=other.serial)
    with pytest.raises(TrustError, match="is for 370103001-01"):
        verify_rotation(moved, pki.store(), NOW)


def test_a_hub_certifies_rotations_only_of_certificates_it_issued(tmp_path: Path) -> None:
    pki = Pki.build()
    city = make_hub(
        tmp_path / "city", f"sqlite:///{tmp_path / 'c.db'}", pki, site="370100", party="city"
    )
    with pytest.raises(NameConstraintError, match="was not issued here"):
        submit_rotation(city, _rotation(pki, "node").to_bytes())
    district = make_hub(tmp_path / "district", f"sqlite:///{tmp_path / 'd.db'}", pki)
    request = _rotation(pki, "node").to_bytes()
    info = submit_rotation(district, request)
    again = submit_rotation(district, request)  # a resend: the same answer
    assert (info.state, again.id) == ("approved", info.id)
    _state, answer, _reason = enrollment_status(district, info.id)
    assert answer is not None
    assert answer.escrow == pki.escrow()
    city.store.dispose()
    district.store.dispose()
