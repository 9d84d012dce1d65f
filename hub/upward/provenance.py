"""Provenance as the hub keeps it and passes it on (docs/federation.md §2–3).

Every manifest a bundle carried is kept (``manifests``, linked to the bundle row): a
delta's own manifest, and every manifest of a package (origin batches, the packages of
the hubs below, the package's own). The resolution ops a reviewer made here get a
manifest of their own when they are first packaged, authorised by whoever authorises
the package. A package then carries, for its ops:

- the kept manifests that hold at least one of them (:func:`carried_manifests`);
- the certificates a receiver needs to check those manifests and to find the hubs on
  the way: each signer's and each origin's certificate with its issuers, issuers first
  (:func:`certificates_for`);
- the revocation lists issued inside this hub's jurisdiction (:func:`crls_below`).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.store.models import ManifestRow, RevocationRow
from hub.upward.adminkey import AdminSigner
from hub.upward.oplog import LoggedOp, op_ids_of
from protocol.divisions import contains
from protocol.entries import Manifest
from protocol.errors import TrustError
from protocol.trust import (
    Authorisation,
    Certificate,
    RevocationList,
    Role,
    TrustStore,
    authorise,
    site_of,
)
from protocol.trust.statement import canonical_json

__all__ = [
    "carried_manifests",
    "certificates_for",
    "crls_below",
    "keep_manifest",
    "manifest_of",
    "resolution_manifest",
]

_ID_BYTES = 16


def keep_manifest(
    session: Session, *, bundle: int, source: str, manifest: Manifest, auth: Authorisation
) -> None:
    """Keep a manifest and its authorisation, linked to ``bundle`` (in the caller's
    transaction: kept if, and only if, the bundle's merge commits)."""
    session.add(
        ManifestRow(
            bundle=bundle,
            source=source,
            batch_id=manifest.batch_id,
            origin=manifest.origin,
            signer=auth.by,
            signed_at=auth.signed_at,
            op_count=len(manifest.op_ids),
            op_ids=b"".join(bytes.fromhex(op_id) for op_id in manifest.op_ids),
            auth=canonical_json(auth.to_dict()).decode("utf-8"),
        )
    )


def manifest_of(row: ManifestRow) -> Manifest:
    """A kept manifest as the protocol's value (its authorisation included)."""
    ids = row.op_ids
    return Manifest(
        batch_id=row.batch_id,
        origin=row.origin,
        op_ids=tuple(ids[i : i + _ID_BYTES].hex() for i in range(0, len(ids), _ID_BYTES)),
        auth=Authorisation.from_dict(row.auth),
    )


def _holds_any(row: ManifestRow, wanted: set[bytes]) -> bool:
    ids = row.op_ids
    return any(ids[i : i + _ID_BYTES] in wanted for i in range(0, len(ids), _ID_BYTES))


def carried_manifests(session: Session, ops: Sequence[LoggedOp]) -> list[Manifest]:
    """The kept manifests of the bundles ``ops`` were merged from that hold any of them.

    Raises:
        TrustError: an op has no kept manifest at all (it cannot be given provenance).
    """
    wanted = {bytes.fromhex(op.op_id) for op in ops}
    bundles = sorted({op.bundle for op in ops})
    found: list[Manifest] = []
    covered: set[bytes] = set()
    for start in range(0, len(bundles), 500):
        rows = session.scalars(
            sa.select(ManifestRow)
            .where(ManifestRow.bundle.in_(bundles[start : start + 500]))
            .order_by(ManifestRow.id)
        ).all()
        for row in rows:
            if _holds_any(row, wanted):
                manifest = manifest_of(row)
                found.append(manifest)
                covered.update(bytes.fromhex(op_id) for op_id in manifest.op_ids)
    missing = next((op for op in ops if bytes.fromhex(op.op_id) not in covered), None)
    if missing is not None:
        raise TrustError(
            f"op {missing.op_id} (bundle row {missing.bundle}) has no kept manifest: "
            "it cannot be given provenance"
        )
    return found


def resolution_manifest(
    session: Session, *, site: str, bundle: int, signer: AdminSigner, at: datetime
) -> bool:
    """Give the resolution ops made for ``bundle`` their manifest, if they have none yet;
    return whether one was made. Every resolution op of the bundle is listed, so the
    manifest is the same whichever package carries them."""
    exists = session.scalar(
        sa.select(ManifestRow.id).where(
            ManifestRow.bundle == bundle, ManifestRow.source == "resolution"
        )
    )
    if exists is not None:
        return False
    op_ids = op_ids_of(session, bundle=bundle, source="resolution")
    if not op_ids:
        return False
    batch_id = secrets.token_hex(16)
    auth = authorise(
        key=signer.key, by=signer.subject, batch_id=batch_id, origin=site, op_ids=op_ids,
        signed_at=at,
    )  # fmt: skip
    manifest = Manifest(batch_id=batch_id, origin=site, op_ids=op_ids, auth=auth)
    keep_manifest(session, bundle=bundle, source="resolution", manifest=manifest, auth=auth)
    session.flush()
    return True


class _Index:
    """The trust store's certificates by subject and by (subject, key id)."""

    def __init__(self, store: TrustStore) -> None:
        self.anchor = store.anchor.subject
        self.by_subject: defaultdict[str, list[Certificate]] = defaultdict(list)
        self.by_key: defaultdict[tuple[str, bytes], list[Certificate]] = defaultdict(list)
        for cert in store.certificates:
            self.by_subject[cert.subject].append(cert)
            self.by_key[(cert.subject, cert.sign_key.key_id)].append(cert)

    def chain(self, cert: Certificate) -> list[Certificate]:
        """``cert`` and its issuers, root-most first (not validated: the receiver does)."""
        found = [cert]
        current = cert
        while current.issuer != self.anchor and len(found) < 8:
            issuers = self.by_key.get((current.issuer, current.issuer_key_id))
            if not issuers:
                break
            current = issuers[0]
            found.append(current)
        return found[::-1]


def certificates_for(store: TrustStore, manifests: Iterable[Manifest]) -> list[Certificate]:
    """The certificates a receiver needs for ``manifests``: signers' and origins', each
    after its issuers, once each."""
    index = _Index(store)
    result: dict[str, Certificate] = {}

    def add(cert: Certificate) -> None:
        for link in index.chain(cert):
            result.setdefault(link.serial, link)

    seen_signers: set[tuple[str, bytes]] = set()
    seen_origins: set[str] = set()
    for manifest in manifests:
        auth = manifest.auth
        if auth is not None and (auth.by, auth.key_id) not in seen_signers:
            seen_signers.add((auth.by, auth.key_id))
            for cert in index.by_key.get((auth.by, auth.key_id), ()):
                add(cert)
        if manifest.origin not in seen_origins:
            seen_origins.add(manifest.origin)
            for cert in index.by_subject.get(manifest.origin, ()):
                if cert.role in (Role.NODE, Role.HUB):
                    add(cert)
    return list(result.values())


def crls_below(session: Session, site: str) -> list[RevocationList]:
    """The revocation lists issued inside ``site``'s jurisdiction (its own included)."""
    found: list[RevocationList] = []
    for issuer, text in session.execute(sa.select(RevocationRow.issuer, RevocationRow.statement)):
        try:
            inside = contains(site, site_of(issuer))
        except TrustError:
            continue
        if inside:
            found.append(RevocationList.from_bytes(text))
    return found
