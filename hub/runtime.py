"""Opening a hub's services from its data directory (``hub run``, ``hub import``…)."""

from __future__ import annotations

import os

from hub.claims import release_all_on_sqlite
from hub.config import HubConfig
from hub.context import HubContext
from hub.errors import ConfigError
from hub.store import Store, migrate
from hub.upward.adminkey import open_admin_key
from node.keyfiles import KeyDir, read_passphrase
from protocol.errors import TrustError
from protocol.trust import TrustAnchor
from protocol.trust.anchor import anchor_from_bytes

__all__ = ["load_anchor", "open_context"]


def load_anchor(config: HubConfig) -> TrustAnchor:
    """Raises:
    ConfigError: the anchor file is missing or malformed.
    """
    try:
        return anchor_from_bytes(config.anchor_path.read_bytes())
    except FileNotFoundError as exc:
        raise ConfigError(f"no root anchor at {config.anchor_path}: run `muster hub init`") from exc
    except TrustError as exc:
        raise ConfigError(f"{config.anchor_path}: {exc.message}") from exc


def open_context(config: HubConfig, passphrase: bytes | None = None) -> HubContext:
    """Migrate the store, unlock the keys (the hub's own administrator key too, when it
    has one: hub/upward/adminkey.py) and return the process's services.

    Raises:
        ConfigError: no anchor; WrongPassphraseError: the passphrase is wrong.
    """
    anchor = load_anchor(config)
    secret = passphrase or read_passphrase(None)
    keys, retired = KeyDir(config.keys_dir).unlock_all(secret)
    store = Store(config.database_url)
    migrate(store)
    context = HubContext(
        config=config,
        store=store,
        keys=keys,
        anchor=anchor,
        worker=f"{os.uname().nodename}:{os.getpid()}",
        admin_key=open_admin_key(config, secret),
        retired_ages=retired,
    )
    release_all_on_sqlite(context)
    return context
