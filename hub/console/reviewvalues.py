"""The values the review page shows (built by :mod:`hub.console.reviewmodel`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Competitor",
    "Conflict",
    "Duplicate",
    "FieldChange",
    "Item",
    "MergeCandidate",
    "MergeField",
    "NewRecord",
    "RecordChanges",
    "ReviewData",
    "StoredRecord",
    "WarningLine",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One staging finding as stored (``stage_items``)."""

    id: int
    kind: str
    record_id: str
    op_id: str | None
    field: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecord:
    """A record as the store holds it now."""

    record_id: str
    site: str
    status: str
    values: Mapping[str, Any]
    #: ``(encoded hlc, op id)`` of every head version (``versions["o"]``).
    heads: tuple[tuple[str, str], ...] = ()
    visible: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    needs_review: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordChanges:
    """The changed fields of one existing record (fast-forwards or parallel updates)."""

    record_id: str
    name: Any
    id_number: Any
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecord:
    record_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Competitor:
    """One competing value of a conflicted field, with who wrote it and when.

    Attributes:
        index: its place among the heads (0 is the current winner).
        node: the node that made the op.
        author: the account that made it, when known.
        at: when it was made (the op's clock reading).
        in_bundle: the op is in the bundle under review.
    """

    index: int
    op_id: str
    value: Any
    node: str | None
    author: str | None
    at: datetime | None
    in_bundle: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    item: int
    record_id: str
    name: Any
    field: str
    old: Any
    competitors: tuple[Competitor, ...]
    needs_review: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeField:
    """One field on the merge screen: the new record's value and the other's."""

    field: str
    new: Any
    other: Any

    @property
    def same(self) -> bool:
        return bool(self.new == self.other)


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeCandidate:
    """Another live record with the same ID number, and the fields side by side.

    ``visible`` is False for a record outside the reviewer's jurisdiction: the page
    says there is one, shows none of its data and offers no merge with it.
    """

    record_id: str
    site: str
    visible: bool
    fields: tuple[MergeField, ...]

    @property
    def differing(self) -> tuple[MergeField, ...]:
        """The fields whose values differ: the reviewer picks these."""
        return tuple(f for f in self.fields if not f.same)

    @property
    def same(self) -> tuple[MergeField, ...]:
        """The fields both records agree on."""
        return tuple(f for f in self.fields if f.same)


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate:
    item: int
    record_id: str
    name: Any
    id_number: Any
    candidates: tuple[MergeCandidate, ...]

    def candidate(self, record_id: str) -> MergeCandidate | None:
        return next((c for c in self.candidates if c.record_id == record_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class WarningLine:
    record_id: str
    name: Any
    field: str | None
    problems: tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewData:
    """Everything the review page shows about a bundle's content."""

    new_records: tuple[NewRecord, ...] = ()
    new_total: int = 0
    changes: tuple[RecordChanges, ...] = ()
    parallel: tuple[RecordChanges, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    warnings: tuple[WarningLine, ...] = ()
    authors: Mapping[str, str] = field(default_factory=dict)

    def conflict(self, item: int) -> Conflict | None:
        return next((c for c in self.conflicts if c.item == item), None)

    def duplicate(self, item: int) -> Duplicate | None:
        return next((d for d in self.duplicates if d.item == item), None)
