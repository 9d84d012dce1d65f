"""The node migrates its own store at start (alembic, ``migrations/node``).

The same scripts serve developers (``alembic -n node upgrade head`` with the
``[node]`` section of alembic.ini); here the configuration is built in code and the
migration runs on the node's own connection, inside one transaction, so a crash
half-way leaves the store at its previous revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations
from node.store.engine import store_errors

__all__ = ["SCRIPT_LOCATION", "alembic_config", "current_revision", "head_revision", "migrate"]

SCRIPT_LOCATION: Final = Path(migrations.__file__).parent / "node"


def alembic_config() -> Config:
    """An alembic configuration for the node's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def migrate(engine: Engine) -> None:
    """Bring the store at ``engine`` to the newest revision.

    Raises:
        StoreError: the store cannot be written.
    """
    config = alembic_config()
    with store_errors(engine.url.database or "?"), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The store's revision, or None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision of the scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
