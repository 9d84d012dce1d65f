"""Escrow recovery, end to end (docs/operations.md, "Escrow recovery"): a district hub
loses its key; with the province recovery identity its waiting and in-flight bundles
are opened and merged, it is re-keyed and re-enrolled with the city, and its node
re-enrolls and carries on."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.keystore import KDF_INTERACTIVE
from hub.context import HubContext
from hub.recovery import recertify_children, rekey, restore_bundles
from hub.sites import approve_enrollment, revoke
from hub.store.models import BundleRow, RecordRow
from hub.upward.enrollment import install_answer
from node.keyfiles import KeyDir
from node.services.client import HubClient, RetryPolicy
from protocol.bundle import open_bundle
from protocol.errors import PayloadDecryptError
from protocol.trust import CertificateTrust, RevocationReason
from protocol.trust.enrollment import EnrollmentAnswer
from tests.hub.federation.downtree import PASSPHRASE, Tree, build_tree, close_tree, collect

NODE = "370102001-11"


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path, nodes=[NODE])
    try:
        yield built
    finally:
        await close_tree(built)


def _count(ctx: HubContext, state: str | None = None) -> int:
    with ctx.store.read() as session:
        if state is None:
            return int(session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) or 0)
        query = sa.select(sa.func.count()).where(BundleRow.state == state)
        return int(session.scalar(query.select_from(BundleRow)) or 0)


async def test_a_hub_that_lost_its_key_is_recovered_with_the_province_recovery_key(
    tree: Tree,
) -> None:
    district = tree.hubs["district"]
    node = tree.nodes[NODE]
    collect(tree, NODE, seed=1)
    await tree.sync_node(NODE)  # merged before the loss
    collect(tree, NODE, seed=2)
    await asyncio.to_thread(node.sync_now)  # taken in, not yet staged: waits on the key
    collect(tree, NODE, seed=3)
    usb = tree.root / "usb"
    usb.mkdir()
    [in_flight] = [Path(p) for p in (await asyncio.to_thread(node.export_to, usb)).files]
    assert (_count(district), _count(district, "verified")) == (1, 1)

    # The key is lost. 1: new keys and a new enrollment, approved by the city, which
    # revokes the lost key's certificate (lost, not stolen: superseded).
    tree.clock.advance(minutes=30)
    old_cert = tree.pki["district"].cert
    assert old_cert is not None
    request = await asyncio.to_thread(rekey, district.config, PASSPHRASE, cost=KDF_INTERACTIVE)
    city = tree.hubs["city"]
    async with HubClient(
        tree.url("city"),
        subject="370102",
        key=district.keys.signing,
        now=tree.clock,
        retry=RetryPolicy(attempts=1),
    ) as client:
        ident = await client.post_enrollment(request)
        assert (
            await client.enrollment(ident)
        ).status == "pending"  # no continuity: a person decides
        await asyncio.to_thread(approve_enrollment, city, ident, by="370100/qian.li")
        answer = await client.enrollment(ident)
    await asyncio.to_thread(
        revoke, city, old_cert.serial, reason=RevocationReason.SUPERSEDED, by="370100/qian.li"
    )
    keys = KeyDir(district.config.keys_dir).unlock(PASSPHRASE)
    recovered = dataclasses.replace(district, keys=keys, retired_ages=(), _trust=None)
    # 2: the answer installed (the new certificate, its chain, the escrow statement).
    assert answer.answer is not None
    parsed = EnrollmentAnswer.from_bytes(json.dumps(answer.answer))
    await asyncio.to_thread(install_answer, recovered, parsed, at=tree.clock())
    # 3: the children certified again under the new key.
    answers = await asyncio.to_thread(recertify_children, recovered, tree.root / "answers")
    assert {p.name for p in answers} >= {f"{NODE}.json", "370102001_li.na.json"}
    await tree.restart_hub("district", recovered)

    # The new key alone cannot open what was sealed to the lost one ...
    data = in_flight.read_bytes()
    with recovered.store.read() as session:
        trust = CertificateTrust(recovered.trust(session), tree.clock())
    with pytest.raises(PayloadDecryptError):
        list(open_bundle(io.BytesIO(data), trust=trust, identities=recovered.identities).entries())
    # 4: ... the recovery identity, in memory for the restore only, opens it all.
    report = await asyncio.to_thread(restore_bundles, recovered, tree.recovery, [in_flight])
    assert report.files == ((str(in_flight), "accepted"),)
    assert _count(recovered) == 3
    assert _count(recovered, "verified") == 0
    assert recovered.retired_ages == ()  # the recovery identity was not kept

    # The node re-enrolls with its new answer (a file from the district) and carries on
    # under the new district key.
    state = await asyncio.to_thread(
        node.enroll, (tree.root / "answers" / f"{NODE}.json").read_bytes()
    )
    assert state.serial != tree.node_certs[NODE].serial
    collect(tree, NODE, seed=4)
    sync = await tree.sync_node(NODE)
    assert (sync.error, sync.rejected) == (None, 0)
    assert _count(recovered) == 4
    await tree.cycle()
    assert _count(tree.hubs["province"]) == 4  # and up the tree, under the new key
