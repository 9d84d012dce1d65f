"""Installing trust material in the store: certificates and revocation lists."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from hub.context import HubContext, bump_trust_version
from hub.store.models import CertificateRow, RevocationRow
from protocol.trust import Certificate, RevocationList

__all__ = ["install_certificates", "install_revocation_list"]


def install_certificates(session: Session, certs: Iterable[Certificate], *, source: str) -> int:
    """Store certificates not known yet (by serial); return how many were new.

    ``source`` is ``chain`` (the hub's own chain), ``issued`` (by this hub) or
    ``bundle`` (received from a parent or child). Chains are validated when used.
    """
    added = 0
    for cert in certs:
        if session.get(CertificateRow, cert.serial) is not None:
            continue
        session.add(
            CertificateRow(
                serial=cert.serial,
                subject=cert.subject,
                site=cert.site,
                role=cert.role.value,
                issuer=cert.issuer,
                not_before=cert.not_before,
                not_after=cert.not_after,
                source=source,
                statement=cert.to_bytes().decode("utf-8"),
            )
        )
        added += 1
    if added:
        session.flush()
        bump_trust_version(session)
    return added


def install_revocation_list(ctx: HubContext, session: Session, crl: RevocationList) -> bool:
    """Keep ``crl`` if it is newer than the issuer's list we hold; return whether it was.

    Raises:
        TrustError: the list's issuer is unknown or its signature fails.
    """
    ctx.trust(session).with_revocation_list(crl)  # checks the signature
    row = session.get(RevocationRow, crl.issuer)
    if row is not None and row.number >= crl.number:
        return False
    text = crl.to_bytes().decode("utf-8")
    if row is None:
        session.add(RevocationRow(issuer=crl.issuer, number=crl.number, statement=text))
    else:
        row.number, row.statement = crl.number, text
    for entry in crl.entries:
        cert = session.get(CertificateRow, entry.serial)
        if cert is not None and cert.issuer == crl.issuer:
            cert.revoked_at, cert.revocation_reason = entry.revoked_at, entry.reason.value
    session.flush()
    bump_trust_version(session)
    return True
