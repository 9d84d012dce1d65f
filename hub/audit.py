"""The hub's append-only, hash-chained audit log (``protocol.audit`` over a table).

Every intake verdict, staging result, review decision, merge, rejection, login and
account or site change appends one entry *in the same transaction* as the change it
records, so a crash can lose neither without the other. Appends take the lock on the
single ``audit_head`` row (PostgreSQL) or run under SQLite's writer lock, so entries
are numbered without gaps across processes. Details hold ids and counts only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.faults import fault
from hub.store.engine import Store
from hub.store.models import AuditHead, AuditRow
from protocol.audit import GENESIS, AuditEntry, chain_hash, verify_chain
from protocol.errors import AuditChainError
from protocol.trust.statement import canonical_json, parse_instant

__all__ = ["append_audit", "audit_entries", "verify_audit"]

_HEAD_ID = 1


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the log inside the caller's transaction."""
    head = session.execute(
        sa.select(AuditHead).where(AuditHead.id == _HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=_HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=at,
        actor=actor[:80],
        action=action,
        subject=subject[:80],
        details=dict(details or {}),
        prev=head.hash,
    )
    digest = chain_hash(entry)
    body = entry.body()
    session.add(
        AuditRow(
            seq=entry.seq,
            at=body["at"],
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=canonical_json(body["details"]).decode("utf-8"),
            prev=entry.prev,
            hash=digest,
        )
    )
    head.seq, head.hash = entry.seq, digest
    session.flush()
    fault("audit.appended")
    return entry


def audit_entries(session: Session, *, batch: int = 5000) -> Iterator[tuple[AuditEntry, str]]:
    """Every stored entry with its stored hash, in order (read in batches)."""
    after = 0
    while True:
        rows = session.scalars(
            sa.select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield (
                AuditEntry(
                    seq=row.seq,
                    at=parse_instant(row.at, "audit entry time"),
                    actor=row.actor,
                    action=row.action,
                    subject=row.subject,
                    details=json.loads(row.details),
                    prev=row.prev,
                ),
                row.hash,
            )
        after = rows[-1].seq


def verify_audit(store: Store) -> int:
    """Check the whole chain; return the number of entries.

    Raises:
        AuditChainError: an entry was altered, removed or reordered, or the head row
            does not name the last entry.
    """
    with store.read() as session:
        count = verify_chain(audit_entries(session))
        head = session.get(AuditHead, _HEAD_ID)
        last = session.scalar(sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(1))
    if (head is None) != (last is None) or (
        head is not None and last is not None and (head.seq, head.hash) != (last.seq, last.hash)
    ):
        raise AuditChainError("audit log: the last entries were removed", seq=count)
    return count
