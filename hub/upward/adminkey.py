"""The hub's own administrator key: what authorises packages under the ``auto`` policy.

A package's manifest must be authorised by an ``admin`` of the sending hub
(docs/federation.md §2). Under ``package_authorisation = "auto"`` the hub does it
itself, with a key kept for that purpose only:

- subject ``<site>/auto`` (a person id, so it can never send bundles or issue
  certificates: an ``admin`` certificate allows authorising and nothing else);
- its secret in ``DATA/keys/admin/keystore.json``, sealed under the hub passphrase
  (Argon2id + secretbox at the cost of the hub's own keystore), made the first time the
  hub starts and unlocked with the hub's keys at every start;
- certified by the hub itself (role ``admin``, inside its own jurisdiction), the first
  time the hub packages once it is enrolled. A parent therefore trusts an auto
  authorisation exactly as far as it trusts the hub's key: docs/security.md §4.1.

Under ``admin`` a person authorises with their own key (``muster hub package
--authorise``); :class:`AdminSigner` is either.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy.orm import Session

from crypto.errors import KeystoreError, StateError
from crypto.keystore import KDF_MODERATE, KdfCost
from crypto.sign import PublicKey, SigningKey
from hub.audit import append_audit
from hub.config import HubConfig
from hub.context import HubContext
from hub.trust import install_certificates
from node.keyfiles import KeyDir
from protocol.trust import Certificate, Role, issue_certificate

__all__ = [
    "AUTO_LOGIN",
    "AdminSigner",
    "admin_key_dir",
    "auto_signer",
    "auto_subject",
    "certify_auto_key",
    "create_admin_key",
    "open_admin_key",
]

#: The login part of the auto key's subject id.
AUTO_LOGIN: Final = "auto"


def auto_subject(site: str) -> str:
    """The subject id of a hub's own administrator key (``370102/auto``)."""
    return f"{site}/{AUTO_LOGIN}"


@dataclass(frozen=True, slots=True)
class AdminSigner:
    """Who authorises a package: an ``admin`` key and the subject its certificate names."""

    key: SigningKey
    subject: str

    def __repr__(self) -> str:
        return f"AdminSigner({self.subject})"


def admin_key_dir(config: HubConfig) -> KeyDir:
    """Where the auto key lives: ``DATA/keys/admin/``."""
    return KeyDir(config.keys_dir / "admin")


def create_admin_key(
    config: HubConfig, passphrase: bytes, *, cost: KdfCost = KDF_MODERATE
) -> SigningKey:
    """Make the auto key (``hub init``), sealed under the hub passphrase.

    Raises:
        StateError: the hub has one already.
    """
    keys = admin_key_dir(config).create(passphrase, owner=auto_subject(config.site), cost=cost)
    return keys.signing


def open_admin_key(
    config: HubConfig, passphrase: bytes, *, create: bool = True
) -> SigningKey | None:
    """Unlock the auto key; a hub that has none yet makes it now (under ``create``), sealed
    under the hub passphrase at the cost of the hub's own keystore. None without it.

    Raises:
        WrongPassphraseError: the passphrase does not open it.
    """
    directory = admin_key_dir(config)
    if not directory.keystore.exists():
        if not create:
            return None
        return create_admin_key(config, passphrase, cost=_hub_cost(config))
    return directory.unlock(passphrase).signing


def _hub_cost(config: HubConfig) -> KdfCost:
    """The Argon2id cost the hub's own keystore was sealed with (the same protection)."""
    try:
        kdf = json.loads(KeyDir(config.keys_dir).keystore.read_bytes())["kdf"]
        return KdfCost(int(kdf["opslimit"]), int(kdf["memlimit"]))
    except (OSError, ValueError, KeyError, TypeError, KeystoreError):
        return KDF_MODERATE


def certify_auto_key(ctx: HubContext, session: Session, key: PublicKey) -> Certificate:
    """The auto key's ``admin`` certificate, issued by this hub the first time it is needed.

    Raises:
        TrustError: the hub's own certificate is not installed yet (not enrolled).
    """
    subject = auto_subject(ctx.site)
    store = ctx.trust(session)
    for cert in store.find(subject, key.key_id):
        if cert.role is Role.ADMIN and cert.issuer == ctx.site:
            return cert
    now = ctx.now()
    cert = issue_certificate(
        issuer_key=ctx.keys.signing,
        issuer=ctx.site,
        serial=secrets.token_hex(16),
        subject=subject,
        role=Role.ADMIN,
        sign_key=key,
        age=None,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=ctx.config.certificate_days),
        name="auto",
    )
    store.with_certificates([cert]).validate(cert, now)
    install_certificates(session, [cert], source="issued")
    append_audit(
        session,
        at=now,
        actor=ctx.site,
        action="certificate.auto_admin",
        subject=cert.serial,
        details={"role": Role.ADMIN.value},
    )
    return cert


def auto_signer(ctx: HubContext, session: Session) -> AdminSigner:
    """The signer of the ``auto`` policy, its certificate issued if it was not yet.

    Raises:
        StateError: the hub holds no unlocked auto key.
        TrustError: the hub is not enrolled yet, so it cannot certify the key.
    """
    if ctx.admin_key is None:
        raise StateError(
            f"hub {ctx.site} has no administrator key of its own (DATA/keys/admin): "
            "packages need an administrator's authorisation (muster hub package --authorise)"
        )
    certify_auto_key(ctx, session, ctx.admin_key.public_key)
    return AdminSigner(key=ctx.admin_key, subject=auto_subject(ctx.site))
