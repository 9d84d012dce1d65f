"""The output for the ministry (SQLite and PostgreSQL), made at the district hub of
storedata.py (the same code runs at the province): package bundles the ministry opens
with its own key and checks as a parent would — signed by the hub, every op traced to
its origin's authorisation — plus the workbook and a manifest of hashes; audited; and
nothing at all without a configured ministry recipient."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.age import AgeIdentity
from crypto.errors import StateError
from hub.context import HubContext
from hub.reports.ministry import MINISTRY_ID, write_ministry_output
from hub.reports.service import report_for
from hub.store.models import AuditRow, OpBatch
from hub.upward.adminkey import AdminSigner
from node.reports import parse_period
from protocol.bundle import BundleKind, open_bundle
from protocol.entries import Manifest, decode_entry
from protocol.ops import Op
from protocol.provenance import ProvenanceIndex, verify_provenance
from protocol.trust import CertificateTrust
from tests.hub.factory import TODAY
from tests.hub.reports.storedata import Loaded
from tests.pki import NOW, Pki

PERIOD = parse_period("2026-11")


@pytest.fixture
def ministry() -> AgeIdentity:
    return AgeIdentity.generate()


def _signer(pki: Pki) -> AdminSigner:
    admin = pki["admin"]
    return AdminSigner(key=admin.keys.signing, subject=admin.subject)


def _with_recipient(hub: HubContext, identity: AgeIdentity) -> HubContext:
    config = replace(hub.config, ministry_recipient=str(identity.recipient))
    return replace(hub, config=config)


def _merged_ops(hub: HubContext) -> int:
    with hub.store.read() as session:
        counts = session.scalars(
            sa.select(OpBatch.count).where(OpBatch.source.in_(("bundle", "resolution")))
        )
        return sum(counts)


def test_the_ministry_opens_and_checks_every_package(
    hub: HubContext, loaded: Loaded, pki: Pki, ministry: AgeIdentity, tmp_path: Path
) -> None:
    ctx = _with_recipient(hub, ministry)
    report = report_for(ctx, PERIOD, today=TODAY)
    output = write_ministry_output(
        replace(ctx, config=replace(ctx.config, package_max_ops=3)),
        report,
        tmp_path / "out",
        signer=_signer(pki),
    )
    assert output.folder.name == "ministry-370102-2026-11-01_2026-11-30"
    assert (output.records, output.ops) == (7, _merged_ops(hub))
    assert len(output.bundles) == -(-output.ops // 3)
    trust = CertificateTrust(pki.store(), NOW)
    seen: list[Op] = []
    prev = None
    for seq, path in enumerate(output.bundles, start=1):
        data = path.read_bytes()
        opened = open_bundle(io.BytesIO(data), trust=trust, identities=[ministry])
        header = opened.header
        assert (header.kind, header.sender, header.recipient) == (
            BundleKind.PACKAGE,
            "370102",
            MINISTRY_ID,
        )
        assert (header.seq, header.prev) == (seq, prev)
        prev = hashlib.blake2b(data, digest_size=32).hexdigest()
        entries = [decode_entry(e, i) for i, e in enumerate(opened.entries())]
        ops = [e for e in entries if isinstance(e, Op)]
        manifests = [e for e in entries if isinstance(e, Manifest)]
        index = ProvenanceIndex.build(manifests, store=pki.store())
        assert verify_provenance(ops, index=index, receiver="370100", sender="370102",
                                 store=pki.store()) == len(ops)  # fmt: skip
        seen.extend(ops)
    assert len({op.op_id for op in seen}) == output.ops
    manifest = json.loads((output.folder / "MANIFEST.json").read_text("utf-8"))
    for entry in manifest["bundles"]:
        digest = hashlib.sha256((output.folder / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"]
    assert manifest["workbook"]["file"] == output.workbook.name
    assert output.workbook.exists()
    with hub.store.read() as session:
        audited = session.scalar(
            sa.select(AuditRow.details).where(AuditRow.action == "report.ministry")
        )
    assert audited is not None
    assert f'"ops":{output.ops}' in audited


def test_without_a_ministry_recipient_nothing_is_written(
    hub: HubContext, loaded: Loaded, pki: Pki, tmp_path: Path
) -> None:
    report = report_for(hub, PERIOD, today=TODAY)
    out = tmp_path / "out"
    with pytest.raises(StateError, match=r"no ministry_recipient in hub\.toml"):
        write_ministry_output(hub, report, out, signer=_signer(pki))
    assert sorted(p.name for p in out.iterdir()) == []
    with hub.store.read() as session:
        assert (
            session.scalar(sa.select(AuditRow.seq).where(AuditRow.action == "report.ministry"))
            is None
        )
