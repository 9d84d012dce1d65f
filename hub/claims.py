"""Claiming work from the database, so several hub processes can share one store.

A worker claims the oldest bundle waiting in ``received``, ``verified`` or
``approved`` whose lease has run out, by writing its name and a lease into the row
(PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never pick the same
row; SQLite: under the single writer lock). The step that then does the work re-reads
the row ``FOR UPDATE`` in its own transaction and goes on only while the claim is
still its own (:func:`hold`): a worker whose lease ran out and was taken over has its
whole transaction rolled back, so every bundle is merged exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.errors import ClaimLostError
from hub.faults import fault
from hub.states import BundleState
from hub.store.models import BundleRow

__all__ = [
    "RETRY_SECONDS",
    "WORK_STATES",
    "Claim",
    "claim_next",
    "give_back",
    "hold",
    "release",
    "release_all_on_sqlite",
    "retry_soon",
]

_log = logging.getLogger("muster.hub.claims")

#: A step that failed for a reason outside the bundle (a full disk, a lost database
#: connection) is tried again after this long rather than after the whole lease.
RETRY_SECONDS: Final = 60

#: States in which a bundle waits for a worker.
WORK_STATES: Final = (BundleState.RECEIVED, BundleState.VERIFIED, BundleState.APPROVED)


@dataclass(frozen=True, slots=True)
class Claim:
    row_id: int
    state: BundleState


def claim_next(ctx: HubContext) -> Claim | None:
    """Claim the oldest bundle with work to do, or return None (always once the hub
    is stopping: a claim taken then would be given up at once, or wait for its lease)."""
    if ctx.stopping.is_set():
        return None
    now = ctx.now()
    with ctx.store.write() as session:
        query = (
            sa.select(BundleRow.id, BundleRow.state)
            .where(
                BundleRow.state.in_([s.value for s in WORK_STATES]),
                sa.or_(BundleRow.lease_until.is_(None), BundleRow.lease_until < now),
            )
            .order_by(BundleRow.id)
            .limit(1)
        )
        if ctx.store.is_postgres:
            query = query.with_for_update(skip_locked=True)
        found = session.execute(query).first()
        if found is None:
            return None
        session.execute(
            sa.update(BundleRow)
            .where(BundleRow.id == found.id)
            .values(
                claimed_by=ctx.worker,
                lease_until=now + timedelta(seconds=ctx.config.claim_lease_seconds),
                attempts=BundleRow.attempts + 1,
            )
        )
    fault("claim.taken")
    return Claim(found.id, BundleState(found.state))


def hold(session: Session, row_id: int, worker: str) -> BundleRow:
    """Lock a claimed row for this transaction; refuse if the claim is no longer ours.

    Raises:
        ClaimLostError: another worker took the bundle over.
    """
    row = session.get(BundleRow, row_id, with_for_update=True, populate_existing=True)
    if row is None or row.claimed_by != worker:
        raise ClaimLostError(f"bundle row {row_id}: claimed by another worker now")
    return row


def retry_soon(ctx: HubContext, claim: Claim) -> None:
    """Shorten our lease on a bundle whose step failed (its transaction rolled back),
    so that a worker tries it again in :data:`RETRY_SECONDS`.

    Best effort: the store may be what failed, and then the lease ends on its own.
    """
    seconds = min(RETRY_SECONDS, ctx.config.claim_lease_seconds)
    _change_claim(ctx, claim, lease_until=ctx.now() + timedelta(seconds=seconds))


def give_back(ctx: HubContext, claim: Claim) -> None:
    """End our claim on a bundle whose step was given up (its transaction rolled back,
    the bundle still in the state it was claimed in) because the hub is stopping, so
    that the next start, or another process, claims it at once rather than after the
    lease.

    Best effort: if this write fails too, the lease ends on its own (and a SQLite hub
    ends every claim when it starts).
    """
    _change_claim(ctx, claim, claimed_by=None, lease_until=None)


def _change_claim(ctx: HubContext, claim: Claim, **values: object) -> None:
    """Update our claim's row, if it is still ours; a failure is logged, not raised."""
    try:
        with ctx.store.write() as session:
            session.execute(
                sa.update(BundleRow)
                .where(BundleRow.id == claim.row_id, BundleRow.claimed_by == ctx.worker)
                .values(**values)
            )
    except Exception as exc:  # the store failing too: the lease ends on its own
        _log.warning("bundle row %s: claim not changed (%s)", claim.row_id, type(exc).__name__)


def release(row: BundleRow) -> None:
    """End the claim (in the transaction that finishes the step)."""
    row.claimed_by, row.lease_until = None, None


def release_all_on_sqlite(ctx: HubContext) -> int:
    """At start on SQLite, end every claim: a SQLite hub is one process, so any claim left
    in the store belongs to a process that died. (PostgreSQL hubs wait for the lease.)"""
    if not ctx.store.is_sqlite:
        return 0
    with ctx.store.write() as session:
        result = session.execute(
            sa.update(BundleRow)
            .where(BundleRow.claimed_by.is_not(None))
            .values(claimed_by=None, lease_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)
