"""Batch authorisation: what approvers see, send back, and sign.

Nothing leaves the node unauthorised. An approver reviews the draft ops grouped by
record (old → new), may send a record back to its collector with a note, and authorises
the rest with their password:

1. the approver's key is unlocked with the password and their certificate checked;
2. the draft ops are split into batches (at most ``max_ops_per_bundle`` ops and about
   ``max_bundle_bytes`` with their blobs);
3. for each batch the approver signs the manifest (its op ids in order,
   ``protocol.trust.authorise``), and one ``delta`` bundle is sealed: a ``manifest``
   entry (with the authorisation), the ops, and the blobs they reference that have not
   been sent yet, encrypted to the parent hub and the escrow recipients, chained by seq
   and prev hash; the header carries the authorisation too;
4. batches, outbox bundles, the ops' new state and the stream position are written in
   one transaction. A crash anywhere before the commit leaves no batch at all; after
   it, complete ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.errors import FormError, NotEnrolledError, NothingToDoError
from node.services.accounts import require_role, unlock_approver_key
from node.services.audit import append_audit
from node.services.batching import Item, plan_batches
from node.services.context import NodeContext
from node.services.escrow import escrow_recipients
from node.services.faults import pause_point
from node.services.oplog import SchemaPolicy, categories_of, decode_op, replay
from node.services.outbox import queue_bundle
from node.services.problems import mark_sent, pending_answers
from node.services.state import UP, position, require_parent
from node.services.streams import StreamSender, seal_next
from node.services.trust import load_trust
from node.services.values import (
    AccountRole,
    BatchInfo,
    BatchResult,
    FieldChange,
    OutboxItem,
    PendingRecord,
)
from node.store.models import BatchRow, BlobRow, BundleState, OpRow, OpState, OutboxRow, RecordRow
from protocol.bundle import BundleKind, BundleLimits
from protocol.entries import Blob, Manifest, encode_entry, entry_bytes
from protocol.ops import STATUS_FIELD, Op
from protocol.stream import StreamPosition
from protocol.trust import Role, TrustStore, authorise, newest_certificate
from protocol.trust.statement import canonical_json

__all__ = ["authorise_batches", "outbox_items", "pending_changes", "return_to_collector"]

_MAX_NOTE = 2000
#: Answers one authorisation sends at most (about 300 KiB); the rest go with the next.
_MAX_ANSWERS = 1000
#: Room left in a bundle for the manifest, the header and msgpack framing.
_BUNDLE_SLACK = 64 * 1024


def _draft_rows(session: Session, record_ids: Iterable[str] | None = None) -> list[OpRow]:
    query = select(OpRow).where(OpRow.state == OpState.DRAFT.value).order_by(OpRow.seq)
    if record_ids is not None:
        query = query.where(OpRow.record_id.in_(list(record_ids)))
    return list(session.execute(query).scalars())


def pending_changes(ctx: NodeContext, session: Session) -> list[PendingRecord]:
    """Draft ops grouped by record, each with its old → new diff, oldest record first."""
    by_record: dict[str, list[OpRow]] = defaultdict(list)
    for row in _draft_rows(session):
        by_record[row.record_id].append(row)
    policy = SchemaPolicy(ctx.schema)
    pending: list[PendingRecord] = []
    for record_id, rows in by_record.items():
        record = session.get(RecordRow, record_id)
        if record is None:
            continue
        before, _ = replay(
            session,
            record_id,
            policy,
            states=(OpState.AUTHORISED, OpState.SENT, OpState.ACKNOWLEDGED, OpState.RECEIVED),
        )
        ops = [decode_op(r.data) for r in rows]
        touched: list[str] = []
        for op in ops:
            for name, _value in op.writes():
                if name != STATUS_FIELD and name not in touched:
                    touched.append(name)
        old = {} if before is None else before.values()
        changes = tuple(
            FieldChange(field=name, old=old.get(name), new=record.values.get(name))
            for name in _in_form_order(ctx, touched)
            if old.get(name) != record.values.get(name) or name not in old
        )
        conflicts = tuple(sorted(_conflicted(record)))
        pending.append(
            PendingRecord(
                record_id=record_id,
                name=record.name,
                id_number=record.id_number,
                categories=categories_of(record.values),
                is_new=before is None,
                changes=changes,
                op_ids=tuple(op.op_id for op in ops),
                authors=tuple(dict.fromkeys(op.author for op in ops)),
                conflicts=conflicts,
            )
        )
    return pending


def _conflicted(record: RecordRow) -> list[str]:
    fields = record.versions.get("f", {})
    return [name for name, entry in fields.items() if isinstance(entry, list) and len(entry[0]) > 1]


def _in_form_order(ctx: NodeContext, names: Sequence[str]) -> list[str]:
    schema = ctx.schema
    return sorted(names, key=lambda n: schema.position(n) if schema.has_field(n) else 10_000)


def return_to_collector(
    ctx: NodeContext, session: Session, record_id: str, note: str, approver: str
) -> int:
    """Send a record's draft ops back to its collector with a note; return how many.

    Raises:
        NotPermittedError: ``approver`` is not an active approver.
        FormError: the note is empty or too long.
        NothingToDoError: the record has no draft ops.
    """
    require_role(session, approver, AccountRole.APPROVER)
    text = note.strip() if isinstance(note, str) else ""
    if not 1 <= len(text) <= _MAX_NOTE:
        raise FormError(f"note: expected 1 to {_MAX_NOTE} characters saying what to fix")
    rows = _draft_rows(session, [record_id])
    if not rows:
        raise NothingToDoError(f"record {record_id} has no changes waiting for approval")
    for row in rows:
        row.state = OpState.RETURNED.value
        row.note = text
    append_audit(
        session,
        at=ctx.now(),
        actor=ctx.person_subject(approver),
        action="record.returned",
        subject=record_id,
        details={"ops": len(rows)},
    )
    return len(rows)


@dataclass(frozen=True, slots=True)
class _Group:
    """The ops of one batch, and the blobs that travel with them."""

    ops: tuple[tuple[OpRow, Op], ...]
    blobs: tuple[str, ...]


def _blob_refs(op: Op) -> list[str]:
    found: list[str] = []
    for _name, value in op.writes():
        items = value if isinstance(value, tuple) else (value,)
        found.extend(v for v in items if isinstance(v, str) and v.startswith("b2:"))
    return found


def _group(
    session: Session, rows: Sequence[OpRow], *, max_ops: int, max_bytes: int
) -> list[_Group]:
    ops = [(row, decode_op(row.data)) for row in rows]
    items: list[Item] = []
    for row, op in ops:
        unsent: list[tuple[str, int]] = []
        for ref in _blob_refs(op):
            blob = session.get(BlobRow, ref)
            if blob is not None and blob.sent_in is None:
                unsent.append((ref, blob.size))
        items.append(Item(size=len(row.data), blobs=tuple(unsent)))
    plan = plan_batches(items, max_ops=max_ops, max_bytes=max_bytes)
    return [_Group(tuple(ops[i] for i in batch.items), batch.blobs) for batch in plan]


def upward_stream(
    ctx: NodeContext, session: Session, trust: TrustStore, parent: str
) -> StreamSender:
    """The node's stream toward its parent: the parent's age key first, then escrow
    (the province recovery key from the enrollment answer, and any configured).

    Raises:
        NotEnrolledError: the store holds no hub certificate of the parent.
        NoEscrowError: the node holds no province recovery key.
    """
    certs = [c for c in trust.certificates_of(parent) if c.role is Role.HUB and c.age]
    if not certs:
        raise NotEnrolledError(f"no certificate of the parent hub {parent} is installed")
    newest = newest_certificate(certs)
    assert newest.age is not None
    recipients = (newest.age, *escrow_recipients(ctx, session))
    return StreamSender(
        sender=ctx.node_id,
        recipient=parent,
        signer=ctx.keys.signing,
        recipients=recipients,
        scratch_dir=ctx.config.scratch_dir,
        limits=BundleLimits(max_bundle_bytes=ctx.config.max_bundle_bytes),
    )


def authorise_batches(
    ctx: NodeContext,
    session: Session,
    approver: str,
    password: str,
    record_ids: Sequence[str] | None,
) -> BatchResult:
    """Authorise the draft ops (of ``record_ids``, or all) and seal them for the parent.

    Raises:
        NotEnrolledError: the node is not enrolled, so there is no one to send to.
        NotPermittedError: ``approver`` is not an active approver.
        AuthenticationError: the password is wrong.
        NoCertificateError: the approver's key is not certified yet.
        TrustError: the approver's certificate is not valid now.
        NothingToDoError: no draft ops to authorise.
        StoreError: the disk is full; nothing was authorised.
        NoEscrowError: the node holds no province recovery key to seal to.
    """
    parent = require_parent(session)
    trust = load_trust(session, ctx.anchor)
    stream = upward_stream(ctx, session, trust, parent)
    key, cert = unlock_approver_key(session, approver, password)
    now = ctx.now()
    trust.validate(cert, now)
    rows = _draft_rows(session, record_ids)
    # Answers to cross-check problems leave with the batch the approver authorises now.
    answers = pending_answers(session)[:_MAX_ANSWERS]
    if not rows and not answers:
        raise NothingToDoError("no changes are waiting for authorisation")
    limit = ctx.config.max_bundle_bytes - _BUNDLE_SLACK
    groups = (
        _group(session, rows, max_ops=ctx.config.max_ops_per_bundle, max_bytes=limit)
        if rows
        else [_Group((), ())]
    )
    current = position(session, parent, UP)
    batches: list[BatchInfo] = []
    for group in groups:
        batch_id = ctx.rng(16).hex()
        bundle_id = ctx.rng(16).hex()
        op_ids = [op.op_id for _row, op in group.ops]
        statement = authorise(
            key=key,
            by=cert.subject,
            batch_id=batch_id,
            origin=ctx.node_id,
            op_ids=op_ids,
            signed_at=now,
            # The approver signs the answers too: nothing they did not see goes up.
            answers=[entry_bytes(answer) for _problem, answer in answers],
        )
        blobs = [session.get(BlobRow, ref) for ref in group.blobs]
        entries = [
            encode_entry(
                Manifest(
                    batch_id=batch_id, origin=ctx.node_id, op_ids=tuple(op_ids), auth=statement
                )
            ),
            *(encode_entry(op) for _row, op in group.ops),
            *(
                encode_entry(Blob(blob_id=b.blob_id, media_type=b.media_type, data=b.data))
                for b in blobs
                if b is not None
            ),
            *(encode_entry(answer) for _problem, answer in answers),
        ]
        mark_sent(session, [problem for problem, _answer in answers], batch_id)
        sent_answers, answers = len(answers), []
        data, sealed = seal_next(
            entries,
            stream=stream,
            position=current,
            kind=BundleKind.DELTA,
            created=now,
            bundle_id=bundle_id,
            schema=ctx.schema.version,
            auth=statement.to_dict(),
        )
        current = StreamPosition(last_seq=sealed.header.seq, last_hash=sealed.bundle_hash)
        queue_bundle(
            session, recipient=parent, data=data, sealed=sealed, batch_id=batch_id, now=now
        )
        session.add(
            BatchRow(
                batch_id=batch_id,
                approver=cert.subject,
                authorised_at=now,
                op_count=len(op_ids),
                manifest=statement.manifest,
                authorisation=canonical_json(statement.to_dict()).decode("utf-8"),
                bundle_id=bundle_id,
            )
        )
        for row, _op in group.ops:
            row.state = OpState.AUTHORISED.value
            row.batch_id = batch_id
        for blob in blobs:
            if blob is not None:
                blob.sent_in = batch_id
        append_audit(
            session,
            at=now,
            actor=cert.subject,
            action="batch.authorised",
            subject=batch_id,
            details={
                "bundle": bundle_id,
                "seq": sealed.header.seq,
                "ops": len(op_ids),
                "blobs": len(group.blobs),
                "answers": sent_answers,
            },
        )
        batches.append(
            BatchInfo(
                batch_id=batch_id,
                bundle_id=bundle_id,
                seq=sealed.header.seq,
                op_count=len(op_ids),
                blob_count=len(group.blobs),
                manifest=statement.manifest,
            )
        )
    session.flush()
    pause_point("authorise.before_commit")
    return BatchResult(
        approver=cert.subject,
        batches=tuple(batches),
        op_count=len(rows),
        record_count=len({row.record_id for row in rows}),
    )


def outbox_items(session: Session, *, limit: int = 200) -> list[OutboxItem]:
    """The outbox, newest bundle first."""
    rows = session.execute(select(OutboxRow).order_by(OutboxRow.seq.desc()).limit(limit)).scalars()
    items: list[OutboxItem] = []
    for row in rows:
        batch = session.get(BatchRow, row.batch_id) if row.batch_id else None
        items.append(
            OutboxItem(
                bundle_id=row.bundle_id,
                seq=row.seq,
                kind=row.kind,
                recipient=row.recipient,
                bundle_hash=row.bundle_hash,
                size=row.size,
                entry_count=row.entry_count,
                op_count=batch.op_count if batch else 0,
                batch_id=row.batch_id,
                state=BundleState(row.state),
                created_at=row.created_at,
                sent_at=row.sent_at,
                exported_at=row.exported_at,
                acknowledged_at=row.acknowledged_at,
                error=row.error,
            )
        )
    return items
