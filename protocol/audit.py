"""The audit log's hash chain (pure): each entry commits to the one before it.

Stores (node and hub) keep entries in an append-only table; this module defines
what an entry's hash covers and how a chain is checked, so that
``muster hub audit verify`` (and the node's equivalent) can prove that nothing was
altered, removed or reordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from crypto.hashing import TAG_AUDIT, tagged_hash
from protocol.errors import AuditChainError
from protocol.trust.statement import canonical_json, format_instant

__all__ = ["GENESIS", "AuditEntry", "chain_hash", "verify_chain"]

#: The ``prev`` of the first entry.
GENESIS: Final = "0" * 64


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One audited event.

    Attributes:
        seq: position in the log, from 1, without gaps.
        at: when it happened.
        actor: who did it (an account, a node or hub id, or ``system``).
        action: what kind of event (``intake.accepted``, ``review.rejected``, ``login``…).
        subject: what it concerned (a bundle id, a record id, an account).
        details: ids and counts; never personal data, keys or passwords.
        prev: the previous entry's hash (``GENESIS`` for the first).
    """

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
    prev: str = GENESIS

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": format_instant(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev": self.prev,
        }


def chain_hash(entry: AuditEntry) -> str:
    """The entry's hash (hex), which the next entry names as ``prev``."""
    return tagged_hash(TAG_AUDIT, canonical_json(entry.body())).hex()


def verify_chain(entries: Iterable[tuple[AuditEntry, str]]) -> int:
    """Check stored ``(entry, stored hash)`` pairs in order; return how many were checked.

    Raises:
        AuditChainError: a gap in ``seq``, a ``prev`` that does not name the previous
            entry's hash, or a stored hash that does not match the entry.
    """
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for entry, stored in entries:
        if entry.seq != expected_seq:
            raise AuditChainError(
                f"audit log: expected entry {expected_seq}, found {entry.seq}", seq=entry.seq
            )
        if entry.prev != expected_prev:
            raise AuditChainError(
                f"audit log: entry {entry.seq} does not follow entry {entry.seq - 1}",
                seq=entry.seq,
            )
        actual = chain_hash(entry)
        if actual != stored:
            raise AuditChainError(
                f"audit log: entry {entry.seq} was altered after it was written", seq=entry.seq
            )
        expected_prev, expected_seq, count = actual, expected_seq + 1, count + 1
    return count
