"""Sites below the hub for the console: children and their certificates, enrollment
requests, revocation, and each child's streams (up: bundles it sent; down: what
the hub queued for it).

The decisions are :mod:`hub.sites`'s (which issues certificates with the hub's
name constraint, audits, and sends revocation lists down); this module limits
them to administrators and to the account's scope: a request, certificate or
stream outside it does not exist for the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from hub.accounts import AccountInfo, require
from hub.console.errors import FormError
from hub.context import HubContext
from hub.scope import certificate_in_scope, request_in_scope, sees_site, sees_subject
from hub.sites import (
    EnrollmentInfo,
    SiteInfo,
    approve_enrollment,
    list_enrollments,
    list_sites,
    refuse_enrollment,
    revoke,
)
from hub.store.models import BundleRow, CertificateRow, DownBundle, StreamRow
from hub.streams import stream_gaps
from protocol.trust import RevocationReason

__all__ = [
    "REVOCATION_REASONS",
    "OwnCertificate",
    "SitesPage",
    "StreamStatus",
    "approve_request",
    "refuse_request",
    "revoke_certificate",
    "sites_page",
]

#: Reasons an administrator may give for a revocation, in the order the form offers them.
REVOCATION_REASONS: Final = tuple(r.value for r in RevocationReason)
_MAX_REASON: Final = 2000
#: Enrollment requests decided already that the page still lists.
_DECIDED_SHOWN: Final = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStatus:
    """Where one child's streams stand.

    Attributes:
        child: the node or hub id.
        last_seq: the last bundle accepted in order from it (0: none yet).
        last_received: when its newest bundle arrived.
        states: how many of its bundles are in each state.
        parked: sequence numbers waiting beyond a gap.
        missing: the sequence numbers the gap is made of.
        down_last_seq: the last bundle the hub queued for it.
        down_waiting: down bundles it has not acknowledged yet.
        down_refused: down bundles it refused.
    """

    child: str
    last_seq: int
    last_received: datetime | None
    states: tuple[tuple[str, int], ...]
    parked: tuple[int, ...]
    missing: tuple[int, ...]
    down_last_seq: int
    down_waiting: int
    down_refused: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnCertificate:
    """One of the hub's own certificates (from its parent)."""

    serial: str
    issuer: str
    not_after: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SitesPage:
    children: tuple[SiteInfo, ...]
    pending: tuple[EnrollmentInfo, ...]
    decided: tuple[EnrollmentInfo, ...]
    streams: tuple[StreamStatus, ...]
    own: tuple[OwnCertificate, ...]


def _streams(ctx: HubContext, account: AccountInfo) -> tuple[StreamStatus, ...]:
    with ctx.store.read() as session:
        positions = {
            s.sender: s.last_seq
            for s in session.scalars(sa.select(StreamRow).where(StreamRow.recipient == ctx.site))
        }
        counts: dict[str, dict[str, int]] = {}
        last: dict[str, datetime] = {}
        for sender, state, number, newest in session.execute(
            sa.select(
                BundleRow.sender,
                BundleRow.state,
                sa.func.count(),
                sa.func.max(BundleRow.received_at),
            )
            .where(BundleRow.sender.is_not(None))
            .group_by(BundleRow.sender, BundleRow.state)
        ):
            child = str(sender)
            counts.setdefault(child, {})[state] = int(number)
            if child not in last or newest > last[child]:
                last[child] = newest
        down: dict[str, tuple[int, int, int]] = {}
        for recipient, top, waiting, refused in session.execute(
            sa.select(
                DownBundle.recipient,
                sa.func.max(DownBundle.seq),
                sa.func.sum(sa.case((DownBundle.state == "queued", 1), else_=0)),
                sa.func.sum(sa.case((DownBundle.state == "refused", 1), else_=0)),
            ).group_by(DownBundle.recipient)
        ):
            down[recipient] = (int(top or 0), int(waiting or 0), int(refused or 0))
        gaps = {g.sender: g for g in stream_gaps(session) if g.recipient == ctx.site}
    children = sorted(
        c for c in set(positions) | set(counts) | set(down) if sees_subject(account, c)
    )
    out = []
    for child in children:
        gap = gaps.get(child)
        top, waiting, refused = down.get(child, (0, 0, 0))
        out.append(
            StreamStatus(
                child=child,
                last_seq=positions.get(child, 0),
                last_received=last.get(child),
                states=tuple(sorted(counts.get(child, {}).items())),
                parked=gap.parked if gap else (),
                missing=gap.missing if gap else (),
                down_last_seq=top,
                down_waiting=waiting,
                down_refused=refused,
            )
        )
    return tuple(out)


def _own(ctx: HubContext) -> tuple[OwnCertificate, ...]:
    with ctx.store.read() as session:
        rows = session.scalars(
            sa.select(CertificateRow)
            .where(CertificateRow.subject == ctx.site, CertificateRow.role == "hub")
            .order_by(CertificateRow.not_before.desc(), CertificateRow.not_after.desc())
        ).all()
        return tuple(
            OwnCertificate(
                serial=r.serial, issuer=r.issuer, not_after=r.not_after, revoked_at=r.revoked_at
            )
            for r in rows
        )


def sites_page(ctx: HubContext, account: AccountInfo) -> SitesPage:
    """Children, requests, streams and the hub's own certificates, inside the scope.

    Raises:
        ForbiddenError: the account's role may not manage sites.
    """
    require(account, "manage_sites")
    requests = [e for e in list_enrollments(ctx) if sees_site(account, e.site)]
    decided = sorted(
        (e for e in requests if e.state != "pending"), key=lambda e: e.received_at, reverse=True
    )
    return SitesPage(
        children=tuple(s for s in list_sites(ctx) if sees_site(account, s.site)),
        pending=tuple(e for e in requests if e.state == "pending"),
        decided=tuple(decided[:_DECIDED_SHOWN]),
        streams=_streams(ctx, account),
        own=_own(ctx),
    )


def _request_in_scope(ctx: HubContext, account: AccountInfo, ident: str) -> None:
    with ctx.store.read() as session:
        request_in_scope(session, account, ident)


def approve_request(ctx: HubContext, account: AccountInfo, ident: str) -> str:
    """Issue the certificate a pending request asks for; return its serial.

    Raises:
        ForbiddenError: the account may not manage sites.
        NotFoundError: no such request inside the account's scope.
        AlreadyDecidedError: the request was decided already.
    """
    require(account, "manage_sites")
    _request_in_scope(ctx, account, ident)
    return approve_enrollment(ctx, ident, by=account.login).serial


def _reason(text: str, what: str) -> str:
    reason = text.strip()
    if not reason:
        raise FormError(f"{what}: expected a reason, got none", key="sites.error.reason_missing")
    if len(reason) > _MAX_REASON:
        raise FormError(
            f"{what}: expected at most {_MAX_REASON} characters, got {len(reason)}",
            key="sites.error.reason_long",
        )
    return reason


def refuse_request(ctx: HubContext, account: AccountInfo, ident: str, reason: str) -> None:
    """Refuse a pending request with a reason.

    Raises:
        ForbiddenError: the account may not manage sites.
        FormError: the reason is empty or too long.
        NotFoundError: no such request inside the account's scope.
        AlreadyDecidedError: the request was decided already.
    """
    require(account, "manage_sites")
    text = _reason(reason, "refusal")
    _request_in_scope(ctx, account, ident)
    refuse_enrollment(ctx, ident, by=account.login, reason=text)


def revoke_certificate(ctx: HubContext, account: AccountInfo, serial: str, reason: str) -> int:
    """Revoke a certificate this hub issued; return the new revocation list's number.

    Raises:
        ForbiddenError: the account may not manage sites.
        FormError: the reason is not one of :data:`REVOCATION_REASONS`.
        NotFoundError: no such certificate inside the account's scope.
        AlreadyDecidedError: it is revoked already.
    """
    require(account, "manage_sites")
    if reason not in REVOCATION_REASONS:
        raise FormError(
            f"revocation reason: expected one of {', '.join(REVOCATION_REASONS)}",
            key="sites.error.revocation_reason",
        )
    with ctx.store.read() as session:
        certificate_in_scope(session, account, ctx.site, serial)
    return revoke(ctx, serial, reason=RevocationReason(reason), by=account.login).number
