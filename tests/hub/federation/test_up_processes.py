"""The tree as separate processes: the root's key ceremony and every hub set up with the
real commands, each hub a ``muster hub run`` process on its own port with its scheduled
jobs; a town's bundles sent to its district reach the province with no one pushing them."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.config import HubConfig
from hub.sites import approve_enrollment, list_enrollments
from hub.store import Store
from hub.store.models import RecordRow
from hub.trust import install_certificates
from protocol.bundle import bundle_file_hash
from protocol.entries import Manifest, encode_entry
from protocol.ops import Op
from protocol.trust import Certificate, Role, TrustAnchor, authorise, issue_certificate
from protocol.trust.anchor import anchor_from_bytes
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.federation.upprocs import Procs, settings_for
from tests.pki import VALID_FROM, VALID_UNTIL, Party, Pki, seal, seeded_key


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    running = Procs(base=tmp_path)
    yield running
    running.stop()


def _init_hub(procs: Procs, name: str, site: str, anchor: Path) -> None:
    procs.muster(
        "hub", "init", "--site", site, "--name", name, "--data", str(procs.base / name),
        "--root", str(anchor), "--passphrase-file", str(procs.passphrase), "--kdf", "interactive",
    )  # fmt: skip


def _enroll_with(procs: Procs, child: str, parent: str, url: str) -> None:
    """``hub enroll-parent``: pending until the parent's administrator approves, then done."""
    args = ("hub", "enroll-parent", "--url", url, "--data", str(procs.base / child))
    assert "pending" in procs.muster(*args)
    ctx = procs.context(parent)
    try:
        [request] = list_enrollments(ctx, "pending")
        approve_enrollment(ctx, request.id, by=f"{ctx.site}/admin")
    finally:
        ctx.store.dispose()
    assert "enrolled" in procs.muster(*args)


def _town(procs: Procs, anchor: TrustAnchor) -> Pki:
    """A town node and its approver, certified by the district's own key (as its
    administrator would approve them), known to the district's store."""
    ctx = procs.context("district")
    try:
        with ctx.store.read() as session:
            own = [c for c in ctx.trust(session).certificates_of("370102") if c.role is Role.HUB]
        pki = Pki(root=Party("370000/root", ctx.keys), anchor=anchor)
        pki.parties["district"] = Party("370102", ctx.keys, own[0])
        issued: list[Certificate] = []
        for name, subject, role in (
            ("node", "370102001-01", Role.NODE),
            ("approver", "370102001/li.na", Role.APPROVER),
        ):
            party = Party(subject, type(ctx.keys)(seeded_key(name), ctx.keys.age))
            party.cert = issue_certificate(
                issuer_key=ctx.keys.signing, issuer="370102",
                serial=hashlib.blake2b(subject.encode(), digest_size=16).hexdigest(),
                subject=subject, role=role, sign_key=party.keys.signing.public_key,
                age=ctx.keys.age.recipient if role is Role.NODE else None,
                not_before=VALID_FROM, not_after=VALID_UNTIL,
            )  # fmt: skip
            pki.parties[name] = party
            issued.append(party.cert)
        with ctx.store.write() as session:
            install_certificates(session, issued, source="issued")
    finally:
        ctx.store.dispose()
    return pki


def _delta(pki: Pki, ops: list[Op], *, seq: int, prev: str | None) -> bytes:
    """The town's next delta bundle, authorised and sealed now."""
    now = datetime.now(UTC).replace(microsecond=0)
    op_ids = [op.op_id for op in ops]
    batch = hashlib.blake2b(repr(op_ids).encode(), digest_size=16).hexdigest()
    auth = authorise(
        key=pki["approver"].keys.signing, by="370102001/li.na", batch_id=batch,
        origin="370102001-01", op_ids=op_ids, signed_at=now,
    )  # fmt: skip
    manifest = Manifest(batch_id=batch, origin="370102001-01", op_ids=tuple(op_ids), auth=auth)
    data, _ = seal(
        [encode_entry(manifest), *(encode_entry(op) for op in ops)],
        sender=pki["node"], to=pki["district"], seq=seq, prev=prev, created=now,
        bundle_id=batch, auth=auth.to_dict(),
    )  # fmt: skip
    return data


def _records(procs: Procs, name: str) -> set[str]:
    store = Store(HubConfig.load(procs.base / name).database_url)
    try:
        with store.read() as session:
            return set(session.scalars(sa.select(RecordRow.record_id)))
    finally:
        store.dispose()


@pytest.mark.slow
def test_a_town_s_bundles_reach_the_province_through_hub_processes(procs: Procs) -> None:
    ceremony = procs.base / "root"
    procs.muster(
        "root", "init", "--dir", str(ceremony), "--site", "370000",
        "--passphrase-file", str(procs.passphrase), "--kdf", "interactive",
    )  # fmt: skip
    anchor_file = ceremony / "anchor.json"
    for name, site in (("province", "370000"), ("city", "370100"), ("district", "370102")):
        _init_hub(procs, name, site, anchor_file)
    answer = procs.base / "province-answer.json"
    procs.muster(
        "root", "certify", str(procs.base / "province" / "enrollment-request.json"),
        "--dir", str(ceremony), "--out", str(answer), "--passphrase-file", str(procs.passphrase),
    )  # fmt: skip
    procs.muster("hub", "enroll", str(answer), "--data", str(procs.base / "province"))

    province = procs.start("province", MUSTER_HUB_AUTO_APPROVE_LEVELS="city",
                           MUSTER_HUB_COOKIE_SECURE="false")  # fmt: skip
    _enroll_with(procs, "city", "province", province)
    city = procs.start("city", **settings_for(province, MUSTER_HUB_AUTO_APPROVE_LEVELS="county"))
    _enroll_with(procs, "district", "city", city)
    pki = _town(procs, anchor_from_bytes(anchor_file.read_bytes()))
    district = procs.start("district", **settings_for(city))

    factory = DeltaFactory(pki)
    factory.wall = int(time.time() * 1000)  # these hubs run on the wall clock
    sent = [record_id(i, salt="procs") for i in range(4)]
    for seq, first in ((1, 0), (2, 2)):
        ops = [factory.create(rid) for rid in sent[first : first + 2]]
        bundle = _delta(pki, ops, seq=seq, prev=factory.prev)
        factory.prev = bundle_file_hash(bundle)
        request = urllib.request.Request(
            district + "/api/v1/bundles", data=bundle, method="POST",
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer_:
            assert answer_.status == 200

    for _ in range(600):
        if _records(procs, "province") >= set(sent):
            break
        time.sleep(0.2)
    assert _records(procs, "province") == set(sent)
    assert _records(procs, "city") == set(sent)

    status = procs.muster("hub", "status", "--data", str(procs.base / "district"))
    assert "parent: 370100" in status
    assert "  package: every 1 s" in status
    assert "acknowledged" in status
