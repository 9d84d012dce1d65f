"""A hub data directory on disk (config, keys, anchor, migrated store with the test PKI),
for tests that run the hub as a real process (``python -m hub``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from crypto.keystore import KDF_INTERACTIVE, seal_keystore
from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.store import Store, migrate
from hub.trust import install_certificates
from node.keyfiles import KeyDir
from protocol.trust.anchor import anchor_to_bytes
from tests.pki import NOW, Pki

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = b"hub passphrase for tests"


def make_data_dir(data: Path, pki: Pki, db_url: str = "", **settings: Any) -> HubConfig:
    """Write a district hub's data directory (370102, the PKI's district keys)."""
    data.mkdir(parents=True, exist_ok=True)
    config = HubConfig(
        data_dir=data, site="370102", name="历下区", db_url=db_url, cookie_secure=False, **settings
    )
    keys = pki["district"].keys
    keydir = KeyDir(config.keys_dir)
    keydir.path.mkdir(parents=True, exist_ok=True)
    keydir.keystore.write_bytes(
        seal_keystore(keys.to_secrets(), PASSPHRASE, rng=os.urandom, cost=KDF_INTERACTIVE)
    )
    keydir.write_public(keys, "370102")
    config.anchor_path.write_bytes(anchor_to_bytes(pki.anchor))
    (data / "hub.toml").write_text(config.to_toml(), "utf-8")
    (data / "passphrase").write_bytes(PASSPHRASE + b"\n")
    store = Store(config.database_url)
    migrate(store)
    with store.write() as session:
        install_certificates(session, pki.certificates(), source="chain")
    store.dispose()
    ctx = context_for(config, pki)
    with ctx.store.write() as session:
        install_escrow(ctx, session, pki.escrow())
    ctx.store.dispose()
    return config


def context_for(config: HubConfig, pki: Pki) -> HubContext:
    """The test's own view of a data directory's store (same keys, the test clock)."""
    return HubContext(
        config=config,
        store=Store(config.database_url),
        keys=pki["district"].keys,
        anchor=pki.anchor,
        now=lambda: NOW,
        worker="test",
    )


def hub_command(*args: str, data: Path, passphrase: bool = True) -> list[str]:
    if not passphrase:
        return [sys.executable, "-m", "hub", *args, "--data", str(data)]
    return [
        sys.executable,
        "-m",
        "hub",
        *args,
        "--data",
        str(data),
        "--passphrase-file",
        str(data / "passphrase"),
    ]


def run_hub(
    *args: str, data: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hub ARGS --data DATA`` (with the passphrase file unless auditing)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        hub_command(*args, data=data, passphrase=args[0] != "audit"),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
