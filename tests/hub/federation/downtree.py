"""A small province on loopback for the downward federation tests.

The test PKI (tests/pki.py) with administrators at the province and the city, and
three town nodes under district 370102 (two machines at town 370102001, one at
370102002) and one under district 370103. Every hub is a real :class:`HubContext`
on its own SQLite store, served by the real app on a real port; every node is a real,
enrolled node (encrypted store, keystore) syncing with its district over HTTP. The
province's recovery identity and its escrow statement (signed by the root) are
installed at every hub and reach the nodes in their enrollment answers.

One clock (a :class:`Clock` moved by hand) drives every party.
"""

from __future__ import annotations

import asyncio
import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from crypto.age import AgeIdentity
from crypto.errors import MusterError
from crypto.keystore import KDF_INTERACTIVE
from hub.app import create_app
from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.fromparent import ParentDownPort
from hub.store import Store, migrate
from hub.trust import install_certificates
from hub.upward.building import build_packages
from hub.upward.port import HubSyncPort
from node.services import NodeServices, init_node
from node.services.client import HubClient, RetryPolicy
from node.services.sync import run_sync
from node.services.values import SyncReport
from protocol.sample import realistic_record
from protocol.trust import Certificate, Role, issue_certificate
from protocol.trust.anchor import anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest
from protocol.trust.escrow import EscrowStatement, issue_escrow
from tests.hub.helpers import drain
from tests.node.core.helpers import APPROVER, COLLECTOR, Clock, form_for
from tests.pki import NOW, VALID_FROM, YEAR, Pki, seeded_key, serial_for

PASSPHRASE = b"tree node passphrase"
TODAY = date(2026, 11, 29)
#: Hub name → (site, PKI party, parent hub name or None).
HUBS: dict[str, tuple[str, str, str | None]] = {
    "province": ("370000", "province", None),
    "city": ("370100", "city", "province"),
    "district": ("370102", "district", "city"),
    "other_district": ("370103", "other_district", "city"),
}
#: Node id → its district hub's name.
NODES: dict[str, str] = {
    "370102001-11": "district",
    "370102001-12": "district",
    "370102002-11": "district",
    "370103001-11": "other_district",
}
#: Clean bundles from below merge without review at every level.
AUTO: dict[str, dict[str, Any]] = {
    "city": {"auto_approve_levels": ("county",)},
    "province": {"auto_approve_levels": ("city",)},
}
PROVINCE_ADMIN = "370000/zhao.min"
CITY_ADMIN = "370100/qian.li"
BASELINE_HEADERS = (
    "id_number",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "hukou_division_code",
    "hukou_address",
    "subject_category",
    "living_status",
)


#: The end of the tree's own certificates (see ``tree_pki``).
TREE_UNTIL = NOW + YEAR


def tree_pki() -> Pki:
    """The test PKI plus the administrators the federation needs.

    Every party of the tree runs on the tree's clock, which starts at ``NOW``, so its
    certificates need not outlast the real clock; they end a year after ``NOW``, before
    those the tree's hubs issue (``NOW`` + certificate_days), so that a party certified
    again (a rekey, a rotation) has the newest certificate, as in a deployment.
    """
    pki = Pki.build(until=TREE_UNTIL)
    pki.add("province_admin", PROVINCE_ADMIN, Role.ADMIN, issuer="province", not_after=TREE_UNTIL)
    pki.add("city_admin", CITY_ADMIN, Role.ADMIN, issuer="city", not_after=TREE_UNTIL)
    return pki


def escrow_for(pki: Pki, recovery: AgeIdentity) -> EscrowStatement:
    """The province's escrow statement, signed by the root in the key ceremony."""
    return issue_escrow(
        key=pki.root.keys.signing,
        by=pki.root.subject,
        site="370000",
        recipients=[recovery.recipient],
        issued_at=NOW - YEAR,
    )


@dataclass
class Tree:
    """Hubs and nodes of one test province (see the module docstring)."""

    pki: Pki
    clock: Clock
    root: Path
    recovery: AgeIdentity
    escrow: EscrowStatement
    hubs: dict[str, HubContext] = field(default_factory=dict)
    servers: dict[str, TestServer] = field(default_factory=dict)
    nodes: dict[str, NodeServices] = field(default_factory=dict)
    node_certs: dict[str, Certificate] = field(default_factory=dict)
    #: The last cycle's failed node syncs.
    errors: dict[str, Exception] = field(default_factory=dict)

    def url(self, hub: str) -> str:
        return str(self.servers[hub].make_url(""))

    async def sync_hub(self, name: str, *, package: bool = True) -> SyncReport:
        """One sync of a hub with its parent over HTTP: its packages up (built first), the
        parent's down bundles down, receipts both ways; then the parent processes what
        it received."""
        ctx = self.hubs[name]
        parent = HUBS[name][2]
        assert parent is not None
        if package:
            await asyncio.to_thread(build_packages, ctx)
        async with HubClient(
            self.url(parent),
            subject=ctx.site,
            key=ctx.keys.signing,
            now=ctx.now,
            retry=RetryPolicy(attempts=1),
        ) as client:
            report = await run_sync(HubSyncPort(ctx, ParentDownPort(ctx)), client)
        await asyncio.to_thread(drain, self.hubs[parent])
        return report

    async def sync_node(self, node_id: str) -> SyncReport:
        report = await asyncio.to_thread(self.nodes[node_id].sync_now)
        await asyncio.to_thread(drain, self.hubs[NODES[node_id]])
        return report

    async def cycle(self) -> None:
        """One sync cycle: every party syncs, bottom up (what was sent climbs to the
        province), then top down (what was sent down reaches every node)."""
        self.errors.clear()
        await self._nodes()
        for name in ("district", "other_district", "city", "city", "district", "other_district"):
            try:
                await self.sync_hub(name)
            except MusterError as exc:  # a revoked hub cannot package: noted, not fatal
                self.errors[name] = exc
        await self._nodes()

    async def _nodes(self) -> None:
        for node_id in self.nodes:
            try:
                await self.sync_node(node_id)
            except MusterError as exc:  # noted, not fatal
                self.errors[node_id] = exc

    def reopen_node(self, node_id: str) -> NodeServices:
        """Close and open a node again (after a key rotation: it runs on its new keys)."""
        self.nodes[node_id].close()
        opened = NodeServices.open(self.root / f"node-{node_id}", PASSPHRASE, now=self.clock)
        ctx = opened.context
        url = self.url(NODES[node_id])
        self.nodes[node_id] = NodeServices(replace(ctx, config=replace(ctx.config, parent_url=url)))
        return self.nodes[node_id]

    async def restart_hub(self, name: str, ctx: HubContext) -> None:
        """Serve ``ctx`` in place of the hub's old context (new keys after a rotation)."""
        port = self.servers[name].port
        await self.servers[name].close()
        self.hubs[name].store.dispose()
        self.hubs[name] = ctx
        server = TestServer(create_app(ctx.config, context=ctx), port=port)
        await server.start_server()
        self.servers[name] = server

    def close(self) -> None:
        for services in self.nodes.values():
            services.close()
        for ctx in self.hubs.values():
            ctx.store.dispose()


def _hub(tree: Tree, name: str) -> HubContext:
    site, party, _parent = HUBS[name]
    data = tree.root / name
    url = f"sqlite:///{tree.root / (name + '.db')}"
    config = HubConfig(
        data_dir=data,
        site=site,
        db_url=url,
        cookie_secure=False,
        workers=0,
        package_authorisation="auto",
        **AUTO.get(name, {}),
    )
    data.mkdir(parents=True, exist_ok=True)
    config.anchor_path.write_bytes(anchor_to_bytes(tree.pki.anchor))
    store = Store(url)
    migrate(store)
    ctx = HubContext(
        config=config,
        store=store,
        keys=tree.pki[party].keys,
        anchor=tree.pki.anchor,
        now=tree.clock,
        worker=f"test-{name}",
        admin_key=seeded_key(f"auto {site}"),
    )
    with store.write() as session:
        install_certificates(session, tree.pki.certificates(), source="chain")
        install_escrow(ctx, session, tree.escrow)
    return ctx


def _certify(tree: Tree, request: EnrollmentRequest, district: str) -> Certificate:
    party = tree.pki[HUBS[district][1]]
    return issue_certificate(
        issuer_key=party.keys.signing,
        issuer=party.subject,
        serial=serial_for(f"tree {request.subject} {request.sign_key.key_id_hex}"),
        subject=request.subject,
        role=request.role,
        sign_key=request.sign_key,
        age=request.age,
        not_before=VALID_FROM,
        not_after=TREE_UNTIL,
        name=request.name,
    )


def _node(tree: Tree, node_id: str) -> NodeServices:
    district = NODES[node_id]
    data = tree.root / f"node-{node_id}"
    init_node(
        data,
        node_id=node_id,
        name=f"采集点 {node_id}",
        anchor_data=anchor_to_bytes(tree.pki.anchor),
        passphrase=PASSPHRASE,
        admin_login="admin",
        admin_name="站点管理员",
        admin_password="admin-password-1",
        now=tree.clock,
        kdf=KDF_INTERACTIVE,
    )
    opened = NodeServices.open(data, PASSPHRASE, now=tree.clock)
    ctx = opened.context
    services = NodeServices(replace(ctx, config=replace(ctx.config, parent_url=tree.url(district))))
    request = EnrollmentRequest.from_bytes((data / "enrollment-request.json").read_bytes())
    cert = _certify(tree, request, district)
    chain = [tree.pki[p].cert for p in (HUBS[district][1], "city", "province")]
    answer = EnrollmentAnswer(
        certificates=(cert, *(c for c in chain if c is not None)), escrow=tree.escrow
    )
    services.enroll(answer.to_bytes())
    services.create_account(*COLLECTOR[:2], "collector", COLLECTOR[2])
    services.create_account(*APPROVER[:2], "approver", APPROVER[2])
    approver = _certify(
        tree, EnrollmentRequest.from_bytes(services.approver_request(APPROVER[0])), district
    )
    services.install_approver_certificate(
        EnrollmentAnswer(certificates=(approver, *answer.certificates[1:])).to_bytes()
    )
    with tree.hubs[district].store.write() as session:
        install_certificates(session, [cert, approver], source="issued")
    tree.node_certs[node_id] = cert
    return services


async def build_tree(
    root: Path, *, nodes: Sequence[str] = tuple(NODES), clock: Clock | None = None
) -> Tree:
    """Hubs served on loopback, and the named nodes enrolled with their districts."""
    pki = tree_pki()
    recovery = AgeIdentity.generate()
    tree = Tree(
        pki=pki,
        clock=clock or Clock(),
        root=root,
        recovery=recovery,
        escrow=escrow_for(pki, recovery),
    )
    for name in HUBS:
        ctx = _hub(tree, name)
        tree.hubs[name] = ctx
        server = TestServer(create_app(ctx.config, context=ctx))
        await server.start_server()
        tree.servers[name] = server
    for node_id in nodes:
        tree.nodes[node_id] = _node(tree, node_id)
    return tree


def collect(tree: Tree, node_id: str, seed: int) -> None:
    """One new record collected at ``node_id`` and authorised by its approver."""
    services = tree.nodes[node_id]
    categories, values = form_for(services, seed=seed)
    assert services.save_record(None, categories, values, COLLECTOR[0]).saved
    services.authorise(APPROVER[0], APPROVER[2])


async def close_tree(tree: Tree) -> None:
    for server in tree.servers.values():
        await server.close()
    tree.close()


def baseline_rows(towns: Iterable[tuple[str, int]], *, seed: int = 1) -> list[dict[str, Any]]:
    """Realistic people registered in the given towns: ``(town code, how many)``."""
    rng = random.Random(seed)
    rows = []
    for town, count in towns:
        for _ in range(count):
            record = realistic_record(
                rng, category="retired_soldier", division_code=town, today=TODAY
            )
            rows.append({key: record[key] for key in BASELINE_HEADERS})
    return rows


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(BASELINE_HEADERS)
        for row in rows:
            writer.writerow(
                [
                    ";".join(value) if isinstance(value, tuple) else value
                    for value in (row[key] for key in BASELINE_HEADERS)
                ]
            )
    return path
