"""Server-side sessions: the :class:`SessionStore` protocol, its rules, and a store in memory.

A session is created at login and named by a random 256-bit token, which the
browser holds in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` under
TLS). The server keeps who is logged in, the session's CSRF token, when it
began and when it was last used. A session ends at logout, when it has not
been used for ``idle`` (automatic logout), or ``lifetime`` after login,
whichever comes first: :class:`SessionPolicy` decides, so every store applies
the same rule.

The node and the hub keep sessions in their databases; :class:`MemorySessionStore`
is for tests of the kit and for tools. A store that persists sessions should
keep :func:`token_digest` of the token, not the token, so that reading the
database does not let anyone log in; :func:`new_session` makes both.

The protocol is synchronous: stores are small, local tables and the kit calls
them on the event loop once per request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from crypto.errors import UsageError

__all__ = [
    "TOKEN_BYTES",
    "MemorySessionStore",
    "Session",
    "SessionPolicy",
    "SessionStore",
    "TokenSource",
    "new_session",
    "new_token",
    "token_digest",
]

#: Session and CSRF tokens are this many random bytes (256 bits).
TOKEN_BYTES: Final = 32
#: A source of random bytes; ``secrets.token_bytes`` unless a test injects one.
TokenSource = Callable[[int], bytes]
_TOKEN_CHARS: Final = 43  # base64url of 32 bytes, unpadded


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(f"session {what}: expected an aware datetime")


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One logged-in session, as the server keeps it.

    Attributes:
        account: the login of the account (the authenticator says its role).
        csrf_token: the token every unsafe request of this session must carry.
        created_at: when the person logged in.
        last_seen: when the session was last used.
    """

    account: str
    csrf_token: str
    created_at: datetime
    last_seen: datetime

    def __post_init__(self) -> None:
        if not self.account:
            raise UsageError("session: expected an account")
        if len(self.csrf_token) < _TOKEN_CHARS:
            raise UsageError("session: expected a 256-bit CSRF token")
        _aware(self.created_at, "created_at")
        _aware(self.last_seen, "last_seen")
        if self.last_seen < self.created_at:
            raise UsageError("session: last_seen is before created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionPolicy:
    """When a session ends by itself.

    Attributes:
        idle: a session unused for this long has ended (automatic logout).
        lifetime: a session ends this long after login, however much it is used.
    """

    idle: timedelta
    lifetime: timedelta

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0) or self.lifetime < self.idle:
            raise UsageError("session policy: expected 0 < idle <= lifetime")

    def is_live(self, session: Session, now: datetime) -> bool:
        """Return whether ``session`` is still live at ``now``."""
        return now - session.last_seen < self.idle and now - session.created_at < self.lifetime


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live. The kit calls these four methods and nothing else."""

    def create(self, account: str, now: datetime) -> str:
        """Start a session for ``account`` and return its new token."""
        ...

    def get(self, token: str, now: datetime) -> Session | None:
        """Return the live session of ``token``, or ``None`` (unknown, ended or expired).

        A store drops an expired session when it finds one.
        """
        ...

    def touch(self, token: str, now: datetime) -> None:
        """Record that the session of ``token`` was used at ``now`` (nothing if none)."""
        ...

    def delete(self, token: str) -> None:
        """End the session of ``token`` (logout); nothing if there is none."""
        ...


def new_token(source: TokenSource = secrets.token_bytes) -> str:
    """Return a fresh 256-bit token, URL-safe base64 without padding."""
    raw = source(TOKEN_BYTES)
    if len(raw) != TOKEN_BYTES:
        raise UsageError(f"token source: expected {TOKEN_BYTES} bytes, got {len(raw)}")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_digest(token: str) -> str:
    """Return the hex SHA-256 of a token: what a persistent store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session(
    account: str, now: datetime, source: TokenSource = secrets.token_bytes
) -> tuple[str, Session]:
    """Return a new session token and its session (with a fresh CSRF token)."""
    session = Session(account=account, csrf_token=new_token(source), created_at=now, last_seen=now)
    return new_token(source), session


class MemorySessionStore:
    """A :class:`SessionStore` in a dict, keyed by token digest (for tests and tools)."""

    def __init__(self, policy: SessionPolicy, source: TokenSource = secrets.token_bytes) -> None:
        self.policy = policy
        self._source = source
        self._sessions: dict[str, Session] = {}

    def create(self, account: str, now: datetime) -> str:
        """Start a session for ``account`` and return its new token."""
        token, session = new_session(account, now, self._source)
        self._sessions[token_digest(token)] = session
        return token

    def get(self, token: str, now: datetime) -> Session | None:
        """Return the live session of ``token``, or ``None``."""
        key = token_digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if not self.policy.is_live(session, now):
            del self._sessions[key]
            return None
        return session

    def touch(self, token: str, now: datetime) -> None:
        """Record that the session of ``token`` was used at ``now``."""
        key = token_digest(token)
        session = self._sessions.get(key)
        if session is not None and now > session.last_seen:
            self._sessions[key] = replace(session, last_seen=now)

    def delete(self, token: str) -> None:
        """End the session of ``token``."""
        self._sessions.pop(token_digest(token), None)

    def __len__(self) -> int:
        return len(self._sessions)
