"""Alembic environment of the hub store (``migrations/hub``); see migrations/envkit.py.

By hand, alembic connects to ``MUSTER_DB_URL`` or the ``sqlalchemy.url`` of the
``[hub]`` section of alembic.ini.
"""

from __future__ import annotations

from hub.store.models import Base
from migrations.envkit import run_environment

run_environment(Base.metadata, "hub")
