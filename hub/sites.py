"""Sites below this hub: enrollment requests, certificates, revocation.

- A new node, approver, administrator or child hub sends a self-signed enrollment
  request (``POST /api/v1/enrollments``, or a file). It is kept ``pending``.
- An administrator approves it: the hub issues a certificate with its own key
  (:func:`protocol.trust.issue_certificate`), for a subject inside its jurisdiction
  only (the name constraint every receiver checks again), valid
  ``certificate_days``. The answer carries the new certificate, the hub's own chain
  up to the root-issued one, and the revocation lists the hub holds.
- Or refuses it, with a reason.
- Revoking a certificate this hub issued makes a new revocation list (numbered, signed
  by the hub), installs it, and queues it down to every child as a ``trust`` bundle.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext, get_state, set_state
from hub.errors import AlreadyDecidedError, NotFoundError
from hub.escrow import escrow_statement
from hub.store.models import CertificateRow, EnrollmentRow, RevocationRow
from hub.trust import install_certificates, install_revocation_list
from hub.trustflow import trust_down
from protocol.divisions import contains
from protocol.errors import NameConstraintError
from protocol.trust import (
    Certificate,
    RevocationList,
    RevocationReason,
    Revoked,
    Role,
    issue_certificate,
    issue_revocation_list,
    newest_certificate,
)
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest

__all__ = [
    "EnrollmentInfo",
    "SiteInfo",
    "approve_enrollment",
    "enrollment_answer",
    "enrollment_status",
    "list_enrollments",
    "list_sites",
    "refuse_enrollment",
    "revoke",
    "submit_enrollment",
]

_CRL_NUMBER = "crl_number"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentInfo:
    id: str
    subject: str
    site: str
    role: str
    name: str
    state: str
    received_at: datetime
    reason: str | None = None
    serial: str | None = None


def _info(row: EnrollmentRow) -> EnrollmentInfo:
    return EnrollmentInfo(
        id=row.id,
        subject=row.subject,
        site=row.site,
        role=row.role,
        name=row.name,
        state=row.state,
        received_at=row.received_at,
        reason=row.reason,
        serial=row.serial,
    )


def submit_enrollment(ctx: HubContext, data: bytes) -> EnrollmentInfo:
    """Keep a self-signed request (a resend of the same request returns the same one).

    Raises:
        TrustError: malformed, or its self-signature fails.
        NameConstraintError: the subject lies outside this hub's jurisdiction.
    """
    request = EnrollmentRequest.from_bytes(data)
    if not contains(ctx.site, request.site) or request.subject == ctx.site:
        raise NameConstraintError(
            f"enrollment of {request.subject}: outside {ctx.site}'s jurisdiction"
        )
    ident = hashlib.blake2b(request.to_bytes(), digest_size=16).hexdigest()
    with ctx.store.write() as session:
        row = session.get(EnrollmentRow, ident)
        if row is None:
            row = EnrollmentRow(
                id=ident,
                subject=request.subject,
                site=request.site,
                role=request.role.value,
                name=request.name,
                statement=request.to_bytes().decode("utf-8"),
                received_at=ctx.now(),
                state="pending",
            )
            session.add(row)
            append_audit(
                session,
                at=ctx.now(),
                actor=request.subject,
                action="enrollment.received",
                subject=ident,
                details={"role": request.role.value},
            )
        return _info(row)


def list_enrollments(ctx: HubContext, state: str | None = None) -> list[EnrollmentInfo]:
    with ctx.store.read() as session:
        query = sa.select(EnrollmentRow).order_by(EnrollmentRow.received_at)
        if state:
            query = query.where(EnrollmentRow.state == state)
        return [_info(r) for r in session.scalars(query)]


def _pending(session: Session, ident: str) -> EnrollmentRow:
    row = session.get(EnrollmentRow, ident, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no enrollment request {ident[:32]}")
    if row.state != "pending":
        raise AlreadyDecidedError(f"enrollment request {ident} is {row.state} already")
    return row


def approve_enrollment(ctx: HubContext, ident: str, *, by: str) -> Certificate:
    """Issue the certificate a pending request asks for.

    Raises:
        NotFoundError, AlreadyDecidedError: no such request, or decided already.
    """
    now = ctx.now()
    with ctx.store.write() as session:
        row = _pending(session, ident)
        request = EnrollmentRequest.from_bytes(row.statement)
        cert = issue_certificate(
            issuer_key=ctx.keys.signing,
            issuer=ctx.site,
            serial=secrets.token_hex(16),
            subject=request.subject,
            role=request.role,
            sign_key=request.sign_key,
            age=request.age,
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=ctx.config.certificate_days),
            name=request.name,
        )
        install_certificates(session, [cert], source="issued")
        row.state, row.serial, row.decided_by, row.decided_at = "approved", cert.serial, by, now
        append_audit(
            session,
            at=now,
            actor=by,
            action="enrollment.approved",
            subject=ident,
            details={"serial": cert.serial, "role": cert.role.value},
        )
        return cert


def refuse_enrollment(ctx: HubContext, ident: str, *, by: str, reason: str) -> None:
    """Raises:
    NotFoundError, AlreadyDecidedError: no such request, or decided already.
    """
    with ctx.store.write() as session:
        row = _pending(session, ident)
        row.state, row.reason, row.decided_by, row.decided_at = (
            "refused",
            reason[:2000],
            by,
            ctx.now(),
        )
        append_audit(session, at=ctx.now(), actor=by, action="enrollment.refused", subject=ident)


def enrollment_answer(ctx: HubContext, session: Session, cert: Certificate) -> EnrollmentAnswer:
    """The answer for a certificate this hub issued: it, the hub's chain, the CRLs, and
    the province's escrow statement (so the child seals to the recovery key too)."""
    store = ctx.trust(session)
    own = [
        c
        for c in store.certificates_of(ctx.site)
        if c.role is Role.HUB and c.sign_key == ctx.keys.signing.public_key
    ]
    chain: tuple[Certificate, ...] = ()
    if own:
        newest = newest_certificate(own)
        chain = store.validate(newest, ctx.now())
    crls = tuple(
        RevocationList.from_bytes(text)
        for text in session.scalars(sa.select(RevocationRow.statement))
    )
    return EnrollmentAnswer(
        certificates=(cert, *chain), crls=crls, escrow=escrow_statement(session)
    )


def enrollment_status(
    ctx: HubContext, ident: str
) -> tuple[str, EnrollmentAnswer | None, str | None]:
    """``(state, answer when approved, reason when refused)``.

    Raises:
        NotFoundError: no such request.
    """
    with ctx.store.read() as session:
        row = session.get(EnrollmentRow, ident)
        if row is None:
            raise NotFoundError(f"no enrollment request {ident[:32]}")
        if row.state != "approved" or row.serial is None:
            return row.state, None, row.reason
        cert_row = session.get(CertificateRow, row.serial)
        assert cert_row is not None
        return (
            row.state,
            enrollment_answer(ctx, session, Certificate.from_bytes(cert_row.statement)),
            None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteInfo:
    """A subject this hub certified, with its newest certificate."""

    subject: str
    site: str
    role: str
    name: str
    serial: str
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: str | None


def list_sites(ctx: HubContext) -> list[SiteInfo]:
    with ctx.store.read() as session:
        rows = session.scalars(
            sa.select(CertificateRow)
            .where(CertificateRow.issuer == ctx.site)
            .order_by(CertificateRow.subject, CertificateRow.not_after)
        ).all()
    newest: dict[str, CertificateRow] = {}
    for row in rows:
        newest[row.subject] = row
    return [
        SiteInfo(
            subject=r.subject,
            site=r.site,
            role=r.role,
            name=Certificate.from_bytes(r.statement).name,
            serial=r.serial,
            not_after=r.not_after,
            revoked_at=r.revoked_at,
            revocation_reason=r.revocation_reason,
        )
        for r in newest.values()
    ]


def revoke(ctx: HubContext, serial: str, *, reason: RevocationReason, by: str) -> RevocationList:
    """Revoke a certificate this hub issued; send the new list down to every child.

    Raises:
        NotFoundError: this hub issued no certificate with that serial.
        AlreadyDecidedError: it is revoked already.
    """
    now = ctx.now()
    with ctx.store.write() as session:
        row = session.get(CertificateRow, serial, with_for_update=True)
        if row is None or row.issuer != ctx.site:
            raise NotFoundError(f"no certificate {serial[:32]} issued by {ctx.site}")
        if row.revoked_at is not None:
            raise AlreadyDecidedError(f"certificate {serial} is revoked already")
        row.revoked_at, row.revocation_reason = now, reason.value
        revoked = session.scalars(
            sa.select(CertificateRow).where(
                CertificateRow.issuer == ctx.site, CertificateRow.revoked_at.is_not(None)
            )
        ).all()
        number = int(get_state(session, _CRL_NUMBER) or "0") + 1
        set_state(session, _CRL_NUMBER, str(number))
        crl = issue_revocation_list(
            issuer_key=ctx.keys.signing,
            issuer=ctx.site,
            number=number,
            issued_at=now,
            entries=[
                Revoked(
                    serial=r.serial,
                    revoked_at=r.revoked_at or now,
                    reason=RevocationReason(r.revocation_reason or reason.value),
                )
                for r in revoked
            ],
        )
        install_revocation_list(ctx, session, crl)
        children = trust_down(ctx, session, [crl])
        append_audit(
            session,
            at=now,
            actor=by,
            action="certificate.revoked",
            subject=serial,
            details={"reason": reason.value, "crl": number, "children": len(children)},
        )
        return crl
