"""Trust material in the store: certificates and revocation lists, and the trust store
built from them and the root anchor.

Certificates are kept whatever their state (a receipt signed last month must still be
checkable); the checks of ``protocol.trust`` decide at each use whether one is good.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.store.models import CertificateRow, RevocationRow
from protocol.trust import Certificate, RevocationList, TrustAnchor, TrustStore

__all__ = ["load_trust", "save_certificates", "save_revocation_list"]


def load_trust(session: Session, anchor: TrustAnchor) -> TrustStore:
    """The trust store of the certificates and revocation lists held in the store."""
    certs = [
        Certificate.from_bytes(data)
        for data in session.execute(select(CertificateRow.data)).scalars()
    ]
    store = TrustStore(anchor).with_certificates(certs)
    for data in session.execute(select(RevocationRow.data)).scalars():
        store = store.with_revocation_list(RevocationList.from_bytes(data))
    return store


def save_certificates(session: Session, certificates: Iterable[Certificate]) -> int:
    """Store certificates not held yet; return how many were new."""
    added = 0
    for cert in certificates:
        if session.get(CertificateRow, cert.serial) is None:
            session.add(
                CertificateRow(
                    serial=cert.serial,
                    subject=cert.subject,
                    role=cert.role.value,
                    not_after=cert.not_after,
                    data=cert.to_bytes().decode("utf-8"),
                )
            )
            added += 1
    return added


def save_revocation_list(session: Session, store: TrustStore, crl: RevocationList) -> TrustStore:
    """Check a revocation list's signature and keep it if it is the issuer's newest.

    Raises:
        TrustError: the issuer is unknown or the signature does not verify.
    """
    updated = store.with_revocation_list(crl)
    row = session.get(RevocationRow, crl.issuer)
    data = crl.to_bytes().decode("utf-8")
    if row is None:
        session.add(RevocationRow(issuer=crl.issuer, number=crl.number, data=data))
    elif crl.number > row.number:
        row.number, row.data = crl.number, data
    return updated
