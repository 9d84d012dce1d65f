"""What the two alembic environments share: how they connect and run.

The store passes its own connection (``config.attributes["connection"]``, see
``hub/store/migrate.py`` and ``node/store/migrate.py``). By hand, alembic connects to
``MUSTER_DB_URL`` or the ``sqlalchemy.url`` of the store's section of alembic.ini.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, MetaData, create_engine

__all__ = ["run_environment"]


def run_environment(metadata: MetaData, store: str) -> None:
    """Run the migrations of ``store`` (``"hub"`` or ``"node"``) against ``metadata``."""
    config = context.config

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    def url() -> str:
        found = os.environ.get("MUSTER_DB_URL") or config.get_main_option("sqlalchemy.url")
        if not found:
            raise RuntimeError(f"set MUSTER_DB_URL or sqlalchemy.url for the {store} store")
        return found

    if context.is_offline_mode():
        context.configure(url=url(), target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if given is not None:
        run(given)
    else:
        with create_engine(url()).begin() as connection:
            run(connection)
