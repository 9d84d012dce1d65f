"""Operator UI sessions in the node store (the web kit's ``SessionStore``).

Only the token's digest is stored (``token_digest``): a copy of the store lets nobody
log in. Expiry follows the kit's :class:`SessionPolicy` (idle and absolute lifetime);
an expired session is deleted when it is next looked up, and a disabled account's
sessions are refused by the authenticator on their next request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, delete

from node.store import transaction
from node.store.models import SessionRow
from node.web.kit.sessions import Session, SessionPolicy, new_session, token_digest

__all__ = ["NodeSessionStore"]


class NodeSessionStore:
    """A :class:`node.web.kit.sessions.SessionStore` over the ``sessions`` table."""

    def __init__(
        self,
        engine: Engine,
        policy: SessionPolicy,
        source: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.policy = policy
        self._engine = engine
        self._source = source

    def create(self, account: str, now: datetime) -> str:
        """Start a session for ``account`` and return its new token."""
        token, session = new_session(account, now, self._source)
        with transaction(self._engine) as db:
            db.add(
                SessionRow(
                    token_digest=token_digest(token),
                    login=account,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    last_seen=session.last_seen,
                )
            )
        return token

    def get(self, token: str, now: datetime) -> Session | None:
        """Return the live session of ``token``, or None (an expired one is deleted)."""
        with transaction(self._engine) as db:
            row = db.get(SessionRow, token_digest(token))
            if row is None:
                return None
            session = Session(
                account=row.login,
                csrf_token=row.csrf_token,
                created_at=row.created_at,
                last_seen=row.last_seen,
            )
            if not self.policy.is_live(session, now):
                db.delete(row)
                return None
            return session

    def touch(self, token: str, now: datetime) -> None:
        """Record that the session of ``token`` was used at ``now``."""
        with transaction(self._engine) as db:
            row = db.get(SessionRow, token_digest(token))
            if row is not None and now > row.last_seen:
                row.last_seen = now

    def delete(self, token: str) -> None:
        """End the session of ``token`` (logout)."""
        with transaction(self._engine) as db:
            db.execute(delete(SessionRow).where(SessionRow.token_digest == token_digest(token)))

    def end_sessions_of(self, account: str) -> None:
        """End every session of ``account`` (after it is disabled)."""
        with transaction(self._engine) as db:
            db.execute(delete(SessionRow).where(SessionRow.login == account))
