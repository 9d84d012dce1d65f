"""Down bundles from the parent hub: verified, then applied once, whatever happens.

A down bundle (``baseline``, ``decisions``, ``problems``, ``trust``, ``receipt``) is:

1. opened with the numbered checks of docs/protocol.md (signature, the parent's
   certificate chain, decryption with the node's key, payload hash) — a corrupt,
   tampered or foreign bundle fails here with its typed error and changes nothing;
2. checked to come from this node's parent and to be addressed to this node;
3. placed in its stream (``protocol.stream.classify``): the next one is applied, a
   resend of one already held is a duplicate (nothing happens again), one beyond a gap
   is parked until the gap fills, a different bundle with a used number is refused;
4. decoded whole (every entry checked) before anything is written;
5. applied in one transaction: ops through the merge rules, blobs, certificates and
   revocation lists, decisions and problems, receipts for our bundles, the inbox row,
   the stream position, our signed receipt for it, and an audit entry.

A crash before the commit leaves nothing of it; after the commit, a second delivery
(by HTTP or USB) is a duplicate. Either way it is applied exactly once.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from node.errors import ForeignBundleError
from node.services.accounts import attach_certificate
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.faults import pause_point
from node.services.oplog import SchemaPolicy, apply_and_log, chunks
from node.services.outbox import record_receipt
from node.services.problems import close_problem, store_problem
from node.services.state import DOWN, position, require_parent, set_position
from node.services.streams import issue_down_receipt
from node.services.trust import load_trust, save_certificates, save_revocation_list
from node.services.values import RecordFlag
from node.store import transaction
from node.store.models import BlobRow, InboxRow, InboxState, OpState, ProblemRow, RecordFlagRow
from protocol.bundle import BundleHeader, BundleKind, BundleLimits, open_bundle
from protocol.entries import (
    Blob,
    Decision,
    DecisionStatus,
    Manifest,
    Problem,
    ProblemClosure,
    decode_entry,
)
from protocol.errors import StreamError
from protocol.merge import OutcomeKind
from protocol.ops import Op, OpKind
from protocol.stream import StreamPosition, Verdict, classify
from protocol.trust import Certificate, CertificateTrust, Receipt, RevocationList

__all__ = ["DOWN_KINDS", "DownResult", "accept_down", "apply_parked"]

#: What a parent may send down to a node.
DOWN_KINDS: Final = frozenset(
    {
        BundleKind.BASELINE,
        BundleKind.DECISIONS,
        BundleKind.PROBLEMS,
        BundleKind.TRUST,
        BundleKind.RECEIPT,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DownResult:
    """What became of a down bundle.

    Attributes:
        outcome: ``applied``, ``parked`` or ``duplicate``.
        bundle_id, seq, kind: from its signed header.
        counts: what it held, by entry type (``op``, ``problem`` …).
    """

    outcome: str
    bundle_id: str
    seq: int
    kind: str
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class _Opened:
    header: BundleHeader
    bundle_hash: str
    entries: tuple[object, ...]


def _open(ctx: NodeContext, data: bytes, parent: str) -> _Opened:
    with transaction(ctx.engine) as session:
        trust = load_trust(session, ctx.anchor)
    limits = BundleLimits(max_bundle_bytes=ctx.config.max_bundle_bytes)
    opened = open_bundle(
        io.BytesIO(data),
        trust=CertificateTrust(trust, ctx.now()),
        identities=ctx.identities,
        limits=limits,
    )
    header = opened.header
    if header.sender != parent:
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is from {header.sender}, not from this node's parent "
            f"{parent}",
            bundle=header.bundle_id,
        )
    if header.recipient not in (ctx.node_id, ctx.site):
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is addressed to {header.recipient}, not to {ctx.node_id}",
            bundle=header.bundle_id,
        )
    if header.kind not in DOWN_KINDS:
        raise ForeignBundleError(
            f"bundle {header.bundle_id} is a {header.kind} bundle, which a node does not take",
            bundle=header.bundle_id,
        )
    entries = tuple(decode_entry(e, i) for i, e in enumerate(opened.entries()))
    return _Opened(header=header, bundle_hash=opened.verified.bundle_hash, entries=entries)


def accept_down(ctx: NodeContext, data: bytes, *, source: str) -> DownResult:
    """Verify a down bundle and apply it once (or park it, or see it is a duplicate).

    Then apply any parked bundles its arrival un-blocks.

    Raises:
        NotEnrolledError: the node has no parent yet.
        BundleError: a check of docs/protocol.md §4 failed (typed by step).
        ForeignBundleError: not from the parent, not for this node, or of a wrong kind.
        StreamError: a different bundle already holds its sequence number.
        EntryError: an entry is malformed.
        OpError: an op's clock is too far ahead of ours.
        TrustError: a certificate or revocation list in it is not acceptable.
        StoreError: the store could not be written; nothing was applied.
    """
    with transaction(ctx.engine) as session:
        parent = require_parent(session)
    opened = _open(ctx, data, parent)
    header = opened.header
    with transaction(ctx.engine) as session:
        stream = position(session, parent, DOWN)

        def held(seq: int) -> str | None:
            row = session.execute(
                select(InboxRow.bundle_hash).where(InboxRow.sender == parent, InboxRow.seq == seq)
            ).first()
            return None if row is None else row[0]

        decision = classify(
            stream, seq=header.seq, prev=header.prev, bundle_hash=opened.bundle_hash, held=held
        )
        if decision.verdict is Verdict.DUPLICATE:
            return DownResult(
                outcome="duplicate", bundle_id=header.bundle_id, seq=header.seq, kind=header.kind
            )
        if decision.verdict is Verdict.CONFLICT:
            raise StreamError(
                f"bundle {header.bundle_id} from {parent}: {decision.reason}",
                bundle=header.bundle_id,
                seq=header.seq,
            )
        parked = decision.verdict is Verdict.PARK
        counts = _counts(opened.entries)
        if parked:
            _store_inbox(ctx, session, opened, data=data, source=source, state=InboxState.PARKED)
            append_audit(
                session,
                at=ctx.now(),
                actor=parent,
                action="bundle.parked",
                subject=header.bundle_id,
                details={"seq": header.seq, "expected": stream.last_seq + 1},
            )
        else:
            _apply(ctx, session, opened, parent=parent, source=source, data=data)
    if not parked:
        apply_parked(ctx)
    return DownResult(
        outcome="parked" if parked else "applied",
        bundle_id=header.bundle_id,
        seq=header.seq,
        kind=header.kind,
        counts=counts,
    )


def apply_parked(ctx: NodeContext) -> int:
    """Apply parked bundles that are now next in their stream; return how many."""
    applied = 0
    while True:
        with transaction(ctx.engine) as session:
            parent = require_parent(session)
            stream = position(session, parent, DOWN)
            row = session.execute(
                select(InboxRow).where(
                    InboxRow.sender == parent,
                    InboxRow.seq == stream.last_seq + 1,
                    InboxRow.state == InboxState.PARKED.value,
                )
            ).scalar()
            data = row.data if row is not None else None
            source = row.source if row is not None else ""
        if data is None:
            return applied
        opened = _open(ctx, data, parent)
        with transaction(ctx.engine) as session:
            _apply(ctx, session, opened, parent=parent, source=source, data=data)
        applied += 1


def _counts(entries: tuple[object, ...]) -> tuple[tuple[str, int], ...]:
    found: dict[str, int] = {}
    for entry in entries:
        name = type(entry).__name__.lower()
        found[name] = found.get(name, 0) + 1
    return tuple(sorted(found.items()))


def _store_inbox(
    ctx: NodeContext,
    session: Session,
    opened: _Opened,
    *,
    data: bytes,
    source: str,
    state: InboxState,
) -> InboxRow:
    header = opened.header
    now = ctx.now()
    row = session.get(InboxRow, opened.bundle_hash)
    if row is None:
        row = InboxRow(
            bundle_hash=opened.bundle_hash,
            bundle_id=header.bundle_id,
            sender=header.sender,
            seq=header.seq,
            kind=header.kind.value,
            size=len(data),
            entry_count=header.count,
            source=source,
            received_at=now,
        )
        session.add(row)
    row.state = state.value
    # A parked bundle is kept whole until it can be applied; an applied one is not.
    row.data = data if state is InboxState.PARKED else None
    receipt = issue_down_receipt(
        key=ctx.keys.signing,
        receiver=ctx.node_id,
        sender=header.sender,
        bundle_id=header.bundle_id,
        bundle_hash=opened.bundle_hash,
        seq=header.seq,
        at=now,
        accepted=True,
    )
    if row.receipt is None:
        row.receipt = receipt.to_bytes().decode("utf-8")
        row.receipt_posted = False
    if state is InboxState.APPLIED:
        row.applied_at = now
    return row


def _apply(
    ctx: NodeContext, session: Session, opened: _Opened, *, parent: str, source: str, data: bytes
) -> None:
    header = opened.header
    now = ctx.now()
    ops = [e for e in opened.entries if isinstance(e, Op)]
    if ops:  # the greatest time is all the clock needs to see (and to refuse, if too far)
        ctx.clock.observe(session, max((op.hlc for op in ops), key=lambda t: t.encode()))
    applied = apply_and_log(
        session,
        ops,
        policy=SchemaPolicy(ctx.schema),
        op_state=OpState.RECEIVED,
        now=now,
        bundle_id=header.bundle_id,
    )
    if header.kind is BundleKind.BASELINE:
        created = {
            item.op.record_id
            for item in applied
            if item.op.kind is OpKind.CREATE
            and any(o.kind is OutcomeKind.APPLIED and o.field is None for o in item.outcomes)
        }
        _flag(session, created, RecordFlag.TO_VERIFY, parent, now)
    handlers: dict[type, Callable[[Any], object]] = {
        Blob: lambda blob: _store_blob(session, blob, header.bundle_id, now),
        Problem: lambda problem: store_problem(session, problem, header.bundle_id, now),
        ProblemClosure: lambda closure: close_problem(session, closure, by=parent, now=now),
        Decision: lambda decision: _store_decision(session, decision, header.bundle_id, now),
        Receipt: lambda receipt: _receipt(ctx, session, receipt),
    }
    trust = load_trust(session, ctx.anchor)
    certificates = tuple(e for e in opened.entries if isinstance(e, Certificate))
    if certificates:
        save_certificates(session, certificates)
        session.flush()
        trust = load_trust(session, ctx.anchor)
    for entry in opened.entries:
        if isinstance(entry, RevocationList):
            trust = save_revocation_list(session, trust, entry)
    for cert in certificates:
        attach_certificate(ctx, session, cert, certificates, by=parent)
    for entry in opened.entries:
        handler = handlers.get(type(entry))
        if handler is not None:
            handler(entry)
        elif not isinstance(entry, Op | Certificate | RevocationList | Manifest):
            raise ForeignBundleError(
                f"bundle {header.bundle_id}: a {type(entry).__name__} entry does not belong "
                f"in a {header.kind} bundle",
                bundle=header.bundle_id,
            )
    _store_inbox(ctx, session, opened, data=data, source=source, state=InboxState.APPLIED)
    set_position(
        session,
        parent,
        DOWN,
        StreamPosition(last_seq=header.seq, last_hash=opened.bundle_hash),
    )
    append_audit(
        session,
        at=now,
        actor=parent,
        action="bundle.applied",
        subject=header.bundle_id,
        details={
            "kind": header.kind.value,
            "seq": header.seq,
            "entries": header.count,
            "source": source,
        },
    )
    session.flush()
    pause_point("apply.before_commit")


def _receipt(ctx: NodeContext, session: Session, receipt: Receipt) -> None:
    record_receipt(ctx, session, receipt.to_dict())


def _flag(session: Session, record_ids: set[str], flag: RecordFlag, by: str, now: Any) -> None:
    """Set ``flag`` on the records that do not have it yet (one query, one insert)."""
    if not record_ids:
        return
    have: set[str] = set()
    for chunk in chunks(sorted(record_ids)):
        have.update(
            session.execute(
                select(RecordFlagRow.record_id).where(
                    RecordFlagRow.flag == flag.value, RecordFlagRow.record_id.in_(chunk)
                )
            ).scalars()
        )
    rows = [
        {"record_id": rid, "flag": flag.value, "set_by": by, "set_at": now}
        for rid in sorted(record_ids - have)
    ]
    if rows:
        session.execute(insert(RecordFlagRow), rows)


def _store_blob(session: Session, blob: Blob, bundle_id: str, now: Any) -> None:
    if session.get(BlobRow, blob.blob_id) is None:
        session.add(
            BlobRow(
                blob_id=blob.blob_id,
                media_type=blob.media_type,
                size=len(blob.data),
                data=blob.data,
                created_at=now,
                sent_in=bundle_id,
            )
        )


def _problem_id(*parts: str) -> str:
    return hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def _store_decision(session: Session, decision: Decision, bundle_id: str, now: Any) -> None:
    if decision.status is not DecisionStatus.REJECTED:
        return
    body = {
        "bundle": decision.bundle_id,
        "status": decision.status.value,
        "reason": decision.reason,
        "by": decision.by,
        "message_zh": f"上级已退回：{decision.reason}",
        "message_en": f"Rejected by the hub: {decision.reason}",
    }
    for record_id in decision.record_ids or (None,):
        problem_id = _problem_id(bundle_id, decision.bundle_id, record_id or "")
        if session.get(ProblemRow, problem_id) is None:
            session.add(
                ProblemRow(
                    problem_id=problem_id,
                    source="decision",
                    kind="rejected",
                    record_id=record_id,
                    bundle_id=bundle_id,
                    body=body,
                    received_at=now,
                    state="open",
                )
            )
