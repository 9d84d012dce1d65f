"""``muster root …``: the province root's key ceremony, on an offline machine.

- ``root init --dir DIR --site 370000``: the root's signing key (``DIR/keys/``, a
  keystore under the ceremony's passphrase), the root anchor file every node and hub is
  set up with (``DIR/anchor.json``, docs/security.md §2.1), the province recovery
  identity (``DIR/recovery.key``, an age identity kept offline: docs/operations.md) and
  the escrow statement naming it, signed by the root (``DIR/escrow.json``);
- ``root certify REQUEST --dir DIR --out ANSWER``: certify a hub's enrollment request
  (the province hub's, made by ``muster hub init``) with the root key; the answer
  carries the certificate and the escrow statement, and ``muster hub enroll ANSWER``
  installs it.

The root key never leaves the ceremony's machine; only the anchor, the escrow statement
and answers do.
"""

from __future__ import annotations

import argparse
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from crypto.age import AgeIdentity
from crypto.errors import InputError, MusterError, StateError, UsageError
from hub.config import CONFIG_FILE, HubConfig
from node.cli.common import KDF_COSTS, add_kdf_argument, unlock_key_dir
from node.config import CONFIG_FILE as NODE_CONFIG_FILE
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, read_passphrase
from protocol.divisions import contains
from protocol.errors import NameConstraintError, TrustError
from protocol.trust import Role, TrustAnchor, issue_certificate
from protocol.trust.anchor import anchor_from_bytes, anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest
from protocol.trust.escrow import EscrowStatement, issue_escrow

__all__ = ["certify_request", "init_root", "register"]

ANCHOR_FILE: Final = "anchor.json"
ESCROW_FILE: Final = "escrow.json"
RECOVERY_FILE: Final = "recovery.key"
_DEFAULT_DAYS: Final = 1825
#: What init_root writes, and so refuses to find there already.
_ROOT_FILES: Final = (ANCHOR_FILE, "keys/keystore.json", RECOVERY_FILE, ESCROW_FILE)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``root`` command group."""
    root = sub.add_parser("root", help="the province root's key ceremony (offline)")
    cmds = root.add_subparsers(dest="root_command", metavar="ROOT_COMMAND")
    cmds.required = True

    init = cmds.add_parser("init", help="make the root key, anchor, recovery key and escrow")
    init.add_argument("--dir", required=True, type=Path, help="the ceremony's directory")
    init.add_argument("--site", required=True, help="the province's 6-digit division code")
    init.add_argument("--passphrase-file", help="file whose first line is the passphrase")
    add_kdf_argument(init)
    init.set_defaults(func=_init)

    certify = cmds.add_parser("certify", help="certify a hub's enrollment request")
    certify.add_argument("request", type=Path, help="the hub's enrollment-request.json")
    certify.add_argument("--dir", required=True, type=Path, help="the ceremony's directory")
    certify.add_argument("--out", required=True, type=Path, help="where to write the answer")
    certify.add_argument("--days", type=int, default=_DEFAULT_DAYS, help="validity in days")
    certify.add_argument("--passphrase-file", help="file whose first line is the passphrase")
    certify.set_defaults(func=_certify)


def init_root(
    directory: Path, *, site: str, passphrase: bytes, now: datetime, kdf: str = "moderate"
) -> TrustAnchor:
    """Make the root key, the anchor file, the recovery identity and the escrow statement.

    Raises:
        StateError: ``directory`` holds a root already, is a hub's or a node's data
            directory, or holds a file the ceremony writes (nothing is changed).
        ConfigError: ``site`` is not a province's division code.
    """
    _refuse_what_is_there(directory)
    HubConfig(data_dir=directory, site=site)  # the same check a hub's site gets
    if site[2:] != "0000":
        raise InputError(f"site {site}: a province's code ends in 0000")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the directory {directory}: {exc.strerror}") from exc
    anchor_subject = f"{site}/root"
    keys = KeyDir(directory / "keys").create(passphrase, owner=anchor_subject, cost=KDF_COSTS[kdf])
    anchor = TrustAnchor(keys.signing.public_key, site)
    write_atomic(directory / ANCHOR_FILE, anchor_to_bytes(anchor), mode=0o644)
    recovery = AgeIdentity.generate()
    write_atomic(directory / RECOVERY_FILE, (recovery.secret_text() + "\n").encode(), mode=0o600)
    escrow = issue_escrow(
        key=keys.signing,
        by=anchor.subject,
        site=site,
        recipients=[recovery.recipient],
        issued_at=now,
    )
    write_atomic(directory / ESCROW_FILE, escrow.to_bytes(), mode=0o644)
    return anchor


def _refuse_what_is_there(directory: Path) -> None:
    """Refuse a directory that holds what ``root init`` would overwrite, naming what it is.

    Raises:
        StateError: a hub's or a node's data directory, a root, or some of a root's files.
    """
    if not directory.is_dir():
        return  # made by init_root (or refused there, if it is a file)
    for config_file, what in ((CONFIG_FILE, "a hub's"), (NODE_CONFIG_FILE, "a node's")):
        if (directory / config_file).exists():
            raise StateError(
                f"{directory} is {what} data directory (it holds {config_file}), not a "
                "root's: give root init a new directory"
            )
    there = [name for name in _ROOT_FILES if (directory / name).exists()]
    if not there:
        return
    if _holds_a_root(directory):
        raise StateError(
            f"{directory} holds a root already ({ANCHOR_FILE} and its key in keys/): "
            "refusing to overwrite it"
        )
    raise StateError(
        f"{directory} holds {', '.join(there)} already: refusing to overwrite "
        f"{'it' if len(there) == 1 else 'them'}; give root init a new directory"
    )


def _holds_a_root(directory: Path) -> bool:
    """The anchor in ``directory`` names the key in its ``keys/``, as a root's does (a
    hub's or a node's anchor names the root's key, not their own)."""
    try:
        anchor = anchor_from_bytes((directory / ANCHOR_FILE).read_bytes())
        return KeyDir(directory / "keys").public_key() == anchor.key
    except (OSError, UnicodeDecodeError, MusterError):
        return False


def certify_request(
    directory: Path, request_data: bytes, *, passphrase: bytes, now: datetime, days: int
) -> EnrollmentAnswer:
    """Certify a hub's request with the root key; the answer with the escrow statement.

    Raises:
        TrustError: the request is malformed or its self-signature fails.
        NameConstraintError: not a hub, or outside the province.
        WrongPassphraseError: the passphrase does not open the root key.
    """
    try:
        anchor_data = (directory / ANCHOR_FILE).read_bytes()
    except OSError as exc:
        raise UsageError(
            f"no root anchor at {directory / ANCHOR_FILE}: give the ceremony's --dir"
        ) from exc
    anchor = anchor_from_bytes(anchor_data)
    request = EnrollmentRequest.from_bytes(request_data)
    if request.role is not Role.HUB or not contains(anchor.site, request.site):
        raise NameConstraintError(
            f"the root certifies hubs of province {anchor.site}; this request is for "
            f"a {request.role} {request.subject}"
        )
    if not 1 <= days <= 3650:
        raise InputError(f"--days: expected 1 to 3650, got {days}")
    key = unlock_key_dir(directory / "keys", passphrase).signing
    if key.public_key != anchor.key:
        raise TrustError(f"the key in {directory / 'keys'} is not the anchor's root key")
    cert = issue_certificate(
        issuer_key=key,
        issuer=anchor.subject,
        serial=secrets.token_hex(16),
        subject=request.subject,
        role=Role.HUB,
        sign_key=request.sign_key,
        age=request.age,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=days),
        name=request.name,
    )
    escrow_path = directory / ESCROW_FILE
    escrow = EscrowStatement.from_bytes(escrow_path.read_bytes()) if escrow_path.exists() else None
    return EnrollmentAnswer(certificates=(cert,), escrow=escrow)


def _init(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    anchor = init_root(
        args.dir, site=args.site, passphrase=passphrase, now=datetime.now(UTC), kdf=args.kdf
    )
    print(f"root of province {anchor.site} made in {args.dir}")
    print(f"root key id {anchor.key.key_id_hex}: compare it on every site that installs the anchor")
    print(f"keep {args.dir / RECOVERY_FILE} offline: it is the province's recovery key")
    return 0


def _certify(args: argparse.Namespace) -> int:
    try:
        request = args.request.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {args.request}") from exc
    answer = certify_request(
        args.dir,
        request,
        passphrase=read_passphrase(args.passphrase_file),
        now=datetime.now(UTC),
        days=args.days,
    )
    try:
        write_atomic(args.out, answer.to_bytes(), mode=0o644)
    except OSError as exc:
        raise InputError(f"cannot write {args.out}: {exc.strerror}") from exc
    cert = answer.certificate
    print(f"certified {cert.subject} (serial {cert.serial}) until {cert.not_after:%Y-%m-%d}")
    return 0
