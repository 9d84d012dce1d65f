"""The audit log for auditors and administrators: its entries, and the chain check.

Entries are read newest first, a page at a time, optionally of one kind of action
(``login``, ``review``, ``account``…: the part of the action before its dot), and
only those inside the account's scope (:func:`hub.queries.audit_entries`, the admin
API's too).
Details hold ids and counts only (:mod:`hub.audit`), so the page shows them as
stored. :func:`check_chain` runs :func:`hub.audit.verify_audit` and reports the
result instead of raising, so the page can say where the chain breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from hub.accounts import AccountInfo, require
from hub.audit import append_audit, verify_audit
from hub.context import HubContext
from hub.queries import audit_entries
from hub.store.models import AuditRow
from protocol.errors import AuditChainError

__all__ = ["AUDIT_PAGE", "AuditLine", "AuditPage", "ChainCheck", "audit_page", "check_chain"]

#: Entries per page.
AUDIT_PAGE: Final = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditLine:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditPage:
    entries: tuple[AuditLine, ...]
    kinds: tuple[str, ...]
    #: None for an account scoped to part of the hub (hub.queries.audit_entries).
    total: int | None
    next_before: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainCheck:
    """The result of a chain check: how many entries verified, or where it broke."""

    ok: bool
    entries: int
    message: str = ""
    seq: int | None = None


def audit_page(
    ctx: HubContext, account: AccountInfo, *, kind: str = "", before: int | None = None
) -> AuditPage:
    """A page of the audit entries inside the account's scope, newest first.

    Raises:
        ForbiddenError: the account may not read the audit log.
    """
    found = audit_entries(ctx, account, kind=kind, before=before, limit=AUDIT_PAGE)
    with ctx.store.read() as session:
        actions = session.scalars(sa.select(AuditRow.action).distinct()).all()
    return AuditPage(
        entries=tuple(AuditLine(**entry) for entry in found.entries),
        kinds=tuple(sorted({a.split(".", 1)[0] for a in actions})),
        total=found.total,
        next_before=found.next_before,
    )


def check_chain(ctx: HubContext, account: AccountInfo) -> ChainCheck:
    """Verify the whole hash chain (and record that it was checked).

    Raises:
        ForbiddenError: the account may not read the audit log.
    """
    require(account, "read_audit")
    try:
        count = verify_audit(ctx.store)
    except AuditChainError as exc:
        seq = exc.fields.get("seq")
        return ChainCheck(
            ok=False, entries=0, message=exc.message, seq=seq if isinstance(seq, int) else None
        )
    with ctx.store.write() as session:
        append_audit(
            session,
            at=ctx.now(),
            actor=account.login,
            action="audit.verified",
            subject=ctx.site,
            details={"entries": count},
        )
    return ChainCheck(ok=True, entries=count)
