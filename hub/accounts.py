"""Console accounts: roles, jurisdiction scopes, Argon2id passwords, login throttling,
and database-backed sessions (the web kit's ``Authenticator`` and ``SessionStore``).

Roles (what each may do is :data:`PERMISSIONS`):

- ``admin``: everything, accounts, sites, report settings and record exports included;
- ``reviewer``: review bundles (approve, resolve, reject) and read records;
- ``viewer``: read bundles and records;
- ``auditor``: read the audit log and bundles, verify the chain.

Every account has a *scope*, a division code inside the hub's jurisdiction; records
outside it are never shown to that account (:func:`in_scope`). Passwords are
Argon2id hashes (libsodium ``crypto_pwhash_str``). After ``max_failed_logins``
failures in a row an account is locked for ``login_lock_minutes``. Logins, failed
logins, logouts and every account change (creation, password, role, disabling) are
audited (ids only, never a password).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import nacl.exceptions
import nacl.pwhash
import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from crypto.errors import InputError
from hub.audit import append_audit
from hub.context import HubContext
from hub.errors import AuthenticationError, ForbiddenError, LoginThrottledError, NotFoundError
from hub.store.models import Account, SessionRow
from node.web.kit.identity import Principal
from node.web.kit.sessions import Session, SessionPolicy, new_session, token_digest
from protocol.divisions import contains
from protocol.errors import DivisionCodeError

__all__ = [
    "PERMISSIONS",
    "AccountInfo",
    "HubAuthenticator",
    "HubSessionStore",
    "Role",
    "account_info",
    "authenticate",
    "create_account",
    "in_scope",
    "list_accounts",
    "require",
    "set_disabled",
    "set_password",
    "set_role",
]

_LOGIN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_OPS: Final = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
_MEM: Final = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
#: Checked against when the login is unknown, so a wrong login takes as long as a wrong password.
_DUMMY: Final = nacl.pwhash.argon2id.str(b"not a password", opslimit=_OPS, memlimit=_MEM)
_MIN_PASSWORD: Final = 8
_SESSION_LIFETIME: Final = timedelta(hours=12)


class Role(enum.StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    VIEWER = "viewer"
    AUDITOR = "auditor"


#: What each role may do.
PERMISSIONS: Final[dict[str, frozenset[Role]]] = {
    "read_bundles": frozenset(Role),
    "read_records": frozenset({Role.ADMIN, Role.REVIEWER, Role.VIEWER}),
    "review": frozenset({Role.ADMIN, Role.REVIEWER}),
    "read_audit": frozenset({Role.ADMIN, Role.AUDITOR}),
    "manage_accounts": frozenset({Role.ADMIN}),
    "manage_sites": frozenset({Role.ADMIN}),
    # Expected population, campaign deadlines, report narrative (docs/reports.md §9).
    "manage_reports": frozenset({Role.ADMIN}),
    # Record-level export holds personal data: a separate, audited action.
    "export_records": frozenset({Role.ADMIN}),
    # Other departments' registers: import, match, send problems down (docs/crosscheck.md).
    "manage_crosscheck": frozenset({Role.ADMIN}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountInfo:
    """An account as services return it (never the password hash)."""

    login: str
    display_name: str
    role: Role
    scope: str
    disabled: bool

    @property
    def principal(self) -> Principal:
        return Principal(login=self.login, display_name=self.display_name, role=self.role.value)


def account_info(row: Account) -> AccountInfo:
    """An account row as services return it."""
    return AccountInfo(
        login=row.login,
        display_name=row.display_name,
        role=Role(row.role),
        scope=row.scope,
        disabled=row.disabled,
    )


def require(account: AccountInfo, permission: str) -> None:
    """Raises:
    ForbiddenError: the account's role does not allow ``permission``.
    """
    if account.disabled or account.role not in PERMISSIONS[permission]:
        raise ForbiddenError(f"role {account.role} may not {permission.replace('_', ' ')}")


def in_scope(account: AccountInfo, site: str) -> bool:
    """Whether a record of ``site`` lies inside the account's jurisdiction."""
    try:
        return contains(account.scope, site)
    except DivisionCodeError:
        return False


def _hash(password: str) -> str:
    if len(password) < _MIN_PASSWORD or len(password) > 1024:
        raise InputError(f"password: expected {_MIN_PASSWORD} to 1024 characters")
    return nacl.pwhash.argon2id.str(password.encode("utf-8"), opslimit=_OPS, memlimit=_MEM).decode()


def create_account(
    ctx: HubContext,
    *,
    login: str,
    display_name: str,
    role: str,
    password: str,
    by: str,
    scope: str | None = None,
) -> AccountInfo:
    """Create an account scoped to ``scope`` (the hub's own jurisdiction by default).

    Raises:
        InputError: malformed login, role, scope or password, or the login is taken.
    """
    if not _LOGIN.fullmatch(login):
        raise InputError("login: expected 1-64 lowercase letters, digits, '.', '_' or '-'")
    try:
        kind = Role(role)
    except ValueError:
        raise InputError(f"role: expected one of {', '.join(r.value for r in Role)}") from None
    scope = scope or ctx.site
    try:
        inside = contains(ctx.site, scope)
    except DivisionCodeError:
        inside = False
    if not inside:
        raise InputError(f"scope: expected a division code inside {ctx.site}")
    if not display_name.strip() or len(display_name) > 200:
        raise InputError("display name: expected 1 to 200 characters")
    digest = _hash(password)
    with ctx.store.write() as session:
        if session.scalar(sa.select(Account.id).where(Account.login == login)) is not None:
            raise InputError("login: already taken")
        row = Account(
            login=login,
            display_name=display_name,
            role=kind.value,
            scope=scope,
            password_hash=digest,
            disabled=False,
            failed_logins=0,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        append_audit(
            session,
            at=ctx.now(),
            actor=by,
            action="account.created",
            subject=login,
            details={"role": kind.value, "scope": scope},
        )
        return account_info(row)


def _account(session: DbSession, login: str) -> Account:
    row = session.scalar(sa.select(Account).where(Account.login == login).with_for_update())
    if row is None:
        raise NotFoundError("no such account")
    return row


def set_password(ctx: HubContext, login: str, password: str, *, by: str) -> None:
    """Raises:
    NotFoundError: no such account.
    InputError: the password is too short or too long.
    """
    digest = _hash(password)
    with ctx.store.write() as session:
        row = _account(session, login)
        row.password_hash, row.failed_logins, row.locked_until = digest, 0, None
        session.execute(sa.delete(SessionRow).where(SessionRow.account_id == row.id))
        append_audit(session, at=ctx.now(), actor=by, action="account.password", subject=login)


def set_disabled(ctx: HubContext, login: str, disabled: bool, *, by: str) -> None:
    """Disable (ending its sessions) or enable an account.

    Raises:
        NotFoundError: no such account.
    """
    with ctx.store.write() as session:
        row = _account(session, login)
        row.disabled = disabled
        if disabled:
            session.execute(sa.delete(SessionRow).where(SessionRow.account_id == row.id))
        append_audit(
            session,
            at=ctx.now(),
            actor=by,
            action="account.disabled" if disabled else "account.enabled",
            subject=login,
        )


def set_role(ctx: HubContext, login: str, role: str, *, by: str) -> AccountInfo:
    """Give an account another role (from its next request on; audited with both roles).

    Asking for the role it has changes nothing and is not audited.

    Raises:
        InputError: ``role`` is not one of :class:`Role`.
        NotFoundError: no such account.
    """
    try:
        kind = Role(role)
    except ValueError:
        raise InputError(f"role: expected one of {', '.join(r.value for r in Role)}") from None
    with ctx.store.write() as session:
        row = _account(session, login)
        old = row.role
        if old != kind.value:
            row.role = kind.value
            append_audit(
                session,
                at=ctx.now(),
                actor=by,
                action="account.role",
                subject=login,
                details={"from": old, "to": kind.value},
            )
        return account_info(row)


def list_accounts(ctx: HubContext) -> list[AccountInfo]:
    with ctx.store.read() as session:
        return [
            account_info(r) for r in session.scalars(sa.select(Account).order_by(Account.login))
        ]


def authenticate(ctx: HubContext, login: str, password: str) -> AccountInfo:
    """Check a password; count failures and lock the account after too many.

    Raises:
        AuthenticationError: unknown login, wrong password or disabled account (alike).
        LoginThrottledError: the account is locked for a while.
    """
    now = ctx.now()
    locked_until: datetime | None = None
    with ctx.store.write() as session:
        row = session.scalar(sa.select(Account).where(Account.login == login).with_for_update())
        if row is not None and row.locked_until is not None and row.locked_until > now:
            locked_until = row.locked_until
            append_audit(session, at=now, actor="?", action="login.locked", subject=row.login)
        else:
            stored = row.password_hash if row is not None else _DUMMY.decode()
            try:
                nacl.pwhash.verify(stored.encode(), password.encode("utf-8"))
                good = row is not None and not row.disabled
            except nacl.exceptions.InvalidkeyError:
                good = False
            if good and row is not None:
                row.failed_logins, row.locked_until = 0, None
                append_audit(session, at=now, actor=row.login, action="login", subject=row.login)
                return account_info(row)
            if row is not None:
                row.failed_logins += 1
                if row.failed_logins >= ctx.config.max_failed_logins:
                    row.locked_until = now + timedelta(minutes=ctx.config.login_lock_minutes)
                    row.failed_logins = 0
            subject = row.login if row is not None else "?"
            append_audit(session, at=now, actor="?", action="login.failed", subject=subject)
    if locked_until is not None:
        raise LoginThrottledError(
            f"account locked until {locked_until:%H:%M} UTC after repeated failures"
        )
    raise AuthenticationError("login or password is wrong")


def current_account(ctx: HubContext, login: str) -> AccountInfo | None:
    """The account of ``login`` now, or None if it is gone or disabled."""
    with ctx.store.read() as session:
        row = session.scalar(sa.select(Account).where(Account.login == login))
        return None if row is None or row.disabled else account_info(row)


class HubAuthenticator:
    """The web kit's :class:`~node.web.kit.identity.Authenticator` over hub accounts."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    def authenticate(self, login: str, password: str) -> Principal | None:
        try:
            return authenticate(self.ctx, login, password).principal
        except (AuthenticationError, LoginThrottledError):
            return None

    def current(self, login: str) -> Principal | None:
        account = current_account(self.ctx, login)
        return None if account is None else account.principal


class HubSessionStore:
    """The web kit's :class:`~node.web.kit.sessions.SessionStore` in the ``sessions`` table."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        idle = timedelta(minutes=ctx.config.session_idle_minutes)
        self.policy = SessionPolicy(idle=idle, lifetime=max(idle, _SESSION_LIFETIME))

    def create(self, account: str, now: datetime) -> str:
        token, session = new_session(account, now)
        with self.ctx.store.write() as db:
            row = _account(db, account)
            db.add(
                SessionRow(
                    token_hash=token_digest(token),
                    account_id=row.id,
                    csrf=session.csrf_token,
                    created_at=now,
                    last_seen=now,
                )
            )
        return token

    def get(self, token: str, now: datetime) -> Session | None:
        with self.ctx.store.read() as db:
            found = db.execute(
                sa.select(SessionRow, Account.login)
                .join(Account, Account.id == SessionRow.account_id)
                .where(SessionRow.token_hash == token_digest(token))
            ).first()
        if found is None:
            return None
        row, login = found
        session = Session(
            account=login, csrf_token=row.csrf, created_at=row.created_at, last_seen=row.last_seen
        )
        if not self.policy.is_live(session, now):
            self._drop(token)
            return None
        return session

    def touch(self, token: str, now: datetime) -> None:
        with self.ctx.store.write() as db:
            db.execute(
                sa.update(SessionRow)
                .where(SessionRow.token_hash == token_digest(token), SessionRow.last_seen < now)
                .values(last_seen=now)
            )

    def delete(self, token: str) -> None:
        """End the session of ``token``: a logout, audited (nothing if there is none)."""
        digest = token_digest(token)
        with self.ctx.store.write() as db:
            login = db.scalar(
                sa.select(Account.login)
                .join(SessionRow, SessionRow.account_id == Account.id)
                .where(SessionRow.token_hash == digest)
            )
            if login is None:
                return
            db.execute(sa.delete(SessionRow).where(SessionRow.token_hash == digest))
            append_audit(db, at=self.ctx.now(), actor=login, action="logout", subject=login)

    def _drop(self, token: str) -> None:
        """Forget an expired session (the idle or lifetime logout: not an act to audit)."""
        with self.ctx.store.write() as db:
            db.execute(sa.delete(SessionRow).where(SessionRow.token_hash == token_digest(token)))
