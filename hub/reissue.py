"""Applying work that came down (or was made here) and passing it on to the children.

A hub that receives a down bundle from its parent, or imports a baseline itself, does
two things with each entry, in one transaction (:class:`Reissue`):

- applies what is for itself: ops through the merge rules into its records (logged as
  op batches of the bundle row ``row``), blobs into ``blobs/``, certificates and
  revocation lists into its trust store;
- routes the entry to the children it concerns, to be sealed under this hub's key
  (:class:`hub.routing.DownRouter`):

  ======== ==============================================================
  entry    goes to
  ======== ==============================================================
  op       the children serving the record's site (a baseline record's
           site is its household registration's town)
  manifest with the first op of its batch each child receives (provenance)
  blob     the children that received an op referring to it
  cert/crl every child (trust reaches every descendant)
  problem  the children serving its ``division`` (or its record's site); listed
           here as a mirror (:mod:`hub.crosscheck.mirror`)
  closure  as its problem went; closes the mirror
  decision the children holding the records it names
  ======== ==============================================================

Nothing is committed here: the caller commits the records, the op log and the queued
child bundles together, so a failure anywhere leaves none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext, get_state, set_state
from hub.crosscheck.mirror import mirror_closure, mirror_problem
from hub.merge import apply_chunk
from hub.routing import HOUSEHOLD_FIELD, DownRouter, home_site
from hub.store.bulk import insert_op_batch
from hub.store.models import RecordRow
from hub.streams import raise_alert
from hub.trust import install_certificates, install_revocation_list
from node.errors import ForeignBundleError
from node.fsutil import write_atomic
from protocol.bundle import BundleKind
from protocol.divisions import parse_node_id
from protocol.entries import (
    Blob,
    Decision,
    DecisionStatus,
    Manifest,
    Problem,
    ProblemClosure,
)
from protocol.errors import TrustError
from protocol.hlc import HybridClock, Timestamp
from protocol.ops import Op, OpKind
from protocol.trust import Certificate, Receipt, RevocationList, site_of

__all__ = ["ReceiptHandler", "Reissue", "blob_refs"]

#: What to do with a parent's receipt for one of our packages (the upward agent's).
ReceiptHandler = Callable[[HubContext, Session, Receipt], None]
_HLC_KEY: Final = "hlc_last"


def blob_refs(op: Op) -> list[str]:
    """The blob ids an op's values refer to."""
    found: list[str] = []
    for _name, value in op.writes():
        items = value if isinstance(value, tuple) else (value,)
        found.extend(v for v in items if isinstance(v, str) and v.startswith("b2:"))
    return found


class Reissue:
    """One bundle's entries applied here and routed to the children (see the module doc).

    Args:
        ctx, session: the hub and the caller's transaction.
        kind: the kind of the bundles the children get.
        row: the bundle row the ops are logged under (created by the caller).
        source: the op batches' source (``parent``, or ``baseline`` for an import here).
        actor: who sent it (for audit entries and alerts).
        on_receipt: handles receipt entries (the parent's receipts for our packages).
    """

    def __init__(
        self,
        ctx: HubContext,
        session: Session,
        kind: BundleKind,
        *,
        row: Callable[[], int],
        source: str,
        actor: str,
        on_receipt: ReceiptHandler | None = None,
    ) -> None:
        self.ctx = ctx
        self.session = session
        self.kind = kind
        self._row = row
        self._source = source
        self._actor = actor
        self._on_receipt = on_receipt
        self.router = DownRouter(ctx, session, kind)
        self._ops: list[Op] = []
        self._chunk = 0
        self._manifests: list[Manifest] = []
        self._batch_of: dict[str, int] = {}
        self._manifest_sent: set[tuple[int, str]] = set()
        self._blobs_for: dict[str, set[str]] = {}
        self._blob_types: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.unrouted = 0

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def add(self, value: object) -> None:
        """Take one decoded entry."""
        if isinstance(value, Op):
            self._ops.append(value)
            if len(self._ops) >= self.ctx.config.merge_chunk_ops:
                self._flush()
        elif isinstance(value, Manifest):
            index = len(self._manifests)
            self._manifests.append(value)
            for op_id in value.op_ids:
                self._batch_of.setdefault(op_id, index)
        elif isinstance(value, Blob):
            self._blob(value)
        elif isinstance(value, Certificate | RevocationList):
            self._trust(value)
        elif isinstance(value, Problem):
            self._problem(value)
        elif isinstance(value, ProblemClosure):
            self._closure(value)
        elif isinstance(value, Decision):
            self._decision(value)
        elif isinstance(value, Receipt) and self._on_receipt is not None:
            self._on_receipt(self.ctx, self.session, value)
            self._count("receipt")
        else:
            raise ForeignBundleError(
                f"a {type(value).__name__} entry does not belong in a {self.kind} bundle "
                f"from {self._actor}"
            )

    def _flush(self) -> None:
        ops, self._ops = self._ops, []
        if not ops:
            return
        self._observe(ops)
        apply_chunk(self.session, ops, self.ctx.schema.field_policy())
        insert_op_batch(
            self.session,
            bundle=self._row(),
            source=self._source,
            chunk=self._chunk,
            canonical=[op.canonical_bytes for op in ops],
        )
        self._chunk += 1
        self._count("op", len(ops))
        sites = self._settle_sites(ops)
        for op in ops:
            self._route_op(op, sites.get(op.record_id))

    def end_batch(self) -> None:
        """The ops of the manifests seen so far are all in: apply them and forget the batch
        (a baseline import's batches are one town each; memory stays flat)."""
        self._flush()
        self._batch_of.clear()

    def _observe(self, ops: list[Op]) -> None:
        """Our clock moves past the ops' times, so resolutions made here come after them."""
        last = get_state(self.session, _HLC_KEY)
        clock = HybridClock(
            self.ctx.site,
            lambda: int(self.ctx.now().timestamp() * 1000),
            max_drift_ms=self.ctx.config.clock_max_drift_ms,
            last=Timestamp.decode(last) if last else None,
        )
        clock.observe(max((op.hlc for op in ops), key=lambda t: t.encode()))
        if clock.last is not None:
            set_state(self.session, _HLC_KEY, clock.last.encode())

    def _settle_sites(self, ops: list[Op]) -> dict[str, str]:
        """Record id → site; a new baseline record belongs to its household registration."""
        ids = sorted({op.record_id for op in ops})
        sites = dict(
            self.session.execute(
                sa.select(RecordRow.record_id, RecordRow.site).where(RecordRow.record_id.in_(ids))
            ).all()
        )
        if self.kind is not BundleKind.BASELINE:
            return sites
        moves: list[dict[str, str]] = []
        for op in ops:
            if op.kind is not OpKind.CREATE or sites.get(op.record_id) != _site_of(op):
                continue
            home = home_site(op.create_map().get(HOUSEHOLD_FIELD))
            if home is not None and home != sites[op.record_id]:
                moves.append({"rid": op.record_id, "home": home})
                sites[op.record_id] = home
        if moves:  # one executemany on the table (the ORM's bulk update is slower)
            table = RecordRow.__table__
            assert isinstance(table, sa.Table)
            self.session.execute(
                sa.update(table)
                .where(table.c.record_id == sa.bindparam("rid"))
                .values(site=sa.bindparam("home")),
                moves,
            )
        return sites

    def _route_op(self, op: Op, site: str | None) -> None:
        serving = self.router.directory.serving(site) if site else ()
        if not serving:
            self.unrouted += 1
            return
        index = self._batch_of.get(op.op_id)
        for child in serving:
            if index is not None and (index, child) not in self._manifest_sent:
                self._manifest_sent.add((index, child))
                self.router.add_to([child], self._manifests[index])
        self.router.add_to(serving, op)
        for ref in blob_refs(op):
            self._blobs_for.setdefault(ref, set()).update(serving)

    def _blob(self, blob: Blob) -> None:
        directory = self.ctx.config.blobs_dir
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / blob.blob_id.replace("b2:", "")
        if not path.exists():
            write_atomic(path, blob.data, mode=0o640)
        self._blob_types[blob.blob_id] = blob.media_type
        self._count("blob")

    def _trust(self, value: Certificate | RevocationList) -> None:
        if isinstance(value, Certificate):
            install_certificates(self.session, [value], source="bundle")
            self._count("cert")
        else:
            install_revocation_list(self.ctx, self.session, value)
            self._count("crl")
        self.router.add_to(self.router.directory.subjects, value)

    def _problem(self, problem: Problem) -> None:
        body = problem.body
        record = body.get("record", body.get("record_id"))
        self._count("problem")
        routed = self._route_finding(
            problem, body.get("division") or body.get(HOUSEHOLD_FIELD), record
        )
        origin = self._parent_site()
        if origin is not None:  # listed here too: what the offices owe the hubs above
            mirror_problem(self.session, problem, origin=origin, routed_to=routed,
                           at=self.ctx.now())  # fmt: skip

    def _closure(self, closure: ProblemClosure) -> None:
        # Routed as its problem was (by the same division, else the record's site), so it
        # reaches the machines that hold the item.
        self._count("closure")
        self._route_finding(closure, closure.division, closure.record_id)
        origin = self._parent_site()
        if origin is not None:
            mirror_closure(self.session, closure, origin=origin, at=self.ctx.now())

    def _route_finding(self, entry: object, division: object, record: object) -> str | None:
        """Route a finding's entry to the children serving it; the child site, if any."""
        site = home_site(division)
        if site is None:
            site = self._site_of_record(record) if isinstance(record, str) else None
        route = self.router.directory.route(site) if site else None
        if route is None:
            self.unrouted += 1
        self.router.add_to(route.node_ids if route else (), entry)
        return route.site_code if route else None

    def _parent_site(self) -> str | None:
        """The site of the hub above that sent this, or None (work made here)."""
        try:
            site = site_of(self._actor)
        except TrustError:
            return None
        return site if site != self.ctx.site else None

    def _site_of_record(self, record_id: str) -> str | None:
        return self.session.scalar(
            sa.select(RecordRow.site).where(RecordRow.record_id == record_id)
        )

    def _decision(self, decision: Decision) -> None:
        self._count("decision")
        if decision.status is DecisionStatus.REJECTED:
            raise_alert(
                self.session,
                at=self.ctx.now(),
                kind="up_rejected",
                subject=self._actor,
                bundle=None,
                message=f"{self._actor} rejected bundle "
                f"{decision.bundle_id}: {decision.reason[:500]}",
            )
        by_child: dict[str, list[str]] = {}
        for record_id in decision.record_ids:
            site = self._site_of_record(record_id)
            for child in self.router.directory.serving(site) if site else ():
                by_child.setdefault(child, []).append(record_id)
        for child, records in by_child.items():
            self.router.add_to([child], _narrowed(decision, records))

    def finish(self, *, about: int | None = None) -> dict[str, Any]:
        """Apply the last ops, route the blobs, and queue every child's bundles.

        Returns:
            What was done: counts by entry type, bundles queued per child, unrouted.
        """
        self._flush()
        # Blobs that came with this bundle go on with the ops that refer to them (a blob
        # that came earlier went on with its ops then).
        for blob_id, media_type in sorted(self._blob_types.items()):
            holders = self._blobs_for.get(blob_id)
            if holders:
                path = self.ctx.config.blobs_dir / blob_id.replace("b2:", "")
                blob = Blob(blob_id=blob_id, media_type=media_type, data=path.read_bytes())
                self.router.add_to(sorted(holders), blob)
        queued = self.router.seal(about=about)
        summary: dict[str, Any] = {
            **self.counts,
            "children": {child: len(rows) for child, rows in queued.items()},
            "unrouted": self.unrouted,
        }
        if self.unrouted:
            append_audit(
                self.session,
                at=self.ctx.now(),
                actor=self._actor,
                action="down.unrouted",
                subject=self.kind.value,
                details={"count": self.unrouted},
            )
        return summary

    def close(self) -> None:
        self.router.close()

    def add_all(self, values: Iterable[object]) -> None:
        for value in values:
            self.add(value)


def _site_of(op: Op) -> str:
    return parse_node_id(op.site).site_code


def _narrowed(decision: Decision, records: list[str]) -> Decision:
    return replace(decision, record_ids=tuple(sorted(records)))
