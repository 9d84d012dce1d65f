"""Setting a node up, and installing its certificate from the parent hub.

``muster node init`` (:func:`init_node`) makes, in a new data directory:

- ``keys/``: the node's signing key and age identity, and the 32-byte store key, in a
  keystore sealed under the node passphrase (Argon2id), plus the public keys;
- ``anchor.json``: a copy of the province root anchor it was given;
- ``node.db``: the encrypted store (SQLCipher, keyed by the store key), migrated, with
  the node's state and the first site administrator;
- ``enrollment-request.json``: the self-signed request for the parent hub;
- ``node.toml``: the configuration, written last (its presence means init finished).

The administrator's login, name and password are checked before the first file is
written; a step that fails later removes what init made, leaving an empty directory
empty and a new one absent.

``muster node enroll FILE`` (:func:`enroll`) installs the hub's answer after checking
that it certifies exactly this node's keys and chains to the anchor.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import select

from crypto.keys import KeyPair
from crypto.keystore import KDF_MODERATE, KdfCost, seal_keystore
from node.config import CONFIG_FILE, NodeConfig
from node.errors import ConfigError, ConflictError
from node.fsutil import undone_on_failure, write_atomic
from node.keyfiles import KeyDir
from node.services.accounts import check_account_form, create_account
from node.services.audit import append_audit
from node.services.context import STORE_KEY_SECRET, NodeContext, build_context, utc_now
from node.services.escrow import keep_escrow
from node.services.state import node_state
from node.services.trust import save_certificates, save_revocation_list
from node.services.values import AccountRole, EnrollmentState
from node.store import STORE_KEY_BYTES, migrate, open_engine, transaction
from node.store.models import CertificateRow, NodeStateRow
from protocol.divisions import contains
from protocol.trust import Certificate, Role, TrustAnchor, TrustStore, newest_certificate
from protocol.trust.anchor import anchor_from_bytes, anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, make_enrollment_request, verify_answer

__all__ = ["REQUEST_FILE", "enroll", "enrollment_state", "init_node"]

#: The enrollment request ``node init`` writes into the data directory.
REQUEST_FILE: Final = "enrollment-request.json"


def init_node(
    data_dir: Path,
    *,
    node_id: str,
    name: str,
    anchor_data: bytes,
    passphrase: bytes,
    admin_login: str,
    admin_name: str,
    admin_password: str,
    parent_url: str | None = None,
    now: Callable[[], datetime] = utc_now,
    rng: Callable[[int], bytes] = secrets.token_bytes,
    kdf: KdfCost = KDF_MODERATE,
) -> Path:
    """Set up a node in ``data_dir`` (see the module docstring); return the request file.

    Raises:
        ConflictError: ``data_dir`` already holds a node.
        ConfigError: the node id or URL is malformed, or the site lies outside the
            root anchor's province.
        TrustError: the anchor file is not valid.
        FormError: the administrator's login, name or password breaks a rule.
    """
    data_dir = Path(data_dir)
    config = NodeConfig(data_dir=data_dir, node_id=node_id, name=name, parent_url=parent_url)
    anchor = anchor_from_bytes(anchor_data)
    if not contains(anchor.site, config.site):
        raise ConfigError(f"site {config.site} is outside the root anchor's province {anchor.site}")
    if (data_dir / CONFIG_FILE).exists() or config.keys_dir.joinpath("keystore.json").exists():
        raise ConflictError(f"{data_dir} already holds a node; refusing to overwrite it")
    # Everything that can be refused is checked before the first file is written.
    check_account_form(
        login=admin_login,
        display_name=admin_name,
        role=AccountRole.SITE_ADMIN,
        password=admin_password,
    )
    with undone_on_failure(data_dir):
        _make_node(
            config,
            anchor,
            passphrase=passphrase,
            admin=(admin_login, admin_name, admin_password),
            now=now,
            rng=rng,
            kdf=kdf,
        )
    return data_dir / REQUEST_FILE


def _make_node(
    config: NodeConfig,
    anchor: TrustAnchor,
    *,
    passphrase: bytes,
    admin: tuple[str, str, str],
    now: Callable[[], datetime],
    rng: Callable[[int], bytes],
    kdf: KdfCost,
) -> None:
    """Write the node's files (see the module docstring); ``node.toml`` last."""
    data_dir, node_id = config.data_dir, config.node_id
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    config.keys_dir.mkdir(mode=0o700, exist_ok=True)
    config.scratch_dir.mkdir(mode=0o700, exist_ok=True)

    keys = KeyPair.generate(rng)
    store_key = rng(STORE_KEY_BYTES)
    secrets_ = {**keys.to_secrets(), STORE_KEY_SECRET: store_key.hex()}
    write_atomic(config.keys_dir / "keystore.json", seal_keystore(secrets_, passphrase, rng=rng,
                                                                  cost=kdf))  # fmt: skip
    KeyDir(config.keys_dir).write_public(keys, node_id)
    write_atomic(config.anchor_path, anchor_to_bytes(anchor), mode=0o644)

    engine = open_engine(config.store_path, store_key)
    try:
        migrate(engine)
        ctx = build_context(config, keys, engine, anchor, now=now, rng=rng)
        with transaction(engine) as session:
            session.add(NodeStateRow(id=1, node_id=node_id))
            append_audit(session, at=now(), actor="system", action="node.initialised",
                         subject=node_id)  # fmt: skip
            login, display_name, password = admin
            create_account(
                ctx,
                session,
                login=login,
                display_name=display_name,
                role=AccountRole.SITE_ADMIN,
                password=password,
                by="system",
            )
    finally:
        engine.dispose()
    request = make_enrollment_request(
        keys.signing,
        subject=node_id,
        role=Role.NODE,
        name=config.name,
        at=now(),
        age=keys.age.recipient,
    )
    write_atomic(data_dir / REQUEST_FILE, request.to_bytes(), mode=0o644)
    write_atomic(data_dir / CONFIG_FILE, config.to_toml().encode("utf-8"), mode=0o644)


def enroll(ctx: NodeContext, data: bytes, *, actor: str) -> EnrollmentState:
    """Install the parent's answer to this node's enrollment request.

    Raises:
        TrustError: the answer is malformed, certifies other keys or another subject, its
            chain does not validate to the root anchor now, or its escrow statement is
            not signed by the root or the province hub.
        ConflictError: the node is already enrolled under another parent.
    """
    answer = EnrollmentAnswer.from_bytes(data)
    now = ctx.now()
    store = verify_answer(
        answer,
        anchor=ctx.anchor,
        subject=ctx.node_id,
        role=Role.NODE,
        sign_key=ctx.keys.signing.public_key,
        age=ctx.keys.age.recipient,
        at=now,
    )
    cert = answer.certificate
    with transaction(ctx.engine) as session:
        state = node_state(session)
        if state.parent_id is not None and state.parent_id != cert.issuer:
            raise ConflictError(
                f"this node is enrolled with {state.parent_id}, not with {cert.issuer}"
            )
        save_certificates(session, answer.certificates)
        trust = TrustStore(ctx.anchor).with_certificates(store.certificates)
        for crl in answer.crls:
            trust = save_revocation_list(session, trust, crl)
        if answer.escrow is not None:  # checked against the anchor by verify_answer
            keep_escrow(session, answer.escrow)
        state.parent_id = cert.issuer
        state.enrolled_at = now
        append_audit(
            session,
            at=now,
            actor=actor,
            action="node.enrolled",
            subject=ctx.node_id,
            details={"serial": cert.serial, "parent": cert.issuer},
        )
    return enrollment_state(ctx)


def enrollment_state(ctx: NodeContext) -> EnrollmentState:
    """The node's certificate, if it has one."""
    with transaction(ctx.engine) as session:
        state = node_state(session)
        rows = session.execute(
            select(CertificateRow.data).where(CertificateRow.subject == ctx.node_id)
        ).scalars()
        mine = [
            c
            for c in (Certificate.from_bytes(d) for d in rows)
            if c.sign_key == ctx.keys.signing.public_key
        ]
    newest = newest_certificate(mine) if mine else None
    request = ctx.config.data_dir / REQUEST_FILE
    return EnrollmentState(
        enrolled=state.parent_id is not None,
        node_id=ctx.node_id,
        parent_id=state.parent_id,
        serial=newest.serial if newest else None,
        not_after=newest.not_after if newest else None,
        request_file=str(request) if request.exists() else None,
    )
