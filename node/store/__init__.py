"""The node's encrypted store: models, engine and migrations (docs/node.md)."""

from node.store.engine import STORE_KEY_BYTES, open_engine, store_errors, transaction
from node.store.migrate import migrate

__all__ = ["STORE_KEY_BYTES", "migrate", "open_engine", "store_errors", "transaction"]
