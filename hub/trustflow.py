"""Trust across levels: certificates and revocation lists down to every descendant, and up.

*Down.* A hub sends a ``trust`` bundle (``cert`` and ``crl`` entries) to each of its
children (:func:`trust_down`): after revoking a certificate it issued
(:func:`hub.sites.revoke`), after its own key rotation (its new certificate,
hub/rotation.py). A child hub installs what it gets and passes the same entries to its
own children under its own key (:mod:`hub.reissue`), so a revocation reaches every
node below within one sync cycle. Every receiver enforces it at intake: its trust
store holds the list, so a bundle signed by the revoked key after the revocation time
(any time, for ``key_compromise``) fails step 4 of docs/protocol.md.

*The revoked party itself* is turned away from uploads at once, but it may still list
and fetch what its parent sealed for it up to the revocation, and every ``trust``
bundle (:func:`verify_down_caller`): so an honest hub learns of its own revocation (or
its parent's) in the same sync and passes the list to the sites below it, which then
refuse whatever its key signs afterwards. Bundles are sealed to the child's key, so
this reveals nothing to anyone else.

*Up.* Packages carry the revocation lists issued inside the sender's jurisdiction
(hub/upward/provenance.py ``crls_below``), and the parent installs them
(hub/package_intake.py). So that a revocation goes up within one sync cycle even when
no op waits, a hub builds a package when a list below is newer than the last one it
sent up (:func:`crls_waiting`, :func:`mark_crls_sent`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.context import HubContext, get_state, set_state
from hub.downward import queue_down
from hub.errors import NotFoundError
from hub.store.models import CertificateRow, RevocationRow
from protocol.bundle import BundleKind
from protocol.divisions import contains
from protocol.errors import CertificateRevokedError, TrustError
from protocol.requestauth import Caller, verify_request
from protocol.trust import Certificate, RevocationList, Role, TrustStore, site_of

__all__ = [
    "crls_waiting",
    "mark_crls_sent",
    "trust_down",
    "trust_recipients",
    "verify_down_caller",
]

_SENT_KEY: Final = "crl_up:"


def trust_recipients(ctx: HubContext, session: Session) -> tuple[str, ...]:
    """Every node and hub this hub ever certified: a revoked child still learns of it."""
    subjects = session.scalars(
        sa.select(CertificateRow.subject)
        .where(
            CertificateRow.issuer == ctx.site,
            CertificateRow.role.in_([Role.NODE.value, Role.HUB.value]),
        )
        .distinct()
    )
    return tuple(sorted(subjects))


def trust_down(
    ctx: HubContext,
    session: Session,
    entries: Sequence[Certificate | RevocationList],
    *,
    recipients: Iterable[str] | None = None,
) -> tuple[str, ...]:
    """Queue a ``trust`` bundle of ``entries`` for every child; return who got one.

    A child the hub cannot seal to (no certificate with an age recipient) is skipped.
    """
    sent = []
    for child in recipients if recipients is not None else trust_recipients(ctx, session):
        try:
            queue_down(ctx, session, recipient=child, kind=BundleKind.TRUST, entries=entries)
        except (NotFoundError, TrustError):
            continue
        sent.append(child)
    return tuple(sent)


def _below(ctx: HubContext, session: Session) -> list[tuple[str, int]]:
    found = []
    for issuer, number in session.execute(sa.select(RevocationRow.issuer, RevocationRow.number)):
        try:
            inside = contains(ctx.site, site_of(issuer))
        except TrustError:
            continue
        if inside:
            found.append((issuer, number))
    return found


def crls_waiting(ctx: HubContext, session: Session) -> bool:
    """Whether a revocation list issued at or below this hub is newer than the last one
    sent up (then a package must go up even without ops)."""
    return any(
        number > int(get_state(session, _SENT_KEY + issuer) or "0")
        for issuer, number in _below(ctx, session)
    )


def mark_crls_sent(session: Session, crls: Iterable[RevocationList]) -> None:
    """Note the lists a package carries up (in the package's transaction)."""
    for crl in crls:
        key = _SENT_KEY + crl.issuer
        if crl.number > int(get_state(session, key) or "0"):
            set_state(session, key, str(crl.number))


def verify_down_caller(
    ctx: HubContext, header: str | None, *, method: str, target: str, body: bytes = b""
) -> tuple[Caller, datetime | None]:
    """Check a signed request to a down endpoint (list, fetch, receipt).

    Returns:
        The caller, and None; or, for a caller whose certificate (or an issuer's) is
        revoked, the caller and the time of the earliest such revocation: it may fetch
        what was sealed for it until then, and every trust bundle.

    Raises:
        RequestAuthError, TrustError: as :func:`protocol.requestauth.verify_request`,
            for anything but a revocation.
    """
    with ctx.store.read() as session:
        store = ctx.trust(session)
    now = ctx.now()

    def check(trust: TrustStore) -> Caller:
        return verify_request(
            header,
            method=method,
            target=target,
            body=body,
            store=trust,
            now=now,
            max_skew=timedelta(seconds=ctx.config.request_skew_seconds),
        )

    try:
        return check(store), None
    except CertificateRevokedError:
        bare = TrustStore(store.anchor, store.certificates)
        caller = check(bare)
    chain = bare.validate(caller.certificate, now)
    times = [
        entry.revoked_at
        for cert in chain
        if (crl := store.revocations.get(cert.issuer)) is not None
        and (entry := crl.find(cert.serial)) is not None
    ]
    return caller, min(times) if times else now
