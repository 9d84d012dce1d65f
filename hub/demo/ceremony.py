"""The key ceremony, shrunk for a demo: the province root, its anchor file, and the
province hub's certificate.

In a deployment the root key is made and used offline, on a machine that never joins a
network (docs/security.md §2); the demo keeps it under ``root/`` in its directory,
sealed under a passphrase like every other key. The ceremony is ``muster root init``
(the root key, the anchor file every site is given, the province recovery key and the
escrow statement naming it) and ``muster root certify`` (the province hub's enrollment
request; ``muster hub enroll`` installs the answer like any other).

Where the ``root`` commands are not installed yet, the same two acts are done here with
the protocol's functions, without a recovery key.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from crypto.keystore import KDF_INTERACTIVE
from hub.demo.commands import CommandRunner
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, read_passphrase
from protocol.trust import Role, TrustAnchor, issue_certificate
from protocol.trust.anchor import anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest

__all__ = ["Ceremony"]

_LOG: Final = "setup-root"
#: How long the province hub's certificate from the root is valid (without ``muster root``).
_VALIDITY: Final = timedelta(days=1825)


class Ceremony:
    """The offline root of one demo, in ``directory`` (``anchor.json`` is its output)."""

    def __init__(
        self, directory: Path, *, province: str, passphrase_file: Path, runner: CommandRunner
    ) -> None:
        self.directory = directory
        self.province = province
        self.passphrase_file = passphrase_file
        self.runner = runner

    @property
    def anchor(self) -> Path:
        return self.directory / "anchor.json"

    async def create(self) -> Path:
        """Make the root (``muster root init``); return the anchor file."""
        if self.runner.has_command("root"):
            await self.runner.run(
                [
                    "root", "init", "--dir", str(self.directory), "--site", self.province,
                    "--passphrase-file", str(self.passphrase_file), "--kdf", "interactive",
                ],
                log_name=_LOG,
            )  # fmt: skip
            return self.anchor
        keys = KeyDir(self.directory / "keys").create(
            self._passphrase(), owner=f"{self.province}/root", cost=KDF_INTERACTIVE
        )
        anchor = TrustAnchor(keys.signing.public_key, self.province)
        write_atomic(self.anchor, anchor_to_bytes(anchor), mode=0o644)
        return self.anchor

    def _passphrase(self) -> bytes:
        return read_passphrase(self.passphrase_file)

    async def certify(self, request_file: Path, answer_file: Path) -> None:
        """Certify the province hub's request with the root key (``muster root certify``).

        Raises:
            TrustError: the request is malformed or its self-signature fails.
        """
        if self.runner.has_command("root"):
            await self.runner.run(
                [
                    "root", "certify", str(request_file), "--dir", str(self.directory),
                    "--out", str(answer_file), "--passphrase-file", str(self.passphrase_file),
                ],
                log_name=_LOG,
            )  # fmt: skip
            return
        request = EnrollmentRequest.from_bytes(request_file.read_bytes())
        key = KeyDir(self.directory / "keys").unlock(self._passphrase()).signing
        now = datetime.now(UTC)
        cert = issue_certificate(
            issuer_key=key,
            issuer=TrustAnchor(key.public_key, self.province).subject,
            serial=secrets.token_hex(16),
            subject=request.subject,
            role=Role.HUB,
            sign_key=request.sign_key,
            age=request.age,
            not_before=now - timedelta(minutes=5),
            not_after=now + _VALIDITY,
            name=request.name,
        )
        write_atomic(answer_file, EnrollmentAnswer(certificates=(cert,)).to_bytes(), mode=0o644)
