"""Building and upgrading the hub store with the alembic scripts in ``migrations/hub``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from hub.store.engine import Store

__all__ = ["alembic_config", "migrate"]

SCRIPTS = Path(migrations.__file__).resolve().parent / "hub"


def alembic_config(store: Store) -> Config:
    """An alembic configuration for the hub scripts on ``store``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return config


def migrate(store: Store) -> None:
    """Upgrade the store to the newest schema (creating it when empty)."""
    config = alembic_config(store)
    with store.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
