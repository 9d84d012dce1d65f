"""Jurisdiction: what an account may see. One mechanism for the admin API and the console.

Every account has a *scope*, a division code inside the hub's own jurisdiction.
Bundles are seen by the site of their sender (a node ``370102001-01`` belongs to
``370102001``), records by the site that created them, certificates, enrollment
requests and accounts by their site, alerts by the sender they are about, audit
entries by what they are about (:func:`visible_audit`). Something outside the
scope is treated as if it did not exist: the ``*_in_scope`` guards raise
:class:`~hub.errors.NotFoundError` (a 404, never a 403 that would confirm it).

Bundles whose header could not be read have no sender; only accounts whose scope
is the whole hub see them (they carry no personal data). The same holds for audit
entries about nothing inside a division (the hub's own chain checks, failed logins
of unknown names).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.accounts import AccountInfo, in_scope
from hub.errors import NotFoundError
from hub.store.models import (
    Account,
    Alert,
    AuditRow,
    BundleRow,
    CertificateRow,
    EnrollmentRow,
    RecordRow,
)
from protocol.divisions import jurisdiction_prefix
from protocol.errors import TrustError
from protocol.trust import site_of

__all__ = [
    "account_in_scope",
    "bundle_filter",
    "bundle_in_scope",
    "certificate_in_scope",
    "record_filter",
    "request_in_scope",
    "sees_bundle",
    "sees_site",
    "sees_subject",
    "visible_audit",
    "whole_hub",
]

#: Audit actions whose subject is an account's login.
_ACCOUNT_ACTIONS: Final = ("account.", "login", "logout")


def whole_hub(account: AccountInfo, hub_site: str) -> bool:
    """Whether the account's scope is the hub's whole jurisdiction."""
    return jurisdiction_prefix(account.scope) == jurisdiction_prefix(hub_site)


def sees_site(account: AccountInfo, site: str | None) -> bool:
    """Whether a division code lies inside the account's scope (False for junk)."""
    return site is not None and in_scope(account, site)


def sees_subject(account: AccountInfo, subject: str | None) -> bool:
    """Whether a node, hub or person id (``370102001-01``, ``370102001/li.na``) is in scope."""
    if not subject:
        return False
    try:
        return in_scope(account, site_of(subject))
    except TrustError:
        return False


def sees_bundle(account: AccountInfo, hub_site: str, sender: str | None) -> bool:
    """Whether the account may see a bundle from ``sender`` (None: unreadable header)."""
    if sender is None:
        return whole_hub(account, hub_site)
    return sees_subject(account, sender)


def _prefix_like(column: Any, account: AccountInfo) -> Any:
    # Division codes and node ids are digits and '-': no LIKE wildcards to escape.
    return column.like(jurisdiction_prefix(account.scope) + "%")


def bundle_filter(account: AccountInfo, hub_site: str) -> Any:
    """A WHERE clause selecting the bundles the account may see."""
    mine = _prefix_like(BundleRow.sender, account)
    if whole_hub(account, hub_site):
        return sa.or_(mine, BundleRow.sender.is_(None))
    return mine


def record_filter(account: AccountInfo) -> Any:
    """A WHERE clause selecting the records the account may see."""
    return _prefix_like(RecordRow.site, account)


def bundle_in_scope(
    session: Session, account: AccountInfo, hub_site: str, row_id: int
) -> BundleRow:
    """The bundle row ``row_id`` if the account may see it.

    Raises:
        NotFoundError: no such bundle, or not inside the account's scope.
    """
    row = session.get(BundleRow, row_id)
    if row is None or not sees_bundle(account, hub_site, row.sender):
        raise NotFoundError(f"no bundle {row_id}")
    return row


def request_in_scope(session: Session, account: AccountInfo, ident: str) -> EnrollmentRow:
    """The enrollment request ``ident`` if it is for a site inside the scope.

    Raises:
        NotFoundError: no such request inside the account's scope.
    """
    row = session.get(EnrollmentRow, ident)
    if row is None or not sees_site(account, row.site):
        raise NotFoundError(f"no enrollment request {ident[:32]}")
    return row


def certificate_in_scope(
    session: Session, account: AccountInfo, hub_site: str, serial: str
) -> CertificateRow:
    """A certificate this hub issued to a subject inside the scope.

    Raises:
        NotFoundError: no such certificate issued by the hub inside the account's scope.
    """
    row = session.get(CertificateRow, serial)
    if row is None or row.issuer != hub_site or not sees_site(account, row.site):
        raise NotFoundError(f"no certificate {serial[:32]} issued by {hub_site}")
    return row


def account_in_scope(session: Session, account: AccountInfo, login: str) -> Account:
    """The account ``login`` if its scope lies inside ``account``'s.

    Raises:
        NotFoundError: no such account inside the account's scope.
    """
    row = session.scalar(sa.select(Account).where(Account.login == login))
    if row is None or not sees_site(account, row.scope):
        raise NotFoundError("no such account")
    return row


def _row_of(details: str) -> int | None:
    try:
        found = json.loads(details).get("row")
    except (ValueError, AttributeError):
        return None
    return found if type(found) is int else None


def visible_audit(
    session: Session, account: AccountInfo, hub_site: str, rows: Sequence[AuditRow]
) -> list[AuditRow]:
    """The audit entries among ``rows`` that the account may see (in their order).

    An entry is seen when what it is about lies inside the scope: the bundle its
    details name (``row``), the account an ``account.*`` or ``login*`` entry names,
    the enrollment request, certificate or alert it names; or when it was made by
    an account inside the scope. A whole-hub account sees every entry.
    """
    if whole_hub(account, hub_site):
        return list(rows)
    bundles = _lookup(
        session,
        BundleRow.id,
        BundleRow.sender,
        {r for r in (_row_of(row.details) for row in rows) if r is not None},
    )
    logins = {row.subject for row in rows} | {row.actor for row in rows}
    scopes = _lookup(session, Account.login, Account.scope, logins)
    requests = _lookup(session, EnrollmentRow.id, EnrollmentRow.site, _about(rows, "enrollment."))
    certificates = _lookup(
        session, CertificateRow.serial, CertificateRow.site, _about(rows, "certificate.")
    )
    alert_ids = {int(s) for s in _about(rows, "alert.") if s.isascii() and s.isdigit()}
    alerts = _lookup(session, Alert.id, Alert.subject, alert_ids)

    def about(row: AuditRow) -> bool:
        bundle = _row_of(row.details)
        if bundle is not None and bundle in bundles:
            return sees_subject(account, bundles[bundle])
        action = row.action
        if action.startswith(_ACCOUNT_ACTIONS):
            return sees_site(account, scopes.get(row.subject))
        if action.startswith("enrollment."):
            return sees_site(account, requests.get(row.subject))
        if action.startswith("certificate."):
            return sees_site(account, certificates.get(row.subject))
        if action.startswith("alert.") and row.subject.isascii() and row.subject.isdigit():
            return sees_subject(account, alerts.get(int(row.subject)))
        return False

    return [r for r in rows if about(r) or sees_site(account, scopes.get(r.actor))]


def _about(rows: Iterable[AuditRow], prefix: str) -> set[str]:
    return {row.subject for row in rows if row.action.startswith(prefix)}


def _lookup(session: Session, key: Any, value: Any, wanted: Iterable[Any]) -> dict[Any, Any]:
    keys = list(wanted)
    found: dict[Any, Any] = {}
    for start in range(0, len(keys), 500):
        found.update(
            session.execute(sa.select(key, value).where(key.in_(keys[start : start + 500]))).all()
        )
    return found
