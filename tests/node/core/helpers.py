"""Helpers for the node core's tests: a node set up in a temporary directory, enrolled
under the test PKI of tests/pki.py, with accounts, and realistic forms to save."""

from __future__ import annotations

import io
import random
import shutil
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from crypto.keystore import KDF_INTERACTIVE
from node.services import NodeServices, init_node
from node.services.trust import load_trust
from node.store import transaction
from protocol.bundle import BundleHeader, BundleKind, open_bundle
from protocol.entries import decode_entry, encode_entry
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.schema import Schema
from protocol.trust import CertificateTrust, Role, TrustStore, issue_certificate
from protocol.trust.anchor import anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest
from tests.pki import NOW, VALID_FROM, VALID_UNTIL, Party, Pki, seal, serial_for

NODE_ID = "370102001-01"
PASSPHRASE = b"node passphrase for tests"
ADMIN = ("admin", "站点管理员", "admin-password-1")
COLLECTOR = ("zhang.wei", "张伟", "collector-pass-1")
APPROVER = ("li.na", "李娜", "approver-pass-1")


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def png_bytes(seed: int = 0) -> bytes:
    """A tiny valid PNG (1×1), different per seed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(bytes([0, seed % 256, (seed >> 8) % 256, 7]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")
    )


@dataclass
class NodeUnderTest:
    """A node in a temporary directory, and the PKI around it."""

    data_dir: Path
    pki: Pki
    clock: Clock
    services: NodeServices
    anchor_file: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def reopen(self) -> NodeServices:
        self.services.close()
        self.services = NodeServices.open(self.data_dir, PASSPHRASE, now=self.clock)
        return self.services


def copy_node(template: NodeUnderTest, tmp_path: Path, clock: Clock) -> NodeUnderTest:
    """A copy of a (closed) template node, directory and all, opened afresh."""
    data_dir = tmp_path / "node"
    shutil.copytree(template.data_dir, data_dir)
    anchor = tmp_path / "anchor.json"
    shutil.copy(template.anchor_file, anchor)
    services = NodeServices.open(data_dir, PASSPHRASE, now=clock)
    return NodeUnderTest(data_dir, template.pki, clock, services, anchor)


def make_node(tmp_path: Path, pki: Pki, clock: Clock, *, name: str = "node") -> NodeUnderTest:
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_bytes(anchor_to_bytes(pki.anchor))
    data_dir = tmp_path / name
    init_node(
        data_dir,
        node_id=NODE_ID,
        name="历下区某街道采集点",
        anchor_data=anchor_file.read_bytes(),
        passphrase=PASSPHRASE,
        admin_login=ADMIN[0],
        admin_name=ADMIN[1],
        admin_password=ADMIN[2],
        now=clock,
        kdf=KDF_INTERACTIVE,
    )
    services = NodeServices.open(data_dir, PASSPHRASE, now=clock)
    return NodeUnderTest(data_dir, pki, clock, services, anchor_file)


def certify(pki: Pki, request_data: bytes, role: Role) -> bytes:
    """The district hub's enrollment answer to a request (the node's or an approver's)."""
    request = EnrollmentRequest.from_bytes(request_data)
    district = pki["district"]
    cert = issue_certificate(
        issuer_key=district.keys.signing,
        issuer=district.subject,
        serial=serial_for(f"{role} {request.subject}"),
        subject=request.subject,
        role=role,
        sign_key=request.sign_key,
        age=request.age,
        not_before=VALID_FROM,
        not_after=VALID_UNTIL,
        name=request.name,
    )
    chain = [pki[n].cert for n in ("district", "city", "province")]
    return EnrollmentAnswer(
        certificates=(cert, *chain),  # type: ignore[arg-type]
        escrow=pki.escrow(),
    ).to_bytes()


def enrollment_answer(node: NodeUnderTest) -> bytes:
    """The district hub's answer to the node's enrollment request."""
    return certify(node.pki, (node.data_dir / "enrollment-request.json").read_bytes(), Role.NODE)


def approver_answer(node: NodeUnderTest, login: str) -> bytes:
    """The district hub's answer to an approver's certificate request."""
    return certify(node.pki, node.services.approver_request(login), Role.APPROVER)


def ready_node(tmp_path: Path, pki: Pki, clock: Clock, *, name: str = "node") -> NodeUnderTest:
    """Enrolled, with a collector and a certified approver."""
    node = make_node(tmp_path, pki, clock, name=name)
    node.services.enroll(enrollment_answer(node))
    node.services.create_account(*COLLECTOR[:2], "collector", COLLECTOR[2])
    node.services.create_account(*APPROVER[:2], "approver", APPROVER[2])
    node.services.install_approver_certificate(approver_answer(node, APPROVER[0]))
    return node


def form_for(
    services: NodeServices, *, seed: int = 1, category: str = "retired_soldier"
) -> tuple[tuple[str, ...], dict[str, object]]:
    """A realistic, valid form (categories, values) whose photos are stored blobs."""
    today = services.context.now().astimezone().date()
    record = realistic_record(
        random.Random(seed), category=category, division_code="370102001", today=today
    )
    schema: Schema = services.context.schema
    values: dict[str, object] = {}
    for key, value in record.items():
        if key == "subject_category":
            continue
        if schema.field(key).type.value == "photo":
            items = value if isinstance(value, tuple) else (value,)
            refs = [
                services.store_blob(png_bytes(seed * 100 + i), "image/png").blob_id
                for i, _ in enumerate(items)
            ]
            values[key] = refs if isinstance(value, tuple) else refs[0]
        else:
            values[key] = list(value) if isinstance(value, tuple) else value
    categories = record["subject_category"]
    assert isinstance(categories, tuple)
    return categories, values


def node_party(node: NodeUnderTest) -> Party:
    """The node under test as a party of the test PKI (a bundle's receiver)."""
    return Party(NODE_ID, node.services.context.keys)


def down_bundle(
    node: NodeUnderTest,
    entries: list[Any],
    *,
    kind: BundleKind = BundleKind.BASELINE,
    seq: int = 1,
    prev: str | None = None,
    bundle_id: str | None = None,
    sender: str = "district",
    created: datetime | None = None,
) -> tuple[bytes, str]:
    """A bundle from the district hub (or ``sender``) to the node; (bytes, its hash).

    By default the first baseline of the stream, with the bundle id ``seq`` in hex."""
    data, sealed = seal(
        [encode_entry(e) for e in entries],
        sender=node.pki[sender],
        to=node_party(node),
        kind=kind,
        seq=seq,
        prev=prev,
        created=created or node.clock(),
        bundle_id=bundle_id or f"{seq:032x}",
    )
    return data, sealed.bundle_hash


def hub_trust(node: NodeUnderTest) -> TrustStore:
    """What the district hub trusts: the test PKI plus the node's and approvers' certs."""
    with transaction(node.services.context.engine) as session:
        held = load_trust(session, node.services.context.anchor)
    return node.pki.store().with_certificates(held.certificates)


def hub_opens(node: NodeUnderTest, data: bytes) -> tuple[BundleHeader, list[object]]:
    """Open a bundle from the node as the district hub does: header and decoded entries."""
    opened = open_bundle(
        io.BytesIO(data),
        trust=CertificateTrust(hub_trust(node), node.clock()),
        identities=[node.pki["district"].keys.age],
    )
    return opened.header, [decode_entry(e, i) for i, e in enumerate(opened.entries())]


TODAY = date(2026, 11, 29)
__all__ = ["ADMIN", "APPROVER", "COLLECTOR", "NODE_ID", "NOW", "PASSPHRASE", "TODAY", "UTC"]


HUB_ADMIN = "370102/wang.fang"


def hub_create(node: NodeUnderTest, seed: int, *, counter: int = 0) -> Op:
    """A baseline create made at the district hub (a realistic record, photos left out)."""
    today = node.clock().date()
    record = realistic_record(
        random.Random(seed), category="retired_soldier", division_code="370102001", today=today
    )
    values = {k: v for k, v in record.items() if "b2:" not in str(v)}
    return Op(
        kind=OpKind.CREATE,
        record_id=str(uuid.UUID(int=seed, version=4)),
        value=values,
        hlc=Timestamp(wall_ms=int(node.clock().timestamp() * 1000), counter=counter, node="370102"),
        author=HUB_ADMIN,
        site="370102",
    )


def hub_set(
    node: NodeUnderTest,
    record_id: str,
    field: str,
    value: object,
    base: tuple[str, ...],
    *,
    counter: int = 1,
) -> Op:
    """A resolution or correction made at the district hub."""
    return Op(
        kind=OpKind.SET,
        record_id=record_id,
        field=field,
        value=value,
        base=base,
        hlc=Timestamp(wall_ms=int(node.clock().timestamp() * 1000), counter=counter, node="370102"),
        author=HUB_ADMIN,
        site="370102",
    )
