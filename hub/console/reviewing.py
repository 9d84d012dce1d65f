"""The review page's data and the decisions, for one account (services over the store).

- :func:`review_page`: the bundle's facts (sender, batch, approver, state, what
  staging counted, the decision and the ``decisions`` bundle that went down) and,
  for accounts that may read records, its content (:mod:`hub.console.reviewmodel`).
- :func:`approve_bundle`: approve, with the resolutions chosen on the form
  (:mod:`hub.console.resolutions`); :func:`reject_bundle`: reject with a reason.
  Both call :mod:`hub.review`, which audits the decision and queues the
  ``decisions`` bundle for the sending node (a rejection at once; the resolutions
  when the bundle merges).

Every step checks the account's role and scope first; a bundle outside the scope
does not exist for the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crypto.errors import MusterError
from hub.accounts import PERMISSIONS, AccountInfo, require
from hub.console.bundleops import bundle_ops, op_origins
from hub.console.errors import FormError
from hub.console.inbox import visible_bundle
from hub.console.resolutions import MAX_REASON, read_resolutions
from hub.console.reviewmodel import build_review
from hub.console.reviewvalues import Item, ReviewData, StoredRecord
from hub.context import HubContext
from hub.review import approve, reject
from hub.scope import sees_site
from hub.states import BundleState
from hub.store.models import BundleRow, DownBundle, RecordRow, StageItem
from protocol.ops import Op, OpKind

__all__ = [
    "DownLine",
    "ReviewPage",
    "approve_bundle",
    "reject_bundle",
    "review_page",
]

#: Findings read for one page; a bundle with more shows these and says so.
MAX_ITEMS: Final = 2000
_NEW_SHOWN: Final = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class DownLine:
    """A bundle the hub queued for the sender about this one (its ``decisions``)."""

    seq: int
    kind: str
    state: str
    created_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewPage:
    """A bundle's review page.

    Attributes:
        row: the bundle's row id (its number in the inbox).
        facts: header facts, outcome and provenance (no personal data).
        summary: what staging counted (``new_records``, ``conflicts``…).
        resolutions: the resolutions it was approved with, as stored.
        data: its content, for accounts that may read records (else None).
        content_error: why the content could not be read, if it could not.
        truncated: the bundle has more findings than the page shows.
        down: the ``decisions`` bundles queued for the sender about it.
    """

    row: int
    facts: Mapping[str, Any]
    summary: Mapping[str, Any]
    resolutions: tuple[Mapping[str, Any], ...]
    data: ReviewData | None
    content_error: str | None
    truncated: bool
    down: tuple[DownLine, ...]

    @property
    def state(self) -> str:
        return str(self.facts["state"])

    @property
    def decidable(self) -> bool:
        return self.state == BundleState.STAGED.value


_FACTS: Final = (
    "bundle_id",
    "kind",
    "sender",
    "recipient",
    "seq",
    "state",
    "source",
    "received_at",
    "created",
    "count",
    "size",
    "batch_id",
    "approver",
    "reason",
    "reason_code",
    "decided_by",
    "decided_at",
    "merged_at",
    "bundle_hash",
)


def _row(ctx: HubContext, session: Session, account: AccountInfo, row_id: int) -> BundleRow:
    return visible_bundle(ctx, account, session.get(BundleRow, row_id), row_id)


def _items(session: Session, row_id: int) -> tuple[list[Item], bool]:
    rows = session.scalars(
        sa.select(StageItem)
        .where(StageItem.bundle == row_id)
        .order_by(StageItem.id)
        .limit(MAX_ITEMS + 1)
    ).all()
    items = [
        Item(id=i.id, kind=i.kind, record_id=i.record_id, op_id=i.op_id, field=i.field, data=i.data)
        for i in rows[:MAX_ITEMS]
    ]
    return items, len(rows) > MAX_ITEMS


def _stored(session: Session, account: AccountInfo, ids: set[str]) -> dict[str, StoredRecord]:
    found: dict[str, StoredRecord] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 1000):
        for row in session.scalars(
            sa.select(RecordRow).where(RecordRow.record_id.in_(wanted[start : start + 1000]))
        ):
            versions = row.versions if isinstance(row.versions, dict) else {}
            found[row.record_id] = StoredRecord(
                record_id=row.record_id,
                site=row.site,
                status=row.status,
                values=row.data,
                heads=tuple((str(h), str(o)) for h, o in versions.get("o", ())),
                visible=sees_site(account, row.site),
            )
    return found


def _bundle_ops(
    ctx: HubContext, session: Session, row: BundleRow, wanted: set[str], *, new_shown: int
) -> tuple[list[Op], set[str]]:
    """The bundle's ops for ``wanted`` records and its first ``new_shown`` created records."""
    kept: list[Op] = []
    created: set[str] = set()
    for op in bundle_ops(ctx, session, row):
        if op.kind is OpKind.CREATE:
            created.add(op.record_id)
            if op.record_id not in wanted and len(created) <= new_shown:
                wanted.add(op.record_id)
        if op.record_id in wanted:
            kept.append(op)
    return kept, created


def _authors(session: Session, data_items: list[Item], records: set[str]) -> dict[str, str]:
    """Who made the stored heads of conflicted fields (from the bundles that brought them)."""
    heads = {str(h) for i in data_items if i.kind == "conflict" for h in i.data.get("heads", ())}
    if not heads:
        return {}
    bundles = set(
        session.scalars(
            sa.select(StageItem.bundle).where(StageItem.op_id.in_(sorted(heads))).distinct()
        )
    )
    return {
        o.op.op_id: o.op.author
        for o in op_origins(session, bundles, records)
        if o.op.op_id in heads
    }


def _content(
    ctx: HubContext, session: Session, account: AccountInfo, row: BundleRow, *, listing: bool
) -> tuple[ReviewData, str | None, bool]:
    """The bundle's findings and the records they name.

    ``listing`` reads the whole page's worth (new records, who made stored heads);
    without it only what a decision needs: the bundle is read only when it holds a
    duplicate (the new record's values are in it).
    """
    items, truncated = _items(session, row.id)
    records = {i.record_id for i in items}
    duplicated = {i.record_id for i in items if i.kind == "duplicate"}
    others = {str(o) for i in items if i.kind == "duplicate" for o in i.data.get("others", ())}
    ops: list[Op] = []
    created: set[str] = set()
    error = None
    if row.kind == "delta" and (listing or duplicated):
        wanted = set(records) if listing else duplicated
        try:
            ops, created = _bundle_ops(
                ctx, session, row, wanted, new_shown=_NEW_SHOWN if listing else 0
            )
        except (MusterError, OSError) as exc:
            error = exc.message if isinstance(exc, MusterError) else "raw bundle unreadable"
    # Records this bundle created are shown from the bundle, even after it merged.
    stored = _stored(session, account, (records - created) | others)
    summary = row.summary or {}
    data = build_review(
        items,
        ops,
        stored,
        authors=_authors(session, items, records) if listing else {},
        new_total=int(summary.get("new_records") or 0),
        field_order=ctx.schema.position,
    )
    return data, error, truncated


def review_page(ctx: HubContext, account: AccountInfo, row_id: int) -> ReviewPage:
    """The review page of bundle ``row_id`` as ``account`` may see it.

    Raises:
        ForbiddenError: the account's role may not read bundles.
        NotFoundError: no such bundle inside the account's scope.
    """
    require(account, "read_bundles")
    with ctx.store.read() as session:
        row = _row(ctx, session, account, row_id)
        data, error, truncated = None, None, False
        if account.role in PERMISSIONS["read_records"]:
            data, error, truncated = _content(ctx, session, account, row, listing=True)
        down = session.scalars(
            sa.select(DownBundle).where(DownBundle.about == row.id).order_by(DownBundle.id)
        ).all()
        summary = dict(row.summary or {})
        return ReviewPage(
            row=row.id,
            facts={name: getattr(row, name) for name in _FACTS},
            summary={k: v for k, v in summary.items() if k not in ("resolutions", "merged")},
            resolutions=tuple(summary.get("resolutions") or ()),
            data=data,
            content_error=error,
            truncated=truncated,
            down=tuple(
                DownLine(
                    seq=d.seq,
                    kind=d.kind,
                    state=d.state,
                    created_at=d.created_at,
                    acknowledged_at=d.acknowledged_at,
                )
                for d in down
            ),
        )


def approve_bundle(
    ctx: HubContext, account: AccountInfo, row_id: int, form: Mapping[str, Any]
) -> int:
    """Approve a staged bundle with the resolutions chosen on ``form``; return how many.

    Raises:
        ForbiddenError: the account's role may not review.
        NotFoundError: no such bundle inside the account's scope.
        AlreadyDecidedError: the bundle is not waiting for review.
        FormError: a choice on the form cannot be acted on (nothing is decided).
        FieldValueError: a chosen value is not valid for its field (nothing is decided).
    """
    require(account, "review")
    with ctx.store.read() as session:
        row = _row(ctx, session, account, row_id)
        data, _error, _truncated = _content(ctx, session, account, row, listing=False)
    resolutions = read_resolutions(data, form, schema=ctx.schema)
    approve(ctx, row_id, by=account.login, resolutions=resolutions)
    return len(resolutions)


def reject_bundle(ctx: HubContext, account: AccountInfo, row_id: int, reason: str) -> None:
    """Reject a staged bundle; the sending node learns ``reason`` in a ``decisions`` bundle.

    Raises:
        ForbiddenError: the account's role may not review.
        NotFoundError: no such bundle inside the account's scope.
        FormError: the reason is empty or too long (nothing is decided).
        AlreadyDecidedError: the bundle is not waiting for review.
    """
    require(account, "review")
    text = reason.strip()
    if not text:
        raise FormError("rejection: expected a reason, got none", key="review.error.reason_missing")
    if len(text) > MAX_REASON:
        raise FormError(
            f"rejection reason: expected at most {MAX_REASON} characters, got {len(text)}",
            key="review.error.reason_long",
        )
    with ctx.store.read() as session:
        _row(ctx, session, account, row_id)
    reject(ctx, row_id, by=account.login, reason=text)
