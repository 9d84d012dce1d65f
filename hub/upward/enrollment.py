"""A hub's enrollment with its parent: installing the answer, from a file or online.

``muster hub init`` writes the hub's self-signed request (role ``hub``); the parent's
administrator approves it (hub/sites.py issues the certificate, name constraints
included); the hub installs the answer: ``muster hub enroll FILE`` from a USB stick, or
``muster hub enroll-parent --url URL``, which posts the request to the parent's API
(``POST /api/v1/enrollments``, idempotent: the parent names a request by its hash) and
installs the answer once an administrator approved it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from hub.context import HubContext
from hub.escrow import install_escrow
from hub.runtime import load_anchor
from hub.trust import install_certificates, install_revocation_list
from node.services.client import HubClient, RetryPolicy
from protocol.trust import Role
from protocol.trust.enrollment import EnrollmentAnswer, verify_answer

__all__ = ["EnrollmentOutcome", "enroll_online", "install_answer"]


def install_answer(ctx: HubContext, answer: EnrollmentAnswer, *, at: datetime) -> int:
    """Check that ``answer`` certifies this hub's keys as a hub, chained to the root
    anchor at ``at``; install its certificates, revocation lists and escrow statement.
    Return how many certificates were new.

    Raises:
        TrustError: the answer is for other keys or another subject, or its chain does
            not validate (a subclass says which check failed).
    """
    verify_answer(
        answer,
        anchor=load_anchor(ctx.config),
        subject=ctx.site,
        role=Role.HUB,
        sign_key=ctx.keys.signing.public_key,
        age=ctx.keys.age.recipient,
        at=at,
    )
    with ctx.store.write() as session:
        added = install_certificates(session, answer.certificates, source="chain")
        for crl in answer.crls:
            install_revocation_list(ctx, session, crl)
        if answer.escrow is not None:
            install_escrow(ctx, session, answer.escrow)
    return added


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentOutcome:
    """Where an online enrollment stands: ``pending``, ``approved`` (and installed) or
    ``refused`` (with the parent's reason)."""

    status: str
    request_id: str
    installed: int = 0
    reason: str = ""


async def enroll_online(
    ctx: HubContext, url: str, request: bytes, *, retry: RetryPolicy | None = None
) -> EnrollmentOutcome:
    """Send the hub's request to its parent at ``url`` (again: the parent answers the same
    request with the same id) and install the answer once it is approved.

    Raises:
        HubUnreachableError, HubResponseError: the parent did not answer as the API says.
        TrustError: the answer does not certify this hub.
    """
    async with HubClient(
        url, subject=ctx.site, key=ctx.keys.signing, now=ctx.now, retry=retry
    ) as client:
        ident = await client.post_enrollment(request)
        poll = await client.enrollment(ident)
    if poll.status != "approved" or poll.answer is None:
        return EnrollmentOutcome(status=poll.status, request_id=ident, reason=poll.reason)
    answer = EnrollmentAnswer.from_bytes(json.dumps(poll.answer))
    added = install_answer(ctx, answer, at=ctx.now())
    return EnrollmentOutcome(status="approved", request_id=ident, installed=added)
