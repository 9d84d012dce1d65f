"""Alembic environment of the node store (``migrations/node``); see migrations/envkit.py.

By hand, alembic connects to ``MUSTER_DB_URL`` or the ``sqlalchemy.url`` of the
``[node]`` section of alembic.ini (a plain SQLite copy).
"""

from __future__ import annotations

from migrations.envkit import run_environment
from node.store.models import Base

run_environment(Base.metadata, "node")
