"""Operator accounts: collectors, approvers and site administrators.

Passwords are stored as Argon2id hashes (libsodium ``crypto_pwhash_str``, INTERACTIVE
cost). An approver also holds a personal Ed25519 signing key, sealed in a keystore
(``crypto.keystore``, INTERACTIVE cost) under the approver's own password: the node
cannot authorise anything without that password. The parent hub certifies the key
(role ``approver``); until the certificate is installed the approver cannot authorise.

At creation the approver's key signs a certificate request (the enrollment request
statement of ``protocol.trust.enrollment``, role ``approver``), kept with the account;
``muster node account request LOGIN`` writes it to a file for the hub.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Final

import nacl.exceptions
import nacl.pwhash
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.errors import WrongPassphraseError
from crypto.keystore import KDF_INTERACTIVE, open_keystore, seal_keystore
from crypto.sign import PublicKey, SigningKey
from node.errors import (
    AuthenticationError,
    ConflictError,
    FormError,
    NoCertificateError,
    NotFoundError,
    NotPermittedError,
)
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.trust import load_trust, save_certificates
from node.services.values import Account, AccountRole
from node.store.models import AccountRow
from protocol.errors import TrustError
from protocol.trust import Certificate, Role
from protocol.trust.enrollment import EnrollmentAnswer, make_enrollment_request

__all__ = [
    "LOGIN_PATTERN",
    "MIN_PASSWORD_LENGTH",
    "account_of",
    "authenticate",
    "change_password",
    "check_account_form",
    "create_account",
    "install_approver_certificate",
    "list_accounts",
    "require_role",
    "set_active",
    "unlock_approver_key",
]

#: Logins are part of a person's certificate subject: lowercase, digits, ``.``, ``_``, ``-``.
LOGIN_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
MIN_PASSWORD_LENGTH: Final = 8
_MAX_PASSWORD_LENGTH: Final = 1024
_OPS: Final = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
_MEM: Final = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
_SEED: Final = "ed25519_seed"
#: Verified against when the login is unknown, so both cases take the same time.
_DUMMY_HASH: Final = nacl.pwhash.argon2id.str(b"not a password", opslimit=_OPS, memlimit=_MEM)


def _hash_password(password: str) -> str:
    return nacl.pwhash.argon2id.str(password.encode("utf-8"), opslimit=_OPS, memlimit=_MEM).decode(
        "ascii"
    )


def _password_matches(stored: str, password: str) -> bool:
    try:
        return bool(nacl.pwhash.verify(stored.encode("ascii"), password.encode("utf-8")))
    except nacl.exceptions.InvalidkeyError:
        return False


def _check_password_rules(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise FormError(f"password: expected at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > _MAX_PASSWORD_LENGTH:
        raise FormError(f"password: expected at most {_MAX_PASSWORD_LENGTH} characters")


def account_of(ctx: NodeContext, row: AccountRow) -> Account:
    """The public value of an account row."""
    return Account(
        login=row.login,
        display_name=row.display_name,
        role=AccountRole(row.role),
        active=row.active,
        subject=ctx.person_subject(row.login),
        has_signing_key=row.keystore is not None,
        certified=row.certificate is not None,
        created_at=row.created_at,
    )


def _row(session: Session, login: str) -> AccountRow:
    row = session.get(AccountRow, login) if isinstance(login, str) else None
    if row is None:
        raise NotFoundError("no such account", what="account")
    return row


def require_role(session: Session, login: str, *roles: AccountRole) -> AccountRow:
    """The active account ``login``, which must hold one of ``roles``.

    Raises:
        NotFoundError: no such account.
        NotPermittedError: the account is disabled or its role may not do this.
    """
    row = _row(session, login)
    if not row.active:
        raise NotPermittedError("the account is disabled", role=row.role)
    if roles and AccountRole(row.role) not in roles:
        wanted = " or ".join(r.value for r in roles)
        raise NotPermittedError(f"expected a {wanted} account, this one is a {row.role}")
    return row


def check_account_form(
    *, login: str, display_name: str, role: AccountRole | str, password: str
) -> tuple[str, AccountRole]:
    """Check a new account's login, name, role and password against the rules, touching
    nothing (``node init`` runs it before it writes a file); return the name as kept and
    the role.

    Raises:
        FormError: the login, name, role or password breaks a rule.
    """
    if not isinstance(login, str) or not LOGIN_PATTERN.fullmatch(login):
        raise FormError(
            "login: expected 2 to 32 lowercase letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )
    name = display_name.strip() if isinstance(display_name, str) else ""
    if not 1 <= len(name) <= 100:
        raise FormError("display name: expected 1 to 100 characters")
    try:
        account_role = AccountRole(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in AccountRole)
        raise FormError(f"role: expected one of {roles}") from exc
    _check_password_rules(password)
    return name, account_role


def create_account(
    ctx: NodeContext,
    session: Session,
    *,
    login: str,
    display_name: str,
    role: AccountRole | str,
    password: str,
    by: str,
) -> Account:
    """Make an account; an approver also gets a personal key and a certificate request.

    Raises:
        FormError: the login, name, role or password breaks a rule.
        ConflictError: the login is taken.
    """
    name, account_role = check_account_form(
        login=login, display_name=display_name, role=role, password=password
    )
    if session.get(AccountRow, login) is not None:
        raise ConflictError("login is already taken", what="account")
    now = ctx.now()
    row = AccountRow(
        login=login,
        display_name=name,
        role=account_role.value,
        password_hash=_hash_password(password),
        active=True,
        created_at=now,
        updated_at=now,
    )
    if account_role is AccountRole.APPROVER:
        key = SigningKey.generate(ctx.rng)
        row.keystore = _seal_key(ctx, key, password)
        row.sign_key = key.public_key.to_base64()
        request = make_enrollment_request(
            key, subject=ctx.person_subject(login), role=Role.APPROVER, name=name, at=now
        )
        row.cert_request = request.to_bytes().decode("utf-8")
    session.add(row)
    append_audit(
        session,
        at=now,
        actor=by,
        action="account.created",
        subject=login,
        details={"role": account_role.value},
    )
    return account_of(ctx, row)


def _seal_key(ctx: NodeContext, key: SigningKey, password: str) -> str:
    secrets = {_SEED: base64.b64encode(key.seed).decode("ascii")}
    sealed = seal_keystore(secrets, password.encode("utf-8"), rng=ctx.rng, cost=KDF_INTERACTIVE)
    return sealed.decode("utf-8")


def authenticate(ctx: NodeContext, session: Session, login: str, password: str) -> Account | None:
    """Check a login and password; audit the attempt either way.

    Returns None for an unknown login, a wrong password or a disabled account alike (the
    caller raises after committing, so that failed attempts stay in the audit log).
    """
    row = session.get(AccountRow, login) if isinstance(login, str) else None
    stored = row.password_hash if row is not None else _DUMMY_HASH.decode("ascii")
    matches = isinstance(password, str) and _password_matches(stored, password)
    if row is None or not matches or not row.active:
        if row is not None:
            append_audit(
                session, at=ctx.now(), actor=row.login, action="login.failed", subject=row.login
            )
        return None
    append_audit(session, at=ctx.now(), actor=row.login, action="login", subject=row.login)
    return account_of(ctx, row)


def list_accounts(ctx: NodeContext, session: Session) -> list[Account]:
    """Every account, by login."""
    rows = session.execute(select(AccountRow).order_by(AccountRow.login)).scalars()
    return [account_of(ctx, row) for row in rows]


def set_active(ctx: NodeContext, session: Session, login: str, active: bool, by: str) -> Account:
    """Enable or disable an account (its sessions end at their next request).

    Raises:
        NotFoundError: no such account.
        ConflictError: it would leave the node without an active site administrator.
    """
    row = _row(session, login)
    if not active and row.role == AccountRole.SITE_ADMIN.value and row.active:
        admins = session.execute(
            select(AccountRow.login).where(
                AccountRow.role == AccountRole.SITE_ADMIN.value, AccountRow.active.is_(True)
            )
        ).all()
        if len(admins) <= 1:
            raise ConflictError("cannot disable the last active site administrator")
    row.active = active
    row.updated_at = ctx.now()
    append_audit(
        session,
        at=row.updated_at,
        actor=by,
        action="account.enabled" if active else "account.disabled",
        subject=login,
    )
    return account_of(ctx, row)


def change_password(ctx: NodeContext, session: Session, login: str, old: str, new: str) -> Account:
    """Change a password (an approver's key is re-sealed under the new one).

    Raises:
        AuthenticationError: ``old`` is wrong.
        FormError: ``new`` breaks the password rules.
    """
    row = _row(session, login)
    if not _password_matches(row.password_hash, old):
        raise AuthenticationError("login or password is wrong, or the account is disabled")
    _check_password_rules(new)
    if row.keystore is not None:
        key = _open_key(row, old)
        row.keystore = _seal_key(ctx, key, new)
    row.password_hash = _hash_password(new)
    row.updated_at = ctx.now()
    append_audit(session, at=row.updated_at, actor=login, action="account.password", subject=login)
    return account_of(ctx, row)


def _open_key(row: AccountRow, password: str) -> SigningKey:
    assert row.keystore is not None
    try:
        found = open_keystore(row.keystore.encode("utf-8"), password.encode("utf-8"))
    except WrongPassphraseError as exc:
        raise AuthenticationError("the approver's password is wrong") from exc
    return SigningKey(base64.b64decode(found[_SEED]))


def unlock_approver_key(
    session: Session, login: str, password: str
) -> tuple[SigningKey, Certificate]:
    """Unlock an approver's signing key with their password, and return their certificate.

    Raises:
        NotFoundError, NotPermittedError: no such active approver.
        AuthenticationError: the password is wrong.
        NoCertificateError: the parent has not certified the approver's key yet.
    """
    row = require_role(session, login, AccountRole.APPROVER)
    if row.keystore is None:
        raise NoCertificateError("the approver has no signing key")
    key = _open_key(row, password)
    if row.certificate is None:
        raise NoCertificateError(
            "the approver's key is not certified by the parent hub yet: authorising is not "
            "possible until the certificate is installed"
        )
    return key, Certificate.from_bytes(row.certificate)


def approver_request(session: Session, login: str) -> bytes:
    """The approver's certificate request, for the parent hub.

    Raises:
        NotFoundError: no such account, or it is not an approver.
    """
    row = _row(session, login)
    if row.cert_request is None:
        raise NotFoundError("the account has no certificate request (not an approver)")
    return row.cert_request.encode("utf-8")


def install_approver_certificate(
    ctx: NodeContext, session: Session, data: bytes | str, by: str
) -> Account:
    """Install the parent's answer to an approver's request (or a bare certificate).

    Raises:
        TrustError: the certificate does not chain to the root anchor, or is not an
            approver certificate.
        NotFoundError: no approver account holds the certified key.
    """
    try:
        answer = EnrollmentAnswer.from_bytes(data)
    except TrustError:
        answer = EnrollmentAnswer(certificates=(Certificate.from_bytes(data),))
    cert = answer.certificate
    account = attach_certificate(ctx, session, cert, answer.certificates, by=by)
    if account is None:
        raise NotFoundError(f"certificate {cert.serial} certifies no approver of this node")
    return account


def attach_certificate(
    ctx: NodeContext,
    session: Session,
    cert: Certificate,
    chain: tuple[Certificate, ...],
    *,
    by: str,
) -> Account | None:
    """Attach ``cert`` to the approver whose key it certifies; None if it names none here.

    Raises:
        TrustError: it is not an approver certificate, or its chain does not validate.
    """
    site, _, login = cert.subject.partition("/")
    if site != ctx.site or not login:
        return None
    row = session.get(AccountRow, login)
    if row is None or row.sign_key is None:
        return None
    if cert.sign_key != PublicKey.from_minisign(row.sign_key):
        return None
    if cert.role is not Role.APPROVER:
        raise TrustError(f"certificate {cert.serial} is a {cert.role} certificate, not approver")
    save_certificates(session, chain)
    session.flush()
    load_trust(session, ctx.anchor).validate(cert, ctx.now())
    row.certificate = cert.to_bytes().decode("utf-8")
    row.updated_at = ctx.now()
    append_audit(
        session,
        at=row.updated_at,
        actor=by,
        action="account.certified",
        subject=row.login,
        details={"serial": cert.serial, "not_after": _day(cert.not_after)},
    )
    return account_of(ctx, row)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")
