"""The hub store: models, engine, migrations and bulk writers."""

from hub.store.engine import Store
from hub.store.migrate import migrate

__all__ = ["Store", "migrate"]
