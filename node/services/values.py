"""The frozen values :class:`~node.services.NodeServices` returns to its callers.

Values hold personal data (names, ID numbers, field values) for the pages that show
them, so their reprs name ids and counts only: a value logged by accident leaks
nothing.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from node.store.models import BundleState, OpState
from protocol.ops import Value
from protocol.schema import Problem

__all__ = [
    "Account",
    "AccountRole",
    "BatchInfo",
    "BatchResult",
    "BlobRef",
    "CardResult",
    "EnrollmentState",
    "ExportReport",
    "FieldChange",
    "HistoryItem",
    "ImportItem",
    "ImportReport",
    "NodeStatus",
    "OutboxItem",
    "PendingRecord",
    "ProblemItem",
    "RecordFlag",
    "RecordSummary",
    "RecordView",
    "SaveResult",
    "SyncReport",
    "frozen_map",
]


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``items`` (values keep their own immutability)."""
    return MappingProxyType(dict(items or {}))


class AccountRole(enum.StrEnum):
    """What an operator of the node may do."""

    #: Reads cards, fills forms, takes photos, answers problems.
    COLLECTOR = "collector"
    #: Everything a collector does, plus reviewing and authorising batches.
    APPROVER = "approver"
    #: Manages accounts and the node's enrollment; does not authorise.
    SITE_ADMIN = "site_admin"


class RecordFlag(enum.StrEnum):
    """Marks shown on a record (docs/node.md, "Flags")."""

    #: Collected at the person's home (上门采集): ``collection_method`` is 上门采集.
    HOME_VISIT = "home_visit"
    #: The person has died: ``living_status`` is 已故.
    DECEASED = "deceased"
    #: The person could not be reached (a node-local mark, not record data).
    UNREACHABLE = "unreachable"
    #: Came from the hub's baseline and waits for a collector to confirm or correct it.
    TO_VERIFY = "to_verify"
    #: An approver sent the record's changes back to the collector.
    RETURNED = "returned"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """An operator account.

    Attributes:
        login: the account's login (lowercase letters, digits, ``.``, ``_``, ``-``).
        display_name: the name shown in pages.
        role: what the account may do.
        active: False once disabled.
        subject: the id certificates and ops name it by (``370102001/li.na``).
        has_signing_key: an approver's personal key exists (sealed under their password).
        certified: the parent hub's approver certificate for that key is installed.
        created_at: when the account was made.
    """

    login: str
    display_name: str = dataclasses.field(repr=False)
    role: AccountRole
    active: bool
    subject: str
    has_signing_key: bool
    certified: bool
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSummary:
    """A search hit: enough to list a record and open it."""

    record_id: str
    name: str | None = dataclasses.field(repr=False)
    id_number: str | None = dataclasses.field(repr=False)
    categories: tuple[str, ...]
    status: str
    flags: frozenset[RecordFlag]
    draft_ops: int
    conflicts: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field's value before and after (values are personal data: not in the repr)."""

    field: str
    old: Value = dataclasses.field(default=None, repr=False)
    new: Value = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryItem:
    """One op of a record's history: who, when, what changed.

    Attributes:
        op_id: the op.
        kind: ``create``, ``set``, ``delete`` or ``merge_into``.
        at: the op's time (its hybrid clock's wall time).
        author: who made it (``370102001/li.na``, or a hub administrator).
        site: where it was made (a node id, or a hub).
        state: where the op is on its way out (or ``received`` from the hub).
        changes: the fields it changed, old → new, as the merge rules applied it.
        outcome: ``applied``, ``conflict``, ``parallel_update`` or ``already_applied``.
        note: an approver's note when the op was sent back.
        reason: the op's own reason (resolutions, deletes).
        batch_id: the authorised batch it left in.
    """

    op_id: str
    kind: str
    at: datetime
    author: str
    site: str
    state: OpState
    changes: tuple[FieldChange, ...]
    outcome: str
    note: str | None = dataclasses.field(default=None, repr=False)
    reason: str | None = dataclasses.field(default=None, repr=False)
    batch_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordView:
    """A record as the record page shows it.

    Attributes:
        record_id: the record.
        status: ``live``, ``deleted``, ``merged:<id>`` or ``pending``.
        categories: the person's subject categories (keys).
        values: current values by field (``_status`` left out).
        versions: per field, the op ids of its current heads (winner first). Pass these
            back to :meth:`~node.services.NodeServices.save_record` as ``versions`` so an
            edit made meanwhile becomes a conflict, not a silent overwrite.
        record_version: the record's version (op id), or None.
        conflicts: per conflicted field, the competing values (winner first).
        flags: the record's marks.
        history: every op, oldest first.
        returned_note: the approver's note when its changes were sent back.
    """

    record_id: str
    status: str
    categories: tuple[str, ...]
    values: Mapping[str, Value] = dataclasses.field(repr=False)
    versions: Mapping[str, tuple[str, ...]] = dataclasses.field(repr=False)
    record_version: str | None
    conflicts: Mapping[str, tuple[Value, ...]] = dataclasses.field(repr=False)
    flags: frozenset[RecordFlag]
    history: tuple[HistoryItem, ...] = dataclasses.field(repr=False)
    returned_note: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveResult:
    """What :meth:`~node.services.NodeServices.save_record` did.

    Attributes:
        saved: True when ops were written (or nothing needed to change); False when
            ``problems`` stopped it and nothing was saved.
        record_id: the record (new or existing); None when a new record was refused.
        problems: the field problems, in form order, each in Chinese and English.
        op_ids: the ops written, in order.
        conflicts: fields the save left with competing values (the form was stale).
        cleared: fields that no longer apply to the chosen categories and were emptied.
        existing_record_id: when the ID number already belongs to a record on this
            node, that record (open it instead of creating another).
    """

    saved: bool
    record_id: str | None
    problems: tuple[Problem, ...] = ()
    op_ids: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()
    existing_record_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.saved


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobRef:
    """A stored blob, and the op that attached it to a record (if any)."""

    blob_id: str
    media_type: str
    size: int
    op_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CardResult:
    """An ID card read into a form.

    Attributes:
        fields: the identity fields from the card, canonical (name, sex, birth date…).
        photo_blob_id: the card photo, stored as a blob (``id_card_photo``), or None.
        existing_record_id: the record on this node holding the card's ID number.
        differences: when the card names an existing record, the fields where the
            card and the record disagree (old: the record, new: the card). Nothing is
            overwritten; the collector decides.
        checks_passed: the card's own cross-checks (checksum, expiry) passed.
        failed_checks: the names of the checks that failed.
    """

    fields: Mapping[str, Value] = dataclasses.field(repr=False)
    photo_blob_id: str | None
    existing_record_id: str | None
    differences: tuple[FieldChange, ...] = dataclasses.field(repr=False)
    checks_passed: bool
    failed_checks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRecord:
    """A record with changes waiting for an approver, with its old → new diff.

    Attributes:
        record_id: the record.
        name, id_number: to recognise the person.
        categories: the person's categories.
        is_new: the record itself is new (its create is among the changes).
        changes: per field, the value before the first pending op and the value now.
        op_ids: the pending ops, oldest first.
        authors: who made them.
        conflicts: fields with competing values.
    """

    record_id: str
    name: str | None = dataclasses.field(repr=False)
    id_number: str | None = dataclasses.field(repr=False)
    categories: tuple[str, ...]
    is_new: bool
    changes: tuple[FieldChange, ...] = dataclasses.field(repr=False)
    op_ids: tuple[str, ...]
    authors: tuple[str, ...]
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """A sealed bundle toward the parent hub, and where it is on its way."""

    bundle_id: str
    seq: int
    kind: str
    recipient: str
    bundle_hash: str
    size: int
    entry_count: int
    op_count: int
    batch_id: str | None
    state: BundleState
    created_at: datetime
    sent_at: datetime | None = None
    exported_at: datetime | None = None
    acknowledged_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchInfo:
    """One authorised batch: its manifest covers ``op_count`` ops in one bundle."""

    batch_id: str
    bundle_id: str
    seq: int
    op_count: int
    blob_count: int
    manifest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """What :meth:`~node.services.NodeServices.authorise` sealed."""

    approver: str
    batches: tuple[BatchInfo, ...]
    op_count: int
    record_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProblemItem:
    """A to-do from the hub: a cross-check finding, or a rejection with its reason.

    Attributes:
        problem_id: stable id of the item.
        source: ``problem`` (from a problems bundle) or ``decision`` (a review decision).
        kind: what kind of finding (``rejected`` for a rejection).
        record_id: the record it concerns, when it names one.
        message_zh, message_en: what the hub says, in Chinese and English.
        field: the field it concerns, when it names one.
        details: the rest of what the hub sent.
        received_at: when it arrived.
        state: ``open``, ``answered`` or ``closed``.
        answer: the collector's answer, once given (a finding's: the note).
        answer_reason: a finding's answer as a code (``register_wrong`` …), once given.
        answer_sent: the answer went up with an authorised batch.
        resolution: why the hub closed it (``fixed``, ``accepted``, ``withdrawn``), once
            it did.
        closed_at: when the hub closed it.
    """

    problem_id: str
    source: str
    kind: str
    record_id: str | None
    message_zh: str = dataclasses.field(repr=False)
    message_en: str = dataclasses.field(repr=False)
    field: str | None
    details: Mapping[str, Any] = dataclasses.field(repr=False)
    received_at: datetime
    state: str
    answer: str | None = dataclasses.field(default=None, repr=False)
    answer_reason: str | None = None
    answer_sent: bool = False
    resolution: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeStatus:
    """The status page: counts and the state of the way out.

    Attributes:
        node_id, parent_id: this node and its parent (None before enrollment).
        enrolled: the node's certificate is installed.
        records: live records.
        records_by_category: live records per category key (a person can count twice).
        ops_by_state: ops per state (draft, returned, authorised, sent, acknowledged,
            received).
        outbox_by_state: outbox bundles per state (pending, sent, acknowledged, rejected).
        records_to_verify: baseline records not yet confirmed.
        open_problems: problems and rejections not yet answered.
        last_sync_at: when the last sync over HTTP finished (or stopped), or None.
        last_sync_ok: whether it finished without error.
        last_errors: the most recent sync and USB import errors, newest first.
    """

    node_id: str
    parent_id: str | None
    enrolled: bool
    records: int
    records_by_category: tuple[tuple[str, int], ...]
    ops_by_state: tuple[tuple[OpState, int], ...]
    outbox_by_state: tuple[tuple[BundleState, int], ...]
    records_to_verify: int
    open_problems: int
    last_sync_at: datetime | None
    last_sync_ok: bool | None
    last_errors: tuple[str, ...]

    def ops_in(self, state: OpState) -> int:
        return dict(self.ops_by_state).get(state, 0)

    def bundles_in(self, state: BundleState) -> int:
        return dict(self.outbox_by_state).get(state, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What one sync run moved (and why it stopped, if it did)."""

    uploaded: int = 0
    acknowledged: int = 0
    rejected: int = 0
    downloaded: int = 0
    applied: int = 0
    receipts_posted: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportReport:
    """Files written by :meth:`~node.services.NodeServices.export_to`."""

    files: tuple[str, ...]
    bundles: int
    receipts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportItem:
    """What happened to one imported file.

    Attributes:
        path: the file.
        outcome: ``applied``, ``parked``, ``duplicate``, ``receipt`` (a receipt for one of
            our bundles was stored) or ``rejected``.
        bundle_id: the bundle's id, when the file was readable as one.
        message: why it was rejected, or what it held.
    """

    path: str
    outcome: str
    bundle_id: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """Every file given to :meth:`~node.services.NodeServices.import_files`, in order."""

    items: tuple[ImportItem, ...]

    @property
    def rejected(self) -> tuple[ImportItem, ...]:
        return tuple(i for i in self.items if i.outcome == "rejected")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentState:
    """The node's standing with its parent.

    Attributes:
        enrolled: the certificate is installed.
        node_id: this node.
        parent_id: the hub that certified it.
        serial, not_after: the certificate's serial and expiry.
        request_file: the enrollment request written at ``node init``.
    """

    enrolled: bool
    node_id: str
    parent_id: str | None = None
    serial: str | None = None
    not_after: datetime | None = None
    request_file: str | None = None
