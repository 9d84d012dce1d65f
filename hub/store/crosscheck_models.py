"""The cross-check's tables in the hub store (docs/crosscheck.md §10).

- ``crosscheck_datasets``: one row per import, ``writing`` until the whole file was
  read, then ``committed`` and never changed; readers see committed ones only.
- ``crosscheck_rows``: the rows of a dataset, one table row each, the values packed
  with msgpack (a register row is read whole or not at all).
- ``crosscheck_row_problems``: what could not be read, row by row.
- ``crosscheck_mappings``: the column mapping saved per source.
- ``crosscheck_findings``: one row per finding id, with its place in the fix loop.
- ``crosscheck_answers``: every answer received, kept after a newer one replaces it.
- ``crosscheck_answer_origins``: where answers were signed (``protocol.entries.AnswerOrigin``,
  the node's authorisation and its batch's answer digests), once per batch.
- ``crosscheck_proposals``: fuzzy matches for an administrator to confirm or refuse.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base
from hub.store.types import JSON_TYPE, UtcDateTime

__all__ = [
    "AnswerOriginRow",
    "AnswerRow",
    "DatasetRow",
    "FindingRow",
    "MappingRow",
    "ProposalRow",
    "RegisterRowRow",
    "RowProblemRow",
]


class DatasetRow(Base):
    """An imported register: its description, and whether its import finished."""

    __tablename__ = "crosscheck_datasets"

    dataset_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    #: ``writing`` while rows are added, ``committed`` once the file was read whole.
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    source: Mapped[str] = mapped_column(sa.String(100), index=True)
    source_kind: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Moved on by every chunk: an import whose heartbeat stopped long ago died.
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rows_written: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    file_format: Mapped[str | None] = mapped_column(sa.String(8))
    encoding: Mapped[str | None] = mapped_column(sa.String(40))
    content_hash: Mapped[str | None] = mapped_column(sa.String(67))
    imported_by: Mapped[str | None] = mapped_column(sa.String(80))
    imported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    as_of: Mapped[date | None] = mapped_column(sa.Date())
    rows_read: Mapped[int | None] = mapped_column(sa.BigInteger)
    rows_stored: Mapped[int | None] = mapped_column(sa.BigInteger)
    rows_skipped: Mapped[int | None] = mapped_column(sa.BigInteger)
    blank_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    problem_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    mapping_json: Mapped[str | None] = mapped_column(sa.Text)
    #: When its rows were last matched against the records, and what that found.
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    check_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON_TYPE)


class RegisterRowRow(Base):
    """One normalised register row (``RegisterRow``); ``data`` is its values, msgpacked."""

    __tablename__ = "crosscheck_rows"

    dataset_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    id_number: Mapped[str | None] = mapped_column(sa.String(18))
    bad_id_number: Mapped[str | None] = mapped_column(sa.String(40))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)

    __table_args__ = (sa.Index("ix_crosscheck_rows_id_number", "dataset_id", "id_number"),)


class RowProblemRow(Base):
    """One problem of one row (``RowProblem``), numbered within its dataset."""

    __tablename__ = "crosscheck_row_problems"

    dataset_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    row: Mapped[int] = mapped_column(sa.BigInteger)
    column_name: Mapped[str | None] = mapped_column(sa.String(200))
    field: Mapped[str | None] = mapped_column(sa.String(40))
    code: Mapped[str] = mapped_column(sa.String(32))


class MappingRow(Base):
    """The column mapping saved for a source: map the columns once, reuse it next month."""

    __tablename__ = "crosscheck_mappings"

    source: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    source_kind: Mapped[str] = mapped_column(sa.String(16))
    mapping_json: Mapped[str] = mapped_column(sa.Text)
    updated_by: Mapped[str] = mapped_column(sa.String(80))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FindingRow(Base):
    """A finding (by its stable id) and its place in the fix loop (``FindingStatus``).

    ``origin`` is this hub's site for findings it made, or the parent hub's for
    findings it only passes down (it keeps them to pass the answers up).
    """

    __tablename__ = "crosscheck_findings"

    finding_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    origin: Mapped[str] = mapped_column(sa.String(12), index=True)
    source: Mapped[str] = mapped_column(sa.String(100), index=True)
    source_kind: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(24))
    field: Mapped[str | None] = mapped_column(sa.String(64))
    record_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    #: The person's ID number on the register (valid), for re-checks.
    id_number: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    dataset_id: Mapped[str] = mapped_column(sa.String(32))
    row: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: The dataset of its source it was last found in (a re-import moves it on).
    last_seen: Mapped[str] = mapped_column(sa.String(32))
    division_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    #: The ``problem`` entry's body (docs/crosscheck.md §6): the finding itself.
    body: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    resolution: Mapped[str | None] = mapped_column(sa.String(12))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(sa.String(80))
    rejection: Mapped[str | None] = mapped_column(sa.Text)
    reopened: Mapped[int] = mapped_column(sa.Integer, default=0)
    answer_reason: Mapped[str | None] = mapped_column(sa.String(24))
    answer_note: Mapped[str | None] = mapped_column(sa.Text)
    answer_by: Mapped[str | None] = mapped_column(sa.String(80))
    answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: The site it was sent down to (the children serving it got it), and when; None: not yet.
    routed_to: Mapped[str | None] = mapped_column(sa.String(12))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: When its closure went down after it (a ``closure`` entry); None: not yet, or it was
    #: sent again since.
    closure_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AnswerRow(Base):
    """An answer as it arrived (from a node's delta or a child hub's package)."""

    __tablename__ = "crosscheck_answers"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    reason: Mapped[str] = mapped_column(sa.String(24))
    note: Mapped[str] = mapped_column(sa.Text)
    by: Mapped[str] = mapped_column(sa.String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    sender: Mapped[str] = mapped_column(sa.String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bundle: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id"))
    #: ``applied`` to a finding of ours, ``relay`` (to pass up to the parent), or ``ignored``.
    outcome: Mapped[str] = mapped_column(sa.String(12))
    #: For ``relay``: when it went up to the parent (None: still to send).
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: Where it was signed: the parent needs this to accept it (None: received before
    #: answers carried their origin; such an answer is not passed up).
    origin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crosscheck_answer_origins.id"))


class AnswerOriginRow(Base):
    """An ``origin`` entry as received: the authorisation that signed some answers at
    their node, with the digests of every answer of that batch."""

    __tablename__ = "crosscheck_answer_origins"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    #: BLAKE2b-256 (hex) of ``entry``: the same origin, from two bundles, is one row.
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The entry's encoding (``protocol.entries.entry_bytes``), passed up as it is.
    entry: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ProposalRow(Base):
    """A record proposed for a register row without a usable ID number."""

    __tablename__ = "crosscheck_proposals"

    dataset_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(100), index=True)
    division_code: Mapped[str | None] = mapped_column(sa.String(12))
    score: Mapped[float] = mapped_column(sa.Float)
    reasons: Mapped[str] = mapped_column(sa.String(200))
    #: ``pending``, ``confirmed`` or ``refused``.
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    decided_by: Mapped[str | None] = mapped_column(sa.String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
