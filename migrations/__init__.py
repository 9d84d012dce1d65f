"""Alembic migration environments: ``migrations/node`` and ``migrations/hub``."""
