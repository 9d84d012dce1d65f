"""The merge rules (ARCHITECTURE §4, docs/merge.md): pure functions of states and ops.

Each record field is a multi-value register versioned by op ids. Any delivery
order of the same ops gives the same states and the same open conflicts.
"""

from protocol.merge.apply import ApplyResult, HolderLookup, Outcome, OutcomeKind, apply_op
from protocol.merge.batch import BatchResult, apply_ops
from protocol.merge.duplicates import find_duplicates, held_number
from protocol.merge.policy import (
    DEFAULT_POLICY,
    ID_NUMBER_FIELD,
    IDENTITY_FIELDS,
    FieldPolicy,
    StaticPolicy,
)
from protocol.merge.state import STATUS_PENDING, FieldState, Head, RecordState

__all__ = [
    "DEFAULT_POLICY",
    "IDENTITY_FIELDS",
    "ID_NUMBER_FIELD",
    "STATUS_PENDING",
    "ApplyResult",
    "BatchResult",
    "FieldPolicy",
    "FieldState",
    "Head",
    "HolderLookup",
    "Outcome",
    "OutcomeKind",
    "RecordState",
    "StaticPolicy",
    "apply_op",
    "apply_ops",
    "find_duplicates",
    "held_number",
]
