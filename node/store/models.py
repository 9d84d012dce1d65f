"""The node store's tables (SQLAlchemy 2.0 models; migrations in ``migrations/node``).

One encrypted SQLite file per node (docs/node.md, "What is stored where"):

============== ==========================================================================
table          holds
============== ==========================================================================
node_state     one row: this node's id, its parent once enrolled, the clock's last reading
records        one row per record: current values and per-field versions
               (``RecordState.to_row``), plus the ID number, name and categories for search
record_flags   workflow flags that are not record data (unreachable, to verify)
ops            every op the node made or received, its canonical bytes and its state
batches        authorised batches: approver, manifest hash, the signed authorisation
outbox         sealed bundles toward the parent, in stream order, and their delivery state
inbox          down bundles received (applied or parked), once each
receipts       the parent's signed receipts for our bundles
problems       problems and decisions sent down by the hub, and the collectors' answers
blobs          photos, signatures, scans and card photos, content-addressed
accounts       operators: role, Argon2id password hash, approvers' sealed keys and certs
sessions       operator UI sessions (token digests, never tokens)
audit          the append-only, hash-chained audit log
certificates   certificates the node knows (its own chain, the parent's, approvers')
revocations    the newest revocation list of each issuer
streams        stream positions: last seq and hash up to the parent and down from it
sync_runs      when sync ran, what it moved, and the error that stopped it
============== ==========================================================================

A record's row is always what its ops say: rows are written only by applying ops.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AccountRow",
    "AuditRow",
    "Base",
    "BatchRow",
    "BlobRow",
    "BundleState",
    "CertificateRow",
    "InboxRow",
    "InboxState",
    "NodeStateRow",
    "OpRow",
    "OpState",
    "OutboxRow",
    "ProblemRow",
    "ReceiptRow",
    "RecordFlagRow",
    "RecordRow",
    "RevocationRow",
    "SessionRow",
    "StreamRow",
    "SyncRunRow",
    "UtcDateTime",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OpState(enum.StrEnum):
    """Where an op is on its way out (or that it came in)."""

    #: Written by a collector, waiting for an approver.
    DRAFT = "draft"
    #: Sent back to the collector by an approver, with a note; waits for a correction.
    RETURNED = "returned"
    #: In an authorised batch, sealed into an outbox bundle.
    AUTHORISED = "authorised"
    #: Its bundle was uploaded (or exported) and no receipt has come yet.
    SENT = "sent"
    #: The parent's signed receipt for its bundle is stored.
    ACKNOWLEDGED = "acknowledged"
    #: Came down from the parent (baseline, resolution); never sent back up.
    RECEIVED = "received"


class BundleState(enum.StrEnum):
    """Delivery state of an outbox bundle."""

    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"


class InboxState(enum.StrEnum):
    """What happened to a down bundle."""

    APPLIED = "applied"
    #: Verified, but an earlier bundle of the stream is missing: applied when it arrives.
    PARKED = "parked"


class NodeStateRow(Base):
    __tablename__ = "node_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(32))
    enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hlc_last: Mapped[str | None] = mapped_column(String(64))
    #: The province's escrow statement from the enrollment answer (node/services/escrow.py).
    escrow: Mapped[str | None] = mapped_column(Text)


class RecordRow(Base):
    __tablename__ = "records"

    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    name: Mapped[str | None] = mapped_column(String(200), index=True)
    categories: Mapped[str] = mapped_column(String(400), default="")
    status: Mapped[str] = mapped_column(String(80))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[str | None] = mapped_column(String(32))
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RecordFlagRow(Base):
    __tablename__ = "record_flags"

    record_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("records.record_id"), primary_key=True
    )
    flag: Mapped[str] = mapped_column(String(32), primary_key=True)
    set_by: Mapped[str] = mapped_column(String(80))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OpRow(Base):
    __tablename__ = "ops"
    __table_args__ = (Index("ix_ops_state_seq", "state", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op_id: Mapped[str] = mapped_column(String(32), unique=True)
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    field: Mapped[str | None] = mapped_column(String(64))
    hlc: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(80))
    site: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    bundle_id: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BatchRow(Base):
    __tablename__ = "batches"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    approver: Mapped[str] = mapped_column(String(80))
    authorised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    op_count: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[str] = mapped_column(String(64))
    authorisation: Mapped[str] = mapped_column(Text)
    bundle_id: Mapped[str] = mapped_column(String(32))


class OutboxRow(Base):
    """A sealed bundle. A rejected bundle keeps its seq, which a later bundle then reuses."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_recipient_seq", "recipient", "seq"),)

    bundle_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    prev: Mapped[str | None] = mapped_column(String(64))
    bundle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    batch_id: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class InboxRow(Base):
    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("sender", "seq"),)

    bundle_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    source: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    receipt: Mapped[str | None] = mapped_column(Text)
    receipt_posted: Mapped[bool] = mapped_column(Boolean, default=False)


class ReceiptRow(Base):
    __tablename__ = "receipts"

    bundle_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bundle_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[str] = mapped_column(Text)


class ProblemRow(Base):
    __tablename__ = "problems"

    problem_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(36), index=True)
    bundle_id: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: A cross-check answer's reason code, and the batch it went up in (None: not yet).
    answer_reason: Mapped[str | None] = mapped_column(String(24))
    answer_batch: Mapped[str | None] = mapped_column(String(32))
    #: Why and when the hub closed the finding (``fixed``, ``accepted``, ``withdrawn``);
    #: None while it is not closed.
    resolution: Mapped[str | None] = mapped_column(String(12))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BlobRow(Base):
    __tablename__ = "blobs"

    blob_id: Mapped[str] = mapped_column(String(67), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_in: Mapped[str | None] = mapped_column(String(32))


class AccountRow(Base):
    __tablename__ = "accounts"

    login: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    keystore: Mapped[str | None] = mapped_column(Text)
    sign_key: Mapped[str | None] = mapped_column(String(80))
    certificate: Mapped[str | None] = mapped_column(Text)
    cert_request: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SessionRow(Base):
    __tablename__ = "sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(32), ForeignKey("accounts.login"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CertificateRow(Base):
    __tablename__ = "certificates"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)
    role: Mapped[str] = mapped_column(String(16))
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[str] = mapped_column(Text)


class RevocationRow(Base):
    __tablename__ = "revocations"

    issuer: Mapped[str] = mapped_column(String(80), primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)


class StreamRow(Base):
    __tablename__ = "streams"

    peer: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str] = mapped_column(String(4), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str | None] = mapped_column(String(64))


class SyncRunRow(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(8))
    uploaded: Mapped[int] = mapped_column(Integer, default=0)
    downloaded: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
