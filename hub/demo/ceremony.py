"""The key ceremony, shrunk for a demo: the province root, its anchor file, and the
province hub's certificate.

In a deployment the root key is made and used offline, on a machine that never joins a
network (docs/security.md §2); the demo keeps it under ``root/`` in its directory,
sealed under a passphrase like every other key. The ceremony is ``muster root init``
(the root key, the anchor file every site is given, the province recovery key and the
escrow statement naming it) and ``muster root certify`` (the province hub's enrollment
request; ``muster hub enroll`` installs the answer like any other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from hub.demo.commands import CommandRunner

__all__ = ["Ceremony"]

_LOG: Final = "setup-root"


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
        await self.runner.run(
            [
                "root", "init", "--dir", str(self.directory), "--site", self.province,
                "--passphrase-file", str(self.passphrase_file), "--kdf", "interactive",
            ],
            log_name=_LOG,
        )  # fmt: skip
        return self.anchor

    async def certify(self, request_file: Path, answer_file: Path) -> None:
        """Certify the province hub's request with the root key (``muster root certify``)."""
        await self.runner.run(
            [
                "root", "certify", str(request_file), "--dir", str(self.directory),
                "--out", str(answer_file), "--passphrase-file", str(self.passphrase_file),
            ],
            log_name=_LOG,
        )  # fmt: skip
