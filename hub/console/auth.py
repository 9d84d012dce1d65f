"""Who is logged in to the console: the kit's authenticator and session store over the
hub's accounts (:mod:`hub.accounts`), and the account a handler acts as.

The hub's services are built when the root app starts, after the console is
mounted, so both adapters ask the :data:`~hub.console.appkeys.ContextSource` for
them on each call.

Sessions live in the hub's ``sessions`` table (:class:`hub.accounts.HubSessionStore`).
The kit records each request's use of a session; :class:`ConsoleSessions` writes
that at most once per ``touch_every`` (a write transaction per page view would
queue behind a long merge on SQLite and stall the event loop), so the idle logout
may come up to ``touch_every`` early, never late.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

from hub.accounts import (
    AccountInfo,
    HubSessionStore,
    Role,
    current_account,
)
from hub.accounts import authenticate as check_password
from hub.console.appkeys import ContextSource
from hub.errors import AuthenticationError, LoginThrottledError
from node.web.kit import Principal, Session, current_principal, token_digest

__all__ = [
    "TOUCH_EVERY",
    "ConsoleAuthenticator",
    "ConsolePrincipal",
    "ConsoleSessions",
    "account_of",
]

#: How often a session's last use is written at most.
TOUCH_EVERY: Final = timedelta(seconds=30)
_SEEN_LIMIT: Final = 10_000


# repr=False keeps the kit's repr, which names only the role (a login can be a name).
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ConsolePrincipal(Principal):
    """A logged-in console account: the kit's principal plus the account's jurisdiction.

    Attributes:
        scope: the division code whose records the account may see.
    """

    scope: str

    @property
    def account(self) -> AccountInfo:
        """The account as the hub's services take it."""
        return AccountInfo(
            login=self.login,
            display_name=self.display_name,
            role=Role(self.role),
            scope=self.scope,
            disabled=False,
        )


def _principal(account: AccountInfo) -> ConsolePrincipal:
    return ConsolePrincipal(
        login=account.login,
        display_name=account.display_name,
        role=account.role.value,
        scope=account.scope,
    )


class ConsoleAuthenticator:
    """The kit's :class:`~node.web.kit.Authenticator` over the hub's accounts.

    A password check goes through :func:`hub.accounts.authenticate`, which audits
    every login and failed login and locks an account after repeated failures.
    """

    def __init__(self, context: ContextSource) -> None:
        self._context = context

    def authenticate(self, login: str, password: str) -> Principal | None:
        """Return the principal for a right password of an enabled, unlocked account."""
        try:
            return _principal(check_password(self._context(), login, password))
        except (AuthenticationError, LoginThrottledError):
            return None

    def current(self, login: str) -> Principal | None:
        """Return the account as it is now (role and scope), or None if disabled or gone."""
        account = current_account(self._context(), login)
        return None if account is None else _principal(account)


class ConsoleSessions:
    """The kit's :class:`~node.web.kit.SessionStore` over the hub's ``sessions`` table."""

    def __init__(self, context: ContextSource, *, touch_every: timedelta = TOUCH_EVERY) -> None:
        self._context = context
        self._touch_every = touch_every
        self._lock = threading.Lock()
        self._seen: dict[str, datetime] = {}

    def _store(self) -> HubSessionStore:
        return HubSessionStore(self._context())

    def create(self, account: str, now: datetime) -> str:
        """Start a session for ``account``; return its token."""
        return self._store().create(account, now)

    def get(self, token: str, now: datetime) -> Session | None:
        """Return the live session of ``token``, or None."""
        session = self._store().get(token, now)
        if session is not None:
            with self._lock:
                if len(self._seen) >= _SEEN_LIMIT:
                    self._seen.clear()
                self._seen[token_digest(token)] = session.last_seen
        return session

    def touch(self, token: str, now: datetime) -> None:
        """Record the use of a session, unless it was recorded less than ``touch_every`` ago."""
        with self._lock:
            seen = self._seen.get(token_digest(token))
        if seen is not None and now - seen < self._touch_every:
            return
        self._store().touch(token, now)

    def delete(self, token: str) -> None:
        """End the session of ``token``."""
        with self._lock:
            self._seen.pop(token_digest(token), None)
        self._store().delete(token)


def account_of(request: web.Request) -> AccountInfo:
    """The account the request acts as (role and jurisdiction).

    Raises:
        NotLoggedInError: no live session.
    """
    principal = current_principal(request)
    assert isinstance(principal, ConsolePrincipal)  # the console's authenticator made it
    return principal.account
