"""The hub store's tables (SQLAlchemy 2.0). Migrations in ``migrations/hub`` create them.

A record is one row: its current values and its merge versions as two JSON documents
(``RecordState.to_row``). Ops are kept compactly: the ops of one merge step are one
row of concatenated canonical bytes (zstd), linked to the bundle they came in, whose
row carries the batch, the origin and the approver (provenance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.store.types import JSON_TYPE, UtcDateTime

__all__ = [
    "Account",
    "Alert",
    "AuditHead",
    "AuditRow",
    "Base",
    "BundleRow",
    "CertificateRow",
    "DownBundle",
    "EnrollmentRow",
    "HubState",
    "ManifestRow",
    "OpBatch",
    "ParentBundle",
    "RecordRow",
    "RevocationRow",
    "SessionRow",
    "StageItem",
    "StreamRow",
    "UpBundle",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class BundleRow(Base):
    """A bundle taken in (HTTP or USB), from its raw bytes to merged or rejected."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bundle_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(8))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    # Header facts, once step 2 has parsed it (None before, or for junk).
    bundle_id: Mapped[str | None] = mapped_column(sa.String(32))
    kind: Mapped[str | None] = mapped_column(sa.String(12))
    sender: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    recipient: Mapped[str | None] = mapped_column(sa.String(40))
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    prev: Mapped[str | None] = mapped_column(sa.String(64))
    created: Mapped[datetime | None] = mapped_column(UtcDateTime())
    count: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Provenance: the authorised batch and who authorised it.
    batch_id: Mapped[str | None] = mapped_column(sa.String(32))
    approver: Mapped[str | None] = mapped_column(sa.String(80))
    # Outcome.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    reason_code: Mapped[str | None] = mapped_column(sa.String(64))
    receipt: Mapped[str | None] = mapped_column(sa.Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON_TYPE)
    decided_by: Mapped[str | None] = mapped_column(sa.String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    merged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Work claiming.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (sa.Index("ix_bundles_sender_seq", "sender", "recipient", "seq"),)


class StreamRow(Base):
    """The position of one (sender, receiver) stream: its last accepted bundle."""

    __tablename__ = "streams"

    sender: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_hash: Mapped[str | None] = mapped_column(sa.String(64))


class RecordRow(Base):
    """One person's record: ``data`` (current values) and ``versions`` (``RecordState.to_row``)."""

    __tablename__ = "records"

    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    id_number: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    status: Mapped[str] = mapped_column(sa.String(64))
    site: Mapped[str] = mapped_column(sa.String(12), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)


class OpBatch(Base):
    """The ops of one merge step: canonical bytes back to back, zstd-compressed."""

    __tablename__ = "op_batches"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bundle: Mapped[int] = mapped_column(sa.ForeignKey("bundles.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(12))
    author: Mapped[str | None] = mapped_column(sa.String(80))
    chunk: Mapped[int] = mapped_column(sa.Integer)
    count: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class StageItem(Base):
    """One thing staging found in a bundle: a change, conflict, duplicate or warning."""

    __tablename__ = "stage_items"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bundle: Mapped[int] = mapped_column(sa.ForeignKey("bundles.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    record_id: Mapped[str] = mapped_column(sa.String(36))
    op_id: Mapped[str | None] = mapped_column(sa.String(32))
    field: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)


class DownBundle(Base):
    """A bundle this hub sealed for a child (decisions, trust, …), in that child's stream."""

    __tablename__ = "down_bundles"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(sa.String(40))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    bundle_id: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(12))
    bundle_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(12))
    receipt: Mapped[str | None] = mapped_column(sa.Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    about: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id"))

    __table_args__ = (sa.UniqueConstraint("recipient", "seq"),)


class Alert(Base):
    """Something an administrator must look at (a stream conflict, a refused down bundle)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(80))
    bundle: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id"))
    message: Mapped[str] = mapped_column(sa.Text)
    closed_by: Mapped[str | None] = mapped_column(sa.String(80))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """One entry of the hash-chained audit log (``protocol.audit``); never updated."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(sa.String(20))
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(80))
    details: Mapped[str] = mapped_column(sa.Text)
    prev: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The single row naming the audit log's last entry; locked to append in order."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))


class HubState(Base):
    """Small named values: the HLC's last reading, the revocation list number."""

    __tablename__ = "hub_state"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Account(Base):
    """A console account: role, jurisdiction scope and an Argon2id password hash."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[str] = mapped_column(sa.String(12))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SessionRow(Base):
    """A login session; the cookie holds the token, the table only its hash."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    csrf: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())


class CertificateRow(Base):
    """A certificate the hub knows: its own chain, ones it issued, ones it received."""

    __tablename__ = "certificates"

    serial: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(80), index=True)
    site: Mapped[str] = mapped_column(sa.String(12))
    role: Mapped[str] = mapped_column(sa.String(12))
    issuer: Mapped[str] = mapped_column(sa.String(80))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(sa.String(8))
    statement: Mapped[str] = mapped_column(sa.Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(sa.String(20))


class RevocationRow(Base):
    """The newest revocation list of each issuer."""

    __tablename__ = "revocation_lists"

    issuer: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger)
    statement: Mapped[str] = mapped_column(sa.Text)


class EnrollmentRow(Base):
    """An enrollment request from a new node, approver, administrator or child hub."""

    __tablename__ = "enrollments"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(80), index=True)
    site: Mapped[str] = mapped_column(sa.String(12))
    role: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(200))
    statement: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[str | None] = mapped_column(sa.String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    serial: Mapped[str | None] = mapped_column(sa.String(32))


class ManifestRow(Base):
    """A batch manifest kept for provenance (docs/federation.md §3): the ops it lists, in
    order, and the authorisation over them.

    ``source`` says where it came from: ``bundle`` (carried by the bundle row ``bundle``:
    a delta's own manifest, or any manifest of a package) or ``resolution`` (made here for
    the resolution ops of ``bundle``, when they were packaged).
    """

    __tablename__ = "manifests"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bundle: Mapped[int] = mapped_column(sa.ForeignKey("bundles.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(12))
    batch_id: Mapped[str] = mapped_column(sa.String(32))
    origin: Mapped[str] = mapped_column(sa.String(40))
    signer: Mapped[str] = mapped_column(sa.String(80))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    op_count: Mapped[int] = mapped_column(sa.Integer)
    #: The op ids, 16 raw bytes each, in manifest order.
    op_ids: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: The authorisation statement (canonical JSON).
    auth: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_manifests_origin_batch", "origin", "batch_id"),)


class UpBundle(Base):
    """A bundle this hub made for its parent (a ``package`` or a ``receipt`` bundle).

    A package covers the merged ops from position ``(from_batch, from_offset)`` up to
    ``(to_batch, to_offset)`` of the op log (``op_batches`` ids and op offsets in them).
    States: ``draft`` (waits for an administrator's authorisation), ``pending`` (sealed,
    file in ``DATA/up/``), ``sent``, ``acknowledged`` (the parent's signed receipt is
    stored), ``rejected`` (taken out of the stream).
    """

    __tablename__ = "up_bundles"

    bundle_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(12))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    prev: Mapped[str | None] = mapped_column(sa.String(64))
    bundle_hash: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    entry_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    batch_id: Mapped[str | None] = mapped_column(sa.String(32))
    authorised_by: Mapped[str | None] = mapped_column(sa.String(80))
    op_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    from_batch: Mapped[int] = mapped_column(sa.Integer, default=0)
    from_offset: Mapped[int] = mapped_column(sa.Integer, default=0)
    to_batch: Mapped[int] = mapped_column(sa.Integer, default=0)
    to_offset: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    receipt: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_up_bundles_recipient_seq", "recipient", "seq"),)


class ParentBundle(Base):
    """A bundle from this hub's parent (baseline, decisions, problems, trust), applied once.

    ``parked`` ones wait for a gap in the parent's stream to fill (their file is in
    ``bundles/``); ``applied`` ones were applied and re-issued to the children.
    ``row`` is the bundle row that carries the op batches of the ops it held.
    """

    __tablename__ = "parent_inbox"

    bundle_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    bundle_id: Mapped[str] = mapped_column(sa.String(32))
    sender: Mapped[str] = mapped_column(sa.String(40))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(12))
    count: Mapped[int] = mapped_column(sa.BigInteger)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(8))
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    row: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id"))
    receipt: Mapped[str | None] = mapped_column(sa.Text)
    receipt_posted: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    __table_args__ = (sa.UniqueConstraint("sender", "seq"),)
