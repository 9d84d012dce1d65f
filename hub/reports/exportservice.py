"""Record-level export from the hub store: the one report output with personal data.

A separate action from the summary report (docs/reports.md §8.6): only roles
with ``export_records`` (administrators) may run it, only for records inside
their scope, only the fields they choose (never photos or signatures), and
every export — and every refused attempt — is written to the audit log with
counts, field keys and the file's SHA-256, never a value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from hub.accounts import AccountInfo, in_scope, require
from hub.audit import append_audit
from hub.context import HubContext
from hub.errors import ForbiddenError
from hub.store.models import RecordRow
from node.reports.errors import RegionError
from node.reports.export import ExportSummary, export_records
from protocol.divisions import jurisdiction_prefix
from protocol.ops import STATUS_LIVE

__all__ = ["DEFAULT_EXPORT_FIELDS", "export_scope"]

#: What an export holds when no fields are chosen: who, where, which category.
DEFAULT_EXPORT_FIELDS: Final = (
    "name",
    "id_number",
    "subject_category",
    "hukou_division_code",
    "phone",
    "collect_date",
)
_PAGE: Final = 2000


def _rows(ctx: HubContext, prefix: str) -> Iterator[dict[str, Any]]:
    """Live records collected inside ``prefix``, a page at a time, in record-id order."""
    after = ""
    while True:
        with ctx.store.read() as session:
            page = session.execute(
                sa.select(RecordRow.record_id, RecordRow.data)
                .where(
                    RecordRow.site.like(f"{prefix}%"),
                    RecordRow.status == STATUS_LIVE,
                    RecordRow.record_id > after,
                )
                .order_by(RecordRow.record_id)
                .limit(_PAGE)
            ).all()
        if not page:
            return
        for _, data in page:
            yield data
        after = page[-1][0]


def _audit(ctx: HubContext, account: AccountInfo, action: str, scope: str, **details: Any) -> None:
    with ctx.store.write() as session:
        append_audit(
            session,
            at=ctx.now(),
            actor=account.login,
            action=action,
            subject=scope,
            details=details,
        )


def export_scope(
    ctx: HubContext,
    account: AccountInfo,
    path: Path,
    *,
    fields: Sequence[str] = DEFAULT_EXPORT_FIELDS,
    scope: str | None = None,
    lang: str = "zh-CN",
) -> ExportSummary:
    """Write the chosen fields of the live records of ``scope`` to an XLSX file, audited.

    Args:
        ctx: the hub's services.
        account: who exports (role and scope are checked).
        path: the file to write (mode 0600, whole or not at all).
        fields: the field keys, in column order.
        scope: a division inside the account's scope (default: the account's).
        lang: ``zh-CN`` or ``en`` headers and labels.

    Raises:
        ForbiddenError: the account's role may not export records (the refusal is audited).
        RegionError: ``scope`` lies outside the account's.
        ReportModelError: a field is unknown, a photo, or repeated.
        ReportWriteError: the file cannot be written.
    """
    scope = scope or account.scope
    try:
        require(account, "export_records")
    except ForbiddenError:
        _audit(ctx, account, "records.export_refused", scope, role=account.role.value)
        raise
    if not (scope.isascii() and scope.isdigit() and len(scope) in (6, 9)) or not in_scope(
        account, scope
    ):
        raise RegionError(f"export scope {scope[:12]!r}: expected a region inside {account.scope}")
    summary = export_records(
        _rows(ctx, jurisdiction_prefix(scope)), ctx.schema, path, fields=fields, lang=lang
    )
    try:
        _audit(
            ctx,
            account,
            "records.exported",
            scope,
            records=summary.records,
            fields=list(summary.fields),
            sha256=summary.sha256,
        )
    except BaseException:
        # No export without its audit entry.
        with contextlib.suppress(OSError):
            Path(path).unlink()
        raise
    return summary
