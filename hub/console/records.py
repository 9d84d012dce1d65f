"""Records for the console: search inside a scope, and one record with its history.

Search is by national ID number (exact; a 15-digit number is upgraded first) or by
name (from its beginning). A record's history is its ops as they were merged, each
with its provenance: the bundle it came in, the authorised batch, who authorised
the batch at the origin node, who approved the bundle here; a reviewer's
resolution names the reviewer. Ops are found in the op batches of the bundles that
touched the record (staging findings name them), of the reviewers' resolutions,
and of the first bundles its creating node sent after creating it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.accounts import AccountInfo, require
from hub.console.bundleops import OpOrigin, op_origins
from hub.context import HubContext
from hub.errors import NotFoundError
from hub.scope import record_filter, sees_site
from hub.store.models import BundleRow, OpBatch, RecordRow, StageItem
from protocol.errors import FieldValueError
from protocol.hlc import Timestamp
from protocol.ops import is_record_id
from protocol.schema import Schema, coerce_value

__all__ = [
    "SEARCH_LIMIT",
    "Finding",
    "RecordLine",
    "RecordPage",
    "record_page",
    "search_records",
]

#: Records a search returns at most.
SEARCH_LIMIT: Final = 100
_NAME_MAX: Final = 50
#: Bundles a record's creating node sent after it, searched for its create.
_CREATE_WINDOW: Final = 5
_RESOLUTION_BATCHES: Final = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordLine:
    """A record in a list of search results."""

    record_id: str
    site: str
    status: str
    name: Any
    id_number: str | None
    categories: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What staging found about the record in one bundle."""

    bundle_row: int
    bundle_id: str | None
    bundle_state: str
    kind: str
    field: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPage:
    """One record: current values, open conflicts, history with provenance, findings."""

    record_id: str
    site: str
    status: str
    values: Mapping[str, Any]
    conflicted: tuple[str, ...]
    created_at: datetime | None
    created_by: str | None
    history: tuple[OpOrigin, ...]
    findings: tuple[Finding, ...]


def _line(row: RecordRow) -> RecordLine:
    data = row.data or {}
    return RecordLine(
        record_id=row.record_id,
        site=row.site,
        status=row.status,
        name=data.get("name"),
        id_number=row.id_number,
        categories=data.get("subject_category"),
    )


def _id_number(schema: Schema, text: str) -> str | None:
    try:
        value = coerce_value(schema.field("id_number"), text)
    except FieldValueError:
        return None
    return value if isinstance(value, str) else None


def search_records(
    ctx: HubContext,
    account: AccountInfo,
    *,
    id_number: str = "",
    name: str = "",
) -> tuple[RecordLine, ...]:
    """Records inside the account's scope with this ID number, or whose name begins so.

    An ID number that is not one (wrong length or characters) finds nothing.

    Raises:
        ForbiddenError: the account's role may not read records.
    """
    require(account, "read_records")
    query = sa.select(RecordRow).where(record_filter(account))
    id_number, name = id_number.strip(), name.strip()[:_NAME_MAX]
    if id_number:
        number = _id_number(ctx.schema, id_number)
        if number is None:
            return ()
        query = query.where(RecordRow.id_number == number)
    elif name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(RecordRow.data["name"].as_string().like(escaped + "%", escape="\\"))
    else:
        return ()
    with ctx.store.read() as session:
        rows = session.scalars(query.order_by(RecordRow.record_id).limit(SEARCH_LIMIT)).all()
        return tuple(_line(r) for r in rows)


def _created(versions: Mapping[str, Any]) -> Timestamp | None:
    status = (versions.get("f") or {}).get("_status")
    heads = versions.get("o") or []
    if isinstance(status, int) and 0 <= status < len(heads):
        return Timestamp.decode(heads[status][0])
    stamps = [Timestamp.decode(h[0]) for h in heads]
    return min(stamps, key=lambda s: s.wall_ms) if stamps else None


def _candidate_bundles(session: Session, row: RecordRow, created: Timestamp | None) -> set[int]:
    bundles = set(
        session.scalars(
            sa.select(StageItem.bundle).where(StageItem.record_id == row.record_id).distinct()
        )
    )
    bundles |= set(
        session.scalars(
            sa.select(OpBatch.bundle)
            .where(OpBatch.source == "resolution")
            .order_by(OpBatch.id.desc())
            .limit(_RESOLUTION_BATCHES)
        )
    )
    if created is not None:
        after = datetime.fromtimestamp(created.wall_ms / 1000, UTC)
        bundles |= set(
            session.scalars(
                sa.select(BundleRow.id)
                .where(
                    BundleRow.sender == created.node,
                    BundleRow.created >= after,
                    BundleRow.merged_at.is_not(None),
                )
                .order_by(BundleRow.seq)
                .limit(_CREATE_WINDOW)
            )
        )
    return bundles


def _conflicted(versions: Mapping[str, Any]) -> tuple[str, ...]:
    fields = versions.get("f") or {}
    return tuple(
        sorted(k for k, spec in fields.items() if isinstance(spec, list) and len(spec[0]) > 1)
    )


def record_page(ctx: HubContext, account: AccountInfo, record_id: str) -> RecordPage:
    """One record inside the account's scope, with its history and provenance.

    Raises:
        ForbiddenError: the account's role may not read records.
        NotFoundError: no such record inside the account's scope.
    """
    require(account, "read_records")
    if not is_record_id(record_id):
        raise NotFoundError("no such record")
    with ctx.store.read() as session:
        row = session.get(RecordRow, record_id)
        if row is None or not sees_site(account, row.site):
            raise NotFoundError("no such record")
        versions = row.versions if isinstance(row.versions, dict) else {}
        created = _created(versions)
        history = op_origins(session, _candidate_bundles(session, row, created), {record_id})
        findings = session.execute(
            sa.select(
                StageItem.bundle,
                BundleRow.bundle_id,
                BundleRow.state,
                StageItem.kind,
                StageItem.field,
            )
            .join(BundleRow, BundleRow.id == StageItem.bundle)
            .where(StageItem.record_id == record_id)
            .order_by(StageItem.id)
            .limit(500)
        ).all()
        return RecordPage(
            record_id=row.record_id,
            site=row.site,
            status=row.status,
            values=row.data,
            conflicted=_conflicted(versions),
            created_at=datetime.fromtimestamp(created.wall_ms / 1000, UTC) if created else None,
            created_by=created.node if created else None,
            history=tuple(history),
            findings=tuple(
                Finding(bundle_row=b, bundle_id=bid, bundle_state=st, kind=k, field=f)
                for b, bid, st, k, f in findings
            ),
        )
