"""The pipeline steps a worker runs on a claimed bundle: verify, stage, merge.

- ``received`` → :func:`hub.intake.verify_row` (after a crash between storing and
  verifying; normally intake verifies at once).
- ``verified`` → :func:`stage`: one transaction runs the whole bundle through the
  merge (:func:`hub.stage.run_pass`). A clean bundle from a sender whose level
  auto-approves is committed there and then (``merged``); anything else is rolled
  back and only its findings are kept (``staged``, for review). A bundle whose content
  fails a check is ``rejected`` and its sender gets a ``decisions`` bundle saying why.
- ``approved`` → :func:`merge`: the same pass, committed, then the resolutions.

Each step commits its result, its audit entry and the end of its claim together, and
only while the claim is still the worker's (:func:`hub.claims.hold`): a crash or a
kill anywhere leaves the bundle where it was, to be claimed again. A hub that begins
to stop (``ctx.stopping``) gives a stage or merge up between two merge chunks
(:class:`~hub.errors.StoppingError`): the transaction is rolled back as a kill would
leave it, and the claim is given back so the next start takes the bundle at once.
"""

from __future__ import annotations

import logging
from typing import Any

from crypto.errors import MusterError
from hub.audit import append_audit
from hub.claims import Claim, claim_next, give_back, hold, release, retry_soon
from hub.context import HubContext
from hub.downward import acknowledge
from hub.errors import NotFoundError, StoppingError
from hub.faults import fault
from hub.intake import verify_row
from hub.merge import apply_chunk
from hub.package_intake import resolutions_down, run_package_pass
from hub.rawstore import bundle_path
from hub.review import Resolution, auto_approves, decisions_down, resolution_ops
from hub.stage import ItemSpool, Summary, run_pass
from hub.states import BundleState, Event, transition
from hub.store.bulk import insert_op_batch
from hub.store.models import BundleRow
from protocol.bundle import BundleKind, open_bundle
from protocol.entries import DecisionStatus, decode_entry
from protocol.errors import EntryError
from protocol.trust import CertificateTrust, Receipt

__all__ = ["merge", "process", "run_once", "stage"]

_log = logging.getLogger("muster.hub.pipeline")


def stage(ctx: HubContext, row_id: int) -> BundleState:
    """Stage a verified bundle; merge it at once if it is clean and auto-approved."""
    spool = ItemSpool(ctx.config.scratch_dir)
    try:
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            row = hold(session, row_id, ctx.worker)
            auto = auto_approves(ctx, row.sender or "")
            try:
                if row.kind == "receipt":
                    _receipts(ctx, session, row)
                    session.commit()
                    return BundleState.MERGED
                summary = _run_pass(ctx, session, row, spool, write_blobs=auto)
            except StoppingError:
                session.rollback()  # the bundle stays verified; run_once gives its claim back
                raise
            except MusterError as exc:
                session.rollback()
                return _fail(ctx, row_id, exc)
            fault("stage.before_commit")
            if auto and summary.clean:
                spool.store(session, row.id)
                _finish(
                    ctx,
                    session,
                    row,
                    Event.AUTO_MERGE,
                    summary=summary.to_dict(),
                    action="bundle.merged",
                )
                session.commit()
                fault("stage.after_commit")
                return BundleState.MERGED
            session.rollback()
        fault("stage.items_spooled")
        with ctx.store.write() as session:
            row = hold(session, row_id, ctx.worker)
            spool.store(session, row.id)
            _finish(
                ctx, session, row, Event.HOLD, summary=summary.to_dict(), action="bundle.staged"
            )
        return BundleState.STAGED
    finally:
        spool.close()


def merge(ctx: HubContext, row_id: int) -> BundleState:
    """Merge an approved bundle, then its resolutions, in one transaction."""
    spool = ItemSpool(ctx.config.scratch_dir)
    try:
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            row = hold(session, row_id, ctx.worker)
            try:
                summary = _run_pass(ctx, session, row, spool, write_blobs=True)
            except StoppingError:
                session.rollback()  # the bundle stays approved; run_once gives its claim back
                raise
            except MusterError as exc:
                session.rollback()
                return _fail(ctx, row_id, exc)
            fault("merge.chunk_applied")
            details: dict[str, Any] = dict(row.summary or {})
            resolutions = [Resolution.from_dict(r) for r in details.get("resolutions", [])]
            if resolutions:
                _resolve(ctx, session, row, resolutions)
            details["merged"] = summary.to_dict()
            fault("merge.before_commit")
            _finish(ctx, session, row, Event.MERGE, summary=details, action="bundle.merged")
            session.commit()
        fault("merge.after_commit")
        return BundleState.MERGED
    finally:
        spool.close()


def _resolve(ctx: HubContext, session: Any, row: BundleRow, resolutions: list[Resolution]) -> None:
    author = row.decided_by or "admin"
    ops = resolution_ops(ctx, session, resolutions, author=author)
    apply_chunk(session, ops, ctx.schema.field_policy())
    insert_op_batch(
        session,
        bundle=row.id,
        source="resolution",
        chunk=0,
        canonical=[op.canonical_bytes for op in ops],
        author=author,
    )
    fault("merge.resolutions_applied")
    if row.kind == BundleKind.PACKAGE.value:
        # A child hub's package: each child holding a touched record gets its ops.
        resolutions_down(ctx, session, row, ops, by=author)
    else:
        decisions_down(ctx, session, row, status=DecisionStatus.APPROVED, by=author, ops=ops)
    fault("merge.down_sealed")


def _run_pass(
    ctx: HubContext, session: Any, row: BundleRow, spool: ItemSpool, *, write_blobs: bool
) -> Summary:
    """Stage or merge a delta (hub/stage.py) or a child hub's package (hub/package_intake.py)."""
    run = run_package_pass if row.kind == BundleKind.PACKAGE.value else run_pass
    return run(ctx, session, row, spool, write_blobs=write_blobs)


def _finish(
    ctx: HubContext,
    session: Any,
    row: BundleRow,
    event: Event,
    *,
    summary: dict[str, Any],
    action: str,
) -> None:
    row.state = transition(row.state, event)
    row.summary = summary
    if row.state == BundleState.MERGED.value:
        row.merged_at = ctx.now()
    release(row)
    counts = {k: v for k, v in summary.items() if isinstance(v, int) and v}
    append_audit(
        session,
        at=ctx.now(),
        actor="system",
        action=action,
        subject=row.bundle_id or "",
        details={"row": row.id, **counts},
    )
    _log.info("bundle %s: %s", row.bundle_id, row.state)


def _fail(ctx: HubContext, row_id: int, error: MusterError) -> BundleState:
    with ctx.store.write() as session:
        row = hold(session, row_id, ctx.worker)
        row.state = transition(row.state, Event.FAIL)
        row.reason, row.reason_code = error.message[:2000], error.code
        release(row)
        try:
            decisions_down(
                ctx,
                session,
                row,
                status=DecisionStatus.REJECTED,
                by=ctx.site,
                reason=error.message[:2000],
            )
        except NotFoundError:
            # A sender we cannot seal to (no age recipient): the audit entry and the
            # bundle's reason still say why.
            _log.warning("bundle %s: no certificate to send the decision down to", row_id)
        append_audit(
            session,
            at=ctx.now(),
            actor="system",
            action="bundle.failed",
            subject=row.bundle_id or "",
            details={"row": row.id, "code": error.code},
        )
    _log.warning("bundle %s failed staging: %s", row_id, error.code)
    return BundleState.REJECTED


def _receipts(ctx: HubContext, session: Any, row: BundleRow) -> BundleState:
    """A ``receipt`` bundle (USB): the child's signed receipts for its down bundles."""
    trust = CertificateTrust(ctx.trust(session), row.received_at)
    count = 0
    with bundle_path(ctx.config.bundles_dir, row.bundle_hash).open("rb") as source:
        opened = open_bundle(
            source, trust=trust, identities=ctx.identities, limits=ctx.config.limits
        )
        for index, raw in enumerate(opened.entries()):
            receipt = decode_entry(raw, index)
            if not isinstance(receipt, Receipt):
                raise EntryError(f"entry {index}: a receipt bundle carries receipts only")
            receipt.verify_signature(opened.verified.signer)
            acknowledge(ctx, session, receipt, caller=row.sender or "")
            count += 1
    _finish(
        ctx, session, row, Event.AUTO_MERGE, summary={"receipts": count}, action="bundle.merged"
    )
    return BundleState.MERGED


def process(ctx: HubContext, claim: Claim) -> BundleState:
    """Run the step a claimed bundle waits for."""
    if claim.state is BundleState.RECEIVED:
        verify_row(ctx, claim.row_id)
        return BundleState.RECEIVED
    if claim.state is BundleState.VERIFIED:
        return stage(ctx, claim.row_id)
    return merge(ctx, claim.row_id)


def run_once(ctx: HubContext) -> bool:
    """Claim and process one bundle; return whether there was one.

    Raises:
        Exception: a step failed for a reason outside the bundle (a full disk, a lost
            database connection): its transaction was rolled back and the bundle is
            tried again in ``RETRY_SECONDS`` (hub/claims.py).
    """
    claim = claim_next(ctx)
    if claim is None:
        return False
    try:
        process(ctx, claim)
    except StoppingError as exc:
        # Given up between two merge chunks, its transaction rolled back: the bundle is
        # where it was, and is claimed again, at once, when the hub next runs.
        give_back(ctx, claim)
        _log.info("bundle row %s: %s", claim.row_id, exc.message)
    except MusterError as exc:
        _log.warning("bundle row %s: %s (%s)", claim.row_id, exc.message, exc.code)
    except Exception:
        retry_soon(ctx, claim)
        raise
    return True
