"""A small province for the upward federation tests, each hub holding only the trust
material it would really hold.

root → province 370000 → city 370100 → district 370102 → node 370102001-01 (approver
370102001/li.na), and a second branch → city 370200 → district 370202 → node
370202001-01 (approver 370202001/zhao.lei). Every hub is a real :class:`HubContext` on
its own store (SQLite unless a test asks for PostgreSQL), knowing its own certificate
chain and the certificates it issued — nothing else: what a parent learns about the
tree below comes in the packages it receives. Every hub holds its own administrator
key (``<site>/auto``) and certifies it the first time it packages.

:meth:`UpTree.deliver` moves a child's sealed packages to its parent the way a sync
does (through :class:`hub.upward.port.HubSyncPort`), in process; the HTTP tests run the
real apps on real ports instead.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.intake import IntakeResult
from hub.store import Store, migrate
from hub.store.models import RecordRow, UpBundle
from hub.trust import install_certificates
from hub.upward.building import PackageInfo, build_packages
from hub.upward.port import HubSyncPort
from node.services.inbox import DownResult
from protocol.trust import Certificate, Role
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import NOW, Pki, seeded_key

#: Hub name → (site, PKI party, parent hub name).
HUBS: dict[str, tuple[str, str | None]] = {
    "province": ("370000", None),
    "city": ("370100", "province"),
    "city2": ("370200", "province"),
    "district": ("370102", "city"),
    "district2": ("370202", "city2"),
}
#: The towns' nodes and approvers: name → (node party, approver party, district).
TOWNS: dict[str, tuple[str, str, str]] = {
    "town": ("node", "approver", "district"),
    "town2": ("node2", "approver2", "district2"),
}


def up_pki() -> Pki:
    """The test PKI with a second city branch down to a town node and its approver."""
    pki = Pki.build()
    pki.add("city2", "370200", Role.HUB, issuer="province")
    pki.add("district2", "370202", Role.HUB, issuer="city2")
    pki.add("node2", "370202001-01", Role.NODE, issuer="district2")
    pki.add("approver2", "370202001/zhao.lei", Role.APPROVER, issuer="district2")
    return pki


def view(pki: Pki, party: str) -> list[Certificate]:
    """What a hub holds after enrollment: its chain up to the root, and what it issued."""
    own = pki[party].cert
    assert own is not None
    by_subject = {c.subject: c for c in pki.certificates()}
    chain = [own]
    while chain[-1].issuer in by_subject:
        chain.append(by_subject[chain[-1].issuer])
    issued = [c for c in pki.certificates() if c.issuer == own.subject]
    return [*chain, *issued]


class NoDown:
    """A down half for tests that take nothing from the parent: it lists after the
    parent's last down bundle for us, so nothing is fetched."""

    def __init__(self, parent: HubContext, child: str) -> None:
        self._parent, self._child = parent, child

    def down_after(self) -> int:
        from hub.store.models import DownBundle  # noqa: PLC0415

        with self._parent.store.read() as session:
            last = session.scalar(
                sa.select(sa.func.max(DownBundle.seq)).where(DownBundle.recipient == self._child)
            )
        return int(last or 0)

    def accept_down(self, data: bytes) -> DownResult:
        raise AssertionError("no down bundle was expected")

    def refusal(self, data: bytes, error: Any) -> bytes | None:
        return None

    def unposted_receipts(self) -> Sequence[tuple[str, bytes]]:
        return ()

    def receipt_posted(self, key: str) -> None:
        return None


@dataclass
class UpTree:
    """The hubs of one test province (see the module docstring)."""

    pki: Pki
    root: Path
    hubs: dict[str, HubContext] = field(default_factory=dict)
    factories: dict[str, DeltaFactory] = field(default_factory=dict)
    people: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> HubContext:
        return self.hubs[name]

    def add_hub(self, name: str, *, url: str = "", **settings: Any) -> HubContext:
        site, _parent = HUBS[name]
        data = self.root / name
        db_url = url or f"sqlite:///{self.root / (name + '.db')}"
        defaults: dict[str, Any] = {"workers": 0, "package_authorisation": "auto"}
        config = HubConfig(
            data_dir=data, site=site, db_url=db_url, cookie_secure=False,
            **{**defaults, **settings},
        )  # fmt: skip
        store = Store(db_url)
        migrate(store)
        ctx = HubContext(
            config=config,
            store=store,
            keys=self.pki[name].keys,
            anchor=self.pki.anchor,
            now=lambda: NOW,
            worker=f"test-{name}",
            admin_key=seeded_key(f"auto {site}"),
        )
        with store.write() as session:
            install_certificates(session, view(self.pki, name), source="chain")
            install_escrow(ctx, session, self.pki.escrow())
        self.hubs[name] = ctx
        return ctx

    def configure(self, name: str, **settings: Any) -> None:
        """Change some of a hub's settings (the store and keys stay)."""
        ctx = self.hubs[name]
        ctx.config = dataclasses.replace(ctx.config, **settings)

    def deltas(self, town: str) -> DeltaFactory:
        """The town node's delta factory (its stream continues across calls)."""
        if town not in self.factories:
            node, approver, _district = TOWNS[town]
            factory = DeltaFactory(self.pki, node=node, approver=approver)
            factory.rng = random.Random(town)  # each town collects other people
            self.factories[town] = factory
        return self.factories[town]

    def collect(self, town: str, count: int, *, start: int = 0, per_bundle: int = 0) -> list[str]:
        """The town collects ``count`` new records and sends them to its district (merged
        there); return their record ids."""
        factory = self.deltas(town)
        district = self.hubs[TOWNS[town][2]]
        ids = [record_id(start + i, salt=town) for i in range(count)]
        size = per_bundle or count
        town_code = factory.node.subject.split("-")[0]
        for first in range(0, count, size):
            ops = [
                factory.create(rid, self.person(factory, town_code))
                for rid in ids[first : first + size]
            ]
            bundle, _ = factory.bundle(ops, to=self.pki[TOWNS[town][2]])
            result = submit(district, bundle)
            assert result.status == "accepted", result.error
        drain(district)
        return ids

    def person(self, factory: DeltaFactory, town_code: str) -> dict[str, object]:
        """A new person: random data, an ID number nobody in the tree has yet (so a
        collection is clean unless a test makes a duplicate on purpose)."""
        while True:
            record = factory.record(town_code)
            if record["id_number"] not in self.people:
                self.people.add(str(record["id_number"]))
                return record

    def package(self, name: str) -> list[PackageInfo]:
        return build_packages(self.hubs[name])

    def deliver(self, name: str) -> list[IntakeResult]:
        """Upload the hub's sealed packages to its parent in process, as a sync does:
        each answer's receipt goes back through the port; then the parent drains."""
        ctx = self.hubs[name]
        parent = self.hubs[HUBS[name][1] or ""]
        port = HubSyncPort(ctx, NoDown(parent, ctx.site))
        results = []
        for item in port.outgoing():
            result = submit(parent, port.mark_sent(item.bundle_id))
            results.append(result)
            if result.receipt is not None:
                port.take_receipt(item.bundle_id, result.receipt.to_dict())
        drain(parent)
        return results

    def up(self, *names: str) -> None:
        """Package and deliver, hub after hub (bottom up)."""
        for name in names:
            self.package(name)
            self.deliver(name)

    def records(self, name: str) -> dict[str, dict[str, Any]]:
        with self.hubs[name].store.read() as session:
            return {
                r.record_id: {"data": r.data, "versions": r.versions, "status": r.status}
                for r in session.scalars(sa.select(RecordRow))
            }

    def up_bundles(self, name: str) -> list[UpBundle]:
        with self.hubs[name].store.read() as session:
            return list(session.scalars(sa.select(UpBundle).order_by(UpBundle.seq)))

    def close(self) -> None:
        for ctx in self.hubs.values():
            ctx.store.dispose()


def build_tree(root: Path, pki: Pki, names: Iterable[str], **settings: Any) -> UpTree:
    tree = UpTree(pki=pki, root=root)
    for name in names:
        tree.add_hub(name, **settings.get(name, {}))
    return tree
