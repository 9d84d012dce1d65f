"""Console accounts for administrators: list, create, disable or enable, new password,
another role.

The changes are :mod:`hub.accounts`'s (Argon2id hashes, audit entries, sessions
ended on disable and on a new password); this module checks the form first, so a
person sees what to fix in their language, and limits an administrator to the
accounts inside their own scope (:func:`hub.scope.account_in_scope`). An
administrator can neither disable their own account nor change their own role (a
hub must keep one administrator who can log in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa

from hub.accounts import (
    AccountInfo,
    Role,
    account_info,
    create_account,
    list_accounts,
    require,
    set_disabled,
    set_password,
    set_role,
)
from hub.console.errors import FormError
from hub.context import HubContext
from hub.scope import account_in_scope, sees_site
from hub.store.models import Account
from protocol.divisions import contains
from protocol.errors import DivisionCodeError

__all__ = [
    "ROLES",
    "accounts_in_scope",
    "add_account",
    "change_password",
    "change_role",
    "enable_account",
]

#: Roles in the order the form offers them.
ROLES: Final = tuple(r.value for r in Role)
_LOGIN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MIN_PASSWORD: Final = 8
_MAX_PASSWORD: Final = 1024


def _text(form: Mapping[str, Any], key: str, limit: int = 200) -> str:
    value = form.get(key)
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


def _password(form: Mapping[str, Any]) -> str:
    password = form.get("password")
    confirm = form.get("password_confirm")
    if not isinstance(password, str) or not password:
        raise FormError("password: expected one, got none", key="accounts.error.password_missing")
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise FormError(
            f"password: expected {_MIN_PASSWORD} to {_MAX_PASSWORD} characters",
            key="accounts.error.password_length",
            minimum=_MIN_PASSWORD,
        )
    if confirm != password:
        raise FormError(
            "password: expected the same password twice", key="accounts.error.password_mismatch"
        )
    return password


def accounts_in_scope(ctx: HubContext, account: AccountInfo) -> tuple[AccountInfo, ...]:
    """The accounts whose scope lies inside the administrator's.

    Raises:
        ForbiddenError: the account may not manage accounts.
    """
    require(account, "manage_accounts")
    return tuple(a for a in list_accounts(ctx) if sees_site(account, a.scope))


def add_account(ctx: HubContext, account: AccountInfo, form: Mapping[str, Any]) -> AccountInfo:
    """Create the account described by the form.

    Raises:
        ForbiddenError: the account may not manage accounts.
        FormError: a field is missing or malformed, the login is taken, or the scope
            lies outside the administrator's own.
    """
    require(account, "manage_accounts")
    login = _text(form, "login", 64).lower()
    if not _LOGIN.fullmatch(login):
        raise FormError(
            "login: expected 1-64 lowercase letters, digits, '.', '_' or '-'",
            key="accounts.error.login",
        )
    display_name = _text(form, "display_name")
    if not display_name or len(display_name) > 200:
        raise FormError("display name: expected 1 to 200 characters", key="accounts.error.name")
    role = _text(form, "role", 16)
    if role not in ROLES:
        raise FormError(f"role: expected one of {', '.join(ROLES)}", key="accounts.error.role")
    scope = _text(form, "scope", 12) or account.scope
    try:
        inside = contains(account.scope, scope)
    except DivisionCodeError:
        inside = False
    if not inside:
        raise FormError(
            f"scope: expected a division code inside {account.scope}",
            key="accounts.error.scope",
            scope=account.scope,
        )
    password = _password(form)
    with ctx.store.read() as session:
        if session.scalar(sa.select(Account.id).where(Account.login == login)) is not None:
            raise FormError("login: already taken", key="accounts.error.login_taken")
    return create_account(
        ctx,
        login=login,
        display_name=display_name,
        role=role,
        password=password,
        by=account.login,
        scope=scope,
    )


def _target(ctx: HubContext, account: AccountInfo, login: str) -> AccountInfo:
    require(account, "manage_accounts")
    with ctx.store.read() as session:
        return account_info(account_in_scope(session, account, login))


def enable_account(ctx: HubContext, account: AccountInfo, login: str, *, enabled: bool) -> None:
    """Enable or disable an account inside the administrator's scope (sessions end).

    Raises:
        ForbiddenError: the account may not manage accounts.
        NotFoundError: no such account inside the scope.
        FormError: an administrator tried to disable their own account.
    """
    target = _target(ctx, account, login)
    if not enabled and target.login == account.login:
        raise FormError(
            "accounts: an administrator cannot disable their own account", key="accounts.error.self"
        )
    set_disabled(ctx, target.login, not enabled, by=account.login)


def change_password(
    ctx: HubContext, account: AccountInfo, login: str, form: Mapping[str, Any]
) -> None:
    """Give an account inside the administrator's scope a new password (its sessions end).

    Raises:
        ForbiddenError: the account may not manage accounts.
        NotFoundError: no such account inside the scope.
        FormError: the password is missing, too short or too long, or not repeated.
    """
    target = _target(ctx, account, login)
    set_password(ctx, target.login, _password(form), by=account.login)


def change_role(
    ctx: HubContext, account: AccountInfo, login: str, form: Mapping[str, Any]
) -> AccountInfo:
    """Give an account inside the administrator's scope the role chosen on the form
    (audited; it takes effect from the account's next request).

    Raises:
        ForbiddenError: the account may not manage accounts.
        NotFoundError: no such account inside the scope.
        FormError: the role is not one of :data:`ROLES`, or an administrator tried to
            change their own role.
    """
    target = _target(ctx, account, login)
    role = _text(form, "role", 16)
    if role not in ROLES:
        raise FormError(f"role: expected one of {', '.join(ROLES)}", key="accounts.error.role")
    if target.login == account.login:
        raise FormError(
            "accounts: an administrator cannot change their own role",
            key="accounts.error.self_role",
        )
    return set_role(ctx, target.login, role, by=account.login)
