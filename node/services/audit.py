"""The node's audit log: every login, account change, record change, authorisation, sync
and import, appended to a hash chain (``protocol.audit``) in the ``audit`` table.

Entries name ids and counts; never a person's data, a password or a key. An entry is
written in the same transaction as the change it records, so the log and the store
cannot disagree after a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.store.models import AuditRow
from protocol.audit import GENESIS, AuditEntry, chain_hash, verify_chain

__all__ = ["append_audit", "audit_entries", "verify_audit"]


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry after the last one (inside the caller's transaction)."""
    last = session.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar()
    entry = AuditEntry(
        seq=1 if last is None else last.seq + 1,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=dict(details or {}),
        prev=GENESIS if last is None else last.hash,
    )
    session.add(
        AuditRow(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=dict(entry.details),
            prev=entry.prev,
            hash=chain_hash(entry),
        )
    )
    return entry


def audit_entries(session: Session) -> Iterator[tuple[AuditEntry, str]]:
    """Every stored entry with its stored hash, in order."""
    for row in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars():
        entry = AuditEntry(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            details=row.details,
            prev=row.prev,
        )
        yield entry, row.hash


def verify_audit(session: Session) -> int:
    """Check the whole chain; return how many entries it holds.

    Raises:
        AuditChainError: an entry was altered, removed or reordered.
    """
    return verify_chain(audit_entries(session))
