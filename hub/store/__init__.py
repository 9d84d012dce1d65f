"""The hub store: models, engine, migrations and bulk writers."""

# The cross-check's tables live in their own module; importing it registers them.
from hub.store import crosscheck_models as crosscheck_models
from hub.store import report_models as report_models
from hub.store.engine import Store
from hub.store.migrate import migrate

__all__ = ["Store", "migrate"]
