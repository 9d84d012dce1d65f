"""Intake: store the raw bundle first, then verify it, place it in its stream, answer.

The order is fixed (docs/hub.md "Intake"):

1. the bytes go to ``DATA/bundles/<hash>.bundle`` (atomically) and a ``received`` row
   is committed: from here on nothing the sender sent can be lost;
2. a resend of a bundle already held answers ``duplicate`` with the original receipt;
3. the intake checks of :mod:`hub.verify` run;
4. stream order (:mod:`hub.streams`): accepted, parked, or a conflict;
5. the verdict, its signed receipt and an audit entry are committed together.

A refusal changes nothing else: no stream position, no record, no other bundle.
A bundle that fails before its signature verified (steps 1–3) has its file removed,
so junk cannot fill the disk; the row and the audit entry remain.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import sqlalchemy as sa

from crypto.errors import MusterError
from hub.audit import append_audit
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.faults import fault
from hub.rawstore import StoredFile, bundle_path
from hub.review import decisions_down
from hub.states import HELD, BundleState, Event, transition
from hub.store.models import BundleRow
from hub.streams import Promotion, place, raise_alert
from hub.verify import peek_header, verify_intake
from protocol.bundle import BundleHeader
from protocol.entries import DecisionStatus
from protocol.errors import (
    BadSignatureError,
    BundleTooLargeError,
    HeaderSyntaxError,
    StreamError,
    TrustError,
)
from protocol.trust import Receipt, ReceiptStatus, issue_receipt

__all__ = ["IntakeResult", "take_in", "verify_row"]

_log = logging.getLogger("muster.hub.intake")
_UNAUTHENTICATED: Final = (BundleTooLargeError, HeaderSyntaxError, BadSignatureError)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntakeResult:
    """The answer to a sender.

    Attributes:
        status: ``accepted`` (stored; parked ones too), ``duplicate`` or ``rejected``.
        row_id: the bundle's row.
        receipt: the signed receipt, when the sender could be identified.
        error: why it was rejected.
        parked: accepted beyond a gap in its stream.
    """

    status: str
    row_id: int
    receipt: Receipt | None = None
    error: MusterError | None = None
    parked: bool = False


def take_in(ctx: HubContext, stored: StoredFile, *, source: str) -> IntakeResult:
    """Record a stored bundle file and verify it (steps 2–5 above)."""
    fault("intake.file_written")
    now = ctx.now()
    lease = now + timedelta(seconds=ctx.config.claim_lease_seconds)
    with ctx.store.write() as session:
        row = session.execute(
            sa.select(BundleRow)
            .where(BundleRow.bundle_hash == stored.bundle_hash)
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            row = BundleRow(
                bundle_hash=stored.bundle_hash,
                size=stored.size,
                source=source,
                received_at=now,
                state=BundleState.RECEIVED.value,
                attempts=0,
                claimed_by=ctx.worker,
                lease_until=lease,
            )
            session.add(row)
            session.flush()
        elif row.state == BundleState.REJECTED.value and not _was_accepted(row):
            # Refused at intake: the reason may have passed (a certificate installed
            # since), so look again. One refused after it was accepted (at staging or by
            # a reviewer) is a duplicate: its sender holds a receipt and a decision.
            row.state = transition(row.state, Event.RESEND)
            row.received_at, row.claimed_by, row.lease_until = now, ctx.worker, lease
        elif row.state != BundleState.RECEIVED.value:
            return _duplicate(row)
        row_id = row.id
    fault("intake.row_inserted")
    return verify_row(ctx, row_id)


def _was_accepted(row: BundleRow) -> bool:
    return row.receipt is not None and (
        Receipt.from_bytes(row.receipt).status is ReceiptStatus.ACCEPTED
    )


def _duplicate(row: BundleRow) -> IntakeResult:
    receipt = Receipt.from_bytes(row.receipt) if row.receipt else None
    return IntakeResult(
        status="duplicate",
        row_id=row.id,
        receipt=receipt,
        parked=row.state == BundleState.PARKED.value,
    )


def verify_row(ctx: HubContext, row_id: int) -> IntakeResult:
    """Verify a ``received`` bundle and commit the verdict (also run by workers after a crash)."""
    with ctx.store.read() as session:
        trust = ctx.trust(session)
        row = session.get(BundleRow, row_id)
        assert row is not None
        path = bundle_path(ctx.config.bundles_dir, row.bundle_hash)
    now = ctx.now()
    error: MusterError | None = None
    checked = None
    try:
        checked = verify_intake(path, site=ctx.site, store=trust, now=now, limits=ctx.config.limits)
    except MusterError as exc:
        error = exc
    except FileNotFoundError:
        error = HeaderSyntaxError("bundle file is missing from the store")
    header = checked.header if checked else peek_header(path, ctx.config.limits)
    fault("intake.before_verdict")
    with ctx.store.write() as session:
        row = session.get(BundleRow, row_id, with_for_update=True)
        assert row is not None
        if row.state != BundleState.RECEIVED.value:
            return _duplicate(row)  # another worker decided meanwhile
        if header is not None:
            _fill_header(row, header)
        if checked is not None and checked.auth is not None:
            row.batch_id, row.approver = checked.auth.batch_id, checked.auth.by
        result = _verdict(ctx, session, row, header, error)
        row.claimed_by, row.lease_until = None, None
    fault("intake.after_verdict")
    if result.status == "rejected" and isinstance(error, _UNAUTHENTICATED):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return result


def _fill_header(row: BundleRow, header: BundleHeader) -> None:
    row.bundle_id, row.kind, row.sender = header.bundle_id, header.kind.value, header.sender
    row.recipient, row.seq, row.prev = header.recipient, header.seq, header.prev
    row.created, row.count = header.created, header.count


def _verdict(
    ctx: HubContext,
    session: sa.orm.Session,
    row: BundleRow,
    header: BundleHeader | None,
    error: MusterError | None,
) -> IntakeResult:
    now = ctx.now()
    if error is None:
        promotions: list[Promotion] = []
        decision = place(session, row, on_promotion=promotions.append)
        verdict = decision.verdict.value
        if verdict == "conflict":
            error = StreamError(
                f"bundle {row.bundle_id} from {row.sender}: {decision.reason}",
                seq=row.seq,
            )
            raise_alert(
                session,
                at=now,
                kind="stream_conflict",
                subject=row.sender or "",
                bundle=row.id,
                message=error.message,
            )
        elif verdict in ("accept", "park", "duplicate"):
            event = Event.PARK if verdict == "park" else Event.ACCEPT
            row.state = transition(row.state, event)
            receipt = _receipt(ctx, row, ReceiptStatus.ACCEPTED)
            row.receipt = receipt.to_bytes().decode("utf-8") if receipt else None
            row.reason = decision.reason or None
            append_audit(
                session,
                at=now,
                actor=row.sender or "?",
                action=f"intake.{row.state}",
                subject=row.bundle_id or row.bundle_hash[:32],
                details={
                    "row": row.id,
                    "seq": row.seq,
                    "kind": row.kind,
                    "count": row.count,
                    "size": row.size,
                },
            )
            for promotion in promotions:
                _record_promotion(ctx, session, promotion)
            _log.info("bundle %s from %s: %s", row.bundle_id, row.sender, row.state)
            return IntakeResult(
                status="accepted",
                row_id=row.id,
                receipt=receipt,
                parked=row.state == BundleState.PARKED.value,
            )
    assert error is not None
    row.state = transition(row.state, Event.REFUSE)
    row.reason, row.reason_code = error.message[:2000], error.code
    receipt = _receipt(ctx, row, ReceiptStatus.REJECTED, error) if header else None
    row.receipt = receipt.to_bytes().decode("utf-8") if receipt else None
    append_audit(
        session,
        at=now,
        actor=row.sender or "?",
        action="intake.rejected",
        subject=row.bundle_id or row.bundle_hash[:32],
        details={"row": row.id, "code": error.code, "size": row.size},
    )
    _log.warning("bundle %s rejected: %s", row.bundle_id or row.bundle_hash[:16], error.code)
    return IntakeResult(status="rejected", row_id=row.id, receipt=receipt, error=error)


def _record_promotion(ctx: HubContext, session: sa.orm.Session, promotion: Promotion) -> None:
    parked = session.get(BundleRow, promotion.row_id)
    assert parked is not None
    now = ctx.now()
    action = "intake.promoted" if promotion.promoted else "intake.rejected"
    if not promotion.promoted:
        raise_alert(
            session,
            at=now,
            kind="stream_conflict",
            subject=parked.sender or "",
            bundle=parked.id,
            message=promotion.reason,
        )
        # Its sender holds an accepted receipt for it: only a decision can say otherwise.
        with contextlib.suppress(NotFoundError):
            decisions_down(
                ctx,
                session,
                parked,
                status=DecisionStatus.REJECTED,
                by=ctx.site,
                reason=promotion.reason,
            )
    append_audit(
        session,
        at=now,
        actor="system",
        action=action,
        subject=parked.bundle_id or "",
        details={"row": parked.id, "seq": parked.seq},
    )
    fault("verify.parked_promoted")


def _receipt(
    ctx: HubContext, row: BundleRow, status: ReceiptStatus, error: MusterError | None = None
) -> Receipt | None:
    if row.bundle_id is None or row.sender is None or row.seq is None:
        return None
    try:
        return issue_receipt(
            key=ctx.keys.signing,
            bundle_id=row.bundle_id,
            bundle_hash=row.bundle_hash,
            sender=row.sender,
            receiver=ctx.site,
            seq=row.seq,
            status=status,
            received_at=ctx.now(),
            reason=error.message if error else "",
            reason_code=error.code if error else "",
        )
    except TrustError:
        return None  # a sender id no receipt can name: answer without one


HELD_STATES: Final = HELD
