"""Jurisdiction: what an account may see.

Every console account has a *scope*, a division code inside the hub's own
jurisdiction. Bundles are seen by the site of their sender (a node ``370102001-01``
belongs to ``370102001``), records by the site that created them, certificates,
enrollment requests and accounts by their site. Something outside the scope is
treated as if it did not exist (a 404, never a 403 that would confirm it).

Bundles whose header could not be read have no sender; only accounts whose scope
is the whole hub see them (they carry no personal data).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.accounts import AccountInfo, in_scope
from hub.store.models import BundleRow, RecordRow
from protocol.divisions import jurisdiction_prefix
from protocol.errors import TrustError
from protocol.trust import site_of

__all__ = [
    "bundle_filter",
    "record_filter",
    "sees_bundle",
    "sees_site",
    "sees_subject",
    "whole_hub",
]


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
