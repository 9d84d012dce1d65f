"""Provenance: every op a hub passes upward traces to an authorisation at its origin,
and through every hub on the way (docs/federation.md §3).

A package carries, besides its ops, the *manifests* of every batch those ops came in:
the origin batch (authorised by an ``approver`` of the node, or by an ``admin`` of a
hub for resolutions and baselines made there) and the package manifest of each hub
that passed the ops on (authorised by an ``admin`` of that hub). Which hubs are "on the
way" is not guessed from division codes: it is the issuer chain of the origin's own
certificate, because a node or hub is always certified by the hub it sends to. So for
an op made at node ``370102001-01`` (certified by district hub ``370102``, certified by
city hub ``370100``) arriving at the province in the city's package, the province
requires manifests containing the op from the node (approver), from ``370102`` (admin)
and from ``370100`` (admin, the package itself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from protocol.entries import Manifest
from protocol.errors import ProvenanceError, TrustError
from protocol.ops import Op
from protocol.trust.authorisation import verify_authorisation
from protocol.trust.certificate import Certificate, Role
from protocol.trust.store import TrustStore

__all__ = ["ProvenanceIndex", "is_node", "verify_provenance"]


@dataclass(frozen=True, slots=True)
class ProvenanceIndex:
    """Manifests indexed by origin and op id; each manifest's authorisation checked once."""

    by_origin: Mapping[str, tuple[Manifest, ...]]
    containing: Mapping[str, tuple[Manifest, ...]] = field(repr=False)

    @classmethod
    def build(cls, manifests: Iterable[Manifest], *, store: TrustStore) -> ProvenanceIndex:
        """Index ``manifests`` after verifying each one's authorisation.

        Raises:
            ProvenanceError: a manifest has no authorisation, or it does not verify.
        """
        by_origin: defaultdict[str, list[Manifest]] = defaultdict(list)
        containing: defaultdict[str, list[Manifest]] = defaultdict(list)
        for manifest in manifests:
            _verify_manifest(manifest, store)
            by_origin[manifest.origin].append(manifest)
            for op_id in manifest.op_ids:
                containing[op_id].append(manifest)
        return cls(
            by_origin={k: tuple(v) for k, v in by_origin.items()},
            containing={k: tuple(v) for k, v in containing.items()},
        )


def _verify_manifest(manifest: Manifest, store: TrustStore) -> None:
    auth = manifest.auth
    if auth is None:
        raise ProvenanceError(
            f"manifest of batch {manifest.batch_id} from {manifest.origin} carries no "
            "authorisation",
            batch=manifest.batch_id,
        )
    role = Role.APPROVER if is_node(manifest.origin) else Role.ADMIN
    try:
        verify_authorisation(
            auth, op_ids=list(manifest.op_ids), store=store, origin=manifest.origin, role=role
        )
    except TrustError as exc:
        raise ProvenanceError(
            f"manifest of batch {manifest.batch_id} from {manifest.origin}: {exc.message}",
            batch=manifest.batch_id,
        ) from exc


def is_node(subject: str) -> bool:
    """Nodes carry a machine suffix (``370102001-01``); hubs are a bare site code."""
    return "-" in subject


def hubs_on_the_way(origin: str, receiver: str, store: TrustStore) -> tuple[str, ...]:
    """The hubs an op from ``origin`` must have passed to reach ``receiver``, nearest first.

    Follows the issuer chain of the origin's certificate up to (not including)
    ``receiver``.

    Raises:
        ProvenanceError: the origin has no certificate, or its chain does not pass
            through ``receiver``.
    """
    certs = store.certificates_of(origin)
    if not certs:
        raise ProvenanceError(f"origin {origin} holds no certificate known here")
    chain: list[str] = []
    current: Certificate = certs[0]
    for _ in range(8):
        issuer = current.issuer
        if issuer == receiver:
            return tuple(chain)
        issuer_certs = [c for c in store.certificates_of(issuer) if c.role is Role.HUB]
        if not issuer_certs:
            break
        chain.append(issuer)
        current = issuer_certs[0]
    raise ProvenanceError(f"origin {origin} is not below {receiver} in the certificate tree")


def verify_provenance(
    ops: Iterable[Op],
    *,
    index: ProvenanceIndex,
    receiver: str,
    sender: str,
    store: TrustStore,
) -> int:
    """Check that every op traces to its origin's authorisation and through every hub
    between its origin and ``receiver`` (the package's ``sender`` included).

    Returns the number of ops checked.

    Raises:
        ProvenanceError: naming the first op without valid provenance.
    """
    paths: dict[str, tuple[str, ...]] = {}
    count = 0
    for op in ops:
        count += 1
        holders = index.containing.get(op.op_id, ())
        origins = {m.origin for m in holders}
        if op.site not in origins:
            raise ProvenanceError(
                f"op {op.op_id} of record {op.record_id}: no authorised batch from its "
                f"origin {op.site}",
                op=op.op_id,
            )
        path = paths.get(op.site)
        if path is None:
            path = hubs_on_the_way(op.site, receiver, store)
            if sender not in path and sender != op.site:
                raise ProvenanceError(
                    f"op {op.op_id}: origin {op.site} is not below the sender {sender}",
                    op=op.op_id,
                )
            paths[op.site] = path
        for hub in path:
            if hub not in origins:
                raise ProvenanceError(
                    f"op {op.op_id} of record {op.record_id}: hub {hub} on the way from "
                    f"{op.site} did not authorise it",
                    op=op.op_id,
                )
    return count


def manifests_for(ops: Sequence[Op], manifests: Iterable[Manifest]) -> list[Manifest]:
    """The manifests that hold at least one of ``ops`` (what a package must carry)."""
    wanted = {op.op_id for op in ops}
    return [m for m in manifests if wanted.intersection(m.op_ids)]
