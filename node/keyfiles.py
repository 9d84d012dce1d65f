"""Key directories on disk: public keys in the clear, secrets in an encrypted keystore.

A key directory holds::

    sign.pub        minisign public key (for `minisign -V -p`)
    age.pub         age recipient, with a comment naming the owner's id
    keystore.json   the signing seed and the age identity under the passphrase (0600)
    id              the owner's node, hub or person id

Passphrases come from ``--passphrase-file``, ``MUSTER_PASSPHRASE_FILE``, or a prompt.
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crypto.age import AgeIdentity, AgeRecipient
from crypto.errors import InputError, KeyFormatError, StateError, UsageError
from crypto.keys import KeyPair
from crypto.keystore import KDF_MODERATE, KdfCost, open_keystore, seal_keystore
from crypto.sign import PublicKey
from node.fsutil import write_atomic

__all__ = [
    "RETIRED_SECRET",
    "KeyDir",
    "PassphraseError",
    "read_passphrase",
    "read_recipient_file",
    "retired_identities",
    "rotated_secrets",
]

#: Keystore secret: the age identities of keys rotated away, one per line (newest first),
#: kept so bundles sealed to them before the rotation still open.
RETIRED_SECRET = "retired_age"  # noqa: S105 - a secret's name, not a secret
_MAX_RETIRED = 8


def retired_identities(secrets: Mapping[str, str]) -> tuple[AgeIdentity, ...]:
    """The retired age identities a keystore's secrets hold (newest first).

    Raises:
        KeyFormatError: one is malformed.
    """
    text = secrets.get(RETIRED_SECRET, "")
    return tuple(AgeIdentity(line) for line in text.splitlines() if line.strip())


def rotated_secrets(new: KeyPair, old: Mapping[str, str]) -> dict[str, str]:
    """The secrets of a keystore for ``new`` that keep the old age identity as retired
    (and whatever else the old keystore held, such as a node's store key)."""
    retired = [KeyPair.from_secrets(old).age, *retired_identities(old)][:_MAX_RETIRED]
    fresh = new.to_secrets()
    kept = {k: v for k, v in old.items() if k not in fresh and k != RETIRED_SECRET}
    return {
        **kept,
        **fresh,
        RETIRED_SECRET: "\n".join(identity.secret_text() for identity in retired),
    }


PASSPHRASE_ENV = "MUSTER_PASSPHRASE_FILE"  # noqa: S105 - the variable's name, not a secret
_MAX_PASSPHRASE = 1024


class PassphraseError(InputError):
    """No passphrase could be obtained, or it is unusable."""

    code = "no_passphrase"


def read_passphrase(path: str | os.PathLike[str] | None, *, confirm: bool = False) -> bytes:
    """Read a passphrase from a file, the environment's file, or the terminal.

    The file's first line is the passphrase (a trailing newline is not part of it).

    Raises:
        PassphraseError: no file and no terminal, an empty passphrase, or a mismatch.
    """
    source = path or os.environ.get(PASSPHRASE_ENV)
    if source:
        try:
            raw = Path(source).read_bytes()[: _MAX_PASSPHRASE + 2]
        except OSError as exc:
            raise PassphraseError(f"cannot read passphrase file: {exc.strerror}") from exc
        passphrase = raw.split(b"\n", 1)[0].rstrip(b"\r")
    elif sys.stdin.isatty():
        passphrase = getpass.getpass("Passphrase: ").encode("utf-8")
        if confirm and getpass.getpass("Again: ").encode("utf-8") != passphrase:
            raise PassphraseError("the two passphrases differ")
    else:
        raise PassphraseError(f"no passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}")
    if not passphrase:
        raise PassphraseError("the passphrase is empty")
    if len(passphrase) > _MAX_PASSPHRASE:
        raise PassphraseError(f"the passphrase is longer than {_MAX_PASSPHRASE} bytes")
    return passphrase


def read_recipient_file(path: Path) -> tuple[AgeRecipient, str | None]:
    """Read an ``age.pub`` file; return the recipient and the owner id its comment names.

    Raises:
        KeyFormatError: the file holds no single valid recipient.
        InputError: the file cannot be read.
    """
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read recipient file {path}") from exc
    owner = None
    for line in text.splitlines():
        if line.startswith("# id: "):
            owner = line[len("# id: ") :].strip()
    return AgeRecipient.from_file_text(text), owner


@dataclass(frozen=True, slots=True)
class KeyDir:
    """A key directory (see the module docstring)."""

    path: Path

    @property
    def keystore(self) -> Path:
        return self.path / "keystore.json"

    def create(
        self, passphrase: bytes, *, owner: str | None, cost: KdfCost = KDF_MODERATE
    ) -> KeyPair:
        """Make new keys and write the directory.

        Raises:
            StateError: the directory already holds a keystore.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        if self.keystore.exists():
            raise StateError(f"{self.keystore} already exists; refusing to overwrite keys")
        keys = KeyPair.generate(secrets.token_bytes)
        data = seal_keystore(keys.to_secrets(), passphrase, rng=secrets.token_bytes, cost=cost)
        write_atomic(self.keystore, data, mode=0o600)
        self.write_public(keys, owner)
        return keys

    def write_public(self, keys: KeyPair, owner: str | None) -> None:
        comment = f"minisign public key {keys.signing.public_key.key_id_hex}"
        if owner:
            comment += f" of {owner}"
        write_atomic(
            self.path / "sign.pub",
            keys.signing.public_key.to_minisign(comment).encode(),
            mode=0o644,
        )
        age_lines = f"# id: {owner}\n" if owner else ""
        write_atomic(
            self.path / "age.pub", f"{age_lines}{keys.age.recipient.text}\n".encode(), mode=0o644
        )
        if owner:
            write_atomic(self.path / "id", f"{owner}\n".encode(), mode=0o644)

    def unlock(self, passphrase: bytes) -> KeyPair:
        """Open the keystore.

        Raises:
            WrongPassphraseError: the passphrase is wrong.
            KeystoreError: the keystore is damaged.
            UsageError: there is no keystore here.
        """
        try:
            data = self.keystore.read_bytes()
        except FileNotFoundError as exc:
            raise UsageError(f"no keystore at {self.keystore}") from exc
        return KeyPair.from_secrets(open_keystore(data, passphrase))

    def unlock_all(self, passphrase: bytes) -> tuple[KeyPair, tuple[AgeIdentity, ...]]:
        """Open the keystore: the keys, and the age identities of keys rotated away.

        Raises:
            WrongPassphraseError, KeystoreError, UsageError: as :meth:`unlock`.
        """
        try:
            data = self.keystore.read_bytes()
        except FileNotFoundError as exc:
            raise UsageError(f"no keystore at {self.keystore}") from exc
        secrets = open_keystore(data, passphrase)
        return KeyPair.from_secrets(secrets), retired_identities(secrets)

    def owner(self) -> str | None:
        try:
            return (self.path / "id").read_text("utf-8").strip() or None
        except FileNotFoundError:
            return None

    def public_key(self) -> PublicKey:
        """Raises:
        KeyFormatError: sign.pub is missing or malformed.
        """
        try:
            return PublicKey.from_minisign((self.path / "sign.pub").read_text("utf-8"))
        except FileNotFoundError as exc:
            raise KeyFormatError(f"no public key at {self.path / 'sign.pub'}") from exc
