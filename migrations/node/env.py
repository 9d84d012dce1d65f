"""Alembic environment of the node store (``migrations/node``).

The node passes its own connection (``config.attributes["connection"]``, see
node/store/migrate.py). By hand, alembic connects to ``MUSTER_DB_URL`` or the
``sqlalchemy.url`` of the ``[node]`` section of alembic.ini (a plain SQLite copy).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from node.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("MUSTER_DB_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set MUSTER_DB_URL or sqlalchemy.url for the node store")
    return url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        with create_engine(_url()).begin() as connection:
            _run(connection)
