"""Read-only views for the admin API: the inbox, a bundle's findings, records, streams
with gaps, alerts, the audit log, and the divergence digest of a node's records.

Every view is limited to the asking account's scope (:mod:`hub.scope`, the mechanism
the console uses too): a bundle, record, alert or audit entry outside it is never
returned, and asking for one by its id is a 404 (as if it did not exist).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from crypto.hashing import TAG_STATE_DIGEST
from hub.accounts import AccountInfo, require
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.rawstore import bundle_path
from hub.scope import (
    bundle_filter,
    bundle_in_scope,
    record_filter,
    sees_site,
    sees_subject,
    visible_audit,
    whole_hub,
)
from hub.store.models import Alert, AuditRow, BundleRow, RecordRow, StageItem
from hub.streams import Gap, stream_gaps
from protocol.bundle import open_bundle
from protocol.divisions import parse_node_id
from protocol.entries import decode_entry
from protocol.ops import Op, OpKind
from protocol.trust import CertificateTrust
from protocol.trust.statement import canonical_json

__all__ = [
    "AuditPage",
    "BundleView",
    "alerts",
    "audit_entries",
    "bundle_creates",
    "bundle_items",
    "bundle_view",
    "gaps",
    "get_record",
    "inbox",
    "records_digest",
    "search_records",
]

_MAX_PAGE: Final = 500
#: Audit entries looked at for one page of a partial scope's entries at most.
_AUDIT_SCAN: Final = 20_000
_AUDIT_BATCH: Final = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleView:
    """A bundle row as the inbox shows it (no personal data)."""

    row: int
    bundle_id: str | None
    bundle_hash: str
    kind: str | None
    sender: str | None
    seq: int | None
    state: str
    received_at: datetime
    count: int | None
    size: int
    batch_id: str | None
    approver: str | None
    reason: str | None
    reason_code: str | None
    summary: dict[str, Any] | None
    decided_by: str | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _view(row: BundleRow) -> BundleView:
    return BundleView(
        row=row.id,
        bundle_id=row.bundle_id,
        bundle_hash=row.bundle_hash,
        kind=row.kind,
        sender=row.sender,
        seq=row.seq,
        state=row.state,
        received_at=row.received_at,
        count=row.count,
        size=row.size,
        batch_id=row.batch_id,
        approver=row.approver,
        reason=row.reason,
        reason_code=row.reason_code,
        summary=row.summary,
        decided_by=row.decided_by,
    )


def inbox(
    ctx: HubContext,
    account: AccountInfo,
    *,
    state: str | None = None,
    sender: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[BundleView]:
    """Bundles inside the account's scope by arrival, optionally of one state or sender,
    after a row id."""
    require(account, "read_bundles")
    query = (
        sa.select(BundleRow)
        .where(bundle_filter(account, ctx.site), BundleRow.id > after)
        .order_by(BundleRow.id)
    )
    if state:
        query = query.where(BundleRow.state == state)
    if sender:
        query = query.where(BundleRow.sender == sender)
    with ctx.store.read() as session:
        return [_view(r) for r in session.scalars(query.limit(min(max(limit, 1), _MAX_PAGE)))]


def bundle_view(ctx: HubContext, account: AccountInfo, row_id: int) -> BundleView:
    """Raises:
    NotFoundError: no such bundle inside the account's scope.
    """
    require(account, "read_bundles")
    with ctx.store.read() as session:
        return _view(bundle_in_scope(session, account, ctx.site, row_id))


def bundle_items(
    ctx: HubContext,
    account: AccountInfo,
    row_id: int,
    *,
    kind: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A bundle's findings (changes with old → new values, conflicts, duplicates, warnings).

    Values are personal data: only accounts that may read records get them, and only
    of bundles from inside their scope.

    Raises:
        NotFoundError: no such bundle inside the account's scope.
    """
    require(account, "read_records")
    query = (
        sa.select(StageItem)
        .where(StageItem.bundle == row_id, StageItem.id > after)
        .order_by(StageItem.id)
        .limit(min(max(limit, 1), _MAX_PAGE))
    )
    if kind:
        query = query.where(StageItem.kind == kind)
    with ctx.store.read() as session:
        bundle_in_scope(session, account, ctx.site, row_id)
        return [
            {
                "id": i.id,
                "kind": i.kind,
                "record_id": i.record_id,
                "op_id": i.op_id,
                "field": i.field,
                **i.data,
            }
            for i in session.scalars(query)
        ]


def bundle_creates(
    ctx: HubContext, account: AccountInfo, row_id: int, *, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """The records a delta bundle creates, read from its stored file (for review).

    New records are not kept as findings (a bundle of 100,000 creates would be
    100,000 rows); the reviewer pages through them here, ``after`` entries at a time.

    Raises:
        NotFoundError: no such delta bundle inside the account's scope.
        BundleError: the stored file no longer opens (it never changes, so: damage).
    """
    require(account, "read_records")
    with ctx.store.read() as session:
        row = bundle_in_scope(session, account, ctx.site, row_id)
        if row.kind != "delta":
            raise NotFoundError(f"no delta bundle {row_id}")
        trust = CertificateTrust(ctx.trust(session), row.received_at)
    limit = min(max(limit, 1), _MAX_PAGE)
    found: list[dict[str, Any]] = []
    with bundle_path(ctx.config.bundles_dir, row.bundle_hash).open("rb") as source:
        opened = open_bundle(
            source, trust=trust, identities=ctx.identities, limits=ctx.config.limits
        )
        entries = opened.entries()
        try:
            for index, raw in enumerate(entries):
                if index <= after:
                    continue
                value = decode_entry(raw, index)
                if isinstance(value, Op) and value.kind is OpKind.CREATE:
                    values = {
                        k: list(v) if isinstance(v, tuple) else v for k, v in value.create_values()
                    }
                    found.append(
                        {
                            "entry": index,
                            "record_id": value.record_id,
                            "op_id": value.op_id,
                            "values": values,
                        }
                    )
                    if len(found) >= limit:
                        break
        finally:
            getattr(entries, "close", lambda: None)()
    return found


def _record_dict(row: RecordRow) -> dict[str, Any]:
    return {
        "record_id": row.record_id,
        "site": row.site,
        "status": row.status,
        "values": row.data,
        "versions": row.versions,
    }


def get_record(ctx: HubContext, account: AccountInfo, record_id: str) -> dict[str, Any]:
    """Raises:
    NotFoundError: no such record within the account's scope.
    """
    require(account, "read_records")
    with ctx.store.read() as session:
        row = session.get(RecordRow, record_id)
        if row is None or not sees_site(account, row.site):
            raise NotFoundError("no such record")
        return _record_dict(row)


def search_records(
    ctx: HubContext, account: AccountInfo, *, id_number: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Records inside the account's scope, optionally by ID number."""
    require(account, "read_records")
    query = sa.select(RecordRow).where(record_filter(account))
    if id_number:
        query = query.where(RecordRow.id_number == id_number)
    with ctx.store.read() as session:
        rows = session.scalars(query.order_by(RecordRow.record_id).limit(min(limit, _MAX_PAGE)))
        return [_record_dict(r) for r in rows]


def gaps(ctx: HubContext, account: AccountInfo) -> list[Gap]:
    """Streams waiting for missing bundles, from senders inside the account's scope."""
    require(account, "read_bundles")
    with ctx.store.read() as session:
        return [g for g in stream_gaps(session) if sees_subject(account, g.sender)]


def alerts(ctx: HubContext, account: AccountInfo) -> list[dict[str, Any]]:
    """Alerts about senders inside the account's scope, newest first."""
    require(account, "read_bundles")
    with ctx.store.read() as session:
        rows = session.scalars(sa.select(Alert).order_by(Alert.id.desc()).limit(_MAX_PAGE))
        return [
            {
                "id": a.id,
                "at": a.at.isoformat(),
                "kind": a.kind,
                "subject": a.subject,
                "bundle": a.bundle,
                "message": a.message,
                "closed": a.closed_at is not None,
            }
            for a in rows
            if sees_subject(account, a.subject)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditPage:
    """A page of audit entries the account may see, newest first.

    Attributes:
        entries: the entries, as stored (details hold ids and counts only).
        next_before: pass as ``before`` for the next page; None at the end.
        total: how many entries the log holds (None for a partial scope: the count
            would tell about other divisions' activity).
    """

    entries: tuple[dict[str, Any], ...]
    next_before: int | None
    total: int | None


def _entry(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "details": json.loads(row.details),
        "hash": row.hash,
    }


def audit_entries(
    ctx: HubContext,
    account: AccountInfo,
    *,
    kind: str = "",
    before: int | None = None,
    limit: int = 100,
) -> AuditPage:
    """Audit entries inside the account's scope, newest first, optionally of one kind
    (``login``, ``review``…: an action or the part before its dot).

    For an account scoped to part of the hub at most 20,000 entries are looked at for
    one page; a page may then be short, and ``next_before`` goes on from there.

    Raises:
        ForbiddenError: the account may not read the audit log.
    """
    require(account, "read_audit")
    limit = min(max(limit, 1), _MAX_PAGE)
    query = sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(_AUDIT_BATCH)
    if kind:
        query = query.where(
            sa.or_(AuditRow.action == kind, AuditRow.action.startswith(kind + ".", autoescape=True))
        )
    whole = whole_hub(account, ctx.site)
    found: list[dict[str, Any]] = []
    cursor, scanned, more = before, 0, True
    with ctx.store.read() as session:
        while len(found) <= limit and scanned < _AUDIT_SCAN:
            batch = session.scalars(
                query if cursor is None else query.where(AuditRow.seq < cursor)
            ).all()
            more = len(batch) == _AUDIT_BATCH
            if not batch:
                break
            found.extend(_entry(r) for r in visible_audit(session, account, ctx.site, batch))
            cursor, scanned = batch[-1].seq, scanned + len(batch)
            if not more:
                break
        total = (
            int(session.scalar(sa.select(sa.func.count()).select_from(AuditRow)) or 0)
            if whole
            else None
        )
    page = found[:limit]
    if len(found) > limit:
        next_before: int | None = page[-1]["seq"]
    else:
        next_before = cursor if more and scanned >= _AUDIT_SCAN else None
    return AuditPage(entries=tuple(page), next_before=next_before, total=total)


def _versions_of(ctx: HubContext, site: str) -> Iterator[tuple[str, Any]]:
    after = ""
    while True:
        with ctx.store.read() as session:
            rows = session.execute(
                sa.select(RecordRow.record_id, RecordRow.versions)
                .where(RecordRow.site == site, RecordRow.record_id > after)
                .order_by(RecordRow.record_id)
                .limit(5000)
            ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def records_digest(ctx: HubContext, caller: str) -> dict[str, Any]:
    """The digest of the record states that originated at the caller's site.

    ``tagged_hash("muster/state-digest/v1", id₁, versions₁, id₂, versions₂, …)`` over the
    records in record-id order, each versions document as canonical JSON.
    """
    site = parse_node_id(caller).site_code
    # The framing of crypto.hashing.tagged_hash, fed incrementally: the records of a
    # town never sit in memory at once.
    digest = hashlib.blake2b(digest_size=32)
    digest.update(len(TAG_STATE_DIGEST).to_bytes(2, "big") + TAG_STATE_DIGEST)
    count = 0
    for record_id, versions in _versions_of(ctx, site):
        data = versions if isinstance(versions, dict) else json.loads(versions)
        for part in (record_id.encode(), canonical_json(data)):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        count += 1
    return {"scope": site, "count": count, "digest": digest.hexdigest()}
