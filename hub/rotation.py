"""Key rotation: a parent certifying a child's new keys, and a hub rolling its own.

*At the parent.* A rotation request (:mod:`protocol.trust.rotation`) arrives like an
enrollment request (``POST /api/v1/enrollments``, or a file). When the old key signed
it and the old certificate is one this hub issued, for the same subject and role, valid
now, the new certificate is issued at once (:func:`submit_rotation`): the old key's
holder is who asks, so no administrator has to decide. The old certificate stays valid
until it expires or is revoked as ``superseded`` (``muster hub revoke``).

*At the hub that rolls its keys* (``muster hub rotate-keys``): :func:`begin_hub_rotation`
makes new keys in ``keys/next/`` (the old age identity kept as retired) and the
request; :func:`finish_hub_rotation` installs the parent's answer and, before the new
key signs anything, re-certifies with it every child and person this hub certified
(same keys, same expiry, new serials: the old certificates chain through the old key,
which will be superseded) and sends the new certificates down in a ``trust`` bundle
signed with the old key, which the children still trust. Then the new keystore
replaces the old one; the hub restarts on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from crypto.keys import KeyPair
from crypto.keystore import KDF_MODERATE, KdfCost, open_keystore, seal_keystore
from crypto.sign import SigningKey
from hub.audit import append_audit
from hub.config import HubConfig
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.escrow import install_escrow
from hub.sites import (
    EnrollmentInfo,
    approve_enrollment,
    enrollment_status,
    list_enrollments,
    submit_enrollment,
)
from hub.store.models import CertificateRow, EnrollmentRow
from hub.trust import install_certificates, install_revocation_list
from hub.trustflow import trust_down, trust_recipients
from hub.upward.parent import parent_of
from node.errors import ConflictError, NotEnrolledError
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, rotated_secrets
from protocol.divisions import contains
from protocol.errors import NameConstraintError
from protocol.trust import Certificate, Role, issue_certificate, newest_certificate
from protocol.trust.enrollment import EnrollmentAnswer, verify_answer
from protocol.trust.rotation import (
    ROTATION_TYPE,
    RotationRequest,
    new_keys_rotation_request,
    verify_rotation,
)

__all__ = [
    "ROTATION_FILE",
    "begin_hub_rotation",
    "finish_hub_rotation",
    "parent_site",
    "recertify",
    "submit_any",
    "submit_rotation",
]

#: The rotation request a hub writes for its parent.
ROTATION_FILE: Final = "rotation-request.json"
_NEXT: Final = "next"


def submit_any(ctx: HubContext, data: bytes) -> EnrollmentInfo:
    """An enrollment request, or a rotation request (answered at once when valid).

    Raises:
        TrustError, NameConstraintError: as :func:`submit_enrollment` and
            :func:`submit_rotation`.
    """
    try:
        kind = json.loads(data).get("type")
    except (ValueError, AttributeError, RecursionError):
        kind = None  # not a rotation request: the enrollment's reader says what is wrong
    if kind == ROTATION_TYPE:
        return submit_rotation(ctx, data)
    return submit_enrollment(ctx, data)


def submit_rotation(ctx: HubContext, data: bytes) -> EnrollmentInfo:
    """Certify a child's new keys, vouched for by its old key (a resend answers the same).

    Raises:
        TrustError: malformed; the old certificate is unknown, not valid now, or for
            another subject, role or key; or the old key did not sign it.
        NameConstraintError: this hub did not issue the old certificate.
    """
    rotation = RotationRequest.from_bytes(data)
    request = rotation.request
    now = ctx.now()
    with ctx.store.read() as session:
        old = verify_rotation(rotation, ctx.trust(session), now)
    if old.issuer != ctx.site or not contains(ctx.site, request.site):
        raise NameConstraintError(
            f"rotation of {request.subject}: certificate {old.serial} was not issued here"
        )
    ident = hashlib.blake2b(rotation.to_bytes(), digest_size=16).hexdigest()
    with ctx.store.write() as session:
        if session.get(EnrollmentRow, ident) is None:
            session.add(
                EnrollmentRow(
                    id=ident,
                    subject=request.subject,
                    site=request.site,
                    role=request.role.value,
                    name=request.name,
                    statement=request.to_bytes().decode("utf-8"),
                    received_at=now,
                    state="pending",
                )
            )
            append_audit(
                session,
                at=now,
                actor=request.subject,
                action="rotation.received",
                subject=ident,
                details={"old": old.serial},
            )
    state, _answer, _reason = enrollment_status(ctx, ident)
    if state == "pending":
        approve_enrollment(ctx, ident, by=f"{request.subject}:rotation")
    return _info_of(ctx, ident)


def _info_of(ctx: HubContext, ident: str) -> EnrollmentInfo:
    found = [info for info in list_enrollments(ctx) if info.id == ident]
    if not found:
        raise NotFoundError(f"no enrollment request {ident}")
    return found[0]


def _next_dir(config: HubConfig) -> KeyDir:
    return KeyDir(config.keys_dir / _NEXT)


def begin_hub_rotation(
    ctx: HubContext, passphrase: bytes, *, cost: KdfCost = KDF_MODERATE
) -> bytes:
    """Make the hub's new keys (kept apart until the answer) and its rotation request.

    Returns:
        The request's bytes (also written to ``DATA/rotation-request.json``).

    Raises:
        NotEnrolledError: the hub holds no certificate for its key.
        WrongPassphraseError: the passphrase does not open the keystore.
    """
    with ctx.store.read() as session:
        own = [
            c
            for c in ctx.trust(session).find(ctx.site, ctx.keys.signing.public_key.key_id)
            if c.role is Role.HUB
        ]
    if not own:
        raise NotEnrolledError(f"hub {ctx.site} holds no certificate for its key: enroll first")
    current = newest_certificate(own)
    keys = KeyDir(ctx.config.keys_dir)
    old = open_keystore(keys.keystore.read_bytes(), passphrase)
    new = KeyPair.generate(secrets.token_bytes)
    target = _next_dir(ctx.config)
    target.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(
        target.keystore,
        seal_keystore(rotated_secrets(new, old), passphrase, rng=secrets.token_bytes, cost=cost),
        mode=0o600,
    )
    data = new_keys_rotation_request(
        new,
        old_key=ctx.keys.signing,
        old_serial=current.serial,
        subject=ctx.site,
        role=Role.HUB,
        name=ctx.config.name,
        at=ctx.now(),
    ).to_bytes()
    write_atomic(ctx.config.data_dir / ROTATION_FILE, data, mode=0o644)
    return data


def finish_hub_rotation(ctx: HubContext, passphrase: bytes, answer_data: bytes) -> Certificate:
    """Install the parent's answer for the new keys, re-certify the children with them,
    tell the children, and make the new keys the hub's. Return the new certificate.

    The caller restarts the hub afterwards (its context holds the old keys).

    Raises:
        ConflictError: no rotation was begun.
        TrustError: the answer does not certify the new keys, or its chain fails.
        WrongPassphraseError: the passphrase does not open the new keystore.
    """
    target = _next_dir(ctx.config)
    if not target.keystore.exists():
        raise ConflictError("no key rotation is waiting: run `muster hub rotate-keys` first")
    new = target.unlock(passphrase)
    answer = EnrollmentAnswer.from_bytes(answer_data)
    now = ctx.now()
    verify_answer(
        answer,
        anchor=ctx.anchor,
        subject=ctx.site,
        role=Role.HUB,
        sign_key=new.signing.public_key,
        age=new.age.recipient,
        at=now,
    )
    with ctx.store.write() as session:
        install_certificates(session, answer.certificates, source="chain")
        for crl in answer.crls:
            install_revocation_list(ctx, session, crl)
        if answer.escrow is not None:
            install_escrow(ctx, session, answer.escrow)
        renewed = recertify(ctx, session, issuer_key=new.signing, now=now)
        install_certificates(session, renewed, source="issued")
        # Signed with the old key, which the children still trust: afterwards they know
        # the new one and their own certificates under it.
        sent = trust_down(
            ctx, session, [answer.certificate, *renewed], recipients=trust_recipients(ctx, session)
        )
        append_audit(
            session,
            at=now,
            actor=ctx.site,
            action="hub.rotated",
            subject=answer.certificate.serial,
            details={"renewed": len(renewed), "children": len(sent)},
        )
    os.replace(target.keystore, ctx.config.keys_dir / "keystore.json")
    KeyDir(ctx.config.keys_dir).write_public(new, ctx.site)
    shutil.rmtree(target.path, ignore_errors=True)
    (ctx.config.data_dir / ROTATION_FILE).unlink(missing_ok=True)
    return answer.certificate


def recertify(
    ctx: HubContext, session: sa.orm.Session, *, issuer_key: SigningKey, now: datetime
) -> list[Certificate]:
    """Every unexpired, unrevoked certificate this hub issued with another key, issued
    again under ``issuer_key`` (same subject, keys, role and expiry; new serial)."""
    key_id = issuer_key.public_key.key_id
    rows = session.scalars(
        sa.select(CertificateRow).where(
            CertificateRow.issuer == ctx.site, CertificateRow.revoked_at.is_(None)
        )
    ).all()
    renewed = []
    for row in rows:
        cert = Certificate.from_bytes(row.statement)
        if cert.issuer_key_id == key_id or cert.not_after <= now:
            continue
        renewed.append(
            issue_certificate(
                issuer_key=issuer_key,
                issuer=ctx.site,
                serial=secrets.token_hex(16),
                subject=cert.subject,
                role=cert.role,
                sign_key=cert.sign_key,
                age=cert.age,
                # Newer than the old one, so it is the one a party names as its own;
                # bundles made before stay valid under the old one until it goes.
                not_before=max(cert.not_before, now - timedelta(minutes=5)),
                not_after=cert.not_after,
                name=cert.name,
            )
        )
    return renewed


def parent_site(ctx: HubContext) -> str:
    """The hub a rotation request goes to.

    Raises:
        NotEnrolledError: the province (its parent is the root: the key ceremony) or a
            hub not enrolled yet.
    """
    with ctx.store.read() as session:
        parent = parent_of(ctx, session)
    if parent is None:
        raise NotEnrolledError(
            f"hub {ctx.site} has no parent hub: the province's new keys are certified in "
            "the key ceremony (`muster root certify`)"
        )
    return parent
